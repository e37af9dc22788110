//! The real stack in-process (gateway, transformer and save2db on port 0, in a private namespace and database),
//! the built `imagepipe` binary, and test pictures.

use std::{
    io::Cursor,
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use clap::Parser as _;
use tokio::{sync::watch, task::JoinHandle};

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".into())
}

/// Gateway, transformer and save2db sharing a private namespace and database.
pub struct Stack {
    /// The gateway's base URL.
    pub base: String,
    namespace: String,
    database: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Stack {
    /// Starts the three services and waits until each is ready.
    pub async fn start() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut stack = Self {
            base: String::new(),
            namespace: format!("t-{id}"),
            database: format!("t_{id}"),
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        };
        let (amqp, mongo) = (amqp_url(), mongodb_uri());
        let (namespace, database) = (stack.namespace.clone(), stack.database.clone());

        let save2db = imagepipe_save2db::Application::build(
            imagepipe_save2db::Config::try_parse_from([
                "imagepipe-save2db",
                "--http-addr",
                "127.0.0.1:0",
                "--amqp-url",
                &amqp,
                "--amqp-namespace",
                &namespace,
                "--mongodb-uri",
                &mongo,
                "--mongodb-database",
                &database,
            ])
            .unwrap(),
        )
        .await
        .expect("save2db starts");
        let save2db_base = format!("http://{}", save2db.addr());
        let stopped = stack.stopped();
        stack.tasks.push(tokio::spawn(async move {
            save2db.run_until_stopped(stopped).await.unwrap();
        }));

        let transformer = imagepipe_transformer::Application::build(
            imagepipe_transformer::Config::try_parse_from([
                "imagepipe-transformer",
                "--http-addr",
                "127.0.0.1:0",
                "--amqp-url",
                &amqp,
                "--amqp-namespace",
                &namespace,
                "--workers",
                "2",
            ])
            .unwrap(),
        )
        .await
        .expect("the transformer starts");
        let transformer_base = format!("http://{}", transformer.addr());
        let stopped = stack.stopped();
        stack.tasks.push(tokio::spawn(async move {
            transformer.run_until_stopped(stopped).await.unwrap();
        }));

        let gateway = imagepipe_gateway::Application::build(
            imagepipe_gateway::Config::try_parse_from([
                "imagepipe-gateway",
                "--http-addr",
                "127.0.0.1:0",
                "--amqp-url",
                &amqp,
                "--amqp-namespace",
                &namespace,
                "--mongodb-uri",
                &mongo,
                "--mongodb-database",
                &database,
            ])
            .unwrap(),
        )
        .await
        .expect("the gateway starts");
        stack.base = format!("http://{}", gateway.addr());
        let stopped = stack.stopped();
        stack.tasks.push(tokio::spawn(async move {
            gateway.run_until_stopped(stopped).await.unwrap();
        }));

        for base in [&save2db_base, &transformer_base, &stack.base] {
            wait_ready(base).await;
        }
        stack
    }

    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopped = self.stop.subscribe();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }

    /// Stops the services, then deletes the topology and drops the database.
    pub async fn teardown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        let broker = imagepipe_common::amqp::Broker::new(
            &imagepipe_common::config::AmqpArgs::new(amqp_url(), &self.namespace),
            "imagepipe-cli-tests",
        )
        .unwrap();
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

/// Runs the built `imagepipe` binary with `args` (and `IMAGEPIPE_URL` unset unless given in `env`).
pub async fn imagepipe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|&arg| arg.to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_imagepipe"))
            .args(&args)
            .env_remove("IMAGEPIPE_URL")
            .envs(env)
            .output()
            .expect("imagepipe runs")
    })
    .await
    .unwrap()
}

/// A fresh, empty directory under the system's temporary directory.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagepipe-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a `width` x `height` test picture encoded as `format` to `path`.
pub fn write_picture(path: &Path, width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    let bytes = out.into_inner();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// The format and dimensions of an image file.
pub fn decoded(path: &Path) -> (image::ImageFormat, u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let format = image::guess_format(&bytes).unwrap();
    let image = image::load_from_memory_with_format(&bytes, format).unwrap();
    (format, image.width(), image.height())
}
