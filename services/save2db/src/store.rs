//! The archive store: originals and outputs in a GridFS bucket, one document per job in `jobs`. save2db
//! writes through it; the gateway reads through it.
//!
//! Saving is idempotent and crash-safe. Each file has a deterministic id; GridFS writes a file's `files`
//! document only after all its chunks, so a `files` document whose length and chunk count add up means the
//! file is complete and is skipped. Anything else (no `files` document, or one that does not add up) is
//! cleared, chunks included, and uploaded again. The job document is upserted last, so it never points at a
//! file that is not there. Every write uses the database's journaled write concern.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use futures_util::{
    TryStreamExt,
    io::{AsyncReadExt, AsyncWriteExt},
};
use imagepipe_proto::v1::ImageArchive;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{self, Bson, Document, doc},
    error::{ErrorKind, GridFsErrorKind},
    gridfs::GridFsBucket,
    options::{GridFsBucketOptions, IndexOptions},
};
use tokio::sync::{Mutex, MutexGuard};
use tracing::{debug, info, instrument, warn};

use crate::{
    StoreError,
    document::{JobDocument, PlannedFile, original_id, plan},
    history::{EventDocument, JobHistory},
};

/// The collection holding one document per job.
pub const JOBS_COLLECTION: &str = "jobs";
/// How many locks serialise saves of the same job within this process (a job maps to one by hash).
const LOCK_STRIPES: usize = 64;

/// Where a page of [`ArchiveStore::list_jobs`] starts: right after the job with this submission time and id
/// (jobs are listed newest first, ties broken by id, so a position stays valid while new jobs are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPosition {
    /// The job's `submitted_at`, in milliseconds since the Unix epoch.
    pub submitted_at_ms: i64,
    /// The job's id.
    pub id: String,
}

impl JobPosition {
    /// The position of `document` in the listing.
    #[must_use]
    pub fn of(document: &JobDocument) -> Self {
        Self {
            submitted_at_ms: document.submitted_at.timestamp_millis(),
            id: document.id.clone(),
        }
    }
}

/// Handle on the GridFS bucket and the `jobs` collection. Cheap to clone.
#[derive(Clone)]
pub struct ArchiveStore {
    database: Database,
    jobs: Collection<JobDocument>,
    bucket: GridFsBucket,
    files: Collection<Document>,
    chunks: Collection<Document>,
    locks: Arc<[Mutex<()>]>,
}

impl std::fmt::Debug for ArchiveStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveStore")
            .field("files", &self.files.name())
            .finish_non_exhaustive()
    }
}

