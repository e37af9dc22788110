//! Finding a job and its bytes: first in this replica's memory, then in MongoDB, where save2db keeps every job
//! until it is deleted. What MongoDB returns is remembered, so the next request is served from memory. A job
//! this replica knows to be deleted is not looked for at all.

use std::sync::Arc;

use imagepipe_archive::{ArchiveStore, JobDocument, StoredFile};
use imagepipe_proto::v1::{ImageFormat, ImageInfo, JobStatus, job_event};

use crate::{
    auth,
    auth::keys::Owner,
    error::ApiError,
    tracking::jobs::{Blob, BlobKind, DEFAULT_OUTPUT, JobFailure, JobState, JobStore, OutputInfo},
    tracking::timeline::{Step, Timeline},
};

/// Reads jobs from memory, falling back to the archive.
#[derive(Debug, Clone)]
pub struct Lookup {
    jobs: Arc<JobStore>,
    archive: ArchiveStore,
}

impl Lookup {
    /// A lookup over `jobs` and `archive`.
    #[must_use]
    pub fn new(jobs: Arc<JobStore>, archive: ArchiveStore) -> Self {
        Self { jobs, archive }
    }

    /// The archive behind this lookup.
    #[must_use]
    pub fn archive(&self) -> &ArchiveStore {
        &self.archive
    }

    /// The job's state, or `None` for a job nobody knows (or that was deleted).
    ///
    /// # Errors
    /// [`ApiError::StoreUnavailable`] when the job is not in memory and MongoDB cannot be read.
    pub async fn state(&self, job_id: &str) -> Result<Option<JobState>, ApiError> {
        Ok(self.found(job_id).await?.map(|(state, _)| state))
    }

    /// [`Lookup::state`], and whether memory alone answered (no MongoDB read).
    async fn found(&self, job_id: &str) -> Result<Option<(JobState, bool)>, ApiError> {
        if self.jobs.is_deleted(job_id) {
            return Ok(None);
        }
        let known = self.jobs.state(job_id);
        let complete = known.as_ref().is_some_and(|state| !lacks_outputs(state));
        crate::metrics::cache_lookup("state", complete);
        if complete {
            return Ok(known.map(|state| (state, true)));
        }
        let Some(document) = self.archive.job(job_id).await? else {
            return Ok(known.map(|state| (state, false)));
        };
        let state = state_of(&document);
        self.jobs.remember(job_id, state.clone());
        Ok(Some((state, false)))
    }

    /// The job's state if `caller` may see it (see [`auth::may_see`]): any job when the gateway runs open
    /// (`caller` is `None`), else only the caller's own. Another owner's job is `None`, exactly as a missing
    /// one, and costs the same MongoDB read a missing job does, so the answer's timing tells nothing either.
    ///
    /// # Errors
    /// [`ApiError::StoreUnavailable`] when MongoDB is needed and cannot be read.
    pub async fn state_for(
        &self,
        job_id: &str,
        caller: Option<&Owner>,
    ) -> Result<Option<JobState>, ApiError> {
        let Some((state, from_memory)) = self.found(job_id).await? else {
            return Ok(None);
        };
        if auth::may_see(caller, state.owner.as_deref()) {
            return Ok(Some(state));
        }
        if !from_memory {
            // MongoDB was read, once, as for a missing job: a stored job's owner is in `state` now.
            return Ok(None);
        }
        // Not known to be the caller's. An owner this replica knows is final, but the document is read anyway so
        // another owner's job costs what a missing one does; an unknown owner is the stored document's.
        let stored = self.archive.job(job_id).await?;
        let visible = state.owner.is_none()
            && stored.is_some_and(|document| auth::may_see(caller, document.owner.as_deref()));
        Ok(visible.then_some(state))
    }

    /// `state` of job `job_id` with its whole timeline, for the status document: the steps this replica heard
    /// of, completed from the history save2db keeps in MongoDB, unless this replica heard every step there is
    /// (see `heard_everything`), which spares a query. What MongoDB adds is remembered. A history that cannot
    /// be read leaves the timeline as this replica knows it: the status is worth more than its history.
    pub async fn with_history(&self, job_id: &str, mut state: JobState) -> JobState {
        if heard_everything(&state) {
            return state;
        }
        match self.archive.history(job_id).await {
            Ok(events) => {
                let steps: Vec<Step> = events.iter().filter_map(Step::of_stored).collect();
                if state.timeline.merge(steps.iter().cloned()) {
                    self.jobs.record_steps(job_id, steps);
                }
            }
            Err(error) => {
                tracing::warn!(%job_id, %error, "Could not read the job's history; its timeline is what this replica heard.");
            }
        }
        state
    }

