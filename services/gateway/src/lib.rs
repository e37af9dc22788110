//! imagepipe's REST gateway. It accepts an image upload, checks it cheaply (size, format sniffed from the bytes,
//! dimensions from the header), publishes it as an `ImageSubmitted` job to the RabbitMQ topic exchange and, once
//! the broker confirmed, answers `202 Accepted` with the job id. Results come back on the replica's own reply
//! queue and are served from a byte-bounded in-memory cache, falling back to the archive in MongoDB
//! ([`imagepipe_archive`]), where save2db keeps every job. It meets the other services only through the contract
//! ([`imagepipe_proto`]) and the archive.
//!
//! # Layout
//! - [`config`], [`startup`], [`commands`]: the clap [`Config`], [`Application`] (`build`, `addr`,
//!   `run_until_stopped`), and the operator commands (`keys new`, `openapi`).
//! - [`http`]: the HTTP face: the route table and router, the job routes' handlers, image responses, the status
//!   document, the live status stream (Server-Sent Events), the request log and metrics, the web page, the
//!   OpenAPI document.
//! - [`intake`]: accepting a job (`POST /image`): the handler, reading the body, options, the header probe,
//!   publishing, and the description of the options.
//! - [`tracking`]: what this replica knows of jobs: the job table and result cache, the reply-queue consumer,
//!   timelines, and the lookup (memory, then the archive).
//! - [`stored`]: the stored jobs: listing (`GET /images`) and deletion (`DELETE /image/{id}`).
//! - [`auth`]: API keys and owners, and the filter naming a request's caller.
//! - [`error`]: [`ApiError`](error::ApiError), [`ErrorCode`](error::ErrorCode) (every error response's code,
//!   with its status and meaning) and the one rejection handler.
//! - [`metrics`]: the gateway's job series (the HTTP series are [`http::request_log`]'s).
//! - [`testkit`] (feature `testkit`): running and talking to a gateway in tests.

pub mod auth;
pub mod commands;
pub mod config;
pub mod error;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod startup;
pub mod stored;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tracking;

pub use config::Config;
pub use startup::Application;