impl ArchiveStore {
    /// Opens the store on `database` with the GridFS bucket `bucket` (`images` by default) and creates the
    /// indexes it relies on, if missing: the GridFS ones (`files_id` + `n` unique on chunks, `filename` +
    /// `uploadDate` on files), `metadata.job_id` on files, and the listing's sort keys on `jobs`
    /// (`submitted_at` + `_id` newest first, the same after `status`, and both after `owner`).
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the database cannot be reached or refuses an index.
    pub async fn open(database: Database, bucket: &str) -> Result<Self, StoreError> {
        let files = database.collection::<Document>(&format!("{bucket}.files"));
        let chunks = database.collection::<Document>(&format!("{bucket}.chunks"));
        ensure_index(&chunks, doc! { "files_id": 1, "n": 1 }, true).await?;
        ensure_index(&files, doc! { "filename": 1, "uploadDate": 1 }, false).await?;
        ensure_index(&files, doc! { "metadata.job_id": 1 }, false).await?;
        let jobs = database.collection::<Document>(JOBS_COLLECTION);
        ensure_index(&jobs, doc! { "submitted_at": -1, "_id": -1 }, false).await?;
        ensure_index(
            &jobs,
            doc! { "status": 1, "submitted_at": -1, "_id": -1 },
            false,
        )
        .await?;
        ensure_index(
            &jobs,
            doc! { "owner": 1, "submitted_at": -1, "_id": -1 },
            false,
        )
        .await?;
        ensure_index(
            &jobs,
            doc! { "owner": 1, "status": 1, "submitted_at": -1, "_id": -1 },
            false,
        )
        .await?;
        let bucket = database.gridfs_bucket(
            GridFsBucketOptions::builder()
                .bucket_name(bucket.to_owned())
                .build(),
        );
        Ok(Self {
            jobs: database.collection(JOBS_COLLECTION),
            database,
            bucket,
            files,
            chunks,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// Stores `archive`'s original and outputs, then its job document, and returns the document. Saving the
    /// same archive again leaves exactly one copy of each file and one document, and removes the orphan chunks
    /// an interrupted save left behind.
    ///
    /// # Errors
    /// [`StoreError::InvalidArchive`] (permanent) when the archive cannot be stored as it is; otherwise the
    /// MongoDB error, see [`StoreError::is_transient`].
    #[instrument(skip_all, fields(job_id = %archive.job_id))]
    pub async fn save(&self, archive: &ImageArchive) -> Result<JobDocument, StoreError> {
        let (mut document, files) = plan(archive, bson::DateTime::now())?;
        let _job = self.lock(&document.id).await;
        for file in &files {
            self.store_file(file).await?;
        }
        document.stored_at = bson::DateTime::now();
        self.jobs
            .replace_one(doc! { "_id": &document.id }, &document)
            .upsert(true)
            .await
            .map_err(StoreError::mongo("writing the job document"))?;
        info!(
            status = %document.status,
            files = files.len(),
            "Stored the job document."
        );
        Ok(document)
    }

    /// The job document of `job_id`, if stored.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobDocument>, StoreError> {
        self.jobs
            .find_one(doc! { "_id": job_id })
            .await
            .map_err(StoreError::mongo("reading a job document"))
    }

    /// Job `job_id`'s history (its events from `job_events`, oldest first); see [`JobHistory::events`].
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails.
    pub async fn history(&self, job_id: &str) -> Result<Vec<EventDocument>, StoreError> {
        JobHistory::new(&self.database).events(job_id).await
    }

    /// Up to `limit` job documents, newest `submitted_at` first (ties: highest id first), only those of `owner`
    /// and those whose status is `status` when given, starting right after `after` when given.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails or a document cannot be read.
    pub async fn list_jobs(
        &self,
        owner: Option<&str>,
        status: Option<&str>,
        after: Option<&JobPosition>,
        limit: u32,
    ) -> Result<Vec<JobDocument>, StoreError> {
        let mut filter = Document::new();
        if let Some(owner) = owner {
            filter.insert("owner", owner);
        }
        if let Some(status) = status {
            filter.insert("status", status);
        }
        if let Some(after) = after {
            let submitted_at = bson::DateTime::from_millis(after.submitted_at_ms);
            filter.insert(
                "$or",
                vec![
                    doc! { "submitted_at": { "$lt": submitted_at } },
                    doc! { "submitted_at": submitted_at, "_id": { "$lt": &after.id } },
                ],
            );
        }
        self.jobs
            .find(filter)
            .sort(doc! { "submitted_at": -1, "_id": -1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::mongo("listing job documents"))?
            .try_collect()
            .await
            .map_err(StoreError::mongo("listing job documents"))
    }

    /// The bytes of the GridFS file `gridfs_id` (see [`crate::StoredFile::gridfs_id`]), if stored.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails or the file's chunks are missing or malformed.
    pub async fn read_file(&self, gridfs_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = Bson::String(gridfs_id.to_owned());
        let mut stream = match self.bucket.open_download_stream(id).await {
            Ok(stream) => stream,
            Err(error)
                if matches!(
                    error.kind.as_ref(),
                    ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
                ) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(StoreError::mongo("opening a GridFS file")(error)),
        };
        let mut data = Vec::new();
        stream
            .read_to_end(&mut data)
            .await
            .map_err(StoreError::stream("reading a GridFS file"))?;
        Ok(Some(data))
    }

    /// Deletes everything stored for `job_id`: its files (with their chunks) and its job document. Returns
    /// whether there was anything. For tests and operators.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when a query or deletion fails.
    pub async fn delete_job(&self, job_id: &str) -> Result<bool, StoreError> {
        let _job = self.lock(job_id).await;
        let mut ids = vec![original_id(job_id)];
        if let Some(document) = self.job(job_id).await? {
            ids.extend(
                document
                    .original
                    .iter()
                    .chain(&document.outputs)
                    .map(|file| file.gridfs_id.clone()),
            );
        }
        let listed: Vec<Document> = self
            .files
            .find(doc! { "metadata.job_id": job_id })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::mongo("listing a job's files"))?
            .try_collect()
            .await
            .map_err(StoreError::mongo("listing a job's files"))?;
        ids.extend(
            listed
                .iter()
                .filter_map(|file| file.get_str("_id").ok().map(str::to_owned)),
        );
        ids.sort_unstable();
        ids.dedup();

        let mut found = false;
        for id in &ids {
            let files = self
                .files
                .delete_one(doc! { "_id": id })
                .await
                .map_err(StoreError::mongo("deleting a GridFS file"))?;
            let chunks = self
                .chunks
                .delete_many(doc! { "files_id": id })
                .await
                .map_err(StoreError::mongo("deleting GridFS chunks"))?;
            found |= files.deleted_count > 0 || chunks.deleted_count > 0;
        }
        let job = self
            .jobs
            .delete_one(doc! { "_id": job_id })
            .await
            .map_err(StoreError::mongo("deleting a job document"))?;
        found |= job.deleted_count > 0;
        info!(%job_id, found, "Deleted the job's files and document.");
        Ok(found)
    }

    /// Whether the database answers now.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when it does not (within the client's server-selection timeout).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(StoreError::mongo("pinging the database"))?;
        Ok(())
    }

    /// Stores one file unless a complete copy is already there.
    #[instrument(skip_all, fields(gridfs_id = %file.gridfs_id, bytes = file.data.len()))]
    async fn store_file(&self, file: &PlannedFile<'_>) -> Result<(), StoreError> {
        let id = Bson::String(file.gridfs_id.clone());
        if let Some(existing) = self
            .bucket
            .find_one(doc! { "_id": &id })
            .await
            .map_err(StoreError::mongo("looking up a GridFS file"))?
        {
            let chunks = self
                .chunks
                .count_documents(doc! { "files_id": &id })
                .await
                .map_err(StoreError::mongo("counting GridFS chunks"))?;
            let expected = chunk_count(existing.length, existing.chunk_size_bytes);
            if existing.length == file.data.len() as u64 && chunks == expected {
                debug!("Already stored; skipping.");
                return Ok(());
            }
            warn!(
                length = existing.length,
                chunks, expected, "Replacing an incomplete or different stored file."
            );
            self.files
                .delete_one(doc! { "_id": &id })
                .await
                .map_err(StoreError::mongo("deleting an incomplete GridFS file"))?;
        }
        let orphans = self
            .chunks
            .delete_many(doc! { "files_id": &id })
            .await
            .map_err(StoreError::mongo("deleting orphan GridFS chunks"))?
            .deleted_count;
        if orphans > 0 {
            info!(orphans, "Removed the chunks of an interrupted upload.");
        }
        let mut upload = self
            .bucket
            .open_upload_stream(&file.filename)
            .id(id)
            .metadata(file.metadata.clone())
            .await
            .map_err(StoreError::mongo("opening a GridFS upload"))?;
        upload
            .write_all(file.data)
            .await
            .map_err(StoreError::stream("uploading to GridFS"))?;
        upload
            .close()
            .await
            .map_err(StoreError::stream("finishing a GridFS upload"))?;
        debug!("Stored in GridFS.");
        Ok(())
    }

    async fn lock(&self, job_id: &str) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        job_id.hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or_default();
        self.locks[stripe].lock().await
    }
}

