//! The `imagepipe-transformer` binary: parse the configuration; run the one-shot `convert` command, or start
//! logging and run the service until SIGINT/SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_transformer::{Application, Command, Config, convert};

imagepipe_common::use_jemalloc!();

fn main() -> anyhow::Result<ExitCode> {
    let config = Config::parse();
    if let Some(Command::Convert(args)) = &config.command {
        return Ok(convert::run(args));
    }
    serve(config)?;
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    telemetry::init("transformer", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
