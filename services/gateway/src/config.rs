//! The gateway's configuration: command-line flags with environment-variable fallbacks.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use imagepipe_archive::ArchiveArgs;
use imagepipe_common::{
    config::{AmqpArgs, LogArgs},
    instance,
};

use crate::{
    auth::keys::{ApiKeys, Owner},
    error::{ConfigError, KeyConfigError},
};

/// Everything the gateway needs to run.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-gateway",
    version,
    about = "imagepipe's REST gateway: accepts image uploads, queues them for the transformers, serves results."
)]
pub struct Config {
    /// An operator command to run instead of the gateway.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address the HTTP API listens on.
    #[arg(long, env = "GATEWAY_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// This replica's id, naming its reply queue (made safe for queue names); default: the host name and a
    /// random suffix.
    #[arg(
        long,
        env = "GATEWAY_INSTANCE_ID",
        value_parser = instance::parse
    )]
    pub instance_id: Option<String>,
    /// Largest accepted image, in bytes (25 MiB by default; the decoded image for JSON/base64 uploads).
    #[arg(long, env = "GATEWAY_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Largest accepted image, in pixels (width x height, read from the header).
    #[arg(long, env = "GATEWAY_MAX_PIXELS", default_value_t = 50_000_000)]
    pub max_pixels: u64,
    /// Memory for cached results and originals, in bytes (256 MiB by default).
    #[arg(long, env = "GATEWAY_CACHE_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub cache_bytes: u64,
    /// Most job statuses remembered in memory (older ones are read back from MongoDB).
    #[arg(long, env = "GATEWAY_MAX_TRACKED_JOBS", default_value_t = 100_000)]
    pub max_tracked_jobs: usize,
    /// Refuse new jobs (`503 overloaded`) while a new job would wait longer than this for a transformer (the
    /// queue's length over the start rate, or the oldest job's wait), in seconds; 0: never. Whatever this is,
    /// new jobs are also refused while the jobs waiting hold three quarters of the transform queue's byte bound
    /// (a quarter of `AMQP_QUEUE_BUDGET_BYTES`).
    #[arg(long, env = "GATEWAY_MAX_QUEUE_WAIT_SECS", default_value_t = 10)]
    pub max_queue_wait_secs: u64,
    /// Absolute URL prefix for links in responses (e.g. `https://images.example.com`); default: relative links.
    #[arg(long, env = "GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds in-flight requests may take to finish at shutdown.
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// API key hashes, `owner:sha256:<hex>` separated by commas or new lines (`keys new` prints them). With keys
    /// (here or in the file) every job is private to its owner; without any the gateway runs open.
    #[arg(long, env = "GATEWAY_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// A file of API key hashes, one `owner:sha256:<hex>` (or `owner sha256:<hex>`) per line, `#` comments.
    #[arg(long, env = "GATEWAY_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub amqp: AmqpArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub log: LogArgs,
}

impl Config {
    /// Checks that the settings fit together: an upload must leave room in one broker message for the job's
    /// outputs, which travel with the original to save2db (so at most half of `AMQP_MAX_MESSAGE_BYTES`).
    ///
    /// # Errors
    /// What does not fit, naming the settings to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let room = self.amqp.amqp_max_message_bytes / 2;
        if self.max_upload_bytes > room {
            return Err(ConfigError::UploadTooLargeForMessages {
                upload: self.max_upload_bytes,
                message: self.amqp.amqp_max_message_bytes,
            });
        }
        Ok(())
    }

    /// The configured API keys (none: the gateway runs open; an empty `GATEWAY_API_KEYS` has none).
    ///
    /// # Errors
    /// [`KeyConfigError`] when the key file cannot be read, an entry is malformed, or a key appears twice.
    pub fn api_keys(&self) -> Result<ApiKeys, KeyConfigError> {
        ApiKeys::load(self.api_keys.as_deref(), self.api_keys_file.as_deref())
    }

    /// The queue wait past which new jobs are refused (`None`: never).
    #[must_use]
    pub fn max_queue_wait(&self) -> Option<Duration> {
        (self.max_queue_wait_secs > 0).then(|| Duration::from_secs(self.max_queue_wait_secs))
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

/// Operator commands, run instead of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI document (what `GET /openapi.json` serves) and exit.
    Openapi,
}

