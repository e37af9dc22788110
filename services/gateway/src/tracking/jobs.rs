//! What this gateway replica knows of jobs: a bounded table of job states fed by its own submissions and by the
//! results and events on its reply queue, a byte-bounded cache of result and original bytes, a way to wait
//! for a job to finish, and tombstones of the jobs deleted while this replica runs.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use imagepipe_proto::v1::{ImageInfo, ImageResult, JobEvent, JobStatus, job_event};
use quick_cache::{Weighter, sync::Cache};
use tokio::sync::watch;

use crate::tracking::{
    backlog::Backlog,
    timeline::{Step, Timeline},
};

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// Stable machine-readable code (`decode_failed`, …).
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

/// One output of a job: its name and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputInfo {
    /// `default`, or the variant's name.
    pub name: String,
    /// Format, dimensions and size.
    pub info: ImageInfo,
}

/// The name of the single output of a job without variants.
pub const DEFAULT_OUTPUT: &str = "default";

/// One job as this replica knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// Where the job stands.
    pub status: JobStatus,
    /// The outputs' names, formats, dimensions and sizes, once done (empty while this replica only heard that
    /// the job is done: MongoDB has them).
    pub outputs: Vec<OutputInfo>,
    /// Why it failed, once failed.
    pub failure: Option<JobFailure>,
    /// Whether save2db has stored it (so MongoDB can serve it).
    pub stored: bool,
    /// Whose job it is: `Some("")` for a job of an open gateway (no owner), `None` while this replica does not
    /// know (it heard of the job only from events that do not name the owner; MongoDB knows once stored).
    pub owner: Option<String>,
    /// The steps of the job's life this replica heard of (see [`crate::tracking::timeline`]).
    pub timeline: Timeline,
}

impl JobState {
    /// A job just accepted.
    #[must_use]
    pub fn queued() -> Self {
        Self {
            status: JobStatus::Queued,
            outputs: Vec::new(),
            failure: None,
            stored: false,
            owner: None,
            timeline: Timeline::default(),
        }
    }

    /// Whether the job is done or failed.
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The output `GET /image/{id}` serves: `default`, else the first (a job with variants has no `default`).
    #[must_use]
    pub fn main_output(&self) -> Option<&OutputInfo> {
        self.outputs
            .iter()
            .find(|output| output.name == DEFAULT_OUTPUT)
            .or_else(|| self.outputs.first())
    }

    /// The output called `name`.
    #[must_use]
    pub fn output(&self, name: &str) -> Option<&OutputInfo> {
        self.outputs.iter().find(|output| output.name == name)
    }
}

