//! Deleting a job: its original, every output and its job document go from MongoDB, and every gateway replica
//! forgets it (this one at once, the others on the `job.event.deleted` event).
//!
//! Only a stored job (done or failed, and written by save2db) can be deleted. A job still queued, processing,
//! or done but not yet stored is refused with `409 job_in_progress`: save2db would store it after the deletion
//! and bring it back. The event goes out before anything is deleted, so a `204` means every replica was told;
//! when the broker is away nothing is deleted and the client retries.

use imagepipe_archive::ArchiveStore;
use imagepipe_common::{
    amqp::{Envelope, Publisher},
    time::now_ms,
};
use imagepipe_proto::{
    topology::routing,
    v1::{JobEvent, job_event},
};

use crate::{auth, auth::keys::Owner, error::ApiError, tracking::jobs::JobStore};

/// The routing-key suffix of the deletion event.
pub const DELETED_EVENT: &str = "deleted";

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
}

impl Deletion<'_> {
    /// Deletes the stored job `job_id` everywhere.
    ///
    /// # Errors
    /// [`ApiError::JobNotFound`] when no job of this id is stored (never was, or already deleted) or it is another
    /// owner's;
    /// [`ApiError::JobInProgress`] when this replica knows the caller's job but it is not stored yet;
    /// [`ApiError::DeletionUnannounced`] when the event could not be published (nothing was deleted);
    /// [`ApiError::StoreUnavailable`] when MongoDB fails (retrying finishes the deletion).
    #[tracing::instrument(skip_all, fields(job_id = %job_id, trace_id = tracing::field::Empty))]
    pub async fn delete(&self, job_id: &str) -> Result<(), ApiError> {
        let Some(document) = self.archive.job(job_id).await? else {
            match self.jobs.state(job_id) {
                // Stored once, gone now: deleted while this replica missed the event.
                Some(state) if state.stored => self.jobs.forget(job_id),
                Some(state) if auth::may_see(self.caller, state.owner.as_deref()) => {
                    return Err(ApiError::JobInProgress(job_id.to_owned()));
                }
                // Unknown, or another owner's job in progress: not found, the same.
                _ => {}
            }
            return Err(ApiError::JobNotFound(job_id.to_owned()));
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
