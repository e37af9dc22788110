//! The chaos timeline, run while the paced stream of uploads goes on. In order, a gap between each:
//!
//! 1. SIGKILL one transformer, start it again a few seconds later (its unacknowledged jobs go back to the
//!    transform queue and to the other transformer).
//! 2. SIGKILL save2db in the middle of a GridFS write: submit a large noisy PNG, watch MongoDB until chunks of
//!    its original (or of another large original of the stream) exist without their `files` document, kill,
//!    count the orphan chunks that left, start save2db again. If no write is caught in progress, try again with
//!    a new image (a few times), then kill anyway.
//! 3. Restart RabbitMQ: `rabbitmqctl stop_app`, wait, `start_app`.
//! 4. Stop the database (SIGTERM SecantusDB) for a while and start it again on the same data and port.
//!
//! Every action prints a timestamped line. Only processes this run started are signalled. A service that does
//! not become ready again is noted and the run goes on: the checks afterwards show what that cost.

use std::{collections::HashSet, sync::Arc, time::Duration};

use imagepipe_archive::layout::DEFAULT_BUCKET;
use imagepipe_common::amqp::Broker;
use mongodb::Database;
use tokio::time::Instant;

use crate::{
    Error,
    clock::{Clock, human},
    gaps::FaultWindow,
    rabbitmq::{RabbitmqControl, queue_depths},
    stack::{READY_TIMEOUT, Service, Stack},
    storage::{WriteProgress, orphan_chunks_now, write_progress},
    submit::Submitter,
    workload::ImageJob,
};

/// Before the first action: the stack warms up under load.
const WARMUP: Duration = Duration::from_secs(6);
/// Between actions: the stack recovers under load.
const GAP: Duration = Duration::from_secs(6);
/// How long a killed transformer stays down.
const TRANSFORMER_DOWN: Duration = Duration::from_secs(3);
/// How long a killed save2db stays down.
const SAVE2DB_DOWN: Duration = Duration::from_secs(2);
/// How long the RabbitMQ application stays stopped.
const BROKER_DOWN: Duration = Duration::from_secs(5);
/// Large images submitted to catch save2db mid-write before killing it regardless.
const KILL_ATTEMPTS: u64 = 4;
/// How long to wait for a probe's write to start (it queues behind the backlog).
const WRITE_WAIT: Duration = Duration::from_secs(120);
/// How often the probe's write is looked for.
const WRITE_POLL: Duration = Duration::from_millis(20);

/// What the chaos did that the report needs.
#[derive(Debug)]
pub struct ChaosOutcome {
    /// Orphan chunks counted right after save2db was killed (`None`: it was not killed).
    pub orphans_at_kill: Option<u64>,
    /// When the last action ended.
    pub ended_at: Instant,
    /// Things that did not go as planned (a service not ready again, no write caught in progress).
    pub notes: Vec<String>,
    /// Each fault's window, for the gaps in accepted uploads (the cluster run's; empty otherwise).
    pub faults: Vec<FaultWindow>,
}

/// The timeline's handles on the run.
pub struct Chaos<'a> {
    /// The processes to kill and restart.
    pub stack: &'a mut Stack,
    /// Submits the probes.
    pub submitter: Arc<Submitter>,
    /// The harness's own connection to the run's database.
    pub database: &'a Database,
    /// Stops and starts the broker.
    pub rabbitmq: &'a RabbitmqControl,
    /// Counts the archive queue.
    pub broker: &'a Broker,
    /// Checks readiness.
    pub http: &'a reqwest::Client,
    /// Progress lines.
    pub clock: Clock,
    /// How long the database stays down.
    pub mongo_outage: Duration,
    /// Seeds the probes.
    pub seed: u64,
}

