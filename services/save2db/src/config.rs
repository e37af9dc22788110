//! save2db's command line and environment: the service's settings, and the operator subcommands
//! (`dead-letters list|replay`) that run once against the broker instead of starting the service.

use std::{net::SocketAddr, time::Duration};

use imagepipe_archive::ArchiveArgs;
use imagepipe_common::{
    config::{AmqpArgs, LogArgs},
    instance,
};

/// Everything save2db can be told. Every flag has an environment-variable fallback. Without a subcommand it runs
/// the service; with one it runs that operator command (which uses only the AMQP settings) and exits.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-save2db",
    version,
    about = "Stores imagepipe's originals and results in MongoDB GridFS."
)]
pub struct Config {
    /// An operator command to run instead of the service.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address of `/healthz`, `/readyz` and `/metrics`; port 0 picks a free one.
    #[arg(long, env = "SAVE2DB_HTTP_ADDR", default_value = "127.0.0.1:9092")]
    pub http_addr: SocketAddr,
    /// Archive messages handled at once (AMQP prefetch).
    #[arg(long, env = "SAVE2DB_PREFETCH", default_value_t = 8)]
    pub prefetch: u16,
    /// This replica's name in the job events it publishes and in logs (made safe for routing keys); default: the
    /// host name and a random suffix.
    #[arg(
        long,
        env = "SAVE2DB_INSTANCE_ID",
        value_parser = instance::parse
    )]
    pub instance_id: Option<String>,
    /// Seconds the archives in flight get to finish at shutdown.
    #[arg(long, env = "SAVE2DB_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// The broker.
    #[command(flatten)]
    pub amqp: AmqpArgs,
    /// The archive: database and bucket.
    #[command(flatten)]
    pub archive: ArchiveArgs,
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

/// Operator commands. They take the broker settings (`--amqp-url`, `--amqp-namespace` before the subcommand, or
/// `AMQP_URL`, `AMQP_NAMESPACE`) and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Inspect and replay the dead-letter queue (`<namespace>.dead-letter`).
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
}

/// `dead-letters …`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum DeadLetterCommand {
    /// List dead letters in queue order, without removing any.
    List {
        /// Most dead letters to show.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Republish dead letters to the main exchange with their original routing key; each is removed from the
    /// dead-letter queue once the broker confirms its republication.
    #[command(group(clap::ArgGroup::new("selection").required(true).args(["all", "jobs"])))]
    Replay {
        /// Replay every dead letter examined.
        #[arg(long)]
        all: bool,
        /// Replay the dead letters of these jobs (repeat the flag or give several ids).
        #[arg(long = "job", value_name = "ID", num_args = 1..)]
        jobs: Vec<String>,
        /// Most dead letters to examine.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_work_against_the_local_stack() {
        let config = Config::try_parse_from(["imagepipe-save2db"]).unwrap();
        assert_eq!(config.archive.mongodb_bucket, "images");
        assert_eq!(config.prefetch, 8);
        assert_eq!(config.shutdown_grace(), Duration::from_secs(30));
        assert_eq!(config.instance_id, None, "generated at start-up");
        assert_eq!(config.command, None, "no subcommand runs the service");
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
        assert_eq!(config.archive.mongodb_database, "db-1");
        assert_eq!(config.instance_id.as_deref(), Some("s2d-1"));
    }

    #[test]
    fn dead_letter_commands_parse_with_the_broker_flags_before_them() {
        let config = Config::try_parse_from([
            "imagepipe-save2db",
            "--amqp-namespace",
            "t-2",
            "dead-letters",
            "list",
            "--json",
        ])
        .unwrap();
        assert_eq!(config.amqp.amqp_namespace, "t-2");
        assert_eq!(
            config.command,
            Some(Command::DeadLetters(DeadLetterCommand::List {
                limit: 100,
                json: true
            }))
        );

        let replay = |args: &[&str]| {
            Config::try_parse_from(
                ["imagepipe-save2db", "dead-letters", "replay"]
                    .iter()
                    .chain(args),
            )
            .map(|config| config.command)
        };
        assert_eq!(
            replay(&["--job", "a", "b", "--job", "c", "--limit", "5"]).unwrap(),
            Some(Command::DeadLetters(DeadLetterCommand::Replay {
                all: false,
                jobs: vec!["a".into(), "b".into(), "c".into()],
                limit: 5,
            }))
        );
        assert_eq!(
            replay(&["--all"]).unwrap(),
            Some(Command::DeadLetters(DeadLetterCommand::Replay {
                all: true,
                jobs: vec![],
                limit: 1000,
            }))
        );
        assert!(replay(&[]).is_err(), "--all or --job is required");
        assert!(replay(&["--all", "--job", "a"]).is_err(), "not both");
        assert!(
            Config::try_parse_from(["imagepipe-save2db", "dead-letters", "list", "--limit", "x"])
                .is_err()
        );
    }

    #[test]
    fn rejects_a_bad_address() {
        assert!(Config::try_parse_from(["imagepipe-save2db", "--http-addr", "nowhere"]).is_err());
    }
}
