//! Load shedding: whether the gateway takes a new job now. A new job would wait about as long as the jobs
//! queued ahead of it take to start: their number divided by the rate at which jobs start. When that predicted
//! wait (counted once the oldest job has waited a quarter of the limit: the pipeline is saturated then, and the
//! start rate is its capacity), or the wait of the oldest queued job, is over `GATEWAY_MAX_QUEUE_WAIT_SECS`, the
//! pipeline is behind and `POST /image` answers `503 overloaded` with `Retry-After`, until the backlog shrinks. The prediction counts
//! each job the moment it is accepted, so the gateway stops admitting as soon as the queue holds the limit's worth
//! of work, one request at a time, instead of noticing only once jobs have waited that long (which lets a queue
//! fill in bursts and overshoot). The oldest wait is the backstop while nothing starts at all. The transform
//! queue's byte and length bounds stay the broker's last word (`503 queue_full`); this limit acts well before
//! them, so the queues never hold more than the limit's worth of work and the broker's memory alarm stays far
//! off.
//!
//! Large images fill the queue's byte bound (`x-max-length-bytes`, a share of `AMQP_QUEUE_BUDGET_BYTES`) sooner
//! than the limit's worth of time: 10 s of 14.7 MP photos is more than 256 MiB. So the gateway also weighs the
//! backlog in bytes (every `accepted` event carries its message's size) and refuses with the same
//! `503 overloaded` once the waiting jobs hold [`BYTE_SHARE`] of that bound, leaving the rest for uploads that
//! every replica is publishing at that moment. The broker's own refusal then stays a backstop that a healthy
//! deployment never reaches.
//!
//! The figures come from [`Backlog`], which every replica keeps from the job events, so all replicas refuse and
//! recover together. Storage falling behind reaches here too: transformers hold jobs whose archive the full
//! archive queue refuses, stop taking new ones, and the start rate falls.
//!
//! [`Backlog`]: crate::tracking::backlog::Backlog

use std::{sync::Arc, time::Duration};

use serde::Serialize;

use crate::{
    error::ApiError,
    tracking::{JobStore, backlog::Snapshot},
};

/// The share of the limit the oldest job must have waited before the queue's length over the start rate counts.
const SATURATED_FRACTION: f64 = 0.25;
/// The share (numerator, denominator) of the transform queue's byte bound the waiting jobs may hold before new
/// ones are refused.
pub const BYTE_SHARE: (u64, u64) = (3, 4);
/// Shortest and longest `Retry-After` of an `overloaded` answer, in seconds.
const RETRY_AFTER_SECS: (u64, u64) = (1, 60);

/// Decides whether new jobs are taken.
#[derive(Debug, Clone)]
pub struct Admission {
    jobs: Arc<JobStore>,
    max_wait: Option<Duration>,
    max_bytes: Option<u64>,
}

/// The pipeline's load as this replica sees it (`/readyz` shows it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Load {
    /// `ok` or `overloaded`.
    pub status: &'static str,
    /// Jobs waiting for a transformer.
    pub queued: usize,
    /// The bytes of their messages on the transform queue.
    pub queued_bytes: u64,
    /// The bytes past which new jobs are refused (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<u64>,
    /// How long the oldest of them has waited, in seconds.
    pub oldest_wait_secs: f64,
    /// Jobs started per second, over the last 10 s.
    pub starts_per_sec: f64,
    /// How long a job accepted now would wait to start, as far as the gateway can tell: the queue's length
    /// over the start rate, or the oldest wait if longer; what the limit is held against.
    pub expected_wait_secs: f64,
    /// The limit past which new jobs are refused, in seconds (absent: never refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_secs: Option<u64>,
}

impl Admission {
    /// Sheds load once a new job of `jobs` would wait longer than `max_wait` to start (`None`: never).
    #[must_use]
    pub fn new(jobs: Arc<JobStore>, max_wait: Option<Duration>) -> Self {
        Self {
            jobs,
            max_wait,
            max_bytes: None,
        }
    }

    /// The same, also shedding load once the waiting jobs hold [`BYTE_SHARE`] of `queue_bytes`, the transform
    /// queue's byte bound.
    #[must_use]
    pub fn with_queue_bytes(self, queue_bytes: u64) -> Self {
        let (numerator, denominator) = BYTE_SHARE;
        let max_bytes = u128::from(queue_bytes) * u128::from(numerator) / u128::from(denominator);
        Self {
            max_bytes: Some(u64::try_from(max_bytes).unwrap_or(u64::MAX)),
            ..self
        }
    }

