//! The gateway's configuration: command-line flags with environment-variable fallbacks.

use std::{net::SocketAddr, time::Duration};

use imagepipe_common::config::{AmqpArgs, LogArgs, MongoArgs};

/// Everything the gateway needs to run.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-gateway",
    version,
    about = "imagepipe's REST gateway: accepts image uploads, queues them for the transformers, serves results."
)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "GATEWAY_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// This replica's id, naming its reply queue; default: the host name plus a random suffix.
    #[arg(long, env = "GATEWAY_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Largest accepted image, in bytes (the decoded image for JSON/base64 uploads).
    #[arg(long, env = "GATEWAY_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Largest accepted image, in pixels (width x height, read from the header).
    #[arg(long, env = "GATEWAY_MAX_PIXELS", default_value_t = 50_000_000)]
    pub max_pixels: u64,
    /// Memory for cached results and originals, in bytes.
    #[arg(long, env = "GATEWAY_CACHE_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub cache_bytes: u64,
    /// Most job statuses remembered in memory (older ones are read back from MongoDB).
    #[arg(long, env = "GATEWAY_MAX_TRACKED_JOBS", default_value_t = 100_000)]
    pub max_tracked_jobs: usize,
    /// GridFS bucket save2db writes to (must match `SAVE2DB_BUCKET`).
    #[arg(long, env = "GATEWAY_BUCKET", default_value = "images")]
    pub bucket: String,
    /// Absolute URL prefix for links in responses (e.g. `https://images.example.com`); default: relative links.
    #[arg(long, env = "GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds in-flight requests may take to finish at shutdown.
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub amqp: AmqpArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mongo: MongoArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub log: LogArgs,
}

impl Config {
    /// This replica's id: the configured one, else `<host name>-<4 random hex digits>`, restricted to characters
    /// that are safe in queue names and routing keys.
    #[must_use]
    pub fn instance_id(&self) -> String {
        let raw = self.instance_id.clone().unwrap_or_else(|| {
            let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
            format!("{}-{suffix}", host_name())
        });
        let id: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        if id.is_empty() { "gateway".into() } else { id }
    }

    /// Checks that the settings fit together: an upload must leave room in one broker message for the job's
    /// outputs, which travel with the original to save2db (so at most half of `AMQP_MAX_MESSAGE_BYTES`).
    ///
    /// # Errors
    /// What does not fit, naming the settings to change.
    pub fn validate(&self) -> Result<(), String> {
        let room = self.amqp.amqp_max_message_bytes / 2;
        if self.max_upload_bytes > room {
            return Err(format!(
                "GATEWAY_MAX_UPLOAD_BYTES ({}) is more than half of AMQP_MAX_MESSAGE_BYTES ({}): an upload and its \
                 outputs could not be carried by the broker; lower the first or raise both it and the broker's \
                 max_message_size",
                self.max_upload_bytes, self.amqp.amqp_max_message_bytes
            ));
        }
        Ok(())
    }

    /// The shutdown grace period.
    #[must_use]
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The link prefix without a trailing slash (empty for relative links).
    #[must_use]
    pub fn link_base(&self) -> String {
        self.public_url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned()
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "gateway".into())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn defaults_work_against_the_local_stack() {
        let config = Config::try_parse_from(["imagepipe-gateway"]).unwrap();
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.max_upload_bytes, 25 * 1024 * 1024);
        assert_eq!(config.bucket, "images");
        assert_eq!(config.link_base(), "");
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn an_upload_limit_the_broker_cannot_carry_is_refused() {
        let config = Config::try_parse_from([
            "imagepipe-gateway",
            "--max-upload-bytes",
            "70000000",
            "--amqp-max-message-bytes",
            "134217728",
        ])
        .unwrap();
        let error = config.validate().unwrap_err();
        assert!(error.contains("GATEWAY_MAX_UPLOAD_BYTES"), "{error}");
    }

    #[test]
    fn instance_ids_are_safe_in_routing_keys() {
        let config = Config::try_parse_from([
            "imagepipe-gateway",
            "--instance-id",
            "gw.1 #*",
            "--public-url",
            "https://img.example.com/",
        ])
        .unwrap();
        assert_eq!(config.instance_id(), "gw-1---");
        assert_eq!(config.link_base(), "https://img.example.com");
        let generated = Config::try_parse_from(["imagepipe-gateway"])
            .unwrap()
            .instance_id();
        assert!(
            generated
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