/// Which bytes of a job a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobKind<'a> {
    /// The uploaded image.
    Original,
    /// The output the job's own URL serves (see [`JobState::main_output`]).
    Main,
    /// The output of this name.
    Output(&'a str),
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

impl Weighter<String, Blob> for BlobWeighter {
    fn weight(&self, key: &String, blob: &Blob) -> u64 {
        (key.len() + blob.data.len()) as u64 + 64
    }
}

/// The cache key of a job's original or named output: its GridFS id.
fn blob_key(job_id: &str, name: Option<&str>) -> String {
    match name {
        None => imagepipe_archive::original_id(job_id),
        Some(name) => imagepipe_archive::output_id(job_id, name),
    }
}

type Slot = Arc<watch::Sender<JobState>>;

/// Most tombstones of deleted jobs kept (a deleted job's late messages are ignored while its tombstone lasts).
const MAX_TOMBSTONES: usize = 10_000;

/// The replica's job table, blob cache and tombstones.
pub struct JobStore {
    states: Cache<String, Slot>,
    blobs: Cache<String, Blob, BlobWeighter>,
    deleted: Cache<String, ()>,
    backlog: Backlog,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("jobs", &self.states.len())
            .field("cached_bytes", &self.blobs.weight())
            .field("tombstones", &self.deleted.len())
            .field("waiting", &self.backlog.len())
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
            deleted: Cache::new(max_jobs.clamp(16, MAX_TOMBSTONES)),
            backlog: Backlog::default(),
        }
    }

    /// The jobs waiting for a transformer, as the events tell.
    #[must_use]
    pub fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    /// The job's state, if this replica knows the job (and it was not deleted).
    #[must_use]
    pub fn state(&self, job_id: &str) -> Option<JobState> {
        if self.is_deleted(job_id) {
            return None;
        }
        self.states.get(job_id).map(|slot| slot.borrow().clone())
    }

    /// Whether this replica has heard that the job was deleted (for as long as it keeps the tombstone).
    #[must_use]
    pub fn is_deleted(&self, job_id: &str) -> bool {
        self.deleted.get(job_id).is_some()
    }

    /// Forgets a deleted job: its state and cached bytes go, and a tombstone keeps late results, events and
    /// MongoDB reads that were already under way from bringing it back.
    pub fn forget(&self, job_id: &str) {
        self.deleted.insert(job_id.to_owned(), ());
        self.blobs.remove(&blob_key(job_id, None));
        if let Some((_, slot)) = self.states.remove(job_id) {
            for output in &slot.borrow().outputs {
                self.blobs.remove(&blob_key(job_id, Some(&output.name)));
            }
        }
    }

    /// Records a job this replica accepted for `owner` (empty: none), with its original.
    pub fn accepted(&self, job_id: &str, original: Blob, owner: &str) {
        self.put_blob(job_id, BlobKind::Original, original);
        self.update(job_id, |state| learn_owner(state, owner));
    }

    /// Applies a job event from any replica.
    pub fn apply_event(&self, event: &JobEvent) {
        // These two name the job's owner (empty: none); the others leave the field empty.
        if matches!(
            event.kind(),
            job_event::Kind::Accepted | job_event::Kind::Stored
        ) {
            self.update(&event.job_id, |state| learn_owner(state, &event.owner));
        }
        if let Some(step) = Step::of_event(event) {
            self.update(&event.job_id, |state| state.timeline.record(step));
        }
        match event.kind() {
            job_event::Kind::Accepted => {
                // Another replica's `accepted` may come after the job's start: only a job still queued waits.
                // Read in place, in the same lookup that makes the slot (no copy of the job's state).
                self.update(&event.job_id, |state| {
                    if state.status == JobStatus::Queued {
                        self.backlog.queued(&event.job_id, event.message_bytes);
                    }
                    false
                });
            }
            job_event::Kind::Unspecified => {
                self.update(&event.job_id, |_| false);
            }
            job_event::Kind::Started => {
                self.backlog.started(&event.job_id);
                self.update(&event.job_id, |state| {
                    let changed = state.status == JobStatus::Queued;
                    if changed {
                        state.status = JobStatus::Processing;
                    }
                    changed
                });
            }
            // The result (to the accepting replica) or the stored event (to every replica) makes a job final;
            // done and failed events only add to its timeline.
            job_event::Kind::Done | job_event::Kind::Failed => {
                self.backlog.left(&event.job_id);
                self.update(&event.job_id, |_| false);
            }
            job_event::Kind::Deleted => {
                self.backlog.left(&event.job_id);
                self.forget(&event.job_id);
            }
            job_event::Kind::Stored => {
                self.backlog.left(&event.job_id);
                self.update(&event.job_id, |state| {
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
                });
            }
        }
    }

    /// Applies a transformer's result for a job this replica accepted, caching every output's bytes.
    pub fn apply_result(&self, result: &ImageResult) {
        self.backlog.left(&result.job_id);
        let mut outputs = Vec::with_capacity(result.outputs.len());
        for output in &result.outputs {
            let info = output.info.unwrap_or_default();
            self.put_blob(
                &result.job_id,
                BlobKind::Output(&output.name),
                Blob {
                    content_type: info.format().mime_type(),
                    data: output.data.clone(),
                },
            );
            outputs.push(OutputInfo {
                name: output.name.clone(),
                info,
            });
        }
        self.update(&result.job_id, |state| {
            let recorded = state.timeline.record(Step::of_result(result));
            if state.is_final() {
                return recorded;
            }
            state.status = result.status();
            state.outputs = outputs;
            if state.status == JobStatus::Failed {
                state.failure = Some(JobFailure {
                    code: result.error_code.clone(),
                    message: result.error.clone(),
                });
            }
            true
        });
    }

    /// Records a final state read back from MongoDB (keeping the steps this replica heard of).
    pub fn remember(&self, job_id: &str, known: JobState) {
        self.update(job_id, |state| {
            let mut known = known;
            known.timeline.merge(state.timeline.steps().iter().cloned());
            let changed = *state != known;
            *state = known;
            changed
        });
    }

    /// Adds `steps` (from the job's history in MongoDB) to the timeline of a job this replica knows.
    pub fn record_steps(&self, job_id: &str, steps: impl IntoIterator<Item = Step>) {
        if self.is_deleted(job_id) {
            return;
        }
        if let Some(slot) = self.states.get(job_id) {
            slot.send_if_modified(|state| state.timeline.merge(steps));
        }
    }

    /// Waits up to `timeout` for the job to become final; returns its state then (or at the timeout), or `None`
    /// for an unknown job.
    pub async fn wait_final(&self, job_id: &str, timeout: Duration) -> Option<JobState> {
        self.wait_until(job_id, timeout, JobState::is_final).await
    }

    /// Waits up to `timeout` for save2db's stored event of the job; returns its state then (or at the timeout),
    /// or `None` for an unknown job.
    pub async fn wait_stored(&self, job_id: &str, timeout: Duration) -> Option<JobState> {
        self.wait_until(job_id, timeout, |state| state.stored).await
    }

    /// Waits up to `timeout` until `reached` holds for the job's state; returns the state then (or at the
    /// timeout), or `None` for an unknown job.
    async fn wait_until(
        &self,
        job_id: &str,
        timeout: Duration,
        reached: impl FnMut(&JobState) -> bool,
    ) -> Option<JobState> {
        let slot = self.states.get(job_id)?;
        let mut receiver = slot.subscribe();
        let waited = tokio::time::timeout(timeout, receiver.wait_for(reached)).await;
        Some(match waited {
            Ok(Ok(state)) => state.clone(),
            _ => slot.borrow().clone(),
        })
    }

    /// A receiver that sees every change of the job's state from now on, if this replica holds the job (and
    /// it was not deleted). It ends (`changed()` fails) when the replica forgets the job.
    #[must_use]
    pub fn watch(&self, job_id: &str) -> Option<watch::Receiver<JobState>> {
        if self.is_deleted(job_id) {
            return None;
        }
        self.states.get(job_id).map(|slot| slot.subscribe())
    }

    /// Cached bytes of a job. [`BlobKind::Main`] is found only once this replica knows the job's outputs.
    #[must_use]
    pub fn blob(&self, job_id: &str, kind: BlobKind<'_>) -> Option<Blob> {
        if self.is_deleted(job_id) {
            return None;
        }
        self.blobs.get(&self.key(job_id, kind)?)
    }

    /// Caches bytes of a job (evicting the least useful entries past the byte budget). A [`BlobKind::Main`] blob
    /// is cached only once the job's outputs are known.
    pub fn put_blob(&self, job_id: &str, kind: BlobKind<'_>, blob: Blob) {
        if self.is_deleted(job_id) {
            return;
        }
        if let Some(key) = self.key(job_id, kind) {
            self.blobs.insert(key, blob);
        }
    }

    fn key(&self, job_id: &str, kind: BlobKind<'_>) -> Option<String> {
        Some(match kind {
            BlobKind::Original => blob_key(job_id, None),
            BlobKind::Output(name) => blob_key(job_id, Some(name)),
            BlobKind::Main => {
                let state = self.state(job_id)?;
                blob_key(job_id, Some(&state.main_output()?.name))
            }
        })
    }

    /// Applies `change` to the job's state (creating it as queued), waking waiters if it reports a change.
    /// A deleted job stays deleted.
    fn update(&self, job_id: &str, change: impl FnOnce(&mut JobState) -> bool) {
        if self.is_deleted(job_id) {
            return;
        }
        let slot = self
            .states
            .get_or_insert_with(job_id, || {
                Ok::<_, std::convert::Infallible>(Arc::new(watch::Sender::new(JobState::queued())))
            })
            .unwrap_or_else(|never| match never {});
        slot.send_if_modified(change);
    }
}