    /// Whether a new job may come in now.
    ///
    /// # Errors
    /// [`ApiError::Overloaded`] while the predicted or the oldest wait is over the limit, with a `Retry-After`
    /// of half the limit or the wait beyond it, whichever is longer (1–60 s); [`ApiError::OverloadedBytes`]
    /// while the waiting jobs hold the byte limit, with a `Retry-After` of the time the transformers take to
    /// start the bytes beyond three quarters of it, at the current start rate (1–60 s).
    pub fn admit(&self) -> Result<(), ApiError> {
        let backlog = self.jobs.backlog().snapshot();
        if let Some(limit) = self.max_wait {
            let wait = expected_wait(&backlog, limit);
            if wait > limit {
                let retry = (limit / 2).max(wait - limit).as_secs_f64().ceil() as u64;
                crate::metrics::overloaded();
                return Err(ApiError::Overloaded {
                    waited_secs: wait.as_secs_f64(),
                    limit_secs: limit.as_secs(),
                    retry_after_secs: retry.clamp(RETRY_AFTER_SECS.0, RETRY_AFTER_SECS.1),
                });
            }
        }
        if let Some(limit) = self.max_bytes
            && backlog.queued_bytes >= limit
        {
            crate::metrics::overloaded();
            return Err(ApiError::OverloadedBytes {
                queued_bytes: backlog.queued_bytes,
                limit_bytes: limit,
                retry_after_secs: drain_secs(&backlog, limit - limit / 4)
                    .clamp(RETRY_AFTER_SECS.0, RETRY_AFTER_SECS.1),
            });
        }
        Ok(())
    }

    /// The load now.
    #[must_use]
    pub fn load(&self) -> Load {
        let backlog = self.jobs.backlog().snapshot();
        let oldest = backlog.oldest_wait.unwrap_or_default();
        let wait = self
            .max_wait
            .map_or(oldest, |limit| expected_wait(&backlog, limit));
        let overloaded = self.max_wait.is_some_and(|limit| wait > limit)
            || self
                .max_bytes
                .is_some_and(|limit| backlog.queued_bytes >= limit);
        let tenths = |seconds: f64| (seconds * 10.0).round() / 10.0;
        Load {
            status: if overloaded { "overloaded" } else { "ok" },
            queued: backlog.queued,
            queued_bytes: backlog.queued_bytes,
            limit_bytes: self.max_bytes,
            oldest_wait_secs: tenths(oldest.as_secs_f64()),
            starts_per_sec: tenths(backlog.start_rate),
            expected_wait_secs: tenths(wait.as_secs_f64()),
            limit_secs: self.max_wait.map(|limit| limit.as_secs()),
        }
    }
}

/// How long a job accepted now would wait to start, as far as this replica can tell from `backlog`: the oldest
/// job's wait, or, once the pipeline is saturated, the queue's length over the start rate if longer. Saturated
/// means the oldest job has waited [`SATURATED_FRACTION`] of `limit`: before that, starts follow arrivals, so the
/// start rate says how much work came, not how much the transformers can do, and a burst after a quiet spell
/// would look like hours of backlog.
fn expected_wait(backlog: &Snapshot, limit: Duration) -> Duration {
    let oldest = backlog.oldest_wait.unwrap_or_default();
    if oldest < limit.mul_f64(SATURATED_FRACTION) {
        return oldest;
    }
    let predicted = if backlog.start_rate > 0.0 {
        Duration::try_from_secs_f64(backlog.queued as f64 / backlog.start_rate)
            .unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    };
    oldest.max(predicted)
}

