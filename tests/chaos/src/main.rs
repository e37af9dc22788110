use std::process::ExitCode;

use clap::Parser;
use imagepipe_chaos::Config;

/// Exit codes: 0 the run passed, 1 it ran and found a job lost, duplicated or wrong, 2 it could not finish.
#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    match imagepipe_chaos::run(config).await {
        Ok(report) if report.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(_) => ExitCode::from(2),
    }
}
