//! Spawning gateways (and whole stacks) on port 0 with a private namespace and database.

use std::{io::Cursor, time::Duration};

use clap::Parser;
use imagepipe_archive::{ArchiveArgs, ArchiveStore, JobDocument};
use imagepipe_common::{amqp::Broker, config::AmqpArgs, proxy::CutProxy};
use tokio::{sync::watch, task::JoinHandle};

/// The broker the tests use (`AMQP_URL`, else the local default).
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The MongoDB-protocol server the tests use (`MONGODB_URI`, else the local default).
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".into())
}

/// A private namespace and database shared by the services of one test.
pub struct Stack {
    pub namespace: String,
    pub database: String,
    /// The broker URL the services use (the test's own handles always use [`amqp_url`]).
    service_amqp_url: String,
    /// The database URI the services use.
    service_mongodb_uri: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A running gateway.
pub struct Gateway {
    pub base: String,
}

impl Stack {
    /// A new, empty namespace and database.
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            namespace: format!("t-{id}"),
            database: format!("t_{id}"),
            service_amqp_url: amqp_url(),
            service_mongodb_uri: mongodb_uri(),
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// Services started from now on reach the broker through `proxy`.
    pub fn broker_through(&mut self, proxy: &CutProxy) {
        self.service_amqp_url = proxy.url_for(&amqp_url());
    }

    /// Services started from now on reach the database through `proxy`.
    pub fn database_through(&mut self, proxy: &CutProxy) {
        self.service_mongodb_uri = proxy.url_for(&mongodb_uri());
    }

    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopped = self.stop.subscribe();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }

    /// Starts a gateway replica; `extra` are additional command-line flags.
    pub async fn gateway(&mut self, extra: &[&str]) -> Gateway {
        let mut args = vec![
            "imagepipe-gateway".to_owned(),
            "--http-addr".into(),
            "127.0.0.1:0".into(),
            "--amqp-url".into(),
            self.service_amqp_url.clone(),
            "--amqp-namespace".into(),
            self.namespace.clone(),
            "--mongodb-uri".into(),
            self.service_mongodb_uri.clone(),
            "--mongodb-database".into(),
            self.database.clone(),
        ];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let config = imagepipe_gateway::Config::try_parse_from(args).unwrap();
        let app = imagepipe_gateway::Application::build(config)
            .await
            .expect("the gateway starts");
        let gateway = Gateway {
            base: format!("http://{}", app.addr()),
        };
        let stopped = self.stopped();
        self.tasks.push(tokio::spawn(async move {
            app.run_until_stopped(stopped).await.unwrap();
        }));
        wait_ready(&gateway.base).await;
        gateway
    }

    /// Starts a transformer.
    pub async fn transformer(&mut self) {
        let config = imagepipe_transformer::Config::try_parse_from([
            "imagepipe-transformer",
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &self.service_amqp_url,
            "--amqp-namespace",
            &self.namespace,
            "--workers",
            "2",
        ])
        .unwrap();
        let app = imagepipe_transformer::Application::build(config)
            .await
            .expect("the transformer starts");
        let base = format!("http://{}", app.addr());
        let stopped = self.stopped();
        self.tasks.push(tokio::spawn(async move {
            app.run_until_stopped(stopped).await.unwrap();
        }));
        wait_ready(&base).await;
    }

    /// Starts save2db.
    pub async fn save2db(&mut self) {
        let config = imagepipe_save2db::Config::try_parse_from([
            "imagepipe-save2db",
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &self.service_amqp_url,
            "--amqp-namespace",
            &self.namespace,
            "--mongodb-uri",
            &self.service_mongodb_uri,
            "--mongodb-database",
            &self.database,
        ])
        .unwrap();
        let app = imagepipe_save2db::Application::build(config)
            .await
            .expect("save2db starts");
        let base = format!("http://{}", app.addr());
        let stopped = self.stopped();
        self.tasks.push(tokio::spawn(async move {
            app.run_until_stopped(stopped).await.unwrap();
        }));
        wait_ready(&base).await;
    }

    /// A handle on this stack's broker topology.
    pub fn broker(&self) -> Broker {
        Broker::new(
            &AmqpArgs::new(amqp_url(), &self.namespace),
            "imagepipe-tests",
        )
        .unwrap()
    }

    /// This stack's archive, as save2db writes it.
    pub async fn archive(&self) -> ArchiveStore {
        let args = ArchiveArgs::new(mongodb_uri(), &self.database);
        let database = imagepipe_archive::connect(&args, "imagepipe-tests")
            .await
            .unwrap();
        ArchiveStore::open(database, &args.mongodb_bucket)
            .await
            .unwrap()
    }

    /// Stops every service, then deletes the topology and drops the database.
    pub async fn teardown(self) {
        let _ = self.stop.send(true);
        let broker = self.broker();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        let _ = broker.delete_topology().await;
        let client = mongodb::Client::with_uri_str(mongodb_uri()).await.unwrap();
        let _ = client.database(&self.database).drop().await;
    }
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} never became ready");
}

/// A `width` x `height` test picture encoded as `format`.
pub fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Decodes an image the API returned: its format and dimensions.
pub fn decoded(bytes: &[u8]) -> (image::ImageFormat, u32, u32) {
    let format = image::guess_format(bytes).unwrap();
    let image = image::load_from_memory_with_format(bytes, format).unwrap();
    (format, image.width(), image.height())
}

/// `GET url`, which must get an answer (any status).
pub async fn get(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> reqwest::Response {
    client.get(url).send().await.expect("the gateway answers")
}

/// `POST url` with `body` as a raw `content_type` upload, which must be accepted; returns the job id.
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
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The job document of `id`, once save2db has stored it (panics after 20 s).
pub async fn stored(archive: &ArchiveStore, id: &str) -> JobDocument {
    for _ in 0..200 {
        if let Some(document) = archive.job(id).await.unwrap() {
            return document;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} was never stored");
}

/// The body of an error response, after checking its status.
pub async fn error_of(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status, "{}", response.url());
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}