impl Chaos<'_> {
    /// Runs the whole timeline.
    ///
    /// # Errors
    /// When an action cannot be carried out at all (a signal cannot be sent, `rabbitmqctl` fails, the database
    /// does not start again).
    pub async fn run(mut self) -> Result<ChaosOutcome, Error> {
        let mut notes = Vec::new();
        tokio::time::sleep(WARMUP).await;
        self.kill_transformer(&mut notes).await?;
        tokio::time::sleep(GAP).await;
        let orphans_at_kill = self.kill_save2db_mid_write(&mut notes).await?;
        tokio::time::sleep(GAP).await;
        self.restart_broker(&mut notes).await?;
        tokio::time::sleep(GAP).await;
        self.stop_database(&mut notes).await?;
        self.clock.say("Chaos over");
        Ok(ChaosOutcome {
            orphans_at_kill: Some(orphans_at_kill),
            ended_at: Instant::now(),
            notes,
            faults: Vec::new(),
        })
    }

    async fn kill_transformer(&mut self, notes: &mut Vec<String>) -> Result<(), Error> {
        let Some(transformer) = self.stack.transformers.first_mut() else {
            return Ok(());
        };
        let name = transformer.process.name().to_owned();
        let pid = transformer.process.kill().await?;
        self.clock.say(format_args!(
            "SIGKILL {name} (pid {}); starting it again in {}",
            pid.map_or_else(
                || "none: it was not running".to_owned(),
                |pid| pid.to_string()
            ),
            human(TRANSFORMER_DOWN)
        ));
        tokio::time::sleep(TRANSFORMER_DOWN).await;
        let clock = self.clock;
        restart(transformer, self.http, clock, notes)
            .await
            .map(drop)
    }

    async fn kill_save2db_mid_write(&mut self, notes: &mut Vec<String>) -> Result<u64, Error> {
        for attempt in 1..=KILL_ATTEMPTS {
            let probe = ImageJob::large(format!("probe-{attempt}"), self.seed ^ attempt);
            self.clock.say(format_args!(
                "Submitting {} ({}x{} noisy PNG) to catch save2db mid-write (attempt {attempt} of {KILL_ATTEMPTS})",
                probe.label, probe.width, probe.height
            ));
            // The probe uploads in the background: a large original of the stream may be caught first.
            let submitter = self.submitter.clone();
            let upload = tokio::spawn(async move { submitter.submit(&probe).await });
            let caught = wait_for_write(&self.submitter, self.database, WRITE_WAIT).await;
            let orphans = match &caught {
                Ok(Some(gridfs_id)) => Some(
                    self.kill_save2db(&format!("while it wrote {gridfs_id}"))
                        .await?,
                ),
                _ => None,
            };
            match upload.await {
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => self.clock.say("The probe was not accepted"),
                Ok(Err(error)) => return Err(error),
                Err(error) => return Err(Error::Task(error.to_string())),
            }
            let Some(orphans) = orphans else {
                caught?;
                self.clock.say(format_args!(
                    "Saw no large original being written within {}",
                    human(WRITE_WAIT)
                ));
                continue;
            };
            tokio::time::sleep(SAVE2DB_DOWN).await;
            let clock = self.clock;
            if let Some(save2db) = self.stack.save2dbs.first_mut() {
                restart(save2db, self.http, clock, notes).await?;
            }
            if orphans > 0 {
                return Ok(orphans);
            }
            self.clock
                .say("The write finished before the kill landed; trying again");
        }
        notes.push(format!(
            "no GridFS write was caught in progress in {KILL_ATTEMPTS} attempts; save2db was killed regardless"
        ));
        let orphans = self.kill_save2db("regardless of writes").await?;
        tokio::time::sleep(SAVE2DB_DOWN).await;
        let clock = self.clock;
        if let Some(save2db) = self.stack.save2dbs.first_mut() {
            restart(save2db, self.http, clock, notes).await?;
        }
        Ok(orphans)
    }

    /// SIGKILLs save2db and counts the orphan chunks right after.
    async fn kill_save2db(&mut self, when: &str) -> Result<u64, Error> {
        let pid = match self.stack.save2dbs.first_mut() {
            Some(save2db) => save2db.process.kill().await?,
            None => None,
        };
        let orphans = orphan_chunks_now(self.database, DEFAULT_BUCKET).await?;
        let archive = queue_depths(self.broker).await.map_or_else(
            |error| error.to_string(),
            |depths| depths.archive.to_string(),
        );
        self.clock.say(format_args!(
            "SIGKILL save2db (pid {}) {when}: orphan chunks at kill {orphans}, archive queue {archive}; \
             starting it again in {}",
            pid.map_or_else(|| "none: it was not running".to_owned(), |pid| pid.to_string()),
            human(SAVE2DB_DOWN)
        ));
        Ok(orphans)
    }

    async fn restart_broker(&mut self, notes: &mut Vec<String>) -> Result<(), Error> {
        self.clock.say(format_args!(
            "rabbitmqctl stop_app; starting it again in {}",
            human(BROKER_DOWN)
        ));
        self.rabbitmq.stop_app().await?;
        self.clock.say("RabbitMQ application stopped");
        tokio::time::sleep(BROKER_DOWN).await;
        self.rabbitmq.start_app().await?;
        self.clock.say("rabbitmqctl start_app: RabbitMQ is back");
        self.wait_all_ready(notes).await;
        Ok(())
    }

    async fn stop_database(&mut self, notes: &mut Vec<String>) -> Result<(), Error> {
        let pid = self.stack.mongo.process.pid();
        let stopped = self.stack.mongo.stop().await?;
        self.clock.say(format_args!(
            "SIGTERM SecantusDB (pid {}): {}; down for {}",
            pid.map_or_else(|| "none".to_owned(), |pid| pid.to_string()),
            if stopped.killed {
                "killed after the grace period".to_owned()
            } else {
                stopped
                    .status
                    .map_or_else(|| "was not running".to_owned(), |status| status.to_string())
            },
            human(self.mongo_outage)
        ));
        tokio::time::sleep(self.mongo_outage).await;
        let pid = self.stack.mongo.start().await?;
        self.clock.say(format_args!(
            "SecantusDB is back on port {} with its data (pid {pid})",
            self.stack.mongo.port
        ));
        self.wait_all_ready(notes).await;
        Ok(())
    }

    /// Waits until every service is ready again; notes the ones that are not.
    async fn wait_all_ready(&mut self, notes: &mut Vec<String>) {
        wait_all_ready(self.stack, self.http, self.clock, notes).await;
    }
}

