//! Tracing initialisation: `RUST_LOG` (or `--log-level`) filter, pretty or JSON lines on stdout.

use tracing_subscriber::EnvFilter;

use crate::config::{LogArgs, LogFormat};

/// Installs the global subscriber for `service`. Call once, first thing in `main`.
pub fn init(service: &'static str, args: &LogArgs) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&args.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match args.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "Starting.");
}
