//! One run from start to verdict: start the stack, upload under chaos, drain, check, report, and clean up
//! whatever happens (an error or a Ctrl-C included): stop every process the run started, start the broker (or
//! a cluster node) again if the run left it stopped, delete the run's queues and exchanges and the database's
//! files. The logs stay.

use std::{collections::HashMap, sync::Arc, time::Duration};

use imagepipe_archive::{ArchiveArgs, layout::DEFAULT_BUCKET};
use imagepipe_common::{amqp::Broker, config::AmqpArgs, shutdown};
use mongodb::Database;
use tokio::time::Instant;

use crate::{
    Config, Error, Report,
    chaos::{Chaos, ChaosOutcome},
    clock::{Clock, human},
    cluster::RabbitCluster,
    cluster_chaos::{ClusterChaos, ClusterTiming},
    config::Plan,
    evidence::Evidence,
    management::{Management, management_apis},
    rabbitmq::{RabbitmqControl, queue_depths},
    report::print_log_tails,
    stack::Stack,
    storage::{Snapshot, analyse},
    submit::{Submitter, paced_stream},
    verify::{JobStatus, check_results, wait_for_drain},
    workload,
};

/// How often the uploads report progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Lines of each log printed when the run fails.
const LOG_TAIL_LINES: usize = 40;
/// Lines of each kind of problem printed.
const PROBLEM_LINES: usize = 15;
/// How long the cluster run waits, after the drain, for every queue of its namespace to be empty.
const QUEUES_EMPTY_TIMEOUT: Duration = Duration::from_secs(60);

/// What the run does to the broker: the single node's application, or the cluster's nodes.
enum BrokerControl {
    /// `rabbitmqctl stop_app` / `start_app` on the one node.
    Single(RabbitmqControl),
    /// The cluster's control script and management API.
    Cluster(RabbitCluster),
}

/// Runs the chaos test as `config` says, prints the report, and returns it.
///
/// # Errors
/// What kept the harness from reaching a verdict: a service that does not start, a failed `rabbitmqctl`, the
/// harness's own database or broker calls failing, or an interruption.
pub async fn run(config: Config) -> Result<Report, Error> {
    let plan = config.plan();
    let clock = Clock::start();
    std::fs::create_dir_all(&config.out_dir)
        .map_err(Error::io("cannot create", &config.out_dir))?;
    let mut stack = Stack::new(&config)?;
    clock.say(format_args!(
        "Chaos test ({}): {} images over {}, seed {}, namespace {}, database {}, logs in {}",
        plan.name,
        plan.jobs,
        human(plan.submit_over),
        plan.seed,
        stack.namespace,
        stack.database,
        config.out_dir.display()
    ));
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(30))
        .build()?;
    let broker = Broker::new(
        &AmqpArgs::new(&config.amqp_url, &stack.namespace),
        "imagepipe-chaos",
    )
    .map_err(Error::connection("connecting to the broker"))?;
    let control = if plan.cluster {
        let management = management_apis(&config.rabbit_management_url)
            .map_err(|problem| Error::Management(format!("--rabbit-management-url: {problem}")))?;
        let ctl = config.rabbit_cluster_ctl.clone().unwrap_or_default();
        BrokerControl::Cluster(RabbitCluster::new(ctl, Management::new(management)))
    } else {
        let node = config.rabbitmq_node.clone().unwrap_or_default();
        BrokerControl::Single(RabbitmqControl::new(&config.rabbitmqctl, node))
    };

    let outcome = tokio::select! {
        outcome = scenario(&mut stack, &http, &broker, &control, &plan, clock) => outcome,
        () = shutdown::signal() => {
            clock.say("Interrupted; cleaning up");
            Err(Error::Interrupted)
        }
    };

    match &control {
        BrokerControl::Single(rabbitmq) if rabbitmq.left_stopped() => {
            clock.say("Starting RabbitMQ again (the run was interrupted while it was stopped)");
            if let Err(error) = rabbitmq.start_app().await {
                clock.say(format_args!("Could not start RabbitMQ again: {error}"));
            }
        }
        BrokerControl::Cluster(cluster) => cluster.start_killed_nodes(clock).await,
        BrokerControl::Single(_) => {}
    }
    stack.stop_all(clock).await;
    match broker.delete_topology().await {
        Ok(()) => clock.say(format_args!(
            "Deleted the queues and exchanges of {}",
            stack.namespace
        )),
        Err(error) => clock.say(format_args!(
            "Could not delete the topology of {}: {error}",
            stack.namespace
        )),
    }
    if let BrokerControl::Cluster(cluster) = &control {
        cluster
            .management()
            .delete_namespace_queues(&http, &broker, &stack.namespace, clock)
            .await;
    }
    if let Err(error) = std::fs::remove_dir_all(&stack.mongo.storage)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        clock.say(format_args!(
            "Could not remove {}: {error}",
            stack.mongo.storage.display()
        ));
    }

    let failed = match &outcome {
        Ok(report) => {
            println!("\n{report}");
            !report.passed()
        }
        Err(error) => {
            println!("\nThe chaos test could not finish: {error}");
            true
        }
    };
    if failed {
        print_log_tails(&stack.logs(), LOG_TAIL_LINES);
    }
    println!("\nLogs: {}", config.out_dir.display());
    outcome
}