/// Waits until every service is ready again; notes the ones that are not. Returns whether all are.
pub(crate) async fn wait_all_ready(
    stack: &mut Stack,
    http: &reqwest::Client,
    clock: Clock,
    notes: &mut Vec<String>,
) -> bool {
    let started = Instant::now();
    let mut all_ready = true;
    for service in stack.services_mut() {
        if let Err(error) = service.wait_ready(http, READY_TIMEOUT).await {
            clock.say(format_args!("Not ready again: {error}"));
            notes.push(error.to_string());
            all_ready = false;
        }
    }
    if all_ready {
        clock.say(format_args!(
            "Every service is ready again (after {})",
            human(started.elapsed())
        ));
    }
    all_ready
}

/// The GridFS id of a large original (a probe's, or one of the stream's) whose chunks appear without its
/// `files` document within `within`: a write in progress.
///
/// # Errors
/// [`Error::Mongo`] when the database cannot be queried.
pub(crate) async fn wait_for_write(
    submitter: &Submitter,
    database: &Database,
    within: Duration,
) -> Result<Option<String>, Error> {
    let deadline = Instant::now() + within;
    let mut complete = HashSet::new();
    while Instant::now() < deadline {
        let candidates: Vec<String> = submitter
            .accepted()
            .into_iter()
            .filter(|job| job.large)
            .map(|job| imagepipe_archive::original_id(&job.id))
            .filter(|gridfs_id| !complete.contains(gridfs_id))
            .collect();
        for gridfs_id in candidates {
            match write_progress(database, DEFAULT_BUCKET, &gridfs_id).await? {
                WriteProgress::Writing => return Ok(Some(gridfs_id)),
                WriteProgress::Complete => {
                    complete.insert(gridfs_id);
                }
                WriteProgress::NotStarted => {}
            }
        }
        tokio::time::sleep(WRITE_POLL).await;
    }
    Ok(None)
}

/// Starts a killed service again and waits until it is ready; a service that is not is noted, not fatal.
/// Returns whether it is ready.
pub(crate) async fn restart(
    service: &mut Service,
    http: &reqwest::Client,
    clock: Clock,
    notes: &mut Vec<String>,
) -> Result<bool, Error> {
    let name = service.process.name().to_owned();
    match service.start(http).await {
        Ok(pid) => {
            clock.say(format_args!("{name} is ready again (pid {pid})"));
            Ok(true)
        }
        Err(error @ Error::NotRunning { .. }) => {
            clock.say(format_args!("Not ready again: {error}"));
            notes.push(error.to_string());
            Ok(false)
        }
        Err(error) => Err(error),
    }
}
