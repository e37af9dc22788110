//! The harness's command line (`deploy/local/chaos` fills it in) and the [`Plan`] it turns into: how many
//! images, over how long, how long the database stays down, how long to wait for the backlog to drain, and
//! whether it is the cluster run (`--cluster`: two of every service behind HAProxy, on a three-node RabbitMQ
//! cluster that `deploy/local/rabbit-cluster` runs).

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
    /// The RabbitMQ node to stop and start (`rabbitmqctl -n NODE stop_app`); not used by the cluster run.
    #[arg(long, env = "CHAOS_RABBITMQ_NODE", required_unless_present = "cluster")]
    pub rabbitmq_node: Option<String>,
    /// The broker the services and the harness use; for the cluster run, its nodes' URLs, comma-separated
    /// (`deploy/local/rabbit-cluster urls`).
    #[arg(long, env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub amqp_url: String,
    /// The cluster run: two gateways behind HAProxy, two transformers and two save2db on the RabbitMQ cluster
    /// of `--rabbit-cluster-ctl`; the chaos kills the node leading the transform queue, a gateway, a
    /// transformer and a save2db, and steps the database's primary down.
    #[arg(long)]
    pub cluster: bool,
    /// The RabbitMQ cluster's control script (`deploy/local/rabbit-cluster`: `leader`, `kill`, `start-node`).
    #[arg(
        long,
        env = "CHAOS_RABBIT_CLUSTER_CTL",
        required_if_eq("cluster", "true")
    )]
    pub rabbit_cluster_ctl: Option<PathBuf>,
    /// The cluster's management API, one URL per node, comma-separated, with the user and password in each.
    #[arg(
        long,
        env = "CHAOS_RABBIT_MANAGEMENT_URL",
        default_value = "http://guest:guest@127.0.0.1:15701,http://guest:guest@127.0.0.1:15702,http://guest:guest@127.0.0.1:15703"
    )]
    pub rabbit_management_url: String,
    /// The `haproxy` program the cluster run puts in front of its gateways.
    #[arg(long, env = "CHAOS_HAPROXY", default_value = "haproxy")]
    pub haproxy: PathBuf,
    /// Where the services' logs (and, while the test runs, the database's files) go.
    #[arg(long, env = "CHAOS_OUT_DIR")]
    pub out_dir: PathBuf,
    /// The short run (120 images, 10 s database outage, 8 min drain timeout; with --cluster, 150 images and
    /// shorter pauses) instead of the full one (500 images; with --cluster, 1,000).
    #[arg(long)]
    pub short: bool,
    /// Images to submit (default: 500, or 120 with --short; with --cluster 1,000, or 150 with --short).
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
    /// `full`, `short`, `cluster` or `cluster, short`.
    pub name: &'static str,
    /// Whether it is the cluster run.
    pub cluster: bool,
    /// Whether it is the short run.
    pub short: bool,
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
        let (name, jobs, submit_over, outage, drain) = match (self.cluster, self.short) {
            (false, true) => ("short", 120, 60, 10, 480),
            (false, false) => ("full", 500, 90, 30, 900),
            (true, true) => ("cluster, short", 150, 75, 10, 480),
            (true, false) => ("cluster", 1000, 200, 10, 900),
        };
        Plan {
            name,
            cluster: self.cluster,
            short: self.short,
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
    fn the_cluster_run_needs_its_control_script_not_the_node() {
        let base = [
            "imagepipe-chaos",
            "--bin-dir",
            "target/debug",
            "--secantusd",
            "secantusd-py",
            "--out-dir",
            "x",
            "--cluster",
        ];
        assert!(Config::try_parse_from(base).is_err());
        let mut args = base.to_vec();
        args.extend(["--rabbit-cluster-ctl", "deploy/local/rabbit-cluster"]);
        let config = Config::try_parse_from(args.clone()).unwrap();
        let plan = config.plan();
        assert!(plan.cluster);
        assert_eq!((plan.name, plan.jobs), ("cluster", 1000));
        assert_eq!(config.rabbitmq_node, None);
        args.push("--short");
        let plan = Config::try_parse_from(args).unwrap().plan();
        assert_eq!((plan.name, plan.jobs), ("cluster, short", 150));
    }

    #[test]
    fn needs_the_binaries_and_the_node() {
        assert!(Config::try_parse_from(["imagepipe-chaos", "--short"]).is_err());
        let mut args = REQUIRED.to_vec();
        args.extend(["--jobs", "0"]);
        assert!(Config::try_parse_from(args).is_err());
    }
}
