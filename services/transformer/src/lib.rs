//! imagepipe's transformer: consumes `ImageSubmitted` jobs from the transform queue, resizes and converts the
//! image, and publishes an `ImageResult` to the gateway replica that accepted the job and an `ImageArchive`
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
//! | `--shutdown-grace-secs` | `TRANSFORMER_SHUTDOWN_GRACE_SECS` | `30` |
//! | `--log-level` | `LOG_LEVEL` (`RUST_LOG` wins) | `info` |
//! | `--log-format` | `LOG_FORMAT` | `pretty` (or `json`) |
//!
//! # One-shot mode
//! `imagepipe-transformer convert [--width W] [--height H] [--fit contain|cover|fill] [--format jpeg|png|webp]
//! [--quality Q] [--threads N] [--max-pixels P] [--max-input-bytes B] [--max-dimension D] --out-dir DIR
//! FILE...` runs the same engine on files, one thread unless told otherwise, writes `DIR/<stem>.<format>`,
//! prints `ok FILE -> OUT WxH BYTES bytes MS ms` or `error FILE: CODE: MESSAGE` per input (`internal` if
//! the engine panicked on it), and exits non-zero if any input failed.
//!
//! # Failed jobs
//! A job that cannot be transformed is reported as `failed`, with one of these `error_code`s, and acked (the
//! original is still archived): `decode_failed` (not a readable image: truncated, corrupt, empty or not an
//! image at all), `unsupported_format` (an image format or pixel layout the engine does not read),
//! `too_large` (over `--max-input-bytes`, or a header over `--max-dimension` or `--max-pixels`, refused
//! before decoding; or a derived side over 16384), `invalid_spec` (size outside 1..=16384, quality outside
//! 1..=100, output format other than jpeg/png/webp), `encode_failed`, `internal` (the engine panicked: a
//! bug; only that job fails). A message that is not an `ImageSubmitted` is dead-lettered; a job whose result
//! or archive the broker does not confirm is requeued (and dead-lettered by the quorum queue's delivery limit
//! if that never succeeds).
//!
//! # Layout
//! - [`config`]: [`Config`], the clap flags, and the [`Command`]s.
//! - [`convert`]: the one-shot `convert` command (files in, files out, no broker).
//! - [`startup`]: [`Application`] — `build`, `addr`, `run_until_stopped`.
//! - [`engine`]: `transform(bytes, spec, limits)`: decode, orient, resize, encode.
//! - [`worker`]: [`TransformWorker`](worker::TransformWorker) (the consumer's handler, `process_one`) and its
//!   [`Outcome`](worker::Outcome).
//! - [`error`]: [`EngineError`] and its codes.

pub mod config;
pub mod convert;
pub mod engine;
pub mod error;
pub mod presets;
pub mod startup;
pub mod worker;

pub use config::{Command, Config};
pub use error::EngineError;
pub use startup::Application;
