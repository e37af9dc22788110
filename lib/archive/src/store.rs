//! The archive store: originals and outputs in a GridFS bucket, one document per job in `jobs`. save2db
//! writes through it; the gateway reads (and deletes) through it.
//!
//! Saving is idempotent and crash-safe, across any number of save2db replicas: nothing in it relies on a lock
//! inside one process; the database's unique indexes and conditional writes decide every race. Each file has a
//! deterministic id, and its `files` document is written only after all its chunks, so a `files` document whose
//! length and chunk count add up means the file is complete: it is the file's commit, and the first commit wins.
//! The job document is upserted last, so it never points at a file that is not there. Every write uses the
//! client's write concern (`w: majority, j: true` unless the URI says otherwise).
//!
//! A job is stored in few round trips. The first try writes every chunk of every file in one `insert_many`,
//! then every `files` document in another (GridFS's layout, written in batches rather than a stream per file).
//! The unique index on the chunks' `{files_id, n}` makes that try safe: when any part of the job is there
//! already (a redelivery, a second replica storing the same job right now, or the chunks of an interrupted
//! save), it fails with a duplicate key, and the save falls back to the careful path, file by file
//! ([`ArchiveStore::store_file`]):
//! - a complete file is kept as it is (the first commit wins; the job document then describes that file);
//! - chunks already there with the same bytes are kept, so two replicas writing the same file help each other
//!   rather than delete each other's work, and only the missing chunks are inserted (unordered: a chunk another
//!   replica inserted meanwhile is a duplicate key, not an error);
//! - chunks with other bytes (another version of the file, from a second transform of the job) belong to a
//!   writer that may still be running: the save waits for that writer's commit, and only takes them away once
//!   the newest of them is older than [`STALE_CHUNKS_AFTER`], when their writer has died for certain (a chunk's
//!   `_id` is an ObjectId, which carries its creation time).
//!
//! A deleted job stays deleted. Deleting writes the job's tombstone (in `job_events`, see [`JobHistory`])
//! before it removes anything; saving looks for the tombstone before it writes and again after, and removes
//! what it wrote if the tombstone came meanwhile. Whichever order a deletion and a save (in this process or in
//! another replica) run in, nothing of the job is left but its tombstone: either the save's second look sees
//! the tombstone, or the deletion's removal starts after the save's last write.

use std::time::{Duration, SystemTime};

use futures_util::{TryStreamExt, io::AsyncReadExt};
use imagepipe_proto::v1::{ImageArchive, JobEvent, job_event};
use mongodb::{
    Collection, Database,
    bson::{self, Bson, Document, RawBinaryRef, doc, oid::ObjectId, spec::BinarySubtype},
    error::{ErrorKind, GridFsErrorKind},
    gridfs::GridFsBucket,
    options::GridFsBucketOptions,
};
use serde::Serialize;
use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};

use crate::{
    StoreError,
    error::DUPLICATE_KEY,
    history::{EventDocument, JobHistory},
    indexes::ensure_index,
    job::{JobDocument, PlannedFile, plan},
    layout::{JOBS_COLLECTION, chunks_collection, files_collection, original_id},
};

/// How old the newest of a file's chunks with other bytes (and no `files` document) must be before a save takes
/// them for the leftovers of a dead writer and removes them. A live writer inserts a file's chunks in one batch
/// and commits it right after, in well under a second; the margin also covers clock skew between replicas.
pub const STALE_CHUNKS_AFTER: Duration = Duration::from_secs(30);

/// How long a save waits at most for another writer of the same file to commit, or for its chunks to become
/// stale, before it gives up with [`StoreError::Contended`] (transient: the delivery is tried again later).
const CONTENDED_WAIT: Duration = Duration::from_secs(45);

/// How often a save looks again at a file another writer holds.
const CONTENDED_POLL: Duration = Duration::from_millis(250);

/// The size of the GridFS chunks the store writes: GridFS's default, 255 KiB. A file's chunk size is kept in its
/// `files` document, so readers follow whatever a file was written with.
pub const CHUNK_SIZE_BYTES: u32 = 255 * 1024;

/// One GridFS chunk as written by the first try of a save (the layout of the GridFS spec, as the driver's own
/// upload stream writes it), borrowing its bytes from the archive.
#[derive(Serialize)]
struct ChunkDocument<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    files_id: &'a str,
    n: i32,
    data: RawBinaryRef<'a>,
}

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

/// What [`ArchiveStore::save`] did with an archive.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    /// The job is stored: its files, then this document.
    Stored(Box<JobDocument>),
    /// The job was deleted before (it has a tombstone): nothing of it was kept.
    Deleted,
}

