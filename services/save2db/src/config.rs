//! save2db's command line and environment.

use std::{net::SocketAddr, time::Duration};

use imagepipe_common::config::{AmqpArgs, LogArgs, MongoArgs};

/// Everything save2db can be told. Every flag has an environment-variable fallback.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-save2db",
    version,
    about = "Stores imagepipe's originals and results in MongoDB GridFS."
)]
pub struct Config {
    /// Where `/healthz` and `/readyz` listen.
    #[arg(long, env = "SAVE2DB_HTTP_ADDR", default_value = "127.0.0.1:9092")]
    pub http_addr: SocketAddr,
    /// Name of the GridFS bucket (collections `<bucket>.files` and `<bucket>.chunks`).
    #[arg(long, env = "SAVE2DB_BUCKET", default_value = "images")]
    pub bucket: String,
    /// Archive messages handled at once (AMQP prefetch).
    #[arg(long, env = "SAVE2DB_PREFETCH", default_value_t = 8)]
    pub prefetch: u16,
    /// This replica's name in job events and logs (default: the host name).
    #[arg(long, env = "SAVE2DB_INSTANCE_ID", default_value_t = default_instance_id())]
    pub instance_id: String,
    /// Seconds the archives in flight get to finish at shutdown.
    #[arg(long, env = "SAVE2DB_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// The broker.
    #[command(flatten)]
    pub amqp: AmqpArgs,
    /// The database.
    #[command(flatten)]
    pub mongo: MongoArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

impl Config {
    /// How long in-flight archives may take to finish at shutdown.
    #[must_use]
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// The host name (`HOSTNAME`, else `/etc/hostname`), else a short random id.
fn default_instance_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| {
            let mut id = uuid::Uuid::new_v4().simple().to_string();
            id.truncate(8);
            id
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_work_against_the_local_stack() {
        let config = Config::try_parse_from(["imagepipe-save2db"]).unwrap();
        assert_eq!(config.bucket, "images");
        assert_eq!(config.prefetch, 8);
        assert_eq!(config.shutdown_grace(), Duration::from_secs(30));
        assert!(!config.instance_id.is_empty());
    }

    #[test]
    fn the_end_to_end_tests_interface_parses() {
        let config = Config::try_parse_from([
            "imagepipe-save2db",
            "--amqp-url",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            "--amqp-namespace",
            "t-1",
            "--mongodb-uri",
            "mongodb://127.0.0.1:27017/?directConnection=true",
            "--mongodb-database",
            "db-1",
            "--http-addr",
            "127.0.0.1:0",
            "--instance-id",
            "s2d-1",
        ])
        .unwrap();
        assert_eq!(config.http_addr.port(), 0);
        assert_eq!(config.amqp.amqp_namespace, "t-1");
        assert_eq!(config.mongo.mongodb_database, "db-1");
        assert_eq!(config.instance_id, "s2d-1");
    }

    #[test]
    fn rejects_a_bad_address() {
        assert!(Config::try_parse_from(["imagepipe-save2db", "--http-addr", "nowhere"]).is_err());
    }
}
