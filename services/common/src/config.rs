//! Argument groups every service flattens into its own clap `Config` (the archive's, `ArchiveArgs`, is the
//! archive library's). Each has an environment-variable fallback and a default that works against
//! `deploy/local/up` and docker-compose.

use std::time::Duration;

use imagepipe_proto::topology::DEFAULT_QUEUE_BUDGET_BYTES;

/// How to reach RabbitMQ and which topology namespace to use.
#[derive(Debug, Clone, clap::Args)]
pub struct AmqpArgs {
    /// AMQP URL of the broker; for a cluster, its nodes' URLs separated by commas (each process connects to one
    /// at random and moves to another when it stops answering).
    #[arg(long, env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub amqp_url: String,
    /// Prefix of every exchange and queue name (tests use a unique one).
    #[arg(long, env = "AMQP_NAMESPACE", default_value = "imagepipe")]
    pub amqp_namespace: String,
    /// Seconds to wait for a publisher confirm before giving up.
    #[arg(long, env = "AMQP_CONFIRM_TIMEOUT_SECS", default_value_t = 10)]
    pub amqp_confirm_timeout_secs: u64,
    /// Largest message the broker accepts, in bytes (its `max_message_size`; 128 MiB is RabbitMQ 3.x's default and
    /// what `deploy/rabbitmq/rabbitmq.conf` sets). Publishing more is refused before it reaches the broker.
    #[arg(long, env = "AMQP_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub amqp_max_message_bytes: u64,
    /// Bytes of messages the durable queues may hold together, shared out as docs/operations.md says (transform
    /// 25%, archive 50%, activity 5%, dead letters 20%; each gateway's reply queue 5% on top). Keep it well under
    /// the broker's memory high watermark; every service of a deployment must use the same value.
    #[arg(long, env = "AMQP_QUEUE_BUDGET_BYTES", default_value_t = DEFAULT_QUEUE_BUDGET_BYTES)]
    pub amqp_queue_budget_bytes: u64,
}

/// The broker the services default to: the local stack's RabbitMQ, as guest.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The broker's default largest message: 128 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 128 * 1024 * 1024;

impl AmqpArgs {
    /// Arguments for `url` and `namespace` with default timeouts (for tests and tools).
    #[must_use]
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            amqp_url: url.into(),
            amqp_namespace: namespace.into(),
            amqp_confirm_timeout_secs: 10,
            amqp_max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            amqp_queue_budget_bytes: DEFAULT_QUEUE_BUDGET_BYTES,
        }
    }

    /// The publisher-confirm timeout.
    #[must_use]
    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_secs(self.amqp_confirm_timeout_secs.max(1))
    }
}

/// Log filter and format.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax (`RUST_LOG` wins when set).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// `pretty` for people, `json` for log shippers.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Test {
        #[command(flatten)]
        amqp: AmqpArgs,
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn flags_override_defaults() {
        let parsed = Test::try_parse_from([
            "t",
            "--amqp-url",
            "amqp://rabbit:5672/%2f",
            "--amqp-namespace",
            "ns",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(parsed.amqp.amqp_url, "amqp://rabbit:5672/%2f");
        assert_eq!(parsed.amqp.amqp_namespace, "ns");
        assert_eq!(
            Test::try_parse_from(["t"]).unwrap().amqp.amqp_url,
            DEFAULT_AMQP_URL
        );
        assert_eq!(parsed.log.log_format, LogFormat::Json);
        assert_eq!(parsed.amqp.confirm_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn rejects_unknown_log_format() {
        assert!(Test::try_parse_from(["t", "--log-format", "xml"]).is_err());
    }
}
