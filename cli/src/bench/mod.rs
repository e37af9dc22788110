//! `imagepipe bench`: a load generator for a running gateway, light enough that the client is not what is
//! measured. Jobs take the given images in turn, with the same options; the load runs closed loop (N workers,
//! each uploading an image, waiting for its result and downloading it, then the next) or open loop (a fixed
//! arrival rate, whatever the answers, to find where latency turns up), at one rate or following a schedule
//! (`--rate 40:120,10:60`: an overload run, judged at the end), or as steps of rising rates (`--steps`, plotted
//! as latency against throughput). After the load it waits (`--drain`) for the jobs to be stored, reads each
//! job's timeline, and reports results and stored jobs per second, the percentiles of the time to each, errors
//! by code, the same by 10 s window and by phase, and with `--broker-api` RabbitMQ's queue depths and alarms,
//! as a table and as JSON. With `--thumbor` it loads a thumbor instead, with the same images and loop, for the
//! side-by-side of `deploy/local/bench`.
//!
//! - [`run`](mod@run): what a command line asks for, run: one load, or the steps; the broker sampled meanwhile.
//! - [`load`]: the loops, one [`load::Sample`] per job.
//! - [`schedule`]: `--rate`'s one rate or schedule of phases, and where they sit in time.
//! - [`clock`]: the timeline's RFC 3339 times as milliseconds.
//! - [`cpu`]: the CPU time of the processes named with `--process`, per job.
//! - [`broker`]: RabbitMQ's management API, sampled once a second.
//! - [`broker_report`]: what those samples add up to, per queue and per node.
//! - [`percentiles`]: nearest-rank percentiles.
//! - [`windows`]: the jobs by 10 s window and by phase.
//! - [`verdict`]: the overload verdict of a schedule: lost jobs, alarms, queues near a bound, recovery.
//! - [`report`]: the figures of one load, the table and the JSON.
//! - [`sweep`]: the figures of `--steps`, a row per step.
//! - [`plot`]: latency against throughput, as SVG.

pub mod broker;
pub mod broker_report;
pub mod clock;
pub mod cpu;
pub mod load;
pub mod percentiles;
pub mod plot;
pub mod report;
pub mod run;
pub mod schedule;
pub mod sweep;
pub mod verdict;
pub mod windows;

use std::sync::Arc;

use bytes::Bytes;

pub use load::Mode;
pub use report::Report;
pub use run::{Outcome, run};

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

/// The images of a plan, shared by the workers.
pub type Images = Arc<[Image]>;
