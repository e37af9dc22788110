//! The `imagepipe-transformer` binary: parse the configuration, start logging, run until SIGINT/SIGTERM.

use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_transformer::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init("transformer", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
