//! Shared set-up: a uniquely named database (and AMQP namespace), archives with deterministic bytes, and a
//! save2db started in-process.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
pub use imagepipe_common::testkit::{EVENT_TIMEOUT, amqp_url, unique, wait_for, wait_ready};
use imagepipe_common::{
    amqp::{Broker, Publisher},
    config::AmqpArgs,
};
use imagepipe_save2db::{Application, Config};
use tokio::{sync::oneshot, task::JoinHandle};

use imagepipe_archive::testkit::ScratchArchive;
pub use imagepipe_archive::testkit::done_archive;

/// The bucket the tests use: the default.
pub const BUCKET: &str = imagepipe_archive::layout::DEFAULT_BUCKET;
/// The grace period save2db runs with in these tests.
const SHUTDOWN_GRACE_SECS: u64 = 10;
/// How long a stop may take: the grace period for the archives in flight, and a generous margin, so that a
/// loaded machine slows the test down without failing it.
const STOP_WITHIN: Duration = Duration::from_secs(SHUTDOWN_GRACE_SECS + 60);

/// A fresh database with the archive on it.
pub async fn scratch_archive() -> ScratchArchive {
    ScratchArchive::new("save2db_t").await
}

/// save2db running in-process on a private namespace and database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: ScratchArchive,
    pub broker: Broker,
    pub publisher: Publisher,
    stop: Option<oneshot::Sender<()>>,
    running: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    let namespace = unique("t");
    let db = scratch_archive().await;
    let database_name = db.database.name().to_owned();
    let grace = SHUTDOWN_GRACE_SECS.to_string();
    let config = Config::try_parse_from([
        "imagepipe-save2db",
        "--amqp-url",
        &amqp_url(),
        "--amqp-namespace",
        &namespace,
        "--mongodb-uri",
        &db.args.mongodb_uri,
        "--mongodb-database",
        &database_name,
        "--http-addr",
        "127.0.0.1:0",
        "--instance-id",
        "s2d-test",
        "--shutdown-grace-secs",
        &grace,
    ])
    .unwrap();
    let app = Application::build(config).await.unwrap();
    let addr = app.addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let broker = Broker::new(
        &AmqpArgs::new(amqp_url(), namespace.clone()),
        "save2db-tests",
    )
    .unwrap();
    let publisher = Publisher::new(broker.clone());
    TestApp {
        addr,
        db,
        broker,
        publisher,
        stop: Some(stop),
        running: Some(running),
    }
}

impl TestApp {
    /// Stops save2db as a shutdown signal would, and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            tokio::time::timeout(STOP_WITHIN, running)
                .await
                .expect("save2db stops, its grace period over at the latest")
                .unwrap()
                .unwrap();
        }
    }

    /// Stops save2db if running and removes the namespace and the database.
    pub async fn clean_up(mut self) {
        self.stop().await;
        self.publisher.close().await;
        self.broker.delete_topology().await.unwrap();
        self.db.drop().await;
    }
}
