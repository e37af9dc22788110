//! A job's timeline: the steps of its life (accepted, started, done or failed, stored), each with when it
//! happened and which replica did it. This replica records what it hears on its reply queue (every job event,
//! and the results of its own jobs); save2db keeps every event as the job's history in MongoDB. The two merge
//! here without duplicates (a step is its kind, time and replica) and in time order.

use imagepipe_archive::EventDocument;
use imagepipe_proto::v1::{ImageResult, JobEvent, JobStatus, job_event};

use crate::tracking::jobs::JobFailure;

/// Most steps kept per job. A job has four or five; redeliveries add a start each, up to the delivery limit.
pub const MAX_STEPS: usize = 32;

/// One step of a job's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What happened.
    pub kind: job_event::Kind,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The instance id of the replica that did it.
    pub by: String,
    /// The job's status after it (unspecified when the event did not say).
    pub status: JobStatus,
    /// Why the job failed, for `failed` (and the `stored` step of a failed job).
    pub failure: Option<JobFailure>,
}

impl Step {
    /// The step a job event tells of; `None` for a deletion (a deleted job has no timeline) or a kind this
    /// version does not know.
    #[must_use]
    pub fn of_event(event: &JobEvent) -> Option<Self> {
        let kind = event.kind();
        if matches!(
            kind,
            job_event::Kind::Unspecified | job_event::Kind::Deleted
        ) {
            return None;
        }
        Some(Self {
            kind,
            at_ms: event.at_ms,
            by: event.by.clone(),
            status: event.status(),
            failure: failure(&event.error_code, &event.error),
        })
    }

    /// The `done` or `failed` step a transformer's result tells of: the same step as its end event (same time
    /// and replica), so this replica knows it even when the event was lost.
    #[must_use]
    pub fn of_result(result: &ImageResult) -> Self {
        let status = result.status();
        let kind = if status == JobStatus::Failed {
            job_event::Kind::Failed
        } else {
            job_event::Kind::Done
        };
        Self {
            kind,
            at_ms: result.finished_at_ms,
            by: result.processed_by.clone(),
            status,
            failure: failure(&result.error_code, &result.error),
        }
    }

    /// The step of an event save2db kept; `None` for the tombstone of a deleted job or an unknown kind.
    #[must_use]
    pub fn of_stored(document: &EventDocument) -> Option<Self> {
        let kind = document.event_kind()?;
        if kind == job_event::Kind::Deleted {
            return None;
        }
        Some(Self {
            kind,
            at_ms: document.at.timestamp_millis(),
            by: document.by.clone(),
            status: document.job_status(),
            failure: document.error.as_ref().map(|error| JobFailure {
                code: error.code.clone(),
                message: error.message.clone(),
            }),
        })
    }

    /// Whether `other` is the same step: the same kind, at the same time, by the same replica.
    fn is(&self, other: &Step) -> bool {
        self.kind == other.kind && self.at_ms == other.at_ms && self.by == other.by
    }

    /// Time, then the order steps happen to a job (for steps of the same millisecond), then the replica.
    fn sort_key(&self) -> (i64, u8, &str) {
        (self.at_ms, self.kind.rank(), &self.by)
    }
}

fn failure(code: &str, message: &str) -> Option<JobFailure> {
    (!code.is_empty() || !message.is_empty()).then(|| JobFailure {
        code: code.to_owned(),
        message: message.to_owned(),
    })
}

/// A job's steps in time order, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    steps: Vec<Step>,
}

impl Timeline {
    /// Adds `step` in its place unless it is there already (or the timeline is full); returns whether it
    /// was added.
    pub fn record(&mut self, step: Step) -> bool {
        if self.steps.len() >= MAX_STEPS || self.steps.iter().any(|known| known.is(&step)) {
            return false;
        }
        let at = self
            .steps
            .partition_point(|known| known.sort_key() <= step.sort_key());
        self.steps.insert(at, step);
        true
    }

    /// Adds every step of `steps` not there already; returns whether any was added.
    pub fn merge(&mut self, steps: impl IntoIterator<Item = Step>) -> bool {
        steps
            .into_iter()
            .fold(false, |added, step| self.record(step) | added)
    }

    /// The steps, oldest first.
    #[must_use]
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether a step of `kind` is there.
    #[must_use]
    pub fn has(&self, kind: job_event::Kind) -> bool {
        self.steps.iter().any(|step| step.kind == kind)
    }

    /// Whether there are no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_archive::JobError;
    use mongodb::bson;

    use super::*;

    fn step(kind: job_event::Kind, at_ms: i64, by: &str) -> Step {
        Step {
            kind,
            at_ms,
            by: by.into(),
            status: JobStatus::Unspecified,
            failure: None,
        }
    }

