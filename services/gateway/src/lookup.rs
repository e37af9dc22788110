//! Finding a job and its bytes: first in this replica's memory, then in MongoDB, where save2db keeps every job
//! for good. What MongoDB returns is remembered, so the next request is served from memory.

use std::sync::Arc;

use imagepipe_proto::v1::{ImageFormat, ImageInfo, JobStatus};
use imagepipe_save2db::{ArchiveStore, JobDocument, StoredFile};

use crate::{
    error::ApiError,
    jobs::{Blob, BlobKind, JobFailure, JobState, JobStore},
};

/// The name of a plain resize's single output.
const DEFAULT_OUTPUT: &str = "default";

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

    /// The job's state, or `None` for a job nobody knows.
    ///
    /// # Errors
    /// [`ApiError::StoreUnavailable`] when the job is not in memory and MongoDB cannot be read.
    pub async fn state(&self, job_id: &str) -> Result<Option<JobState>, ApiError> {
        if let Some(state) = self.jobs.state(job_id) {
            return Ok(Some(state));
        }
        let Some(document) = self.archive.job(job_id).await? else {
            return Ok(None);
        };
        let state = state_of(&document);
        self.jobs.remember(job_id, state.clone());
        Ok(Some(state))
    }

    /// The job's original or result bytes, or `None` when neither memory nor MongoDB has them (yet).
    ///
    /// # Errors
    /// [`ApiError::StoreUnavailable`] when MongoDB cannot be read.
    pub async fn blob(&self, job_id: &str, kind: BlobKind) -> Result<Option<Blob>, ApiError> {
        if let Some(blob) = self.jobs.blob(job_id, kind) {
            return Ok(Some(blob));
        }
        let Some(document) = self.archive.job(job_id).await? else {
            return Ok(None);
        };
        let file = match kind {
            BlobKind::Original => document.original.as_ref(),
            BlobKind::Result => result_file(&document),
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
        self.jobs.put_blob(job_id, kind, blob.clone());
        Ok(Some(blob))
    }
}

/// A stored job's state.
fn state_of(document: &JobDocument) -> JobState {
    let status = JobStatus::from_name(&document.status).unwrap_or(JobStatus::Failed);
    JobState {
        status,
        result: result_file(document).map(|file| ImageInfo {
            format: format_of(file) as i32,
            width: file.width,
            height: file.height,
            bytes: file.bytes,
        }),
        failure: document.error.as_ref().map(|error| JobFailure {
            code: error.code.clone(),
            message: error.message.clone(),
        }),
        stored: true,
    }
}

fn result_file(document: &JobDocument) -> Option<&StoredFile> {
    document
        .outputs
        .iter()
        .find(|file| file.name == DEFAULT_OUTPUT)
        .or_else(|| document.outputs.first())
}

fn format_of(file: &StoredFile) -> ImageFormat {
    ImageFormat::from_name(&file.format).unwrap_or(ImageFormat::Unspecified)
}