/// Handle on the GridFS bucket and the `jobs` collection. Cheap to clone.
#[derive(Clone)]
pub struct ArchiveStore {
    database: Database,
    history: JobHistory,
    jobs: Collection<JobDocument>,
    bucket: GridFsBucket,
    files: Collection<Document>,
    chunks: Collection<Document>,
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
        let files = database.collection::<Document>(&files_collection(bucket));
        let chunks = database.collection::<Document>(&chunks_collection(bucket));
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
                .chunk_size_bytes(CHUNK_SIZE_BYTES)
                .build(),
        );
        Ok(Self {
            jobs: database.collection(JOBS_COLLECTION),
            history: JobHistory::new(&database),
            database,
            bucket,
            files,
            chunks,
        })
    }

    /// Stores `archive`'s original and outputs, then its job document, and returns the document; or, for a job
    /// that was deleted (it has a tombstone), stores nothing and says so. Saving the same archive again leaves
    /// exactly one copy of each file and one document, and removes the orphan chunks an interrupted save left
    /// behind.
    ///
    /// # Errors
    /// [`StoreError::InvalidArchive`] (permanent) when the archive cannot be stored as it is; otherwise the
    /// MongoDB error, see [`StoreError::is_transient`].
    #[instrument(skip_all, fields(job_id = %archive.job_id))]
    pub async fn save(&self, archive: &ImageArchive) -> Result<Saved, StoreError> {
        let (mut document, files) = plan(archive, bson::DateTime::now())?;
        if self.history.is_deleted(&document.id).await? {
            info!("The job was deleted; not storing it again.");
            return Ok(Saved::Deleted);
        }
        if !self.store_new_files(&files).await? {
            debug!("Part of the job is stored already; storing it file by file.");
            for file in &files {
                let length = self.store_file(file).await?;
                if length != file.data.len() as u64 {
                    adopt_stored_length(&mut document, &file.gridfs_id, length);
                }
            }
        }
        document.stored_at = bson::DateTime::now();
        self.jobs
            .replace_one(doc! { "_id": &document.id }, &document)
            .upsert(true)
            .await
            .map_err(StoreError::mongo("writing the job document"))?;
        // A deletion that came while the files were written found some of them, or none: take back the rest.
        if self.history.is_deleted(&document.id).await? {
            self.remove_job(&document.id).await?;
            info!("The job was deleted while it was stored; removed what was written.");
            return Ok(Saved::Deleted);
        }
        info!(
            status = %document.status,
            files = files.len(),
            "Stored the job document."
        );
        Ok(Saved::Stored(Box::new(document)))
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
        self.history.events(job_id).await
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

    /// Deletes job `deletion.job_id` for good: first its tombstone (so that no late archive or event brings
    /// it back), its history with it, then its files (with their chunks) and its job document. Returns whether
    /// there was any file or document.
    ///
    /// # Errors
    /// [`StoreError::InvalidEvent`] when `deletion` is not a `deleted` event naming a job; [`StoreError::Mongo`]
    /// when a query or deletion fails (deleting again finishes the job).
    pub async fn delete_job(&self, deletion: &JobEvent) -> Result<bool, StoreError> {
        if deletion.kind() != job_event::Kind::Deleted {
            return Err(StoreError::InvalidEvent(format!(
                "a deletion needs a `deleted` event, not `{}`",
                deletion.kind().name()
            )));
        }
        self.history.record(deletion).await?;
        let job_id = deletion.job_id.as_str();
        let found = self.remove_job(job_id).await?;
        info!(%job_id, found, "Deleted the job's files and document.");
        Ok(found)
    }

    /// Removes job `job_id`'s files (with their chunks) and its job document; whether there was any.
    async fn remove_job(&self, job_id: &str) -> Result<bool, StoreError> {
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
        Ok(found || job.deleted_count > 0)
    }

    /// Whether the database answers now.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when it does not (within the client's server-selection timeout).
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::database::ping(&self.database).await
    }

    /// Whether the database takes writes now (see [`crate::database::writable`]).
    ///
    /// # Errors
    /// [`StoreError::NotWritable`] when it has no writable primary, [`StoreError::Mongo`] when it does not
    /// answer.
    pub async fn writable(&self) -> Result<(), StoreError> {
        crate::database::writable(&self.database).await
    }

    /// The first try at storing `files`: every chunk in one `insert_many`, then every `files` document in
    /// another. `false` when part of them is there already (a duplicate key), so that the caller goes the
    /// careful way; what this try wrote is then cleared or completed by [`Self::store_file`].
    async fn store_new_files(&self, files: &[PlannedFile<'_>]) -> Result<bool, StoreError> {
        if files.is_empty() {
            return Ok(true);
        }
        let chunk_size = CHUNK_SIZE_BYTES as usize;
        let chunks = files.iter().flat_map(|file| {
            file.data
                .chunks(chunk_size)
                .enumerate()
                .map(|(n, bytes)| chunk_document(&file.gridfs_id, n, bytes))
        });
        let chunks: Vec<ChunkDocument<'_>> = chunks.collect();
        if !chunks.is_empty() {
            let written = self
                .chunks
                .clone_with_type::<ChunkDocument<'_>>()
                .insert_many(&chunks)
                .await;
            if is_duplicate_key(written).map_err(StoreError::mongo("writing GridFS chunks"))? {
                return Ok(false);
            }
        }
        let upload_date = bson::DateTime::now();
        let documents = files.iter().map(|file| files_document(file, upload_date));
        let written = self.files.insert_many(documents).await;
        Ok(!is_duplicate_key(written).map_err(StoreError::mongo("writing GridFS files"))?)
    }

    /// Stores one file unless a complete copy is already there, and returns the length of the file stored
    /// under its id: its own, or that of the copy another writer committed first. Safe against any number of
    /// concurrent writers of the same file (see the module's docs): it waits up to [`CONTENDED_WAIT`] for a
    /// writer of other bytes to commit or to be found dead.
    ///
    /// # Errors
    /// [`StoreError::Contended`] when another writer holds the file for longer than that; a MongoDB error.
    #[instrument(skip_all, fields(gridfs_id = %file.gridfs_id, bytes = file.data.len()))]
    async fn store_file(&self, file: &PlannedFile<'_>) -> Result<u64, StoreError> {
        let deadline = Instant::now() + CONTENDED_WAIT;
        loop {
            match self.try_store_file(file).await? {
                Attempt::Stored(length) => return Ok(length),
                // A concurrent writer inserted a chunk or committed meanwhile: look again at once.
                Attempt::Raced => {}
                Attempt::Held => {
                    if Instant::now() >= deadline {
                        return Err(StoreError::Contended(file.gridfs_id.clone()));
                    }
                    tokio::time::sleep(CONTENDED_POLL).await;
                }
            }
        }
    }

    /// One pass of [`Self::store_file`].
    async fn try_store_file(&self, file: &PlannedFile<'_>) -> Result<Attempt, StoreError> {
        let id = Bson::String(file.gridfs_id.clone());
        if let Some(existing) = self
            .bucket
            .find_one(doc! { "_id": &id })
            .await
            .map_err(StoreError::mongo("looking up a GridFS file"))?
        {
            let length = existing.length;
            let chunks = self
                .chunks
                .count_documents(doc! { "files_id": &id })
                .await
                .map_err(StoreError::mongo("counting GridFS chunks"))?;
            if chunks == chunk_count(length, existing.chunk_size_bytes) {
                if length == file.data.len() as u64 {
                    debug!("Already stored; skipping.");
                } else {
                    warn!(
                        stored = length,
                        "Another version of this file was stored first; keeping it."
                    );
                }
                return Ok(Attempt::Stored(length));
            }
            // A commit whose chunks are gone (a deletion in progress, or damage): take the commit back, on
            // the condition that it is still the one looked at, and write the file again.
            warn!(length, chunks, "Replacing a stored file that lost chunks.");
            self.files
                .delete_one(doc! { "_id": &id, "uploadDate": existing.upload_date })
                .await
                .map_err(StoreError::mongo("deleting an incomplete GridFS file"))?;
        }

        // The chunks already there: those with the bytes this file has at their place are kept.
        let chunk_size = CHUNK_SIZE_BYTES as usize;
        let ours: Vec<&[u8]> = file.data.chunks(chunk_size).collect();
        let mut present = vec![false; ours.len()];
        let mut foreign = Vec::new();
        let mut newest_foreign: Option<SystemTime> = None;
        let mut stored = self
            .chunks
            .find(doc! { "files_id": &id })
            .projection(doc! { "_id": 1, "n": 1, "data": 1 })
            .await
            .map_err(StoreError::mongo("reading a file's chunks"))?;
        while let Some(chunk) = stored
            .try_next()
            .await
            .map_err(StoreError::mongo("reading a file's chunks"))?
        {
            let n = chunk
                .get_i32("n")
                .ok()
                .and_then(|n| usize::try_from(n).ok());
            let bytes = chunk.get_binary_generic("data").ok();
            match (n, bytes) {
                (Some(n), Some(bytes)) if n < ours.len() && ours[n] == bytes.as_slice() => {
                    present[n] = true;
                }
                _ => {
                    let written = chunk_written_at(&chunk);
                    newest_foreign = newest_foreign.max(Some(written));
                    foreign.push(chunk.get("_id").cloned().unwrap_or(Bson::Null));
                }
            }
        }
        if let Some(newest) = newest_foreign {
            let age = SystemTime::now().duration_since(newest).unwrap_or_default();
            if age < STALE_CHUNKS_AFTER {
                debug!(
                    chunks = foreign.len(),
                    age_ms = age.as_millis(),
                    "Another writer is storing other bytes under this id; waiting for it."
                );
                return Ok(Attempt::Held);
            }
            let removed = self
                .chunks
                .delete_many(doc! { "files_id": &id, "_id": { "$in": foreign } })
                .await
                .map_err(StoreError::mongo("deleting orphan GridFS chunks"))?
                .deleted_count;
            info!(
                removed,
                age_s = age.as_secs(),
                "Removed the chunks of a dead writer."
            );
        }

        let missing: Vec<ChunkDocument<'_>> = ours
            .iter()
            .enumerate()
            .filter(|(n, _)| !present[*n])
            .map(|(n, bytes)| chunk_document(&file.gridfs_id, n, bytes))
            .collect();
        if !missing.is_empty() {
            let written = self
                .chunks
                .clone_with_type::<ChunkDocument<'_>>()
                .insert_many(&missing)
                .ordered(false)
                .await;
            if is_duplicate_key(written).map_err(StoreError::mongo("writing GridFS chunks"))? {
                return Ok(Attempt::Raced);
            }
        }
        let written = self
            .files
            .insert_one(files_document(file, bson::DateTime::now()))
            .await;
        if is_duplicate_key(written).map_err(StoreError::mongo("writing a GridFS file"))? {
            return Ok(Attempt::Raced);
        }
        debug!(
            reused = present.iter().filter(|present| **present).count(),
            "Stored in GridFS."
        );
        Ok(Attempt::Stored(file.data.len() as u64))
    }
}