    /// The job's original or output bytes, or `None` when neither memory nor MongoDB has them (yet).
    ///
    /// # Errors
    /// [`ApiError::OutputNotFound`] when the job's outputs are known and none has the name asked for;
    /// [`ApiError::JobNotFound`] when the job was deleted meanwhile;
    /// [`ApiError::StoreUnavailable`] when MongoDB cannot be read.
    pub async fn blob(&self, job_id: &str, kind: BlobKind<'_>) -> Result<Option<Blob>, ApiError> {
        if self.jobs.is_deleted(job_id) {
            return Err(ApiError::JobNotFound(job_id.to_owned()));
        }
        if let Some(blob) = self.jobs.blob(job_id, kind) {
            crate::metrics::cache_lookup("image", true);
            return Ok(Some(blob));
        }
        crate::metrics::cache_lookup("image", false);
        if let (BlobKind::Output(name), Some(state)) = (kind, self.jobs.state(job_id)) {
            let names = state.outputs.iter().map(|output| output.name.as_str());
            check_output(job_id, name, names)?;
        }
        let Some(document) = self.archive.job(job_id).await? else {
            return Ok(None);
        };
        let file = match kind {
            BlobKind::Original => document.original.as_ref(),
            BlobKind::Main => main_file(&document),
            BlobKind::Output(name) => {
                let names = document.outputs.iter().map(|file| file.name.as_str());
                check_output(job_id, name, names)?;
                document.output(name)
            }
        };
        let Some(file) = file else {
            return Ok(None);
        };
        let Some(data) = self.archive.read_file(&file.gridfs_id).await? else {
            tracing::warn!(%job_id, gridfs_id = %file.gridfs_id, "The job document names a GridFS file that is missing.");
            return Ok(None);
        };
        let blob = Blob {
            content_type: format_of(file).mime_type(),
            data: data.into(),
        };
        // Cache under the concrete name, so `Main` and `Output(name)` share one entry.
        self.jobs.remember(job_id, state_of(&document));
        let cached_as = match kind {
            BlobKind::Original => BlobKind::Original,
            BlobKind::Main | BlobKind::Output(_) => BlobKind::Output(&file.name),
        };
        self.jobs.put_blob(job_id, cached_as, blob.clone());
        Ok(Some(blob))
    }
}

/// Whether this replica only heard that the job is done and stored (from another replica's events), so MongoDB
/// knows its outputs and this replica does not.
fn lacks_outputs(state: &JobState) -> bool {
    state.status == JobStatus::Done && state.stored && state.outputs.is_empty()
}

/// Whether this replica heard every step of the job so far, so its history in MongoDB has nothing more: it
/// heard the job accepted, and its end and its storing once the job got that far. (Every replica hears every
/// job event; one that started after the job was accepted, or forgot it, did not.)
fn heard_everything(state: &JobState) -> bool {
    let timeline = &state.timeline;
    timeline.has(job_event::Kind::Accepted)
        && (!state.is_final()
            || timeline.has(job_event::Kind::Done)
            || timeline.has(job_event::Kind::Failed))
        && (!state.stored || timeline.has(job_event::Kind::Stored))
}

/// Refuses `name` when the job's known outputs (`names`, empty while unknown) do not include it.
fn check_output<'a>(
    job_id: &str,
    name: &str,
    names: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), ApiError> {
    if names.clone().next().is_none() || names.clone().any(|known| known == name) {
        return Ok(());
    }
    Err(ApiError::OutputNotFound {
        job_id: job_id.to_owned(),
        name: name.to_owned(),
        available: names.collect::<Vec<_>>().join(", "),
    })
}

/// A stored job's state.
fn state_of(document: &JobDocument) -> JobState {
    let status = JobStatus::from_name(&document.status).unwrap_or(JobStatus::Failed);
    JobState {
        status,
        outputs: document
            .outputs
            .iter()
            .map(|file| OutputInfo {
                name: file.name.clone(),
                info: ImageInfo {
                    format: format_of(file) as i32,
                    width: file.width,
                    height: file.height,
                    bytes: file.bytes,
                },
            })
            .collect(),
        failure: document.error.as_ref().map(|error| JobFailure {
            code: error.code.clone(),
            message: error.message.clone(),
        }),
        stored: true,
        owner: Some(document.owner.clone().unwrap_or_default()),
        timeline: Timeline::default(),
    }
}

fn main_file(document: &JobDocument) -> Option<&StoredFile> {
    document
        .output(DEFAULT_OUTPUT)
        .or_else(|| document.outputs.first())
}

fn format_of(file: &StoredFile) -> ImageFormat {
    ImageFormat::from_name(&file.format).unwrap_or(ImageFormat::Unspecified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_read_until_this_replica_heard_every_step() {
        let step = |kind| Step {
            kind,
            at_ms: 1,
            by: "x".into(),
            status: JobStatus::Unspecified,
            failure: None,
        };
        let mut state = JobState::queued();
        assert!(
            !heard_everything(&state),
            "joined after the job was accepted"
        );
        state.timeline.record(step(job_event::Kind::Accepted));
        assert!(heard_everything(&state));
        state.status = JobStatus::Done;
        assert!(!heard_everything(&state), "done, but the end was not heard");
        state.timeline.record(step(job_event::Kind::Done));
        assert!(heard_everything(&state));
        state.stored = true;
        assert!(
            !heard_everything(&state),
            "stored, but the storing was not heard"
        );
        state.timeline.record(step(job_event::Kind::Stored));
        assert!(heard_everything(&state));
    }

    #[test]
    fn only_known_outputs_are_refused() {
        assert!(
            check_output("j", "thumb", [].into_iter()).is_ok(),
            "unknown yet"
        );
        assert!(check_output("j", "thumb", ["big", "thumb"].into_iter()).is_ok());
        let error = check_output("j", "tiny", ["big", "thumb"].into_iter()).unwrap_err();
        assert_eq!(error.code(), "output_not_found");
        assert!(error.to_string().contains("big, thumb"), "{error}");
    }
}