    fn kinds(timeline: &Timeline) -> Vec<&'static str> {
        timeline
            .steps()
            .iter()
            .map(|step| step.kind.name())
            .collect()
    }

    #[test]
    fn steps_are_kept_in_time_order_once_each() {
        let mut timeline = Timeline::default();
        assert!(timeline.record(step(job_event::Kind::Stored, 40, "s2d")));
        assert!(timeline.record(step(job_event::Kind::Accepted, 10, "gw")));
        assert!(timeline.record(step(job_event::Kind::Done, 30, "tf")));
        assert!(timeline.record(step(job_event::Kind::Started, 20, "tf")));
        assert!(!timeline.record(step(job_event::Kind::Started, 20, "tf")));
        assert_eq!(kinds(&timeline), ["accepted", "started", "done", "stored"]);
        // A redelivery's second start is a step of its own.
        assert!(timeline.record(step(job_event::Kind::Started, 25, "tf-2")));
        assert_eq!(timeline.steps().len(), 5);
    }

    #[test]
    fn steps_of_the_same_millisecond_keep_the_order_of_a_jobs_life() {
        let mut timeline = Timeline::default();
        timeline.record(step(job_event::Kind::Stored, 5, "s2d"));
        timeline.record(step(job_event::Kind::Done, 5, "tf"));
        timeline.record(step(job_event::Kind::Started, 5, "tf"));
        timeline.record(step(job_event::Kind::Accepted, 5, "gw"));
        assert_eq!(kinds(&timeline), ["accepted", "started", "done", "stored"]);
    }

    #[test]
    fn the_result_and_the_end_event_are_one_step() {
        let result = ImageResult {
            job_id: "j".into(),
            status: JobStatus::Failed as i32,
            error_code: "decode_failed".into(),
            error: "bad".into(),
            finished_at_ms: 30,
            processed_by: "tf".into(),
            ..ImageResult::default()
        };
        let event = JobEvent {
            job_id: "j".into(),
            kind: job_event::Kind::Failed as i32,
            at_ms: 30,
            by: "tf".into(),
            status: JobStatus::Failed as i32,
            error_code: "decode_failed".into(),
            error: "bad".into(),
            ..JobEvent::default()
        };
        let mut timeline = Timeline::default();
        assert!(timeline.record(Step::of_result(&result)));
        assert!(!timeline.record(Step::of_event(&event).unwrap()));
        let failed = &timeline.steps()[0];
        assert_eq!(failed.kind, job_event::Kind::Failed);
        assert_eq!(failed.failure.as_ref().unwrap().code, "decode_failed");
    }

    #[test]
    fn deletions_and_unknown_kinds_are_not_steps() {
        let deleted = JobEvent {
            kind: job_event::Kind::Deleted as i32,
            ..JobEvent::default()
        };
        assert_eq!(Step::of_event(&deleted), None);
        assert_eq!(Step::of_event(&JobEvent::default()), None);
        let unknown = JobEvent {
            kind: 99,
            ..JobEvent::default()
        };
        assert_eq!(Step::of_event(&unknown), None);
    }

    #[test]
    fn the_stored_history_merges_with_what_this_replica_heard() {
        let stored = |kind: &str, at_ms, by: &str| EventDocument {
            id: format!("j/{kind}/{at_ms}/{by}"),
            job_id: "j".into(),
            trace_id: "t".into(),
            kind: kind.into(),
            at: bson::DateTime::from_millis(at_ms),
            by: by.into(),
            status: Some("failed".into()),
            error: (kind == "failed").then(|| JobError {
                code: "decode_failed".into(),
                message: "bad".into(),
            }),
        };
        let mut timeline = Timeline::default();
        timeline.record(step(job_event::Kind::Started, 20, "tf"));
        let history = [
            stored("accepted", 10, "gw"),
            stored("started", 20, "tf"),
            stored("failed", 30, "tf"),
            stored("deleted", 50, "gw"),
            stored("from-the-future", 60, "x"),
        ];
        assert!(timeline.merge(history.iter().filter_map(Step::of_stored)));
        assert_eq!(kinds(&timeline), ["accepted", "started", "failed"]);
        assert_eq!(timeline.steps()[2].status, JobStatus::Failed);
        assert_eq!(timeline.steps()[2].failure.as_ref().unwrap().message, "bad");
        assert!(!timeline.merge(history.iter().filter_map(Step::of_stored)));
        assert!(timeline.has(job_event::Kind::Failed));
        assert!(!timeline.has(job_event::Kind::Stored));
    }

    #[test]
    fn a_timeline_is_bounded() {
        let mut timeline = Timeline::default();
        for at in 0..100 {
            timeline.record(step(job_event::Kind::Started, at, "tf"));
        }
        assert_eq!(timeline.steps().len(), MAX_STEPS);
    }
}