/// What one pass at storing a file came to.
enum Attempt {
    /// The file is complete under its id, with this length.
    Stored(u64),
    /// Another writer wrote part of the file during the pass: look again.
    Raced,
    /// Another writer's chunks of other bytes are there and may still be committed: wait.
    Held,
}

/// A chunk of `files_id` at position `n`, with a fresh ObjectId (whose time says when it was written).
fn chunk_document<'a>(files_id: &'a str, n: usize, bytes: &'a [u8]) -> ChunkDocument<'a> {
    ChunkDocument {
        id: ObjectId::new(),
        files_id,
        n: i32::try_from(n).unwrap_or(i32::MAX),
        data: RawBinaryRef {
            subtype: BinarySubtype::Generic,
            bytes,
        },
    }
}

/// The `files` document of `file`: its commit.
fn files_document(file: &PlannedFile<'_>, upload_date: bson::DateTime) -> Document {
    doc! {
        "_id": &file.gridfs_id,
        "length": i64::try_from(file.data.len()).unwrap_or(i64::MAX),
        "chunkSize": i32::try_from(CHUNK_SIZE_BYTES).unwrap_or(i32::MAX),
        "uploadDate": upload_date,
        "filename": &file.filename,
        "metadata": file.metadata.clone(),
    }
}

