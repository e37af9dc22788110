//! Plumbing shared by imagepipe's three services, and nothing domain-specific: the clap argument groups every
//! service flattens into its `Config`, tracing initialisation, the shutdown signal, the AMQP broker handle
//! (connection pool, topology declaration, confirmed publishing, a recovering consumer loop), the `/healthz` +
//! `/readyz` + `/metrics` endpoints, and the Prometheus registry. The MongoDB side is the archive library's.
//!
//! # Layout
//! - [`config`] holds `AmqpArgs` and `LogArgs`.
//! - [`telemetry`] holds `init(service, &LogArgs)`.
//! - [`shutdown`] holds `signal()`, SIGINT or SIGTERM.
//! - [`amqp`] holds `Broker` (pool + topology), `Publisher` (publisher confirms), `consume` (the consumer loop).
//! - [`instance`] holds how a replica's instance id is made (configured and made safe, or generated).
//! - [`health`] holds the health routes (`/healthz`, `/readyz`, `/metrics`) and the `Readiness` check.
//! - [`metrics`] holds the process-wide Prometheus registry, labelled counter/gauge/histogram families, and
//!   the `/metrics` filter.
//! - `testkit` (feature `testkit`) holds what the integration suites share: the broker to test against, the
//!   `Sandbox` (a private namespace and the services started in it), `CutProxy` (a TCP proxy tests cut to
//!   simulate an outage) and waiting helpers.
//! - [`retry`] holds `Backoff` and `with_backoff`, for waiting out an absent broker or database.
//! - [`time`] holds wall-clock helpers for message timestamps and their RFC 3339 form.
//! - [`error`] holds this crate's `Error`.
//! - [`allocator`] holds the services' allocator (jemalloc) and `use_jemalloc!`, which each `main` invokes.

pub mod allocator;
pub mod amqp;
pub mod config;
pub mod error;
pub mod health;
pub mod instance;
pub mod metrics;
pub mod retry;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;

pub use error::Error;
