//! What this gateway replica knows of jobs: a bounded table of job states fed by its own submissions and by the
//! results and events on its reply queue, a byte-bounded cache of result and original bytes, and a way to wait
//! for a job to finish.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use imagepipe_proto::v1::{ImageFormat, ImageInfo, ImageResult, JobEvent, JobStatus, job_event};
use quick_cache::{Weighter, sync::Cache};
use tokio::sync::watch;

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// Stable machine-readable code (`decode_failed`, …).
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

/// One job as this replica knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// Where the job stands.
    pub status: JobStatus,
    /// The result's format, dimensions and size, once done.
    pub result: Option<ImageInfo>,
    /// Why it failed, once failed.
    pub failure: Option<JobFailure>,
    /// Whether save2db has stored it (so MongoDB can serve it).
    pub stored: bool,
}

impl JobState {
    /// A job just accepted.
    #[must_use]
    pub fn queued() -> Self {
        Self {
            status: JobStatus::Queued,
            result: None,
            failure: None,
            stored: false,
        }
    }

    /// Whether the job is done or failed.
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

/// Which bytes of a job a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobKind {
    /// The uploaded image.
    Original,
    /// The transformed image.
    Result,
}

/// Encoded image bytes and their MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// MIME type.
    pub content_type: &'static str,
    /// The encoded image.
    pub data: Bytes,
}

#[derive(Debug, Clone)]
struct BlobWeighter;

impl Weighter<(String, BlobKind), Blob> for BlobWeighter {
    fn weight(&self, key: &(String, BlobKind), blob: &Blob) -> u64 {
        (key.0.len() + blob.data.len()) as u64 + 64
    }
}

type Slot = Arc<watch::Sender<JobState>>;

/// The replica's job table and blob cache.
pub struct JobStore {
    states: Cache<String, Slot>,
    blobs: Cache<(String, BlobKind), Blob, BlobWeighter>,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("jobs", &self.states.len())
            .field("cached_bytes", &self.blobs.weight())
            .finish()
    }
}

impl JobStore {
    /// A store remembering up to `max_jobs` job states and `cache_bytes` of image bytes.
    #[must_use]
    pub fn new(max_jobs: usize, cache_bytes: u64) -> Self {
        let estimated_blobs = usize::try_from(cache_bytes / (64 * 1024))
            .unwrap_or(usize::MAX)
            .clamp(16, 100_000);
        Self {
            states: Cache::new(max_jobs.max(16)),
            blobs: Cache::with_weighter(estimated_blobs, cache_bytes, BlobWeighter),
        }
    }

    /// The job's state, if this replica knows the job.
    #[must_use]
    pub fn state(&self, job_id: &str) -> Option<JobState> {
        self.states.get(job_id).map(|slot| slot.borrow().clone())
    }

    /// Records a job this replica accepted, with its original.
    pub fn accepted(&self, job_id: &str, original: Blob) {
        self.put_blob(job_id, BlobKind::Original, original);
        self.update(job_id, |_| false);
    }

    /// Applies a job event from any replica.
    pub fn apply_event(&self, event: &JobEvent) {
        match event.kind() {
            job_event::Kind::Accepted | job_event::Kind::Unspecified => {
                self.update(&event.job_id, |_| false);
            }
            job_event::Kind::Started => self.update(&event.job_id, |state| {
                let changed = state.status == JobStatus::Queued;
                if changed {
                    state.status = JobStatus::Processing;
                }
                changed
            }),
            job_event::Kind::Stored => self.update(&event.job_id, |state| {
                let mut changed = !state.stored;
                state.stored = true;
                if !state.is_final() {
                    state.status = event.status();
                    if state.status == JobStatus::Failed {
                        state.failure = Some(JobFailure {
                            code: event.error_code.clone(),
                            message: event.error.clone(),
                        });
                    }
                    changed = true;
                }
                changed
            }),
        }
    }

    /// Applies a transformer's result for a job this replica accepted, caching its output bytes.
    pub fn apply_result(&self, result: &ImageResult) {
        let output = result.outputs.first();
        if let Some(output) = output {
            let format = output
                .info
                .as_ref()
                .map_or(ImageFormat::Unspecified, |info| info.format());
            self.put_blob(
                &result.job_id,
                BlobKind::Result,
                Blob {
                    content_type: format.mime_type(),
                    data: output.data.clone(),
                },
            );
        }
        self.update(&result.job_id, |state| {
            if state.is_final() {
                return false;
            }
            state.status = result.status();
            state.result = output.and_then(|output| output.info);
            if state.status == JobStatus::Failed {
                state.failure = Some(JobFailure {
                    code: result.error_code.clone(),
                    message: result.error.clone(),
                });
            }
            true
        });
    }

    /// Records a final state read back from MongoDB.
    pub fn remember(&self, job_id: &str, known: JobState) {
        self.update(job_id, |state| {
            let changed = *state != known;
            *state = known;
            changed
        });
    }

