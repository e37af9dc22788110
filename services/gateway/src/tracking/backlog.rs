//! The jobs waiting for a transformer, as this replica sees them: how many, how many bytes their messages hold
//! on the transform queue, how long the oldest has waited, and how fast jobs start; the signals the gateway sheds load on (`503 overloaded`, see
//! [`crate::intake::admission`]).
//!
//! Every replica hears every job's `accepted` and `started` events on its reply queue, so each one keeps the
//! same picture of the shared transform queue without asking the broker. Waits are measured on this replica's
//! own monotonic clock from the moment it heard of the job, so clocks of other machines never enter. A job
//! leaves the backlog when it starts, ends, or is deleted; one whose start this replica never heard of (a reply
//! queue that overflowed) is dropped after [`Backlog::FORGET_AFTER`] rather than counted forever.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Jobs heard of and not started yet, oldest first.
#[derive(Debug, Default)]
pub struct Backlog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Jobs in the order this replica heard of them; some may have started since (see `waiting`).
    order: VecDeque<(Instant, String)>,
    /// Jobs of `order` still waiting, with the bytes of their messages.
    waiting: HashMap<String, u64>,
    /// The bytes of `waiting` together.
    waiting_bytes: u64,
    /// When this replica heard of each start within the last [`Backlog::RATE_WINDOW`].
    starts: VecDeque<Instant>,
}

/// The backlog at one instant, read under one lock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Jobs waiting.
    pub queued: usize,
    /// The bytes of their messages on the transform queue (as far as their `accepted` events said).
    pub queued_bytes: u64,
    /// How long the oldest waiting job has waited, if any job waits.
    pub oldest_wait: Option<Duration>,
    /// Jobs started per second over the last [`Backlog::RATE_WINDOW`] (0 when none started).
    pub start_rate: f64,
}

impl Backlog {
    /// How long a job may wait before this replica assumes it missed the job's start (its gateways refuse new
    /// work long before a real backlog gets this old).
    pub const FORGET_AFTER: Duration = Duration::from_secs(600);
    /// The span over which the start rate is measured.
    pub const RATE_WINDOW: Duration = Duration::from_secs(10);

    /// The job started: it no longer waits, and it counts towards the start rate.
    pub fn started(&self, job_id: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.starts.push_back(now);
        trim_starts(&mut inner.starts, now);
        inner.leave(job_id);
    }

    /// A job was accepted (by any replica), its message holding `bytes` on the transform queue: it waits from
    /// now. Heard twice, it keeps its first time.
    pub fn queued(&self, job_id: &str, bytes: u64) {
        self.queued_at(job_id, bytes, Instant::now());
    }

    /// The job started, ended or went: it no longer waits.
    pub fn left(&self, job_id: &str) {
        self.lock().leave(job_id);
    }

