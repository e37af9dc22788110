//! Uploading images as a patient client would: `POST /image` with the raw bytes, and on `503` (the broker is
//! away or the queue full: nothing was queued) or a connection error, wait (the `Retry-After`, else a growing
//! backoff) and try again. Only a `202` counts as accepted; its job id is recorded with the length and hash of
//! what was uploaded and when the `202` came, for the checks and the gaps after the chaos. [`classify`] says
//! what each answer means to the client; behind the cluster run's load balancer, a `503` the balancer made
//! itself (no gateway up, or the gateway lost in the middle of the request) carries [`BALANCER_ERROR_HEADER`].

use std::{
    hash::{DefaultHasher, Hasher},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use bytes::Bytes;
use reqwest::{StatusCode, header};
use tokio::{sync::Semaphore, task::JoinSet, time::Instant};

use crate::{Error, workload::ImageJob};

/// How long one upload may take before it counts as a connection error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one image is retried before the client gives up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);
/// Bounds of the wait before a retry.
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The header of a `503` the load balancer answered itself (its value says why: `no-gateway`, `gateway-lost`).
pub const BALANCER_ERROR_HEADER: &str = "x-balancer-error";

/// What an answer to an upload means to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `202`: the job is queued.
    Accepted,
    /// `503` with `Retry-After`: retry after that long. `from_balancer`: the load balancer answered it.
    RetryAfter {
        /// The wait asked for.
        wait: Duration,
        /// Whether the load balancer made it (no gateway up, or the gateway lost mid-request).
        from_balancer: bool,
    },
    /// `503` without `Retry-After`: retryable by its status, but not the answer a client is promised.
    UnavailableWithoutRetryAfter,
    /// Anything else (a `502`, a `500`, a `4xx`): the client cannot know it may try again.
    NotRetryable,
}

/// What the answer `status`, with its `Retry-After` (in seconds, when there is one that parses) and whether it
/// carries [`BALANCER_ERROR_HEADER`], means to the client.
#[must_use]
pub fn classify(status: StatusCode, retry_after: Option<Duration>, from_balancer: bool) -> Answer {
    match (status, retry_after) {
        (StatusCode::ACCEPTED, _) => Answer::Accepted,
        (StatusCode::SERVICE_UNAVAILABLE, Some(wait)) => Answer::RetryAfter {
            wait,
            from_balancer,
        },
        (StatusCode::SERVICE_UNAVAILABLE, None) => Answer::UnavailableWithoutRetryAfter,
        _ => Answer::NotRetryable,
    }
}

/// A job the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The job id from the `202` answer.
    pub id: String,
    /// Which image it was (`#17`, `probe-1`).
    pub label: String,
    /// Length of the uploaded bytes.
    pub original_bytes: u64,
    /// Hash of the uploaded bytes ([`hash`]).
    pub original_hash: u64,
    /// Whether it is a large noisy PNG (whose GridFS write the chaos tries to interrupt).
    pub large: bool,
    /// When the `202` came.
    pub accepted_at: Instant,
}

/// What the uploads ran into besides `202`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitStats {
    /// Images uploaded so far (accepted, refused or given up).
    pub finished: u64,
    /// `503` answers, each followed by a retry.
    pub retries_503: u64,
    /// Those of the `503` answers without a `Retry-After` header.
    pub retries_503_without_retry_after: u64,
    /// Those of the `503` answers the load balancer made itself (with `Retry-After`).
    pub retries_503_balancer: u64,
    /// Connection errors and timeouts, each followed by a retry.
    pub retries_connection: u64,
    /// Answers other than `202` and `503` (`label: status body`): the image was not queued.
    pub rejected: Vec<String>,
    /// Images still not accepted after `GIVE_UP_AFTER`.
    pub gave_up: Vec<String>,
}

/// Uploads images to one gateway, remembering what it accepted.
#[derive(Debug)]
pub struct Submitter {
    http: reqwest::Client,
    url: String,
    accepted: Mutex<Vec<Accepted>>,
    stats: Mutex<SubmitStats>,
}

