//! The `imagepipe-gateway` binary: parse the config, start tracing, run until SIGINT/SIGTERM; or run an operator
//! command (`keys new --owner NAME`) and exit.

use anyhow::Context as _;
use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_gateway::{
    Application, Config,
    config::{Command, KeysCommand},
    keys,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(Command::Keys(KeysCommand::New { owner })) = &config.command {
        print!(
            "{}",
            keys::new_key_text(owner).context("Failed to draw random bytes for the key")?
        );
        return Ok(());
    }
    if let Some(Command::Openapi) = &config.command {
        println!("{}", imagepipe_gateway::openapi::document());
        return Ok(());
    }
    telemetry::init("gateway", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
