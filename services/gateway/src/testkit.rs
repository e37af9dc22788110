//! How tests run and talk to a gateway (feature `testkit`, never in a release build): a [`Harness`] (a private
//! namespace on the broker and a scratch database) in which gateways start from flags, as the binary would, and
//! the request and picture helpers that the gateway's own suite and the system suites share. The system's
//! `Stack` is a harness with a transformer and save2db started in it too.

use std::{io::Cursor, time::Duration};

use clap::Parser as _;
use imagepipe_archive::{
    ArchiveArgs, ArchiveStore,
    testkit::{mongodb_uri, unique_database},
};
use imagepipe_common::{
    amqp::Broker,
    testkit::{CutProxy, Sandbox},
};
use mongodb::Database;

use crate::{Application, Config, http::handlers::MAX_WAIT_SECS};

/// How long [`get_final`] waits for a job to be done or failed. It normally takes well under a second; this is
/// only the limit for a hung test, generous because the suites run in parallel on a loaded machine.
pub const FINAL_WITHIN: Duration = Duration::from_secs(120);

/// One test's private namespace on the real broker and its own database, and the services started in them.
#[derive(Debug)]
pub struct Harness {
    /// The namespace and the services running in it.
    pub sandbox: Sandbox,
    /// The database the services keep the archive in.
    pub database: String,
    /// The database URI the services use (the test's own handles use [`mongodb_uri`]).
    service_mongodb_uri: String,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A new, empty namespace and database; no service runs yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            sandbox: Sandbox::new(),
            database: unique_database("t"),
            service_mongodb_uri: mongodb_uri(),
        }
    }

    /// The namespace of the harness's exchanges and queues.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.sandbox.namespace
    }

    /// Services started from now on reach the broker through `proxy`.
    pub fn broker_through(&mut self, proxy: &CutProxy) {
        self.sandbox.broker_through(proxy);
    }

    /// Services started from now on know the broker as several nodes, one through each of `proxies`.
    pub fn broker_through_nodes(&mut self, proxies: &[&CutProxy]) {
        self.sandbox.broker_through_nodes(proxies);
    }

    /// Services started from now on reach the database through `proxy`.
    pub fn database_through(&mut self, proxy: &CutProxy) {
        self.service_mongodb_uri = proxy.url_for(&mongodb_uri());
    }

    /// The flags that put a service in this harness: its port, the broker and namespace, and (`archive`) the
    /// database.
    #[must_use]
    pub fn flags(&self, archive: bool) -> Vec<String> {
        let mut flags = self.sandbox.flags();
        if archive {
            flags.extend(
                [
                    "--mongodb-uri",
                    &self.service_mongodb_uri,
                    "--mongodb-database",
                    &self.database,
                ]
                .map(str::to_owned),
            );
        }
        flags
    }

    /// Starts a gateway replica, with `extra` command-line flags, and waits until it is ready. It runs until
    /// the harness is torn down.
    ///
    /// # Panics
    /// When it does not start.
    pub async fn gateway(&mut self, extra: &[&str]) -> Gateway {
        let mut args = vec!["imagepipe-gateway".to_owned()];
        args.extend(self.flags(true));
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let config = Config::try_parse_from(args).expect("gateway flags");
        let app = Application::build(config)
            .await
            .expect("the gateway starts");
        let addr = app.addr();
        self.sandbox
            .run(addr, |stopped| app.run_until_stopped(stopped))
            .await;
        Gateway {
            base: format!("http://{addr}"),
        }
    }

    /// A handle on the harness's broker topology.
    #[must_use]
    pub fn broker(&self) -> Broker {
        self.sandbox.broker()
    }

    /// Where the harness's archive is, reached directly (never through a proxy).
    #[must_use]
    pub fn archive_args(&self) -> ArchiveArgs {
        ArchiveArgs::new(mongodb_uri(), &self.database)
    }

    /// The harness's database, reached directly.
    ///
    /// # Panics
    /// When the connection string is malformed.
    pub async fn database(&self) -> Database {
        imagepipe_archive::connect(&self.archive_args(), "imagepipe-tests")
            .await
            .expect("a MongoDB client")
    }

    /// The harness's archive, as save2db writes it.
    ///
    /// # Panics
    /// When the database does not answer.
    pub async fn archive(&self) -> ArchiveStore {
        ArchiveStore::open(self.database().await, &self.archive_args().mongodb_bucket)
            .await
            .expect("the archive opens")
    }

    /// Stops every service, then deletes the topology and drops the database.
    pub async fn teardown(self) {
        let database = self.database().await;
        self.sandbox.teardown().await;
        let _ = database.drop().await;
    }
}

