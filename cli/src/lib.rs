//! imagepipe's command-line client, `imagepipe`. It talks to a gateway over its HTTP API only: uploads images
//! (files or whole directories) a few at a time with a progress bar, waits for each job, downloads every output
//! as `<stem>.<output>.<format>` and prints a summary; shows, fetches, deletes and lists jobs; and loads a
//! gateway to measure it (`bench`). A `503` is retried after the gateway's `Retry-After` (not by `bench`, which
//! counts it).
//!
//! # Layout
//! - [`config`]: the clap [`Cli`] and its subcommands.
//! - [`commands`]: running a command line, what each subcommand prints, the exit code.
//! - [`upload`]: the upload command's concurrency, progress bar and summary.
//! - [`bench`]: the load generator: closed loop, open loop at a rate or a schedule, rate steps with a plot,
//!   latency percentiles, errors by code, RabbitMQ queue depths and the overload verdict.
//! - [`files`]: which files an upload sends and what its outputs are called.
//! - [`client`]: [`ApiClient`], the API as calls, with the `503` retries.
//! - [`documents`]: the JSON documents the gateway answers with.
//! - [`status`]: what `imagepipe status` prints (the status, then the timeline).
//! - [`table`]: plain-text tables and byte sizes.
//! - [`error`]: [`CliError`], what a command can fail with.

pub mod bench;
pub mod client;
pub mod commands;
pub mod config;
pub mod documents;
pub mod error;
pub mod files;
pub mod status;
pub mod table;
pub mod upload;

pub use client::ApiClient;
pub use config::Cli;
pub use error::CliError;
