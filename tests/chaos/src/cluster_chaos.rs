//! The cluster run's chaos timeline, run while the paced stream of uploads goes on through HAProxy. In order,
//! a pause under load before each:
//!
//! 1. `kill -9` the RabbitMQ node leading the transform queue (`rabbit-cluster leader`, `kill`), and start it
//!    again a few seconds later (`start-node`, which waits until it is back in the cluster).
//! 2. `kill -9` one gateway, and start it again; it is whole once HAProxy routes to it again.
//! 3. `kill -9` one transformer, and start it again.
//! 4. `kill -9` one save2db, in the middle of a GridFS write when one is caught within a while (a large probe
//!    is submitted for it), and start it again.
//! 5. Step the database's primary down (`replSetStepDown`); it is whole once it takes writes again.
//!
//! Each fault's window runs from the fault until the stack is whole again (every process running and ready)
//! plus a few seconds; the report gives the longest gap in accepted uploads within each
//! ([`crate::gaps`]). Every action prints a timestamped line; a service that does not come back is noted and
//! the run goes on.

use std::{sync::Arc, time::Duration};

use imagepipe_archive::layout::DEFAULT_BUCKET;
use imagepipe_common::amqp::Broker;
use mongodb::Database;
use tokio::time::Instant;

use crate::{
    Error,
    chaos::{ChaosOutcome, restart, wait_all_ready, wait_for_write},
    clock::{Clock, human},
    cluster::RabbitCluster,
    gaps::FaultWindow,
    mongo::{step_down, wait_writable},
    stack::{READY_TIMEOUT, Stack},
    storage::orphan_chunks_now,
    submit::Submitter,
    workload::ImageJob,
};

/// The pauses of a cluster run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterTiming {
    /// Before the first fault.
    pub warmup: Duration,
    /// Between a fault's window and the next fault.
    pub pause: Duration,
    /// After the stack is whole again, still inside the fault's window.
    pub settle: Duration,
    /// How long a killed RabbitMQ node stays down.
    pub node_down: Duration,
    /// How long a killed service stays down.
    pub service_down: Duration,
    /// How long a killed save2db may wait for a GridFS write to interrupt.
    pub write_wait: Duration,
    /// `replSetStepDown`'s seconds.
    pub step_down_secs: u32,
}

impl ClusterTiming {
    /// The pauses of the short run (for CI) or the full one.
    #[must_use]
    pub fn new(short: bool) -> Self {
        if short {
            Self {
                warmup: Duration::from_secs(5),
                pause: Duration::from_secs(4),
                settle: Duration::from_secs(3),
                node_down: Duration::from_secs(4),
                service_down: Duration::from_secs(2),
                write_wait: Duration::from_secs(15),
                step_down_secs: 10,
            }
        } else {
            Self {
                warmup: Duration::from_secs(10),
                pause: Duration::from_secs(15),
                settle: Duration::from_secs(5),
                node_down: Duration::from_secs(10),
                service_down: Duration::from_secs(5),
                write_wait: Duration::from_secs(30),
                step_down_secs: 10,
            }
        }
    }
}

/// The cluster timeline's handles on the run.
pub struct ClusterChaos<'a> {
    /// The processes to kill and restart, and the balancer.
    pub stack: &'a mut Stack,
    /// Submits the probe.
    pub submitter: Arc<Submitter>,
    /// The harness's own connection to the run's database.
    pub database: &'a Database,
    /// The RabbitMQ cluster.
    pub cluster: &'a RabbitCluster,
    /// Names the transform queue.
    pub broker: &'a Broker,
    /// Checks readiness.
    pub http: &'a reqwest::Client,
    /// Progress lines.
    pub clock: Clock,
    /// The pauses.
    pub timing: ClusterTiming,
    /// Seeds the probe.
    pub seed: u64,
}

