//! Deleting a job: its original, every output and its job document go from MongoDB, and every gateway replica
//! forgets it (this one at once, the others on the `job.event.deleted` event).
//!
//! Only a stored job (done or failed, and written by save2db) can be deleted: a `204` means its files and
//! document are gone. A done or failed job that save2db has not stored yet (it usually is within milliseconds
//! of its result) is waited for, up to [`STORE_WAIT`], then deleted; a job still queued or processing, or one
//! still not stored after the wait (storage is behind), is refused with `409 job_in_progress`, whose message
//! says which. The event goes out before anything is deleted, so a `204` means every replica was told; when
//! the broker is away nothing is deleted and the client retries. The archive writes the job's tombstone before
//! it deletes anything, so an archive of the job that arrives later (a redelivery, a replay from the
//! dead-letter queue) stores nothing.

use std::time::Duration;

use imagepipe_archive::{ArchiveStore, JobDocument};
use imagepipe_common::{
    amqp::{Envelope, Publisher},
    time::now_ms,
};
use imagepipe_proto::{
    topology::routing,
    v1::{JobEvent, job_event},
};

use crate::{
    auth,
    auth::keys::Owner,
    error::{ApiError, Unstored},
    tracking::jobs::JobStore,
};

/// The routing-key suffix of the deletion event.
pub const DELETED_EVENT: &str = "deleted";

/// How long a `DELETE` of a done or failed job waits for save2db to store it. Storing takes milliseconds when
/// storage keeps up; past this, storage is behind and the client is told to retry.
pub const STORE_WAIT: Duration = Duration::from_secs(10);

/// What deleting a job needs.
#[derive(Debug, Clone, Copy)]
pub struct Deletion<'a> {
    /// Where the job is stored.
    pub archive: &'a ArchiveStore,
    /// This replica's memory of jobs.
    pub jobs: &'a JobStore,
    /// Announces the deletion to every replica.
    pub publisher: &'a Publisher,
    /// This replica's instance id, named as the event's `by`.
    pub instance: &'a str,
    /// Who asks (none: the gateway runs open). Another owner's job is not found, exactly as a missing one.
    pub caller: Option<&'a Owner>,
    /// How long to wait for a done or failed job to be stored ([`STORE_WAIT`]).
    pub store_wait: Duration,
}

impl Deletion<'_> {
    /// Deletes the stored job `job_id` everywhere, once stored (see the module's documentation).
    ///
    /// # Errors
    /// [`ApiError::JobNotFound`] when no job of this id is stored (never was, or already deleted) or it is another
    /// owner's;
    /// [`ApiError::JobInProgress`] when this replica knows the caller's job but it is still queued or processing,
    /// or not stored after [`STORE_WAIT`];
    /// [`ApiError::DeletionUnannounced`] when the event could not be published (nothing was deleted);
    /// [`ApiError::StoreUnavailable`] when MongoDB fails (retrying finishes the deletion).
    #[tracing::instrument(skip_all, fields(job_id = %job_id, trace_id = tracing::field::Empty))]
    pub async fn delete(&self, job_id: &str) -> Result<(), ApiError> {
        let document = match self.archive.job(job_id).await? {
            Some(document) => document,
            None => self.once_stored(job_id).await?,
        };
        if !auth::may_see(self.caller, document.owner.as_deref()) {
            return Err(ApiError::JobNotFound(job_id.to_owned()));
        }
        tracing::Span::current().record("trace_id", document.trace_id.as_str());
        let deletion = JobEvent {
            job_id: job_id.to_owned(),
            trace_id: document.trace_id.clone(),
            kind: job_event::Kind::Deleted as i32,
            at_ms: now_ms(),
            by: self.instance.to_owned(),
            ..JobEvent::default()
        };
        self.announce(&deletion).await?;
        self.jobs.forget(job_id);
        // The archive writes the job's tombstone before it deletes anything, so that no late archive of the job
        // (a redelivery, a replay) brings it back.
        if !self.archive.delete_job(&deletion).await? {
            // Another request deleted it between our read and our delete.
            return Err(ApiError::JobNotFound(job_id.to_owned()));
        }
        tracing::info!(%job_id, trace_id = %document.trace_id, "Deleted the job.");
        Ok(())
    }

    /// The document of a job MongoDB does not hold (yet): waits for save2db to store a done or failed job this
    /// replica knows, and reads it then.
    async fn once_stored(&self, job_id: &str) -> Result<JobDocument, ApiError> {
        let not_found = || ApiError::JobNotFound(job_id.to_owned());
        let in_progress = |status| ApiError::JobInProgress {
            job_id: job_id.to_owned(),
            status,
        };
        let Some(state) = self.jobs.state(job_id) else {
            return Err(not_found());
        };
        if state.stored {
            // Stored once, gone now: deleted while this replica missed the event.
            self.jobs.forget(job_id);
            return Err(not_found());
        }
        // Unknown, or another owner's job in progress: not found, the same.
        if !auth::may_see(self.caller, state.owner.as_deref()) {
            return Err(not_found());
        }
        if !state.is_final() {
            return Err(in_progress(Unstored::InProgress(state.status)));
        }
        let waited = self
            .jobs
            .wait_stored(job_id, self.store_wait)
            .await
            .unwrap_or(state);
        // Read MongoDB whatever the wait saw: a stored event this replica missed must not cost the client a 409.
        match self.archive.job(job_id).await? {
            Some(document) => Ok(document),
            // Stored, then deleted by another request while we waited.
            None if waited.stored => Err(not_found()),
            None => Err(in_progress(Unstored::Behind(waited.status))),
        }
    }

    /// Tells every replica (this one included) to forget the job, and waits for the broker's confirm.
    async fn announce(&self, deletion: &JobEvent) -> Result<(), ApiError> {
        let key = routing::event(DELETED_EVENT);
        let envelope = Envelope::event(&key, &deletion.job_id, &deletion.trace_id);
        self.publisher
            .publish(envelope, deletion)
            .await
            .map_err(ApiError::DeletionUnannounced)
    }
}
