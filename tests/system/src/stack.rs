//! [`Stack`]: the three services in-process, in one harness (a private namespace on the broker and a private
//! database), torn down together.

use std::{
    ops::{Deref, DerefMut},
    time::Duration,
};

use clap::Parser as _;
use imagepipe_archive::{ArchiveStore, JobDocument};
use imagepipe_common::testkit::wait_for;
use imagepipe_gateway::testkit::{Gateway, Harness};

/// How long a job may take to be stored: milliseconds normally, but the suites run in parallel on a loaded
/// machine, so this is only the limit for a hung test.
const STORED_WITHIN: Duration = Duration::from_secs(120);

/// The gateway's [`Harness`] with the workers too: gateways ([`Harness::gateway`]), transformers and save2db.
#[derive(Debug, Default)]
pub struct Stack {
    harness: Harness,
}

impl Deref for Stack {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut Harness {
        &mut self.harness
    }
}

impl Stack {
    /// A new, empty namespace and database; no service runs yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// save2db, a transformer and a gateway, each ready: the whole system, for a test that needs nothing more.
    pub async fn start() -> (Self, Gateway) {
        let mut stack = Self::new();
        stack.save2db().await;
        stack.transformer().await;
        let gateway = stack.gateway(&[]).await;
        (stack, gateway)
    }

    /// Starts a transformer (2 workers) and waits until it is ready; returns the base URL of its health and
    /// metrics port.
    ///
    /// # Panics
    /// When it does not start.
    pub async fn transformer(&mut self) -> String {
        self.transformer_with(&[]).await
    }

    /// Starts a transformer (2 workers) with `extra` command-line flags and waits until it is ready; returns the
    /// base URL of its health and metrics port.
    ///
    /// # Panics
    /// When it does not start.
    pub async fn transformer_with(&mut self, extra: &[&str]) -> String {
        let mut args = vec!["imagepipe-transformer".to_owned()];
        args.extend(self.harness.flags(false));
        args.extend(["--workers", "2"].map(str::to_owned));
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let config =
            imagepipe_transformer::Config::try_parse_from(args).expect("transformer flags");
        let app = imagepipe_transformer::Application::build(config)
            .await
            .expect("the transformer starts");
        let addr = app.addr();
        self.harness
            .sandbox
            .run(addr, |stopped| app.run_until_stopped(stopped))
            .await;
        format!("http://{addr}")
    }

    /// Starts save2db and waits until it is ready; returns the base URL of its health and metrics port.
    ///
    /// # Panics
    /// When it does not start.
    pub async fn save2db(&mut self) -> String {
        let mut args = vec!["imagepipe-save2db".to_owned()];
        args.extend(self.harness.flags(true));
        let config = imagepipe_save2db::Config::try_parse_from(args).expect("save2db flags");
        let app = imagepipe_save2db::Application::build(config)
            .await
            .expect("save2db starts");
        let addr = app.addr();
        self.harness
            .sandbox
            .run(addr, |stopped| app.run_until_stopped(stopped))
            .await;
        format!("http://{addr}")
    }

    /// Stops every service, then deletes the topology and drops the database.
    pub async fn teardown(self) {
        self.harness.teardown().await;
    }
}

/// The job document of `id`, once save2db has stored it.
///
/// # Panics
/// When it is not stored within two minutes.
pub async fn stored(archive: &ArchiveStore, id: &str) -> JobDocument {
    wait_for(STORED_WITHIN, || async {
        archive.job(id).await.expect("the archive answers")
    })
    .await
    .unwrap_or_else(|| panic!("job {id} was never stored"))
}
