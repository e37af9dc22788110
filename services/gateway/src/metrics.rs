//! The gateway's job series: jobs accepted and their upload bytes, the latency from acceptance to the result
//! arriving (by final status), jobs in flight (accepted here, result not yet back), image bytes served, and
//! cache lookups answered from memory (hit) or MongoDB (miss), and uploads refused for load. The HTTP series are in
//! [`crate::http::request_log`].

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex, PoisonError},
    time::{Duration, Instant},
};

use imagepipe_common::metrics::{
    CounterVec, GaugeVec, HistogramVec, LATENCY_BUCKETS, jobs_in_flight,
};

/// Jobs awaited at most; past that, the ones awaited longer than [`FORGET_AFTER`] are dropped (their result
/// never came back here: a lost reply queue, a dead-lettered job).
const MAX_PENDING: usize = 100_000;
/// How long an awaited job is remembered when the table is full.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

struct GatewayMetrics {
    accepted: CounterVec<1>,
    upload_bytes: CounterVec<1>,
    latency: HistogramVec<1>,
    served_bytes: CounterVec<1>,
    cache: CounterVec<2>,
    refused: CounterVec<1>,
    in_flight: &'static GaugeVec<1>,
    /// When each job accepted by this process and not yet back was accepted.
    pending: Mutex<HashMap<String, Instant>>,
}

static METRICS: LazyLock<GatewayMetrics> = LazyLock::new(|| {
    let metrics = GatewayMetrics {
        accepted: CounterVec::register(
            "imagepipe_gateway_jobs_accepted",
            "Jobs accepted (confirmed by the broker), by the uploaded image's format",
            ["format"],
        ),
        upload_bytes: CounterVec::register(
            "imagepipe_gateway_upload_bytes",
            "Bytes of the images of accepted jobs, by format",
            ["format"],
        ),
        latency: HistogramVec::register(
            "imagepipe_gateway_job_latency_seconds",
            "Time from a job's acceptance to its result arriving at the accepting gateway, by final status \
             (done or failed)",
            ["status"],
            LATENCY_BUCKETS,
        ),
        served_bytes: CounterVec::register(
            "imagepipe_gateway_served_bytes",
            "Image bytes sent in responses (not counting 304s), by content type",
            ["content_type"],
        ),
        cache: CounterVec::register(
            "imagepipe_gateway_cache_lookups",
            "Lookups of a job's state or image: hit when memory had it, miss when MongoDB was read",
            ["what", "result"],
        ),
        refused: CounterVec::register(
            "imagepipe_gateway_uploads_refused",
            "Uploads refused for load before any byte was queued, by reason: overloaded (jobs wait past the \
             gateway's limit)",
            ["reason"],
        ),
        in_flight: jobs_in_flight(),
        pending: Mutex::new(HashMap::new()),
    };
    metrics.refused.inc_by(["overloaded"], 0);
    metrics.in_flight.set(["gateway"], 0);
    metrics
});

/// Counts an upload refused because the pipeline is overloaded.
pub fn overloaded() {
    METRICS.refused.inc(["overloaded"]);
}

/// Registers the gateway's series, so a scrape shows them (at zero) before the first job.
pub fn register() {
    LazyLock::force(&METRICS);
}

/// The latency clock of a job being submitted, started before it is published (so a result cannot overtake
/// it). Dropped without [`JobClock::accepted`] (the broker refused the job), it forgets the job.
#[derive(Debug)]
#[must_use = "the job is forgotten when the clock is dropped before it is accepted"]
pub struct JobClock {
    job_id: Option<String>,
}

impl JobClock {
    /// Starts the clock of `job_id`.
    pub fn start(job_id: &str) -> Self {
        let mut pending = METRICS
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING {
            pending.retain(|_, accepted| accepted.elapsed() < FORGET_AFTER);
        }
        pending.insert(job_id.to_owned(), Instant::now());
        METRICS
            .in_flight
            .set(["gateway"], gauge_value(pending.len()));
        Self {
            job_id: Some(job_id.to_owned()),
        }
    }

    /// The broker confirmed the job: count it, its `format` (`jpeg`, …) and upload size, and keep the clock
    /// running until its result arrives.
    pub fn accepted(mut self, format: &str, bytes: u64) {
        METRICS.accepted.inc([format]);
        METRICS.upload_bytes.inc_by([format], bytes);
        self.job_id = None;
    }
}

impl Drop for JobClock {
    fn drop(&mut self) {
        if let Some(job_id) = self.job_id.take() {
            let mut pending = METRICS
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pending.remove(&job_id);
            METRICS
                .in_flight
                .set(["gateway"], gauge_value(pending.len()));
        }
    }
}

/// A job's result arrived with final `status` (`done` or `failed`). Counted once per job accepted by this
/// process; a redelivered result, or one for a job accepted elsewhere, is ignored.
pub fn job_finished(job_id: &str, status: &str) {
    let mut pending = METRICS
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(accepted) = pending.remove(job_id) else {
        return;
    };
    METRICS
        .in_flight
        .set(["gateway"], gauge_value(pending.len()));
    drop(pending);
    METRICS
        .latency
        .observe_duration([status], accepted.elapsed());
}

/// `bytes` of an image of `content_type` sent.
pub fn served(content_type: &'static str, bytes: usize) {
    METRICS.served_bytes.inc_by([content_type], bytes as u64);
}

/// A lookup of `what` (`state` or `image`) answered from memory (`hit: true`) or MongoDB.
pub fn cache_lookup(what: &'static str, hit: bool) {
    METRICS.cache.inc([what, if hit { "hit" } else { "miss" }]);
}

fn gauge_value(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use imagepipe_common::metrics::{render, sample_sum};

    use super::*;

    fn latency_count(status: &str) -> f64 {
        sample_sum(
            &render(),
            "imagepipe_gateway_job_latency_seconds_count",
            &[("status", status)],
        )
        .unwrap_or(0.0)
    }

    #[test]
    fn a_job_is_timed_once_from_acceptance_to_its_result() {
        // Other tests of this binary count too: compare before and after, under the one lock they take.
        let job = uuid::Uuid::new_v4().to_string();
        let before = latency_count("done");
        JobClock::start(&job).accepted("png", 1234);
        assert!(METRICS.pending.lock().unwrap().contains_key(&job));
        job_finished(&job, "done");
        job_finished(&job, "done");
        job_finished("never-accepted-here", "done");
        assert!(!METRICS.pending.lock().unwrap().contains_key(&job));
        assert_eq!(latency_count("done") - before, 1.0);
        assert!(METRICS.upload_bytes.get(["png"]) >= 1234);
    }

    #[test]
    fn a_refused_job_is_forgotten() {
        let job = uuid::Uuid::new_v4().to_string();
        let clock = JobClock::start(&job);
        assert!(METRICS.pending.lock().unwrap().contains_key(&job));
        drop(clock);
        assert!(!METRICS.pending.lock().unwrap().contains_key(&job));
    }

    #[test]
    fn lookups_and_served_bytes_are_counted() {
        let hits = METRICS.cache.get(["image", "hit"]);
        cache_lookup("image", true);
        cache_lookup("state", false);
        assert_eq!(METRICS.cache.get(["image", "hit"]), hits + 1);
        served("image/png", 10);
        assert!(METRICS.served_bytes.get(["image/png"]) >= 10);
    }
}
