//! imagepipe's transformer: consumes `ImageSubmitted` jobs from the transform queue, makes the job's output
//! (or each of its named variants, from one decode), and publishes an `ImageResult` to the gateway replica that accepted the job and an `ImageArchive`
//! (original + outputs + metadata) for save2db, acking only once the broker confirmed both.
//!
//! The image work is a pure library ([`engine`]) that knows nothing of the broker; the worker runs it on
//! tokio's blocking pool, with the AMQP prefetch (= `--workers`) bounding how many images are in flight.
//!
//! # Configuration
//! Flags and environment variables (see [`Config`]):
//!
//! | flag | env | default |
//! | --- | --- | --- |
//! | `--amqp-url` | `AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/%2f` |
//! | `--amqp-namespace` | `AMQP_NAMESPACE` | `imagepipe` |
//! | `--amqp-confirm-timeout-secs` | `AMQP_CONFIRM_TIMEOUT_SECS` | `10` |
//! | `--http-addr` | `TRANSFORMER_HTTP_ADDR` | `127.0.0.1:9091` (health endpoints) |
//! | `--workers` | `TRANSFORMER_WORKERS` | number of CPUs |
//! | `--instance-id` | `TRANSFORMER_INSTANCE_ID` | `$HOSTNAME`, `/etc/hostname`, else `transformer-<random>` |
//! | `--max-pixels` | `TRANSFORMER_MAX_PIXELS` | `50000000` (inputs from their header, and results) |
//! | `--max-input-bytes` | `TRANSFORMER_MAX_INPUT_BYTES` | `26214400` (25 MiB, the gateway's upload limit) |
//! | `--max-dimension` | `TRANSFORMER_MAX_DIMENSION` | `32768` (per side of an input, from its header) |
//! | `--presets` | `TRANSFORMER_PRESETS` | `thumb:256x256,small:640x640,medium:1280x1280,large:2048x2048` |
//! | `--shutdown-grace-secs` | `TRANSFORMER_SHUTDOWN_GRACE_SECS` | `30` |
//! | `--log-level` | `LOG_LEVEL` (`RUST_LOG` wins) | `info` |
//! | `--log-format` | `LOG_FORMAT` | `pretty` (or `json`) |
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
//! A job that cannot be transformed is reported as `failed`, with one of these `error_code`s, and acked (the
//! original is still archived): `decode_failed` (not a readable image: truncated, corrupt, empty or not an
//! image at all), `unsupported_format` (an image format or pixel layout the engine does not read),
//! `too_large` (over `--max-input-bytes`, or a header over `--max-dimension` or `--max-pixels`, refused
//! before decoding; or a derived side over 16384), `invalid_spec` (anything
//! [`imagepipe_proto::spec::check`] refuses, an unknown preset, an unreadable watermark image), `encode_failed`, `internal` (the engine panicked: a
//! bug; only that job fails). A message that is not an `ImageSubmitted` is dead-lettered; a job whose result
//! or archive the broker does not confirm is requeued (and dead-lettered by the quorum queue's delivery limit
//! if that never succeeds).
//!
//! # Layout
//! - [`config`]: [`Config`], the clap flags, and the [`Command`]s.
//! - [`convert`]: the one-shot `convert` command (files in, files out, no broker).
//! - [`startup`]: [`Application`] — `build`, `addr`, `run_until_stopped`.
//! - [`engine`]: `transform(bytes, spec, limits)` and `transform_variants(bytes, variants, limits)`: decode once,
//!   then per output reorient, resize, filter, watermark, encode.
//! - [`presets`]: [`Presets`](presets::Presets), the named variants clients may ask for by name.
//! - [`worker`]: [`TransformWorker`](worker::TransformWorker) (the consumer's handler, `process_one`) and its
//!   [`Outcome`](worker::Outcome).
//! - [`error`]: [`EngineError`] and its codes.
//! - [`metrics`]: the transformer's Prometheus series (jobs, failures, stage durations, bytes, in flight).

pub mod config;
pub mod convert;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod presets;
pub mod startup;
pub mod worker;

pub use config::{Command, Config};
pub use error::EngineError;
pub use startup::Application;
