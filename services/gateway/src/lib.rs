//! imagepipe's REST gateway. It accepts an image upload, checks it cheaply (size, format sniffed from the bytes,
//! dimensions from the header), publishes it as an `ImageSubmitted` job to the RabbitMQ topic exchange and, once
//! the broker confirmed, answers `202 Accepted` with the job id. Results come back on the replica's own reply
//! queue and are served from a byte-bounded in-memory cache, falling back to MongoDB GridFS, where save2db keeps
//! every job.
//!
//! # Layout
//! - [`config`]: the clap `Config` (`GATEWAY_*` plus the shared AMQP, MongoDB and log groups).
//! - [`startup`]: `Application::build` / `run_until_stopped`.
//! - [`routes`]: the warp filters and handlers of the API.
//! - [`keys`] and [`auth`]: the configured API keys and their owners, and the filter naming a request's owner.
//! - [`conditional`]: `ETag`s of images and `If-None-Match`.
//! - [`upload`]: reading raw, multipart and JSON uploads under the size limit.
//! - [`options`]: a job's options (transform options, variants, watermark image) and their validation.
//! - [`probe`]: format sniffing and header dimensions.
//! - [`submit`]: publishing a job with publisher confirms.
//! - [`replies`]: the reply-queue consumer (results and job events).
//! - [`jobs`]: the replica's job table and result cache.
//! - [`lookup`]: memory first, then MongoDB.
//! - [`metrics`] and [`http_metrics`]: the gateway's Prometheus series (jobs, latency, bytes, cache; requests
//!   by route template) and the one log line per request.
//! - [`view`]: the status JSON.
//! - [`timeline`]: a job's steps (accepted, started, done or failed, stored), heard and from its history.
//! - [`events`]: the status, live, as Server-Sent Events (`GET /image/{id}/events`).
//! - [`web`]: the web page (`GET /`) and its assets, built into the binary.
//! - [`delete`]: deleting a stored job everywhere (`DELETE /image/{id}`).
//! - [`listing`]: the page of stored jobs `GET /images` answers, and its cursor.
//! - [`error`] and [`rejection`]: `ApiError` and the one handler that turns errors into JSON responses.
//! - [`error_codes`]: the stable error codes, each with its status and meaning.
//! - [`openapi`] and [`openapi_upload`]: the OpenAPI document (`/openapi.json`) generated from the handlers and
//!   types, and the Swagger UI page (`/docs`).

pub mod auth;
pub mod conditional;
pub mod config;
pub mod delete;
pub mod error;
pub mod error_codes;
pub mod events;
pub mod http_metrics;
pub mod jobs;
pub mod keys;
pub mod listing;
pub mod lookup;
pub mod metrics;
pub mod openapi;
pub mod openapi_upload;
pub mod options;
pub mod probe;
pub mod rejection;
pub mod replies;
pub mod routes;
pub mod startup;
pub mod submit;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timeline;
pub mod upload;
pub mod view;
pub mod web;

pub use config::Config;
pub use startup::Application;