/// Records the job's owner if not known yet (it never changes); never a change waiters wait for.
fn learn_owner(state: &mut JobState, owner: &str) -> bool {
    if state.owner.is_none() {
        state.owner = Some(owner.to_owned());
    }
    false
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::{ImageFormat, Output};

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
        assert_eq!(state.main_output().unwrap().info.width, 4);
        let blob = store.blob("j1", BlobKind::Main).unwrap();
        assert_eq!(blob.content_type, "image/png");
        assert_eq!(store.blob("j1", BlobKind::Output("default")), Some(blob));
        assert_eq!(store.blob("j1", BlobKind::Output("thumb")), None);
        store.apply_event(&event(job_event::Kind::Stored, JobStatus::Done));
        assert!(store.state("j1").unwrap().stored);
    }

    #[test]
    fn every_variant_is_cached_and_the_first_is_the_main_output() {
        let store = JobStore::new(100, 1 << 20);
        let output = |name: &str, width| Output {
            name: name.into(),
            data: Bytes::from(name.to_owned()),
            info: Some(ImageInfo {
                format: ImageFormat::Jpeg as i32,
                width,
                height: 1,
                bytes: name.len() as u64,
            }),
        };
        store.apply_result(&ImageResult {
            outputs: vec![output("large", 800), output("thumb", 64)],
            ..done()
        });
        let state = store.state("j1").unwrap();
        assert_eq!(state.main_output().unwrap().name, "large");
        assert_eq!(state.output("thumb").unwrap().info.width, 64);
        assert_eq!(
            store.blob("j1", BlobKind::Main).unwrap().data.as_ref(),
            b"large"
        );
        let thumb = store.blob("j1", BlobKind::Output("thumb")).unwrap();
        assert_eq!(
            (thumb.content_type, thumb.data.as_ref()),
            ("image/jpeg", &b"thumb"[..])
        );
    }

    #[test]
    fn the_owner_comes_from_the_submission_or_the_events_that_name_it() {
        let store = JobStore::new(100, 1 << 20);
        let original = Blob {
            content_type: "image/png",
            data: Bytes::from_static(b"original"),
        };
        store.accepted("j1", original.clone(), "alice");
        store.apply_result(&done());
        assert_eq!(store.state("j1").unwrap().owner.as_deref(), Some("alice"));

        // Heard of only from a started event: not known, until the stored event names it.
        let mut started = event(job_event::Kind::Started, JobStatus::Processing);
        started.job_id = "j2".into();
        store.apply_event(&started);
        assert_eq!(store.state("j2").unwrap().owner, None);
        let mut stored = event(job_event::Kind::Stored, JobStatus::Done);
        stored.job_id = "j2".into();
        stored.owner = "bob".into();
        store.apply_event(&stored);
        assert_eq!(store.state("j2").unwrap().owner.as_deref(), Some("bob"));
        // It never changes afterwards.
        stored.owner = "mallory".into();
        store.apply_event(&stored);
        assert_eq!(store.state("j2").unwrap().owner.as_deref(), Some("bob"));

        // A job of an open gateway is known to have no owner.
        let mut accepted = event(job_event::Kind::Accepted, JobStatus::Queued);
        accepted.job_id = "j3".into();
        store.apply_event(&accepted);
        assert_eq!(store.state("j3").unwrap().owner.as_deref(), Some(""));
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
    fn a_deleted_job_is_forgotten_and_stays_forgotten() {
        let store = JobStore::new(100, 1 << 20);
        store.accepted(
            "j1",
            Blob {
                content_type: "image/png",
                data: Bytes::from_static(b"original"),
            },
            "",
        );
        store.apply_result(&done());
        store.apply_event(&event(job_event::Kind::Stored, JobStatus::Done));
        assert!(store.blob("j1", BlobKind::Main).is_some());
        store.apply_event(&event(job_event::Kind::Deleted, JobStatus::Unspecified));
        assert!(store.is_deleted("j1"));
        assert_eq!(store.state("j1"), None);
        assert_eq!(store.blob("j1", BlobKind::Original), None);
        assert_eq!(
            store.blobs.len(),
            0,
            "the bytes are dropped, not only hidden"
        );
        // Late messages and reads that were under way do not bring it back.
        store.apply_result(&done());
        store.apply_event(&event(job_event::Kind::Stored, JobStatus::Done));
        store.remember("j1", JobState::queued());
        store.put_blob(
            "j1",
            BlobKind::Output("default"),
            Blob {
                content_type: "image/png",
                data: Bytes::from_static(b"late"),
            },
        );
        assert_eq!(store.state("j1"), None);
        assert_eq!(store.blob("j1", BlobKind::Output("default")), None);
        // Forgetting an unknown job, or twice, is harmless.
        store.forget("j1");
        store.forget("never-seen");
        assert!(store.is_deleted("never-seen"));
    }

    #[test]
    fn events_and_results_make_the_timeline_and_reads_from_mongodb_keep_it() {
        let store = JobStore::new(100, 1 << 20);
        let at = |kind, at_ms, by: &str| JobEvent {
            at_ms,
            by: by.into(),
            ..event(kind, JobStatus::Unspecified)
        };
        store.apply_event(&at(job_event::Kind::Started, 20, "tf"));
        store.apply_event(&at(job_event::Kind::Accepted, 10, "gw"));
        store.apply_event(&at(job_event::Kind::Accepted, 10, "gw"));
        store.apply_result(&ImageResult {
            finished_at_ms: 30,
            processed_by: "tf".into(),
            ..done()
        });
        // The end event is the result's step again.
        store.apply_event(&at(job_event::Kind::Done, 30, "tf"));
        let steps = |store: &JobStore| -> Vec<(&'static str, i64)> {
            store
                .state("j1")
                .unwrap()
                .timeline
                .steps()
                .iter()
                .map(|step| (step.kind.name(), step.at_ms))
                .collect()
        };
        assert_eq!(
            steps(&store),
            [("accepted", 10), ("started", 20), ("done", 30)]
        );
        let mut known = store.state("j1").unwrap();
        known.timeline = Timeline::default();
        known.stored = true;
        store.remember("j1", known);
        assert_eq!(
            steps(&store).len(),
            3,
            "remembering a document keeps the steps"
        );
        let stored = Step {
            kind: job_event::Kind::Stored,
            at_ms: 40,
            by: "s2d".into(),
            status: JobStatus::Done,
            failure: None,
        };
        store.record_steps("j1", [stored.clone()]);
        store.record_steps("unknown", [stored]);
        assert_eq!(steps(&store).last(), Some(&("stored", 40)));
        assert_eq!(store.state("unknown"), None, "history never creates a job");
        store.apply_event(&at(job_event::Kind::Deleted, 50, "gw"));
        assert_eq!(store.state("j1"), None);
    }

    #[test]
    fn the_blob_cache_is_bounded_in_bytes() {
        let store = JobStore::new(100, 10_000);
        for i in 0..50 {
            store.put_blob(
                &format!("job-{i}"),
                BlobKind::Output("default"),
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

    #[tokio::test]
    async fn waiters_for_the_store_wake_on_the_stored_event() {
        let store = Arc::new(JobStore::new(100, 1 << 20));
        store.apply_event(&event(job_event::Kind::Accepted, JobStatus::Queued));
        store.apply_result(&done());
        // Done, not stored: a short wait ends at its timeout with the job unstored.
        let unstored = store
            .wait_stored("j1", Duration::from_millis(1))
            .await
            .unwrap();
        assert!(!unstored.stored);
        let waiter = {
            let store = Arc::clone(&store);
            // Generous: the event below wakes it at once; the timeout only fails a hung test.
            tokio::spawn(async move { store.wait_stored("j1", Duration::from_secs(60)).await })
        };
        tokio::task::yield_now().await;
        store.apply_event(&event(job_event::Kind::Stored, JobStatus::Done));
        let state = waiter.await.unwrap().unwrap();
        assert!(state.stored);
        assert_eq!(state.status, JobStatus::Done);
        assert_eq!(
            store.wait_stored("unknown", Duration::from_millis(1)).await,
            None
        );
    }
}
