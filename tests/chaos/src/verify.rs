//! After the chaos: waiting for the backlog to drain (every accepted job `done` or `failed` by
//! `GET /image/{id}/status`, and stored in MongoDB), then checking every job through the API as its client
//! would: the result and every listed output answer `200` with bytes that decode to the dimensions the status
//! gives, and the original comes back byte for byte.

use std::{collections::HashMap, time::Duration};

use futures_util::{StreamExt, stream};
use imagepipe_common::amqp::Broker;
use mongodb::Database;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    Error,
    clock::{Clock, human},
    rabbitmq::queue_depths,
    storage::stored_count,
    submit::{Accepted, hash},
};

/// Status requests in flight at once.
const POLL_CONCURRENCY: usize = 16;
/// Jobs checked at once after the drain.
const CHECK_CONCURRENCY: usize = 8;
/// How often the drain is checked, and how often it reports progress.
const POLL_EVERY: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(15);

/// `GET /image/{id}/status`, as far as the checks need it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct JobStatus {
    /// `queued`, `processing`, `done` or `failed`.
    pub status: String,
    /// The output `GET /image/{id}` serves.
    #[serde(default)]
    pub result: Option<Dimensions>,
    /// Every output.
    #[serde(default)]
    pub outputs: Vec<Output>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

impl JobStatus {
    /// Whether the job has ended.
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.status == "done" || self.status == "failed"
    }
}

/// An image's size.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// One listed output.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Output {
    /// `default` or the variant's name.
    pub name: String,
    /// Where it is served (relative to the gateway).
    pub url: String,
    /// Its size.
    #[serde(flatten)]
    pub size: Dimensions,
}

/// How the drain went.
#[derive(Debug, Default)]
pub struct Drain {
    /// The last status seen of every accepted job that answered.
    pub statuses: HashMap<String, JobStatus>,
    /// When every accepted job was final and had a job document (`None`: not within the timeout).
    pub drained_at: Option<Instant>,
    /// Accepted jobs still not final at the end (id and last status).
    pub pending: Vec<(String, String)>,
}

