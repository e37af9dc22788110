//! `imagepipe bench`: a load generator for a running gateway, light enough that the client is not what is
//! measured. Jobs take the given images in turn, with the same options; the load runs closed loop (N workers,
//! each uploading an image, waiting for its result and downloading it, then the next) or open loop (a fixed
//! arrival rate, whatever the answers, to find where latency turns up). After the load it waits (`--drain`) for
//! the jobs to be stored, reads each job's timeline, and reports results and stored jobs per second, the
//! percentiles of the time to each, and errors by code, as a table and as JSON. With `--thumbor` it loads a
//! thumbor instead, with the same images and loop, for the side-by-side of `deploy/local/bench`.
//!
//! - [`load`]: the two loops, one [`load::Sample`] per job.
//! - [`clock`]: the timeline's RFC 3339 times as milliseconds.
//! - [`cpu`]: the CPU time of the processes named with `--process`, per job.
//! - [`report`]: the figures, the table and the JSON.

pub mod clock;
pub mod cpu;
pub mod load;
pub mod report;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;

pub use load::Mode;
pub use report::Report;

use crate::{client::ApiClient, config::BenchArgs, error::CliError, files};

/// An image the jobs send, read once.
#[derive(Debug, Clone)]
pub struct Image {
    /// Its bytes.
    pub bytes: Bytes,
    /// Its path as given, as the job records it.
    pub filename: String,
    /// Its file name alone (what thumbor's file loader is asked for).
    pub name: String,
    /// Its MIME type, from its extension.
    pub content_type: &'static str,
}

/// Runs the benchmark `args` describes against `client`'s gateway.
///
/// # Errors
/// [`CliError::Read`] when an image cannot be read, or no image is given.
pub async fn run(client: &ApiClient, args: &BenchArgs) -> Result<Report, CliError> {
    let mut images = Vec::new();
    for input in files::collect(&args.paths)? {
        let bytes = tokio::fs::read(&input.path)
            .await
            .map_err(|source| CliError::Read {
                path: input.path.clone(),
                source,
            })?;
        let name = input
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        images.push(Image {
            bytes: bytes.into(),
            filename: input.label.clone(),
            name,
            content_type: files::content_type(&input.path),
        });
    }
    let mode = match args.rate {
        Some(rate) => Mode::Open { rate },
        None => Mode::Closed {
            workers: args.concurrency,
        },
    };
    let client = client.clone().without_retries();
    let target = match &args.thumbor {
        Some(options) => load::Target::Thumbor {
            options: options.trim_matches('/').to_owned(),
        },
        None => load::Target::Imagepipe,
    };
    let plan = load::Plan {
        target,
        images: images.into(),
        query: args.job.query().into(),
        mode,
        duration: Duration::from_secs(args.duration),
    };
    let processes = cpu::Processes::new(&args.processes);
    let before = processes.usage();
    let mut samples = load::drive(&client, &plan).await;
    if plan.target == load::Target::Imagepipe {
        load::read_timelines(&client, &mut samples, Duration::from_secs(args.drain)).await;
    }
    // Up to the end of the drain, so that each job's whole work (stored last) is counted, over the jobs that
    // were answered; the timelines' reads are the client's, a small part of its time.
    let after = processes.usage();
    let target = match plan.target {
        load::Target::Imagepipe => "imagepipe",
        load::Target::Thumbor { .. } => "thumbor",
    };
    let mut report = Report::of(target, mode, plan.duration, &samples);
    let answered = samples
        .iter()
        .filter(|sample| sample.answered.is_some())
        .count();
    report.cpu_ms_per_job = cpu::per_job(&before, &after, answered);
    Ok(report)
}

/// The images of a plan, shared by the workers.
pub type Images = Arc<[Image]>;