impl Submitter {
    /// A submitter to the gateway at `base` (`http://host:port`).
    #[must_use]
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            url: format!("{base}/image"),
            accepted: Mutex::new(Vec::new()),
            stats: Mutex::new(SubmitStats::default()),
        }
    }

    /// Encodes `job` and uploads it until the gateway accepts it, refuses it for good, or `GIVE_UP_AFTER`
    /// passes. Returns the job id when accepted.
    ///
    /// # Errors
    /// [`Error::Image`] when the image cannot be encoded; [`Error::Task`] when encoding panicked.
    pub async fn submit(&self, job: &ImageJob) -> Result<Option<String>, Error> {
        let encoder = job.clone();
        let data = tokio::task::spawn_blocking(move || encoder.encode())
            .await
            .map_err(|error| Error::Task(error.to_string()))??;
        let original_hash = hash(&data);
        let original_bytes = data.len() as u64;
        let body = Bytes::from(data);
        let url = format!("{}?{}", self.url, job.query);
        let started = Instant::now();
        let mut backoff = MIN_BACKOFF;
        let outcome = loop {
            let answer = self
                .http
                .post(&url)
                .header(header::CONTENT_TYPE, job.content_type())
                .body(body.clone())
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await;
            let wait = match answer {
                Ok(response) => {
                    let status = response.status();
                    let from_balancer = response.headers().contains_key(BALANCER_ERROR_HEADER);
                    match classify(status, retry_after(&response), from_balancer) {
                        Answer::Accepted => {
                            break accepted_id(response).await.map_err(|problem| {
                                format!("{}: 202 with an unreadable body ({problem})", job.label)
                            });
                        }
                        Answer::RetryAfter {
                            wait,
                            from_balancer,
                        } => {
                            self.count(|stats| {
                                stats.retries_503 += 1;
                                stats.retries_503_balancer += u64::from(from_balancer);
                            });
                            wait
                        }
                        Answer::UnavailableWithoutRetryAfter => {
                            self.count(|stats| {
                                stats.retries_503 += 1;
                                stats.retries_503_without_retry_after += 1;
                            });
                            backoff
                        }
                        Answer::NotRetryable => {
                            let text = response.text().await.unwrap_or_default();
                            break Err(format!("{}: {status} {}", job.label, snippet(&text)));
                        }
                    }
                }
                Err(_) => {
                    self.count(|stats| stats.retries_connection += 1);
                    backoff
                }
            };
            if started.elapsed() + wait > GIVE_UP_AFTER {
                self.count(|stats| stats.gave_up.push(job.label.clone()));
                self.count(|stats| stats.finished += 1);
                return Ok(None);
            }
            tokio::time::sleep(wait.clamp(MIN_BACKOFF, MAX_BACKOFF)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        self.count(|stats| stats.finished += 1);
        match outcome {
            Ok(id) => {
                lock(&self.accepted).push(Accepted {
                    id: id.clone(),
                    label: job.label.clone(),
                    original_bytes,
                    original_hash,
                    large: job.is_large(),
                    accepted_at: Instant::now(),
                });
                Ok(Some(id))
            }
            Err(refusal) => {
                self.count(|stats| stats.rejected.push(refusal));
                Ok(None)
            }
        }
    }

    /// When each `202` came, in order.
    #[must_use]
    pub fn accepted_times(&self) -> Vec<Instant> {
        lock(&self.accepted)
            .iter()
            .map(|job| job.accepted_at)
            .collect()
    }

    /// The jobs accepted so far, in the order of their `202`s.
    #[must_use]
    pub fn accepted(&self) -> Vec<Accepted> {
        lock(&self.accepted).clone()
    }

    /// How many jobs were accepted so far.
    #[must_use]
    pub fn accepted_count(&self) -> usize {
        lock(&self.accepted).len()
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> SubmitStats {
        lock(&self.stats).clone()
    }

    fn count(&self, update: impl FnOnce(&mut SubmitStats)) {
        update(&mut lock(&self.stats));
    }
}

/// Submits `jobs` spread evenly over `over`, at most `concurrency` uploads in flight (a late upload delays the
/// next ones rather than piling up). Returns when every upload has finished.
///
/// # Errors
/// The first [`Submitter::submit`] error.
pub async fn paced_stream(
    submitter: Arc<Submitter>,
    jobs: Vec<ImageJob>,
    over: Duration,
    concurrency: usize,
) -> Result<(), Error> {
    let start = Instant::now();
    let total = jobs.len().max(1);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut uploads = JoinSet::new();
    for (index, job) in jobs.into_iter().enumerate() {
        tokio::time::sleep_until(start + over.mul_f64(index as f64 / total as f64)).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break; // The semaphore is never closed.
        };
        let submitter = submitter.clone();
        uploads.spawn(async move {
            let _permit = permit;
            submitter.submit(&job).await
        });
        while let Some(finished) = uploads.try_join_next() {
            finished.map_err(|error| Error::Task(error.to_string()))??;
        }
    }
    while let Some(finished) = uploads.join_next().await {
        finished.map_err(|error| Error::Task(error.to_string()))??;
    }
    Ok(())
}

/// The hash the harness compares uploaded and stored originals with.
#[must_use]
pub fn hash(data: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(data);
    hasher.finish()
}

/// The `id` of a `202` answer.
async fn accepted_id(response: reqwest::Response) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Queued {
        id: String,
    }
    let queued: Queued = response.json().await.map_err(|error| error.to_string())?;
    Ok(queued.id)
}

/// The wait a `Retry-After: <seconds>` header asks for.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of a response body, on one line.
fn snippet(text: &str) -> String {
    let line: String = text.chars().take(160).collect();
    line.replace('\n', " ")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_tell_bytes_apart() {
        assert_eq!(hash(b"abc"), hash(b"abc"));
        assert_ne!(hash(b"abc"), hash(b"abd"));
    }

    #[test]
    fn only_a_503_with_retry_after_is_a_promised_retry() {
        let wait = Some(Duration::from_secs(5));
        assert_eq!(
            classify(StatusCode::ACCEPTED, None, false),
            Answer::Accepted
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, wait, false),
            Answer::RetryAfter {
                wait: Duration::from_secs(5),
                from_balancer: false
            }
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, wait, true),
            Answer::RetryAfter {
                wait: Duration::from_secs(5),
                from_balancer: true
            }
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, false),
            Answer::UnavailableWithoutRetryAfter
        );
        for status in [
            StatusCode::BAD_GATEWAY,
            StatusCode::GATEWAY_TIMEOUT,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_REQUEST,
            StatusCode::OK,
        ] {
            assert_eq!(
                classify(status, wait, true),
                Answer::NotRetryable,
                "{status}"
            );
        }
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(snippet("a\nb"), "a b");
        assert_eq!(snippet(&"x".repeat(500)).len(), 160);
    }
}
