//! Running a parsed command line: each subcommand's work and what it prints, and the exit code.

use std::{io::Write as _, path::Path, process::ExitCode, time::Duration};

use crate::{
    bench,
    client::ApiClient,
    config::{Cli, Command},
    error::CliError,
    status,
    table::Table,
    upload,
};

/// Most jobs asked for per page when listing.
const LIST_PAGE: u32 = 100;

/// Runs `cli`; errors are printed to standard error. The exit code is 0 when everything worked, 1 otherwise.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    let client = ApiClient::with_api_key(&cli.server, cli.api_key.as_deref())?;
    match cli.command {
        Command::Upload(args) => {
            let reports = upload::run(&client, &args).await?;
            print!("{}", upload::summary(&reports, &args.out));
            let failed = reports.iter().any(|report| !report.succeeded());
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Bench(args) => {
            let outcome = bench::run(&client, &args).await?;
            print!("{}", outcome.render());
            if let Some(path) = &args.json {
                let text = serde_json::to_string_pretty(&outcome).unwrap_or_default();
                std::fs::write(path, text + "\n").map_err(|source| CliError::Write {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { id, json: true } => {
            let status = client.status_json(&id).await?;
            let text = serde_json::to_string_pretty(&status).unwrap_or_else(|_| status.to_string());
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { id, json: false } => {
            print!("{}", status::render(&client.status(&id).await?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Get {
            id,
            variant,
            output,
            wait,
        } => {
            let data = client
                .fetch(&id, variant.as_deref(), Duration::from_secs(wait), &notice)
                .await?;
            write_output(&output, &data)?;
            if output != Path::new("-") {
                eprintln!("wrote {} bytes to {}", data.len(), output.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete { id } => {
            client.delete(&id, &notice).await?;
            println!("deleted {id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::List {
            status,
            limit,
            cursor,
        } => {
            let (table, next) = list(&client, status.as_deref(), limit, cursor).await?;
            if table.is_empty() {
                println!("no stored jobs");
            } else {
                print!("{}", table.render());
            }
            if let Some(next) = next {
                println!("\nmore: imagepipe list --cursor {next}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Tells the user why a request is retried.
fn notice(reason: &str, delay: Duration) {
    eprintln!(
        "the gateway answered {reason}; retrying in {} s",
        delay.as_secs()
    );
}

/// Up to `limit` jobs as a table, reading as many pages as that takes, and the cursor after the last one shown
/// when more remain.
async fn list(
    client: &ApiClient,
    status: Option<&str>,
    limit: u32,
    mut cursor: Option<String>,
) -> Result<(Table, Option<String>), CliError> {
    let mut table = Table::new(&["ID", "STATUS", "SUBMITTED", "FILE", "OUTPUTS"]);
    let mut left = limit;
    loop {
        let page = client
            .list(status, left.min(LIST_PAGE), cursor.as_deref())
            .await?;
        for job in page.items {
            let outputs = match &job.error {
                Some(error) => format!("{}: {}", error.code, error.message),
                None => job.outputs.join(","),
            };
            table.push(vec![
                job.id,
                job.status,
                job.submitted_at,
                job.filename.unwrap_or_default(),
                outputs,
            ]);
            left = left.saturating_sub(1);
        }
        cursor = page.next;
        if cursor.is_none() || left == 0 {
            return Ok((table, cursor));
        }
    }
}

fn write_output(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let written = if path == Path::new("-") {
        std::io::stdout().lock().write_all(data)
    } else {
        std::fs::write(path, data)
    };
    written.map_err(|source| CliError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The error and its causes, `: `-separated (a cause already in the text is not repeated).
fn chain(error: &CliError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
