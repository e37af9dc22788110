//! Uploading images as a patient client would: `POST /image` with the raw bytes, and on `503` (the broker is
//! away or the queue full: nothing was queued) or a connection error, wait (the `Retry-After`, else a growing
//! backoff) and try again. Only a `202` counts as accepted; its job id is recorded with the length and hash of
//! what was uploaded, for the checks after the chaos.

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
                Ok(response) if response.status() == StatusCode::ACCEPTED => {
                    break accepted_id(response).await.map_err(|problem| {
                        format!("{}: 202 with an unreadable body ({problem})", job.label)
                    });
                }
                Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                    let asked = retry_after(&response);
                    self.count(|stats| {
                        stats.retries_503 += 1;
                        stats.retries_503_without_retry_after += u64::from(asked.is_none());
                    });
                    asked.unwrap_or(backoff)
                }
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    break Err(format!("{}: {status} {}", job.label, snippet(&text)));
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
                });
                Ok(Some(id))
            }
            Err(refusal) => {
                self.count(|stats| stats.rejected.push(refusal));
                Ok(None)
            }
        }
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
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(snippet("a\nb"), "a b");
        assert_eq!(snippet(&"x".repeat(500)).len(), 160);
    }
}
