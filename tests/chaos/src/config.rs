//! The harness's command line (`deploy/local/chaos` fills it in) and the [`Plan`] it turns into: how many
//! images, over how long, how long the database stays down, how long to wait for the backlog to drain.

use std::{path::PathBuf, time::Duration};

use imagepipe_common::config::DEFAULT_AMQP_URL;

/// Everything the chaos test is told.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-chaos",
    version,
    about = "Runs imagepipe's services under load while killing and restarting them, the broker and the \
             database, then proves every accepted job was processed and stored exactly once."
)]
pub struct Config {
    /// Directory holding the `imagepipe-gateway`, `imagepipe-transformer` and `imagepipe-save2db` binaries.
    #[arg(long, env = "CHAOS_BIN_DIR")]
    pub bin_dir: PathBuf,
    /// The SecantusDB server (`secantusd-py`); the harness runs its own, on disk, so it can stop and restart it.
    #[arg(long, env = "CHAOS_SECANTUSD")]
    pub secantusd: PathBuf,
    /// The `rabbitmqctl` program (run through `sudo -n` when the harness is not root).
    #[arg(long, env = "CHAOS_RABBITMQCTL", default_value = "rabbitmqctl")]
    pub rabbitmqctl: String,
    /// The RabbitMQ node to stop and start (`rabbitmqctl -n NODE stop_app`).
    #[arg(long, env = "CHAOS_RABBITMQ_NODE")]
    pub rabbitmq_node: String,
    /// The broker the services and the harness use.
    #[arg(long, env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub amqp_url: String,
    /// Where the services' logs (and, while the test runs, the database's files) go.
    #[arg(long, env = "CHAOS_OUT_DIR")]
    pub out_dir: PathBuf,
    /// The short run (120 images, 10 s database outage, 8 min drain timeout) instead of the full one.
    #[arg(long)]
    pub short: bool,
    /// Images to submit (default: 500, or 120 with --short).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub jobs: Option<u64>,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Seed of the generated images and options (default: random, printed so a run can be repeated).
    #[arg(long, env = "CHAOS_SEED")]
    pub seed: Option<u64>,
    /// Seconds the database stays down (default: 30, or 10 with --short).
    #[arg(long)]
    pub mongo_outage_secs: Option<u64>,
    /// Seconds to wait, after the chaos, for every accepted job to be done and stored (default: 900, or 480
    /// with --short).
    #[arg(long)]
    pub drain_timeout_secs: Option<u64>,
}

/// What one run does, with the defaults of its length filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `full` or `short`.
    pub name: &'static str,
    /// Images in the paced stream.
    pub jobs: usize,
    /// How long the paced stream is spread over.
    pub submit_over: Duration,
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Seed of the workload.
    pub seed: u64,
    /// How long the database stays down.
    pub mongo_outage: Duration,
    /// How long to wait for the backlog after the chaos.
    pub drain_timeout: Duration,
}

impl Config {
    /// The plan this configuration asks for.
    #[must_use]
    pub fn plan(&self) -> Plan {
        let (name, jobs, submit_over, outage, drain) = if self.short {
            ("short", 120, 60, 10, 480)
        } else {
            ("full", 500, 90, 30, 900)
        };
        Plan {
            name,
            jobs: self
                .jobs
                .map_or(jobs, |jobs| usize::try_from(jobs).unwrap_or(usize::MAX)),
            submit_over: Duration::from_secs(submit_over),
            concurrency: usize::try_from(self.concurrency).unwrap_or(8),
            seed: self.seed.unwrap_or_else(random_seed),
            mongo_outage: Duration::from_secs(self.mongo_outage_secs.unwrap_or(outage)),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs.unwrap_or(drain)),
        }
    }
}

fn random_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    const REQUIRED: [&str; 9] = [
        "imagepipe-chaos",
        "--bin-dir",
        "target/debug",
        "--secantusd",
        ".imagepipe/venv/bin/secantusd-py",
        "--rabbitmq-node",
        "rabbit@localhost",
        "--out-dir",
        ".imagepipe/chaos/x",
    ];

    #[test]
    fn the_full_run_is_the_default() {
        let plan = Config::try_parse_from(REQUIRED).unwrap().plan();
        assert_eq!(plan.name, "full");
        assert_eq!(plan.jobs, 500);
        assert_eq!(plan.mongo_outage, Duration::from_secs(30));
        assert_eq!(plan.drain_timeout, Duration::from_secs(900));
        assert_eq!(plan.concurrency, 8);
    }

    #[test]
    fn short_shrinks_and_flags_override() {
        let mut args = REQUIRED.to_vec();
        args.extend(["--short", "--seed", "7", "--mongo-outage-secs", "3"]);
        let plan = Config::try_parse_from(args).unwrap().plan();
        assert_eq!(plan.name, "short");
        assert_eq!(plan.jobs, 120);
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.mongo_outage, Duration::from_secs(3));
        assert_eq!(plan.drain_timeout, Duration::from_secs(480));
    }

    #[test]
    fn needs_the_binaries_and_the_node() {
        assert!(Config::try_parse_from(["imagepipe-chaos", "--short"]).is_err());
        let mut args = REQUIRED.to_vec();
        args.extend(["--jobs", "0"]);
        assert!(Config::try_parse_from(args).is_err());
    }
}
