//! The `imagepipe-gateway` binary: parse the config, start tracing, run until SIGINT/SIGTERM.

use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_gateway::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init("gateway", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