/// How many chunks GridFS writes for `length` bytes in chunks of `chunk_size` bytes.
fn chunk_count(length: u64, chunk_size: u32) -> u64 {
    if chunk_size == 0 {
        return 0;
    }
    length.div_ceil(u64::from(chunk_size))
}

/// Creates an index on `keys` unless one with the same keys exists (whatever its name or options).
pub(crate) async fn ensure_index(
    collection: &Collection<Document>,
    keys: Document,
    unique: bool,
) -> Result<(), StoreError> {
    let existing: Vec<IndexModel> = match collection.list_indexes().await {
        Ok(cursor) => cursor
            .try_collect()
            .await
            .map_err(StoreError::mongo("listing indexes"))?,
        // The collection does not exist yet (NamespaceNotFound): it has no indexes.
        Err(error) if is_namespace_not_found(&error) => Vec::new(),
        Err(error) => return Err(StoreError::mongo("listing indexes")(error)),
    };
    if existing.iter().any(|index| same_keys(&index.keys, &keys)) {
        return Ok(());
    }
    let options = IndexOptions::builder()
        .unique(unique.then_some(true))
        .build();
    collection
        .create_index(IndexModel::builder().keys(keys).options(options).build())
        .await
        .map_err(StoreError::mongo("creating an index"))?;
    Ok(())
}

fn is_namespace_not_found(error: &mongodb::error::Error) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Command(command) if command.code == 26)
}

/// Whether two index key documents name the same fields in the same order and directions (`1` == `1.0`).
fn same_keys(left: &Document, right: &Document) -> bool {
    let direction = |value: &Bson| match value {
        Bson::Int32(number) => Some(i64::from(*number)),
        Bson::Int64(number) => Some(*number),
        #[allow(clippy::cast_possible_truncation)]
        Bson::Double(number) => Some(*number as i64),
        _ => None,
    };
    left.len() == right.len()
        && left.iter().zip(right.iter()).all(|((a, x), (b, y))| {
            a == b
                && match (direction(x), direction(y)) {
                    (Some(x), Some(y)) => x == y,
                    _ => x == y,
                }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_chunks_like_gridfs() {
        assert_eq!(chunk_count(0, 261_120), 0);
        assert_eq!(chunk_count(1, 261_120), 1);
        assert_eq!(chunk_count(261_120, 261_120), 1);
        assert_eq!(chunk_count(261_121, 261_120), 2);
    }

    #[test]
    fn index_keys_compare_by_field_and_direction() {
        assert!(same_keys(
            &doc! { "files_id": 1, "n": 1 },
            &doc! { "files_id": 1.0, "n": 1_i64 }
        ));
        assert!(!same_keys(
            &doc! { "n": 1, "files_id": 1 },
            &doc! { "files_id": 1, "n": 1 }
        ));
        assert!(!same_keys(&doc! { "a": 1 }, &doc! { "a": -1 }));
    }
}