/// Everything between starting the stack and the verdict.
async fn scenario(
    stack: &mut Stack,
    http: &reqwest::Client,
    broker: &Broker,
    control: &BrokerControl,
    plan: &Plan,
    clock: Clock,
) -> Result<Report, Error> {
    stack.start(http, clock).await?;
    let database = imagepipe_archive::connect(
        &ArchiveArgs::new(stack.mongo.uri(), &stack.database),
        "imagepipe-chaos",
    )
    .await
    .map_err(Error::archive("connecting to MongoDB"))?;
    let entry = stack.entry_url();
    let submitter = Arc::new(Submitter::new(http.clone(), &entry));

    clock.say(format_args!(
        "Uploading {} images, {} at a time, to {entry} while the chaos runs",
        plan.jobs, plan.concurrency
    ));
    let uploads_started = Instant::now();
    let uploads = uploads(submitter.clone(), plan, clock);
    let chaos = chaos(
        stack,
        submitter.clone(),
        &database,
        control,
        broker,
        http,
        plan,
        clock,
    );
    let (uploads_ended, chaos) = tokio::try_join!(uploads, chaos)?;
    let calm_from = uploads_ended.max(chaos.ended_at);

    let accepted = submitter.accepted();
    clock.say(format_args!(
        "Waiting up to {} for {} accepted jobs to be done and stored",
        human(plan.drain_timeout),
        accepted.len()
    ));
    let drain = wait_for_drain(
        http,
        &entry,
        &accepted,
        &database,
        broker,
        plan.drain_timeout,
        clock,
    )
    .await?;
    clock.say("Checking every job through the API");
    let api_problems = check_results(http, &entry, &accepted, &drain.statuses).await;
    if let BrokerControl::Cluster(cluster) = control {
        cluster
            .management()
            .wait_queues_empty(http, broker, &stack.namespace, QUEUES_EMPTY_TIMEOUT, clock)
            .await;
    }

    clock.say("Stopping the services to count what is left");
    stack.stop_services(clock).await;
    let queues_left = match queue_depths(broker).await {
        Ok(depths) => Some(depths),
        Err(error) => {
            clock.say(format_args!("Could not count the queues: {error}"));
            None
        }
    };
    let namespace_queues_left = match control {
        BrokerControl::Cluster(cluster) => {
            match cluster
                .management()
                .namespace_depths(http, broker, &stack.namespace)
                .await
            {
                Ok(depths) => Some(depths),
                Err(error) => {
                    clock.say(format_args!(
                        "Could not count the namespace's queues: {error}"
                    ));
                    None
                }
            }
        }
        BrokerControl::Single(_) => None,
    };
    clock.say("Reading MongoDB");
    let snapshot = read_storage(&database).await;
    let findings = snapshot
        .as_ref()
        .map(|snapshot| analyse(&accepted, &output_names(&drain.statuses), snapshot));

    let evidence = Evidence {
        plan: plan.clone(),
        accepted,
        uploads: submitter.stats(),
        chaos,
        drain,
        api_problems,
        queues_left,
        namespace_queues_left,
        findings,
        calm_from,
        uploads_started,
        uploads_ended,
    };
    evidence.print_details(PROBLEM_LINES);
    Ok(evidence.report(clock.elapsed()))
}

/// The chaos timeline of the run: the single-node one, or the cluster's.
#[allow(clippy::too_many_arguments)]
async fn chaos(
    stack: &mut Stack,
    submitter: Arc<Submitter>,
    database: &Database,
    control: &BrokerControl,
    broker: &Broker,
    http: &reqwest::Client,
    plan: &Plan,
    clock: Clock,
) -> Result<ChaosOutcome, Error> {
    match control {
        BrokerControl::Single(rabbitmq) => {
            Chaos {
                stack,
                submitter,
                database,
                rabbitmq,
                broker,
                http,
                clock,
                mongo_outage: plan.mongo_outage,
                seed: plan.seed,
            }
            .run()
            .await
        }
        BrokerControl::Cluster(cluster) => {
            ClusterChaos {
                stack,
                submitter,
                database,
                cluster,
                broker,
                http,
                clock,
                timing: ClusterTiming::new(plan.short),
                seed: plan.seed,
            }
            .run()
            .await
        }
    }
}

/// The output names each `done` status lists.
fn output_names(statuses: &HashMap<String, JobStatus>) -> HashMap<String, Vec<String>> {
    statuses
        .iter()
        .filter(|(_, status)| status.status == "done")
        .map(|(id, status)| {
            let names = status.outputs.iter().map(|output| output.name.clone());
            (id.clone(), names.collect())
        })
        .collect()
}

/// The paced stream of uploads with a progress line every [`PROGRESS_EVERY`]; returns when the last upload
/// finished.
async fn uploads(submitter: Arc<Submitter>, plan: &Plan, clock: Clock) -> Result<Instant, Error> {
    let jobs = workload::stream(plan.seed, plan.jobs);
    let total = jobs.len();
    let stream = paced_stream(submitter.clone(), jobs, plan.submit_over, plan.concurrency);
    tokio::pin!(stream);
    let mut progress = tokio::time::interval_at(Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    loop {
        tokio::select! {
            result = &mut stream => {
                result?;
                let stats = submitter.stats();
                clock.say(format_args!(
                    "Uploads done: {} accepted, {} 503 retries, {} connection retries",
                    submitter.accepted_count(),
                    stats.retries_503,
                    stats.retries_connection
                ));
                return Ok(Instant::now());
            }
            _ = progress.tick() => {
                let stats = submitter.stats();
                clock.say(format_args!(
                    "Uploads: {}/{total} finished, {} accepted, {} 503 retries, {} connection retries",
                    stats.finished,
                    submitter.accepted_count(),
                    stats.retries_503,
                    stats.retries_connection
                ));
            }
        }
    }
}

/// Reads MongoDB, retrying a few times; `None` when it cannot be read.
async fn read_storage(database: &Database) -> Option<Snapshot> {
    for attempt in 1..=3 {
        match Snapshot::read(database, DEFAULT_BUCKET).await {
            Ok(snapshot) => return Some(snapshot),
            Err(error) => {
                println!("Reading MongoDB failed (attempt {attempt} of 3): {error}");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
    None
}