/// Seconds until the transformers have started enough of `backlog`'s jobs to bring its bytes down to `target`,
/// at the current start rate and the jobs' mean size (rounded up; 60 while nothing starts).
fn drain_secs(backlog: &Snapshot, target: u64) -> u64 {
    if backlog.queued == 0 || backlog.start_rate <= 0.0 {
        return RETRY_AFTER_SECS.1;
    }
    let excess = backlog.queued_bytes.saturating_sub(target) as f64;
    let mean = backlog.queued_bytes as f64 / backlog.queued as f64;
    (excess / mean / backlog.start_rate).ceil() as u64
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::{JobEvent, JobStatus, job_event};

    use super::*;

    fn accepted(jobs: &JobStore, id: &str) {
        jobs.apply_event(&JobEvent {
            job_id: id.into(),
            kind: job_event::Kind::Accepted as i32,
            status: JobStatus::Queued as i32,
            ..JobEvent::default()
        });
    }

    #[test]
    fn refuses_while_the_oldest_job_waits_past_the_limit_and_recovers_when_it_starts() {
        let jobs = Arc::new(JobStore::new(100, 1 << 20));
        let admission = Admission::new(Arc::clone(&jobs), Some(Duration::from_secs(10)));
        assert!(admission.admit().is_ok());
        accepted(&jobs, "a");
        assert!(admission.admit().is_ok());
        assert_eq!(admission.load().status, "ok");
        // Waits are measured with std's monotonic clock: sleep for real, briefly, with a tiny limit instead.
        let admission = Admission::new(Arc::clone(&jobs), Some(Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(5));
        let error = admission.admit().unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::Overloaded);
        assert_eq!(error.retry_after_secs(), Some(1));
        let load = admission.load();
        assert_eq!((load.status, load.queued), ("overloaded", 1));
        jobs.apply_event(&JobEvent {
            job_id: "a".into(),
            kind: job_event::Kind::Started as i32,
            status: JobStatus::Processing as i32,
            ..JobEvent::default()
        });
        assert!(admission.admit().is_ok());
        assert_eq!(admission.load().queued, 0);
    }

    #[test]
    fn an_accepted_event_after_the_start_does_not_count_the_job_as_waiting() {
        let jobs = Arc::new(JobStore::new(100, 1 << 20));
        jobs.apply_event(&JobEvent {
            job_id: "a".into(),
            kind: job_event::Kind::Started as i32,
            status: JobStatus::Processing as i32,
            ..JobEvent::default()
        });
        accepted(&jobs, "a");
        assert!(jobs.backlog().is_empty());
    }

    #[test]
    fn a_saturated_queue_longer_than_the_limit_s_worth_of_starts_refuses_at_once() {
        let jobs = Arc::new(JobStore::new(1000, 1 << 20));
        let started = |id: &str| {
            jobs.apply_event(&JobEvent {
                job_id: id.into(),
                kind: job_event::Kind::Started as i32,
                status: JobStatus::Processing as i32,
                ..JobEvent::default()
            });
        };
        // 20 starts in the rate window: 2 jobs/s.
        for n in 0..20 {
            let id = format!("s{n}");
            accepted(&jobs, &id);
            started(&id);
        }
        // A limit of 80 ms takes 0.16 jobs at 2 jobs/s; while the oldest job has waited less than a quarter of
        // it (the pipeline is not saturated), the queue's length does not count.
        let admission = Admission::new(Arc::clone(&jobs), Some(Duration::from_millis(80)));
        for n in 0..5 {
            accepted(&jobs, &format!("q{n}"));
        }
        assert!(admission.admit().is_ok(), "{:?}", admission.load());
        std::thread::sleep(Duration::from_millis(30));
        let error = admission.admit().unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::Overloaded);
        let load = admission.load();
        assert_eq!(load.status, "overloaded");
        assert_eq!(load.starts_per_sec, 2.0);
        assert_eq!(load.expected_wait_secs, 2.5, "5 jobs at 2 jobs/s");
    }

    #[test]
    fn waiting_jobs_holding_three_quarters_of_the_queue_s_bytes_refuse_new_ones() {
        let jobs = Arc::new(JobStore::new(100, 1 << 20));
        let event = |id: &str, kind: job_event::Kind, bytes: u64| {
            jobs.apply_event(&JobEvent {
                job_id: id.into(),
                kind: kind as i32,
                status: JobStatus::Queued as i32,
                message_bytes: bytes,
                ..JobEvent::default()
            });
        };
        // A transform queue of 1000 bytes: new jobs are refused from 750 bytes waiting. No wait limit, so the
        // bytes alone decide.
        let admission = Admission::new(Arc::clone(&jobs), None).with_queue_bytes(1000);
        for n in 0..3 {
            event(&format!("j{n}"), job_event::Kind::Accepted, 240);
        }
        assert!(admission.admit().is_ok(), "720 bytes wait");
        let load = admission.load();
        assert_eq!(
            (load.status, load.queued_bytes, load.limit_bytes),
            ("ok", 720, Some(750))
        );
        event("j3", job_event::Kind::Accepted, 30);
        let error = admission.admit().unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::Overloaded);
        assert!(error.to_string().contains("hold 750 bytes"), "{error}");
        assert_eq!(
            error.retry_after_secs(),
            Some(60),
            "nothing has started yet"
        );
        assert_eq!(admission.load().status, "overloaded");
        // A start brings the bytes under the limit again.
        event("j0", job_event::Kind::Started, 0);
        assert!(admission.admit().is_ok());
        assert_eq!(admission.load().queued_bytes, 510);
    }

    #[test]
    fn the_retry_after_of_a_byte_refusal_is_the_time_to_start_the_excess() {
        let snapshot = Snapshot {
            queued: 10,
            queued_bytes: 1000,
            oldest_wait: Some(Duration::from_secs(1)),
            start_rate: 2.0,
        };
        // Down to 600 bytes: 400 bytes are 4 jobs of 100, 2 s at 2 starts a second.
        assert_eq!(drain_secs(&snapshot, 600), 2);
        assert_eq!(
            drain_secs(
                &Snapshot {
                    start_rate: 0.0,
                    ..snapshot
                },
                600
            ),
            60
        );
    }

    #[test]
    fn without_a_limit_it_never_refuses() {
        let jobs = Arc::new(JobStore::new(100, 1 << 20));
        accepted(&jobs, "a");
        let admission = Admission::new(jobs, None);
        std::thread::sleep(Duration::from_millis(2));
        assert!(admission.admit().is_ok());
        assert_eq!(admission.load().limit_secs, None);
        assert_eq!(admission.load().status, "ok");
    }
}
