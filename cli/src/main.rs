//! `imagepipe`: upload images to an imagepipe gateway and fetch the results. See `imagepipe --help`.

use std::process::ExitCode;

use clap::Parser as _;
use imagepipe_cli::{Cli, commands};

#[tokio::main]
async fn main() -> ExitCode {
    commands::run(Cli::parse()).await
}