    /// Waits up to `timeout` for the job to become final; returns its state then (or at the timeout), or `None`
    /// for an unknown job.
    pub async fn wait_final(&self, job_id: &str, timeout: Duration) -> Option<JobState> {
        let slot = self.states.get(job_id)?;
        let mut receiver = slot.subscribe();
        let waited = tokio::time::timeout(timeout, receiver.wait_for(JobState::is_final)).await;
        Some(match waited {
            Ok(Ok(state)) => state.clone(),
            _ => slot.borrow().clone(),
        })
    }

    /// Cached bytes of a job.
    #[must_use]
    pub fn blob(&self, job_id: &str, kind: BlobKind) -> Option<Blob> {
        self.blobs.get(&(job_id.to_owned(), kind))
    }

    /// Caches bytes of a job (evicting the least useful entries past the byte budget).
    pub fn put_blob(&self, job_id: &str, kind: BlobKind, blob: Blob) {
        self.blobs.insert((job_id.to_owned(), kind), blob);
    }

    /// Applies `change` to the job's state (creating it as queued), waking waiters if it reports a change.
    fn update(&self, job_id: &str, change: impl FnOnce(&mut JobState) -> bool) {
        let slot = self
            .states
            .get_or_insert_with(job_id, || {
                Ok::<_, std::convert::Infallible>(Arc::new(watch::Sender::new(JobState::queued())))
            })
            .unwrap_or_else(|never| match never {});
        slot.send_if_modified(change);
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::Output;

    use super::*;

    fn event(kind: job_event::Kind, status: JobStatus) -> JobEvent {
        JobEvent {
            job_id: "j1".into(),
            kind: kind as i32,
            status: status as i32,
            ..JobEvent::default()
        }
    }

    fn done() -> ImageResult {
        ImageResult {
            job_id: "j1".into(),
            status: JobStatus::Done as i32,
            outputs: vec![Output {
                name: "default".into(),
                data: Bytes::from_static(b"png bytes"),
                info: Some(ImageInfo {
                    format: ImageFormat::Png as i32,
                    width: 4,
                    height: 3,
                    bytes: 9,
                }),
            }],
            ..ImageResult::default()
        }
    }

    #[test]
    fn follows_a_job_through_its_life() {
        let store = JobStore::new(100, 1 << 20);
        assert_eq!(store.state("j1"), None);
        store.apply_event(&event(job_event::Kind::Accepted, JobStatus::Queued));
        assert_eq!(store.state("j1").unwrap().status, JobStatus::Queued);
        store.apply_event(&event(job_event::Kind::Started, JobStatus::Processing));
        assert_eq!(store.state("j1").unwrap().status, JobStatus::Processing);
        store.apply_result(&done());
        let state = store.state("j1").unwrap();
        assert_eq!(state.status, JobStatus::Done);
        assert_eq!(state.result.unwrap().width, 4);
        let blob = store.blob("j1", BlobKind::Result).unwrap();
        assert_eq!(blob.content_type, "image/png");
        store.apply_event(&event(job_event::Kind::Stored, JobStatus::Done));
        assert!(store.state("j1").unwrap().stored);
    }

    #[test]
    fn late_events_never_move_a_job_backwards() {
        let store = JobStore::new(100, 1 << 20);
        store.apply_result(&done());
        store.apply_event(&event(job_event::Kind::Started, JobStatus::Processing));
        store.apply_event(&event(job_event::Kind::Accepted, JobStatus::Queued));
        assert_eq!(store.state("j1").unwrap().status, JobStatus::Done);
    }

    #[test]
    fn a_failed_store_event_carries_the_reason() {
        let store = JobStore::new(100, 1 << 20);
        let mut stored = event(job_event::Kind::Stored, JobStatus::Failed);
        stored.error_code = "decode_failed".into();
        stored.error = "not a picture".into();
        store.apply_event(&stored);
        let state = store.state("j1").unwrap();
        assert_eq!(state.status, JobStatus::Failed);
        assert_eq!(state.failure.unwrap().code, "decode_failed");
    }

    #[test]
    fn the_blob_cache_is_bounded_in_bytes() {
        let store = JobStore::new(100, 10_000);
        for i in 0..50 {
            store.put_blob(
                &format!("job-{i}"),
                BlobKind::Result,
                Blob {
                    content_type: "image/png",
                    data: Bytes::from(vec![0_u8; 1_000]),
                },
            );
        }
        assert!(store.blobs.weight() <= 10_000);
        assert!(store.blobs.len() < 50);
    }

    #[tokio::test]
    async fn waiters_wake_when_the_job_finishes() {
        let store = Arc::new(JobStore::new(100, 1 << 20));
        store.apply_event(&event(job_event::Kind::Accepted, JobStatus::Queued));
        let waiter = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.wait_final("j1", Duration::from_secs(10)).await })
        };
        tokio::task::yield_now().await;
        store.apply_result(&done());
        let state = waiter.await.unwrap().unwrap();
        assert_eq!(state.status, JobStatus::Done);
        let timed_out = store.wait_final("unknown", Duration::from_millis(1)).await;
        assert_eq!(timed_out, None);
    }
}