/// When a chunk was written: its ObjectId's time. A chunk whose `_id` is not an ObjectId (written by another
/// tool) counts as written long ago.
fn chunk_written_at(chunk: &Document) -> SystemTime {
    match chunk.get_object_id("_id") {
        Ok(id) => id.timestamp().to_system_time(),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

/// Makes `document` describe the stored copy of file `gridfs_id`, `length` bytes long, which another writer
/// committed first (another version of an output, from a second transform of the same job).
fn adopt_stored_length(document: &mut JobDocument, gridfs_id: &str, length: u64) {
    for stored in document.original.iter_mut().chain(&mut document.outputs) {
        if stored.gridfs_id == gridfs_id {
            stored.bytes = length;
        }
    }
}

/// Whether a write failed only on a unique index (`Ok(true)`), succeeded (`Ok(false)`), or failed otherwise.
fn is_duplicate_key<T>(written: mongodb::error::Result<T>) -> mongodb::error::Result<bool> {
    let Err(error) = written else {
        return Ok(false);
    };
    let duplicate = match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure
                    .write_errors
                    .as_ref()
                    .is_some_and(|errors| errors.iter().all(|e| e.code == DUPLICATE_KEY))
        }
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(failure)) => {
            failure.code == DUPLICATE_KEY
        }
        _ => false,
    };
    if duplicate { Ok(true) } else { Err(error) }
}

/// How many chunks GridFS writes for `length` bytes in chunks of `chunk_size` bytes.
fn chunk_count(length: u64, chunk_size: u32) -> u64 {
    if chunk_size == 0 {
        return 0;
    }
    length.div_ceil(u64::from(chunk_size))
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
}
