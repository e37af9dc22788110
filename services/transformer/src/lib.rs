//! imagepipe's transformer: consumes `ImageSubmitted` jobs from the transform queue, makes the job's output
//! (or each of its named variants, from one decode), and publishes an `ImageResult` to the gateway replica that
//! accepted the job and an `ImageArchive` (original + outputs + metadata) for save2db, acking only once the
//! broker confirmed both.
//!
//! The image work is a library of its own ([`imagepipe_engine`]) that knows nothing of the broker; the worker
//! runs it on tokio's blocking pool, with the AMQP prefetch (= `--workers`) bounding how many images are in
//! flight, and records the stage timings it returns.
//!
//! # Configuration
//! Flags and environment variables: see [`Config`] (`imagepipe-transformer --help` prints them, with their
//! defaults).
//!
//! # One-shot mode
//! `imagepipe-transformer convert [--width W] [--height H] [--fit …] [--format …] [--quality Q] [--variants …]
//! [every other transform option as a flag: --gravity, --rotate, --watermark, …] [--threads N] --out-dir DIR
//! FILE...` runs the same engine on files, one thread unless told otherwise, writes `DIR/<stem>.<format>` (or
//! `DIR/<stem>.<variant>.<format>` per variant), prints `ok FILE -> OUT WxH BYTES bytes[, OUT …] MS ms` or
//! `error FILE: CODE: MESSAGE` per input (`internal` if the engine panicked on it), and exits non-zero if any
//! input failed (2, before any work, for bad options).
//!
//! # Failed jobs
//! A job that cannot be transformed is reported as `failed` with its
//! [`FailureCode`](imagepipe_proto::FailureCode), and acked (the original is still archived): the engine's
//! code when it refuses the image or the options (`too_large` is over `--max-input-bytes`, or a header over
//! `--max-dimension` or `--max-pixels`, refused before decoding; an unknown preset is `invalid_spec`),
//! `output_too_large` when the outputs do not fit one message, `internal` when the engine panicked (a bug; only
//! that job fails). A message that is not an `ImageSubmitted` is dead-lettered; a job whose result or archive
//! the broker does not confirm is requeued (and dead-lettered by the quorum queue's delivery limit if that
//! never succeeds).
//!
//! # Layout
//! - [`config`]: [`Config`], the clap flags, and the [`Command`]s.
//! - [`convert`]: the one-shot `convert` command (files in, files out, no broker).
//! - [`startup`]: [`Application`] — `build`, `addr`, `run_until_stopped`.
//! - [`presets`]: [`Presets`](presets::Presets), the named variants clients may ask for by name.
//! - [`worker`]: [`TransformWorker`](worker::TransformWorker) (the consumer's handler, `process_one`) and its
//!   [`Outcome`](worker::Outcome).
//! - [`metrics`]: the transformer's Prometheus series (jobs, failures, stage durations, bytes, in flight).

pub mod config;
pub mod convert;
pub mod metrics;
pub mod presets;
pub mod startup;
pub mod worker;

pub use config::{Command, Config};
pub use startup::Application;
