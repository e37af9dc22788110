//! The `imagepipe-gateway` binary: parse the config, start tracing, run until SIGINT/SIGTERM; or run an operator
//! command (`keys new --owner NAME`, `openapi`) and exit.

use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_gateway::{Application, Config, commands};

imagepipe_common::use_jemalloc!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(command) = &config.command {
        return commands::run(command, &mut std::io::stdout().lock());
    }
    telemetry::init("gateway", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