    /// How many jobs wait, how long the oldest has waited and how fast jobs start, all as of now.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(Instant::now())
    }

    /// Jobs waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Whether no job waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn queued_at(&self, job_id: &str, bytes: u64, at: Instant) {
        let mut inner = self.lock();
        if inner.waiting.contains_key(job_id) {
            return;
        }
        inner.waiting.insert(job_id.to_owned(), bytes);
        inner.waiting_bytes += bytes;
        inner.order.push_back((at, job_id.to_owned()));
    }

    fn snapshot_at(&self, now: Instant) -> Snapshot {
        let mut inner = self.lock();
        let oldest_wait = inner.oldest_wait_at(now);
        trim_starts(&mut inner.starts, now);
        Snapshot {
            queued: inner.waiting.len(),
            queued_bytes: inner.waiting_bytes,
            oldest_wait,
            start_rate: inner.starts.len() as f64 / Self::RATE_WINDOW.as_secs_f64(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The critical sections cannot panic midway; a poisoned lock still holds consistent data.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    fn leave(&mut self, job_id: &str) {
        self.forget(job_id);
        // Keep `order` short when jobs leave in the order they came, the usual case.
        while self
            .order
            .front()
            .is_some_and(|(_, id)| !self.waiting.contains_key(id))
        {
            self.order.pop_front();
        }
    }

    /// Takes the job out of `waiting`, and its bytes out of the sum.
    fn forget(&mut self, job_id: &str) {
        if let Some(bytes) = self.waiting.remove(job_id) {
            self.waiting_bytes -= bytes;
        }
    }

    /// The oldest wait, dropping from the front the jobs that left or were forgotten.
    fn oldest_wait_at(&mut self, now: Instant) -> Option<Duration> {
        while let Some((since, id)) = self.order.front() {
            let waited = now.saturating_duration_since(*since);
            if self.waiting.contains_key(id) && waited < Backlog::FORGET_AFTER {
                return Some(waited);
            }
            let (_, id) = self.order.pop_front().expect("a front element");
            self.forget(&id);
        }
        None
    }
}

/// Drops the starts older than the rate window.
fn trim_starts(starts: &mut VecDeque<Instant>, now: Instant) {
    while starts
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) > Backlog::RATE_WINDOW)
    {
        starts.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_job_sets_the_wait() {
        let backlog = Backlog::default();
        let t0 = Instant::now();
        assert_eq!(backlog.snapshot_at(t0).oldest_wait, None);
        backlog.queued_at("a", 100, t0);
        backlog.queued_at("b", 20, t0 + Duration::from_secs(2));
        backlog.queued_at("a", 100, t0 + Duration::from_secs(3));
        assert_eq!(backlog.len(), 2, "a job heard twice counts once");
        assert_eq!(
            backlog.snapshot_at(t0).queued_bytes,
            120,
            "and its bytes once"
        );
        let now = t0 + Duration::from_secs(5);
        assert_eq!(
            backlog.snapshot_at(now).oldest_wait,
            Some(Duration::from_secs(5))
        );
        backlog.left("a");
        backlog.left("a");
        assert_eq!(
            backlog.snapshot_at(now).oldest_wait,
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            backlog.snapshot_at(now).queued_bytes,
            20,
            "a job leaves once"
        );
        backlog.left("b");
        assert_eq!(backlog.snapshot_at(now).oldest_wait, None);
        assert_eq!(backlog.snapshot_at(now).queued_bytes, 0);
        assert!(backlog.is_empty());
        assert!(backlog.lock().order.is_empty());
    }

    #[test]
    fn a_job_that_leaves_out_of_order_is_skipped_later() {
        let backlog = Backlog::default();
        let t0 = Instant::now();
        for (n, id) in ["a", "b", "c"].iter().enumerate() {
            backlog.queued_at(id, 1, t0 + Duration::from_secs(n as u64));
        }
        backlog.left("b");
        let now = t0 + Duration::from_secs(10);
        assert_eq!(
            backlog.snapshot_at(now).oldest_wait,
            Some(Duration::from_secs(10))
        );
        backlog.left("a");
        assert_eq!(
            backlog.snapshot_at(now).oldest_wait,
            Some(Duration::from_secs(8))
        );
        assert_eq!(backlog.lock().order.len(), 1);
    }

    #[test]
    fn starts_make_the_rate() {
        let backlog = Backlog::default();
        assert_eq!(backlog.snapshot().start_rate, 0.0);
        for id in ["a", "b", "c", "d", "e"] {
            backlog.queued(id, 1);
            backlog.started(id);
        }
        assert!((backlog.snapshot().start_rate - 0.5).abs() < 1e-9);
        assert!(backlog.is_empty());
    }

    #[test]
    fn a_job_whose_start_was_missed_is_forgotten() {
        let backlog = Backlog::default();
        let t0 = Instant::now();
        backlog.queued_at("lost", 7, t0);
        backlog.queued_at("recent", 5, t0 + Backlog::FORGET_AFTER);
        let now = t0 + Backlog::FORGET_AFTER + Duration::from_secs(1);
        assert_eq!(
            backlog.snapshot_at(now).oldest_wait,
            Some(Duration::from_secs(1))
        );
        assert_eq!(backlog.len(), 1);
        assert_eq!(
            backlog.snapshot_at(now).queued_bytes,
            5,
            "with the bytes of the forgotten job gone"
        );
    }
}