/// `keys …`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum KeysCommand {
    /// Mint a new API key for an owner: prints the key (once; the gateway never stores it) and the entry to add
    /// to `GATEWAY_API_KEYS` or `GATEWAY_API_KEYS_FILE`.
    New {
        /// Whose key it is: 1-64 of ASCII letters, digits, `.`, `_`, `-`, `@`.
        #[arg(long, value_parser = parse_owner)]
        owner: Owner,
    },
}

fn parse_owner(name: &str) -> Result<Owner, String> {
    Owner::new(name)
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
        assert_eq!(config.archive.mongodb_bucket, "images");
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
        assert_eq!(
            error,
            ConfigError::UploadTooLargeForMessages {
                upload: 70_000_000,
                message: 134_217_728
            }
        );
        assert!(
            error.to_string().contains("GATEWAY_MAX_UPLOAD_BYTES"),
            "{error}"
        );
    }

    #[test]
    fn api_keys_come_from_the_flag_and_the_file_together() {
        let alice = crate::auth::keys::entry(&Owner::new("alice").unwrap(), "ipk_a");
        let bob = crate::auth::keys::entry(&Owner::new("bob").unwrap(), "ipk_b");
        let file = std::env::temp_dir().join(format!("imagepipe-keys-{}", uuid::Uuid::new_v4()));
        std::fs::write(
            &file,
            format!("# team keys\n{}\n", bob.replacen(':', " ", 1)),
        )
        .unwrap();
        let config = Config::try_parse_from([
            "imagepipe-gateway",
            "--api-keys",
            &alice,
            "--api-keys-file",
            file.to_str().unwrap(),
        ])
        .unwrap();
        let keys = config.api_keys().unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(keys.owner_of("ipk_a").unwrap().name(), "alice");
        assert_eq!(keys.owner_of("ipk_b").unwrap().name(), "bob");
        assert_eq!(keys.owner_count(), 2);

        let config = Config::try_parse_from([
            "imagepipe-gateway",
            "--api-keys",
            &bob.replace("bob", "b/b"),
        ])
        .unwrap();
        assert!(config.api_keys().is_err(), "a bad entry stops the start");
        let config =
            Config::try_parse_from(["imagepipe-gateway", "--api-keys-file", "/nonexistent"])
                .unwrap();
        assert!(config.api_keys().is_err(), "a missing file stops the start");
        let config = Config::try_parse_from(["imagepipe-gateway", "--api-keys", ""]).unwrap();
        assert!(config.api_keys().unwrap().is_open(), "an empty list: open");
    }

    #[test]
    fn keys_new_needs_a_valid_owner() {
        let config =
            Config::try_parse_from(["imagepipe-gateway", "keys", "new", "--owner", "alice"])
                .unwrap();
        assert_eq!(
            config.command,
            Some(Command::Keys(KeysCommand::New {
                owner: Owner::new("alice").unwrap()
            }))
        );
        for args in [
            &["imagepipe-gateway", "keys", "new"][..],
            &["imagepipe-gateway", "keys", "new", "--owner", "a b"],
            &["imagepipe-gateway", "keys", "new", "--owner", ""],
        ] {
            assert!(Config::try_parse_from(args).is_err(), "{args:?}");
        }
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
        assert_eq!(config.instance_id.as_deref(), Some("gw-1---"));
        assert_eq!(config.link_base(), "https://img.example.com");
        let unset = Config::try_parse_from(["imagepipe-gateway"]).unwrap();
        assert_eq!(unset.instance_id, None, "generated at start-up, once");
        assert!(Config::try_parse_from(["imagepipe-gateway", "--instance-id", ""]).is_err());
    }
}