impl ClusterChaos<'_> {
    /// Runs the whole timeline.
    ///
    /// # Errors
    /// When an action cannot be carried out at all (the control script fails, a signal cannot be sent, the
    /// primary does not step down).
    pub async fn run(mut self) -> Result<ChaosOutcome, Error> {
        let mut notes = Vec::new();
        let mut faults = Vec::new();
        tokio::time::sleep(self.timing.warmup).await;
        faults.push(self.kill_leader_node(&mut notes).await?);
        tokio::time::sleep(self.timing.pause).await;
        faults.push(self.kill_gateway(&mut notes).await?);
        tokio::time::sleep(self.timing.pause).await;
        faults.push(self.kill_transformer(&mut notes).await?);
        tokio::time::sleep(self.timing.pause).await;
        let (fault, orphans_at_kill) = self.kill_save2db(&mut notes).await?;
        faults.push(fault);
        tokio::time::sleep(self.timing.pause).await;
        faults.push(self.step_down(&mut notes).await?);
        self.clock.say("Chaos over");
        Ok(ChaosOutcome {
            orphans_at_kill: Some(orphans_at_kill),
            ended_at: Instant::now(),
            notes,
            faults,
        })
    }

    async fn kill_leader_node(&mut self, notes: &mut Vec<String>) -> Result<FaultWindow, Error> {
        let queue = self.broker.topology().transform_queue();
        let node = self.cluster.leader(&queue).await?;
        let from = Instant::now();
        self.cluster.kill(node).await?;
        self.clock.say(format_args!(
            "kill -9 RabbitMQ node {node} (it leads {queue}); starting it again in {}",
            human(self.timing.node_down)
        ));
        tokio::time::sleep(self.timing.node_down).await;
        self.cluster.start_node(node).await?;
        self.clock
            .say(format_args!("RabbitMQ node {node} is back in the cluster"));
        let whole = wait_all_ready(self.stack, self.http, self.clock, notes).await;
        match self.cluster.leader(&queue).await {
            Ok(leader) => self
                .clock
                .say(format_args!("{queue} is led by node {leader} now")),
            Err(error) => self
                .clock
                .say(format_args!("No leader of {queue}: {error}")),
        }
        Ok(self
            .window(
                format!("kill -9 RabbitMQ node {node} (transform queue leader)"),
                from,
                whole,
            )
            .await)
    }

    async fn kill_gateway(&mut self, notes: &mut Vec<String>) -> Result<FaultWindow, Error> {
        let Some(gateway) = self.stack.gateways.first_mut() else {
            return Err(Error::Task("the stack has no gateway".to_owned()));
        };
        let name = gateway.process.name().to_owned();
        let from = Instant::now();
        let pid = gateway.process.kill().await?;
        say_killed(self.clock, &name, pid, self.timing.service_down);
        tokio::time::sleep(self.timing.service_down).await;
        let mut whole = restart(gateway, self.http, self.clock, notes).await?;
        if whole && let Some(balancer) = &mut self.stack.balancer {
            match balancer.wait_up(self.http, &name, READY_TIMEOUT).await {
                Ok(()) => self
                    .clock
                    .say(format_args!("HAProxy routes to {name} again")),
                Err(error) => {
                    self.clock.say(format_args!("{error}"));
                    notes.push(error.to_string());
                    whole = false;
                }
            }
        }
        Ok(self.window(format!("kill -9 {name}"), from, whole).await)
    }

    async fn kill_transformer(&mut self, notes: &mut Vec<String>) -> Result<FaultWindow, Error> {
        let Some(transformer) = self.stack.transformers.first_mut() else {
            return Err(Error::Task("the stack has no transformer".to_owned()));
        };
        let name = transformer.process.name().to_owned();
        let from = Instant::now();
        let pid = transformer.process.kill().await?;
        say_killed(self.clock, &name, pid, self.timing.service_down);
        tokio::time::sleep(self.timing.service_down).await;
        let whole = restart(transformer, self.http, self.clock, notes).await?;
        Ok(self.window(format!("kill -9 {name}"), from, whole).await)
    }

    /// Kills save2db-1 in the middle of a GridFS write if one is caught within the timing's `write_wait` (a
    /// large probe is uploaded meanwhile), else regardless. Returns its window and the orphan chunks right
    /// after the kill.
    async fn kill_save2db(&mut self, notes: &mut Vec<String>) -> Result<(FaultWindow, u64), Error> {
        let probe = ImageJob::large("probe-1", self.seed ^ 1);
        self.clock.say(format_args!(
            "Submitting {} ({}x{} noisy PNG) to catch save2db mid-write",
            probe.label, probe.width, probe.height
        ));
        let submitter = self.submitter.clone();
        let upload = tokio::spawn(async move { submitter.submit(&probe).await });
        let caught = wait_for_write(&self.submitter, self.database, self.timing.write_wait).await?;
        let Some(save2db) = self.stack.save2dbs.first_mut() else {
            return Err(Error::Task("the stack has no save2db".to_owned()));
        };
        let name = save2db.process.name().to_owned();
        let from = Instant::now();
        let pid = save2db.process.kill().await?;
        let orphans = orphan_chunks_now(self.database, DEFAULT_BUCKET).await?;
        let when = caught.map_or_else(
            || {
                notes.push(format!(
                    "no GridFS write was caught in progress within {}; {name} was killed regardless",
                    human(self.timing.write_wait)
                ));
                "regardless of writes".to_owned()
            },
            |gridfs_id| format!("while {gridfs_id} was being written"),
        );
        self.clock.say(format_args!(
            "kill -9 {name} (pid {}) {when}: orphan chunks at kill {orphans}; starting it again in {}",
            pid.map_or_else(|| "none: it was not running".to_owned(), |pid| pid.to_string()),
            human(self.timing.service_down)
        ));
        tokio::time::sleep(self.timing.service_down).await;
        let whole = restart(save2db, self.http, self.clock, notes).await?;
        match upload.await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => self.clock.say("The probe was not accepted"),
            Ok(Err(error)) => return Err(error),
            Err(error) => return Err(Error::Task(error.to_string())),
        }
        Ok((
            self.window(format!("kill -9 {name}"), from, whole).await,
            orphans,
        ))
    }

    async fn step_down(&mut self, notes: &mut Vec<String>) -> Result<FaultWindow, Error> {
        let seconds = self.timing.step_down_secs;
        let from = Instant::now();
        step_down(self.database, seconds).await?;
        self.clock.say(format_args!(
            "replSetStepDown {seconds} (force): the database's primary stepped down"
        ));
        let timeout = Duration::from_secs(u64::from(seconds)) + READY_TIMEOUT;
        let mut whole = wait_writable(self.database, timeout).await;
        if whole {
            self.clock.say(format_args!(
                "The database takes writes again (after {})",
                human(from.elapsed())
            ));
        } else {
            let note = format!(
                "the database did not take writes again within {}",
                human(timeout)
            );
            self.clock.say(&note);
            notes.push(note);
        }
        whole &= wait_all_ready(self.stack, self.http, self.clock, notes).await;
        Ok(self
            .window(format!("replSetStepDown {seconds}"), from, whole)
            .await)
    }

    /// The window of a fault done at `from`: whole now (when `whole`), closing after the settle time.
    async fn window(&self, fault: String, from: Instant, whole: bool) -> FaultWindow {
        let whole_at = whole.then(Instant::now);
        tokio::time::sleep(self.timing.settle).await;
        FaultWindow {
            fault,
            from,
            whole_at,
            to: Instant::now(),
        }
    }
}

fn say_killed(clock: Clock, name: &str, pid: Option<u32>, down: Duration) {
    clock.say(format_args!(
        "kill -9 {name} (pid {}); starting it again in {}",
        pid.map_or_else(
            || "none: it was not running".to_owned(),
            |pid| pid.to_string()
        ),
        human(down)
    ));
}