/// A running gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// Alice's API key in tests.
pub const ALICE_KEY: &str = "ipk_alice-test-key";
/// Bob's API key in tests.
pub const BOB_KEY: &str = "ipk_bob-test-key";

/// `--api-keys` with the entries of alice ([`ALICE_KEY`]) and bob ([`BOB_KEY`]).
///
/// # Panics
/// Never: both owner names are valid.
#[must_use]
pub fn alice_and_bob() -> String {
    let entry = |owner: &str, key: &str| {
        crate::auth::keys::entry(
            &crate::auth::keys::Owner::new(owner).expect("a valid owner"),
            key,
        )
    };
    format!("{},{}", entry("alice", ALICE_KEY), entry("bob", BOB_KEY))
}

/// A client sending `key` as `Authorization: Bearer` on every request.
///
/// # Panics
/// When `key` cannot be a header value.
#[must_use]
pub fn client_with_key(key: &str) -> reqwest::Client {
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).expect("a header value");
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// `GET url`, which must get an answer (any status).
///
/// # Panics
/// When nothing answers.
pub async fn get(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> reqwest::Response {
    client.get(url).send().await.expect("the gateway answers")
}

/// `GET url` (a job's result or named output, without `?wait=`) once the job is done or failed: a long poll
/// (`?wait=` the longest the gateway allows), asked again while the answer is `202` (still pending), so a
/// slow machine costs time, never the test. Returns the first answer other than `202`.
///
/// # Panics
/// When nothing answers, or the job is still pending after [`FINAL_WITHIN`].
pub async fn get_final(client: &reqwest::Client, url: impl AsRef<str>) -> reqwest::Response {
    let url = url.as_ref();
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}wait={MAX_WAIT_SECS}");
    let deadline = tokio::time::Instant::now() + FINAL_WITHIN;
    loop {
        let response = get(client, &url).await;
        if response.status() != 202 {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} still answers 202 (pending) after {FINAL_WITHIN:?}"
        );
        // A long poll normally waits; this pause only keeps one that returns early from spinning.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST url` with `body` as a raw `content_type` upload, which must be accepted; returns the job id.
///
/// # Panics
/// When the upload is not accepted.
pub async fn post_image(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    content_type: &str,
    body: Vec<u8>,
) -> String {
    let response = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 202, "the upload is accepted");
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    body["id"].as_str().expect("a job id").to_owned()
}

/// The body of an error response, after checking its status and that it says what was wrong.
///
/// # Panics
/// When the status differs or the body is no error.
pub async fn error_of(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status, "{}", response.url());
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

/// A `width` x `height` test picture (a gradient) encoded as `format`.
///
/// # Panics
/// When `format` cannot be written.
#[must_use]
pub fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .expect("the picture encodes");
    out.into_inner()
}

/// What an image the API returned decodes to: its format and dimensions.
///
/// # Panics
/// When it does not decode.
#[must_use]
pub fn decoded(bytes: &[u8]) -> (image::ImageFormat, u32, u32) {
    let format = image::guess_format(bytes).expect("a known image format");
    let image = image::load_from_memory_with_format(bytes, format).expect("the image decodes");
    (format, image.width(), image.height())
}
