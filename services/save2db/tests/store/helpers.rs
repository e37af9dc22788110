//! Shared set-up: a uniquely named database (and AMQP namespace), archives with deterministic bytes, and a
//! save2db started in-process.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use imagepipe_common::{
    amqp::{Broker, Publisher},
    config::{AmqpArgs, MongoArgs},
    mongo,
};
use imagepipe_proto::v1::{
    Fit, ImageArchive, ImageFormat, ImageInfo, JobStatus, Output, TransformSpec,
};
use imagepipe_save2db::{Application, ArchiveStore, Config};
use mongodb::{Database, bson::Document};
use tokio::{sync::oneshot, task::JoinHandle};

/// GridFS's default chunk size: data longer than this spans several chunks.
pub const CHUNK_SIZE: usize = 255 * 1024;
/// The bucket the tests use.
pub const BUCKET: &str = "images";

pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh database and the store on it. Call [`TestDb::drop`] at the end.
pub struct TestDb {
    pub database: Database,
    pub store: ArchiveStore,
}

impl TestDb {
    pub async fn new() -> Self {
        let args = MongoArgs::new(mongodb_uri(), unique("save2db-t"));
        let database = mongo::connect(&args, "save2db-tests").await.unwrap();
        let store = ArchiveStore::open(database.clone(), BUCKET).await.unwrap();
        Self { database, store }
    }

    pub async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.database
            .collection::<Document>(collection)
            .count_documents(filter)
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        self.database.drop().await.unwrap();
    }
}

/// `len` deterministic pseudo-random bytes (so chunk boundaries are not all-equal data).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn info(format: ImageFormat, width: u32, height: u32, bytes: usize) -> Option<ImageInfo> {
    Some(ImageInfo {
        format: format as i32,
        width,
        height,
        bytes: bytes as u64,
    })
}

/// A done archive with an original of `original_len` bytes and one `default` output of `output_len` bytes.
pub fn done_archive(job_id: &str, original_len: usize, output_len: usize) -> ImageArchive {
    ImageArchive {
        job_id: job_id.to_owned(),
        trace_id: format!("trace-{job_id}"),
        status: JobStatus::Done as i32,
        spec: Some(TransformSpec {
            width: Some(320),
            height: Some(200),
            fit: Fit::Cover as i32,
            format: ImageFormat::Jpeg as i32,
            quality: Some(80),
            ..TransformSpec::default()
        }),
        original: bytes(original_len, 1).into(),
        original_info: info(ImageFormat::Png, 1920, 1200, original_len),
        outputs: vec![Output {
            name: "default".into(),
            data: bytes(output_len, 2).into(),
            info: info(ImageFormat::Jpeg, 320, 200, output_len),
        }],
        submitted_at_ms: 1_700_000_000_000,
        started_at_ms: 1_700_000_000_250,
        finished_at_ms: 1_700_000_000_500,
        accepted_by: "gw-test".into(),
        processed_by: "tf-test".into(),
        filename: "holiday.png".into(),
        ..Default::default()
    }
}

/// A failed archive: an original that could not be decoded, no outputs.
pub fn failed_archive(job_id: &str) -> ImageArchive {
    ImageArchive {
        status: JobStatus::Failed as i32,
        outputs: vec![],
        error_code: "decode_failed".into(),
        error: "the image could not be decoded".into(),
        original_info: info(ImageFormat::Unspecified, 0, 0, 1000),
        ..done_archive(job_id, 1000, 0)
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// save2db running in-process on a private namespace and database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: TestDb,
    pub broker: Broker,
    pub publisher: Publisher,
    stop: Option<oneshot::Sender<()>>,
    running: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    let namespace = unique("t");
    let db = TestDb::new().await;
    let database_name = db.database.name().to_owned();
    let config = Config::try_parse_from([
        "imagepipe-save2db",
        "--amqp-url",
        &amqp_url(),
        "--amqp-namespace",
        &namespace,
        "--mongodb-uri",
        &mongodb_uri(),
        "--mongodb-database",
        &database_name,
        "--http-addr",
        "127.0.0.1:0",
        "--instance-id",
        "s2d-test",
        "--shutdown-grace-secs",
        "10",
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
            tokio::time::timeout(Duration::from_secs(30), running)
                .await
                .expect("save2db stops within 30 s")
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
