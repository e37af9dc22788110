//! imagepipe's chaos test: proof that every job the gateway accepted (`202`) is processed and stored exactly
//! once in effect while its parts fail. It starts a private stack (its own SecantusDB on disk, one gateway, two
//! transformers, one save2db, on a unique AMQP namespace and database), uploads a stream of generated images
//! spread over a chaos timeline (a transformer killed, save2db killed mid-write, RabbitMQ restarted, the
//! database stopped for a while), waits for the backlog to drain, then checks every accepted job through the
//! API and directly in MongoDB and the broker, and prints one table with the verdict.
//!
//! The cluster run (`--cluster`) puts two gateways behind HAProxy, and two transformers and two save2db beside
//! them, on a three-node RabbitMQ cluster; its timeline kills the node leading the transform queue, a gateway,
//! a transformer and a save2db (`kill -9`) and steps the database's primary down, and it also checks that every
//! queue of its namespace ends empty, that clients saw only retryable errors, and reports the longest gap in
//! accepted uploads during each fault.
//!
//! `deploy/local/chaos` builds the binaries and runs this with the paths it needs.
//!
//! # Layout
//! - [`config`]: the clap [`Config`] and the [`Plan`](config::Plan) of a full or short run.
//! - [`process`]: [`Process`](process::Process), a child that can be killed, terminated and started again.
//! - [`stack`]: [`Stack`](stack::Stack), the run's database server and services.
//! - [`mongo`]: the database server, and stepping its primary down.
//! - [`balancer`]: the cluster run's HAProxy, its configuration and its view of the gateways.
//! - [`workload`]: the generated images and their options.
//! - [`submit`]: [`Submitter`](submit::Submitter), uploads with retries, and the paced stream.
//! - [`chaos`]: the timeline of failures.
//! - [`cluster_chaos`]: the cluster run's timeline.
//! - [`rabbitmq`]: `rabbitmqctl stop_app`/`start_app` and the queues' depths.
//! - [`cluster`]: the RabbitMQ cluster's control script.
//! - [`management`]: the cluster's management API: the namespace's queues, counted and deleted.
//! - [`gaps`]: the longest gap in accepted uploads during each fault.
//! - [`storage`]: what MongoDB holds, and the exactly-once checks on it.
//! - [`verify`]: waiting for the drain, and the checks through the API.
//! - [`evidence`]: what a run collected, and how it adds up to the report.
//! - [`report`]: the table and the verdict.
//! - [`cluster_report`]: the cluster run's rules and rows.
//! - [`clock`]: timestamped progress lines.
//! - [`error`]: [`Error`], what stops the harness itself.

pub mod balancer;
pub mod chaos;
pub mod clock;
pub mod cluster;
pub mod cluster_chaos;
pub mod cluster_report;
pub mod config;
pub mod error;
pub mod evidence;
pub mod gaps;
pub mod management;
pub mod mongo;
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
