//! imagepipe's chaos test: proof that every job the gateway accepted (`202`) is processed and stored exactly
//! once in effect while its parts fail. It starts a private stack (its own SecantusDB on disk, one gateway, two
//! transformers, one save2db, on a unique AMQP namespace and database), uploads a stream of generated images
//! spread over a chaos timeline (a transformer killed, save2db killed mid-write, RabbitMQ restarted, the
//! database stopped for a while), waits for the backlog to drain, then checks every accepted job through the
//! API and directly in MongoDB and the broker, and prints one table with the verdict.
//!
//! `deploy/local/chaos` builds the binaries and runs this with the paths it needs.
//!
//! # Layout
//! - [`config`]: the clap [`Config`] and the [`Plan`](config::Plan) of a full or short run.
//! - [`process`]: [`Process`](process::Process), a child that can be killed, terminated and started again.
//! - [`stack`]: [`Stack`](stack::Stack), the run's database server and services.
//! - [`workload`]: the generated images and their options.
//! - [`submit`]: [`Submitter`](submit::Submitter), uploads with retries, and the paced stream.
//! - [`chaos`]: the timeline of failures.
//! - [`rabbitmq`]: `rabbitmqctl stop_app`/`start_app` and the queues' depths.
//! - [`storage`]: what MongoDB holds, and the exactly-once checks on it.
//! - [`verify`]: waiting for the drain, and the checks through the API.
//! - [`evidence`]: what a run collected, and how it adds up to the report.
//! - [`report`]: the table and the verdict.
//! - [`clock`]: timestamped progress lines.
//! - [`error`]: [`Error`], what stops the harness itself.

pub mod chaos;
pub mod clock;
pub mod config;
pub mod error;
pub mod evidence;
pub mod process;
pub mod rabbitmq;
pub mod report;
pub mod stack;
pub mod storage;
pub mod submit;
pub mod verify;
pub mod workload;

mod run;

pub use config::Config;
pub use error::Error;
pub use report::Report;
pub use run::run;