/// Waits until every accepted job is final and has a job document in MongoDB, then (within the same
/// `timeout`) until the transform and archive queues are empty, so nothing is still being written when the
/// storage is checked.
///
/// # Errors
/// None in practice: failed polls are retried until the timeout. The signature leaves room for a broken
/// harness.
pub async fn wait_for_drain(
    http: &reqwest::Client,
    base: &str,
    accepted: &[Accepted],
    database: &Database,
    broker: &Broker,
    timeout: Duration,
    clock: Clock,
) -> Result<Drain, Error> {
    let deadline = Instant::now() + timeout;
    let ids: Vec<String> = accepted.iter().map(|job| job.id.clone()).collect();
    let mut drain = Drain::default();
    let mut last_report = Instant::now();
    let mut empty_checks = 0;
    loop {
        let pending: Vec<&String> = ids
            .iter()
            .filter(|id| !drain.statuses.get(*id).is_some_and(JobStatus::is_final))
            .collect();
        let polled: Vec<(String, Option<JobStatus>)> = stream::iter(pending)
            .map(|id| async move { (id.clone(), status(http, base, id).await) })
            .buffer_unordered(POLL_CONCURRENCY)
            .collect()
            .await;
        for (id, status) in polled {
            if let Some(status) = status {
                drain.statuses.insert(id, status);
            }
        }
        let finals = ids
            .iter()
            .filter(|id| drain.statuses.get(*id).is_some_and(JobStatus::is_final))
            .count();
        let stored = stored_count(database, &ids).await.unwrap_or(0);
        if drain.drained_at.is_none() && finals == ids.len() && stored == ids.len() as u64 {
            drain.drained_at = Some(Instant::now());
            clock.say(format_args!(
                "All {} accepted jobs are final and stored",
                ids.len()
            ));
        }
        if drain.drained_at.is_some() {
            match queue_depths(broker).await {
                Ok(depths) if depths.transform == 0 && depths.archive == 0 => empty_checks += 1,
                _ => empty_checks = 0,
            }
            if empty_checks >= 2 {
                break;
            }
        }
        if Instant::now() >= deadline {
            clock.say(format_args!(
                "Gave up waiting after {}: {finals}/{} final, {stored} stored",
                human(timeout),
                ids.len()
            ));
            break;
        }
        if last_report.elapsed() >= REPORT_EVERY {
            last_report = Instant::now();
            let depths = queue_depths(broker)
                .await
                .map_or_else(|error| error.to_string(), |depths| depths.to_string());
            clock.say(format_args!(
                "Draining: {finals}/{} final, {stored} stored; queues: {depths}",
                ids.len()
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    drain.pending = ids
        .iter()
        .filter(|id| !drain.statuses.get(*id).is_some_and(JobStatus::is_final))
        .map(|id| {
            let last = drain
                .statuses
                .get(id)
                .map_or("no answer", |status| status.status.as_str());
            (id.clone(), last.to_owned())
        })
        .collect();
    Ok(drain)
}

/// A job's status, or `None` when the gateway does not answer 200 with one.
async fn status(http: &reqwest::Client, base: &str, id: &str) -> Option<JobStatus> {
    let response = http
        .get(format!("{base}/image/{id}/status"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    response.json().await.ok()
}

/// Checks every `done` job through the API; returns one line per problem (`job: what`).
pub async fn check_results(
    http: &reqwest::Client,
    base: &str,
    accepted: &[Accepted],
    statuses: &HashMap<String, JobStatus>,
) -> Vec<String> {
    let done = accepted.iter().filter_map(|job| {
        statuses
            .get(&job.id)
            .filter(|status| status.status == "done")
            .map(|status| (job, status))
    });
    stream::iter(done)
        .map(|(job, status)| check_job(http, base, job, status))
        .buffer_unordered(CHECK_CONCURRENCY)
        .collect::<Vec<Vec<String>>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn check_job(
    http: &reqwest::Client,
    base: &str,
    job: &Accepted,
    status: &JobStatus,
) -> Vec<String> {
    let id = &job.id;
    let mut problems = Vec::new();
    match status.result {
        Some(size) => {
            if let Err(problem) = check_image(http, &format!("{base}/image/{id}"), size).await {
                problems.push(format!("{id} ({}): result: {problem}", job.label));
            }
        }
        None => problems.push(format!("{id} ({}): done, without a result", job.label)),
    }
    if status.outputs.is_empty() {
        problems.push(format!("{id} ({}): done, without outputs", job.label));
    }
    for output in &status.outputs {
        if let Err(problem) = check_image(http, &format!("{base}{}", output.url), output.size).await
        {
            problems.push(format!(
                "{id} ({}): output {}: {problem}",
                job.label, output.name
            ));
        }
    }
    match fetch(http, &format!("{base}/image/{id}/original")).await {
        Ok(bytes)
            if bytes.len() as u64 == job.original_bytes && hash(&bytes) == job.original_hash => {}
        Ok(bytes) => problems.push(format!(
            "{id} ({}): the original came back as {} bytes, not the {} uploaded",
            job.label,
            bytes.len(),
            job.original_bytes
        )),
        Err(problem) => problems.push(format!("{id} ({}): original: {problem}", job.label)),
    }
    problems
}

/// Fetches an image and checks it decodes to `expected`.
async fn check_image(
    http: &reqwest::Client,
    url: &str,
    expected: Dimensions,
) -> Result<(), String> {
    let bytes = fetch(http, url).await?;
    let decoded = tokio::task::spawn_blocking(move || {
        image::load_from_memory(&bytes).map(|image| (image.width(), image.height()))
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| format!("does not decode: {error}"))?;
    if decoded == (expected.width, expected.height) {
        Ok(())
    } else {
        Err(format!(
            "decodes to {}x{}, the status says {}x{}",
            decoded.0, decoded.1, expected.width, expected.height
        ))
    }
}

/// The body of a `200` answer to `GET url`.
async fn fetch(http: &reqwest::Client, url: &str) -> Result<bytes::Bytes, String> {
    let response = http
        .get(url)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if response.status() != StatusCode::OK {
        return Err(format!("answered {}", response.status()));
    }
    response.bytes().await.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_as_the_gateway_writes_them() {
        let done: JobStatus = serde_json::from_str(
            r#"{"id":"j","status":"done","links":{"self":"/image/j/status","result":"/image/j","original":"/image/j/original"},
                "result":{"format":"jpeg","content_type":"image/jpeg","width":256,"height":171,"bytes":9000},
                "outputs":[{"name":"thumb","url":"/image/j/thumb","format":"jpeg","content_type":"image/jpeg","width":256,"height":171,"bytes":9000}]}"#,
        )
        .unwrap();
        assert!(done.is_final());
        assert_eq!(
            done.result,
            Some(Dimensions {
                width: 256,
                height: 171
            })
        );
        assert_eq!(done.outputs[0].name, "thumb");
        assert_eq!(done.outputs[0].url, "/image/j/thumb");
        assert_eq!(done.outputs[0].size.height, 171);
        let queued: JobStatus =
            serde_json::from_str(r#"{"id":"j","status":"queued","links":{}}"#).unwrap();
        assert!(!queued.is_final());
        assert!(queued.outputs.is_empty());
    }
}
