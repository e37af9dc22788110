//! The load itself: closed loop, or open loop at one rate or following a schedule, over a plan's images, one
//! [`Sample`] per job started; then each job's timeline, read once the job is stored.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::task::JoinSet;

use super::{
    Image, Images, clock,
    schedule::{self, Phase, Span},
};
use crate::client::{ApiClient, Submission};

/// How long one job may take, from its upload to its downloaded result, before it counts as `timeout`.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the drain asks again about jobs not stored yet.
const DRAIN_POLL: Duration = Duration::from_millis(250);

/// How the load comes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// `workers` clients, each submitting a job, waiting for its result, then submitting the next.
    Closed {
        /// How many.
        workers: u32,
    },
    /// A job started every `1 / rate` seconds, whatever the answers.
    Open {
        /// Jobs per second.
        rate: f64,
    },
    /// An open loop whose rate follows `phases`, one after the other.
    Schedule {
        /// The rates and how long each lasts (`schedule` in the JSON, beside the report's `phases`: their
        /// figures).
        #[serde(rename = "schedule")]
        phases: Vec<Phase>,
    },
}

impl Mode {
    /// Where the load's rates sit in its time, for a load of `duration` (a schedule's own spans).
    #[must_use]
    pub fn spans(&self, duration: Duration) -> Vec<Span> {
        match self {
            Self::Closed { .. } => vec![Span {
                rate: None,
                start: Duration::ZERO,
                end: duration,
            }],
            Self::Open { rate } => vec![Span {
                rate: Some(*rate),
                start: Duration::ZERO,
                end: duration,
            }],
            Self::Schedule { phases } => schedule::spans(phases),
        }
    }
}

/// Whom the load goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An imagepipe gateway: upload, wait for the result, download it.
    Imagepipe,
    /// A thumbor: `GET /unsafe/<options>/<file name>`.
    Thumbor {
        /// The thumbor options of every request (`fit-in/256x256`).
        options: String,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Whom the load goes to.
    pub target: Target,
    /// The images, taken in turn.
    pub images: Images,
    /// The options of every job.
    pub query: Arc<[(String, String)]>,
    /// Closed or open loop.
    pub mode: Mode,
    /// How long jobs are started for.
    pub duration: Duration,
}

/// One job of the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Its id, once accepted.
    pub id: Option<String>,
    /// When it was submitted, from the start of the load (the client's clock).
    pub started: Duration,
    /// From its submission to its result downloaded, or to its failure known (the client's clock).
    pub answered: Option<Duration>,
    /// Why it was refused or failed: the API's code, or the job's.
    pub error: Option<String>,
    /// Its timeline (the services' clocks, milliseconds since the epoch): accepted, done or failed, stored.
    pub accepted_ms: Option<i64>,
    /// When the transformer finished it.
    pub finished_ms: Option<i64>,
    /// When save2db stored it.
    pub stored_ms: Option<i64>,
}

/// Runs `plan` against `client`'s gateway; returns a sample per job started, in no particular order.
pub async fn drive(client: &ApiClient, plan: &Plan) -> Vec<Sample> {
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let pick = {
        let images = Arc::clone(&plan.images);
        move || images[next.fetch_add(1, Ordering::Relaxed) % images.len()].clone()
    };
    let mut tasks = JoinSet::new();
    // One plan shared by every task: an open loop starts a task per job.
    let plan = Arc::new(plan.clone());
    match plan.mode {
        Mode::Closed { workers } => {
            for _ in 0..workers {
                let (client, plan, pick) = (client.clone(), Arc::clone(&plan), pick.clone());
                tasks.spawn(async move {
                    let mut samples = Vec::new();
                    while start.elapsed() < plan.duration {
                        samples.push(one(&client, &plan, &pick(), start).await);
                    }
                    samples
                });
            }
        }
        Mode::Open { .. } | Mode::Schedule { .. } => {
            for span in plan.mode.spans(plan.duration) {
                let Some(rate) = span.rate else { continue };
                // A tick at least every microsecond: `interval` refuses a zero period.
                let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_micros(1));
                let first = tokio::time::Instant::from_std(start + span.start);
                let mut ticks = tokio::time::interval_at(first, period);
                loop {
                    ticks.tick().await;
                    if start.elapsed() >= span.end {
                        break;
                    }
                    let (client, plan, image) = (client.clone(), Arc::clone(&plan), pick());
                    tasks.spawn(async move { vec![one(&client, &plan, &image, start).await] });
                }
            }
        }
    }
    let mut samples = Vec::new();
    while let Some(done) = tasks.join_next().await {
        samples.extend(done.unwrap_or_default());
    }
    samples
}

/// One job: submit `image`, wait for its result and download it (from thumbor: ask for it).
async fn one(client: &ApiClient, plan: &Plan, image: &Image, start: Instant) -> Sample {
    let mut sample = Sample {
        started: start.elapsed(),
        ..Sample::default()
    };
    let submitted = Instant::now();
    let outcome = match &plan.target {
        Target::Imagepipe => {
            let submission = Submission {
                bytes: image.bytes.clone(),
                filename: &image.filename,
                content_type: image.content_type,
                query: &plan.query,
            };
            match client.submit(&submission, &|_, _| {}).await {
                Ok(id) => {
                    sample.id = Some(id.clone());
                    client.fetch(&id, None, JOB_TIMEOUT, &|_, _| {}).await
                }
                Err(error) => {
                    sample.error = Some(error.code().to_owned());
                    return sample;
                }
            }
        }
        Target::Thumbor { options } => {
            client
                .thumbor(&format!("unsafe/{options}/{}", image.name))
                .await
        }
    };
    sample.answered = Some(submitted.elapsed());
    if let Err(error) = outcome {
        sample.error = Some(error.code().to_owned());
    }
    sample
}

/// Reads the timeline of every accepted job into its sample, asking again about those not stored yet until
/// `drain` has passed.
pub async fn read_timelines(client: &ApiClient, samples: &mut [Sample], drain: Duration) {
    let deadline = Instant::now() + drain;
    loop {
        let mut waiting = 0;
        for sample in samples.iter_mut() {
            let Some(id) = &sample.id else { continue };
            if sample.stored_ms.is_some() {
                continue;
            }
            if let Ok(status) = client.status(id).await {
                for step in &status.timeline {
                    let at = clock::millis(&step.at);
                    match step.event.as_str() {
                        "accepted" => sample.accepted_ms = at,
                        "done" | "failed" => sample.finished_ms = at,
                        "stored" => sample.stored_ms = at,
                        _ => {}
                    }
                }
            }
            if sample.stored_ms.is_none() {
                waiting += 1;
            }
        }
        if waiting == 0 || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}
