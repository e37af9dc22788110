//! Reading the run's database: the `jobs` documents and the GridFS `files` and `chunks` (without the chunks'
//! data), a file's write progress, and how many jobs are stored.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use mongodb::{
    Database,
    bson::{Bson, Document, doc},
};

use imagepipe_archive::layout::{JOBS_COLLECTION, chunks_collection, files_collection};

use super::orphan_chunks;
use crate::Error;

/// A job document, as far as the checks need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRow {
    /// `_id`: the job id.
    pub id: String,
    /// `done` or `failed`.
    pub status: String,
    /// The GridFS id of the original, with its recorded length.
    pub original: Option<(String, u64)>,
    /// `(name, GridFS id)` of every output.
    pub outputs: Vec<(String, String)>,
}

/// A `files` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRow {
    /// `_id`.
    pub id: String,
    /// `metadata.job_id`.
    pub job_id: Option<String>,
    /// `length` in bytes.
    pub length: u64,
    /// `chunkSize` in bytes.
    pub chunk_size: u64,
}

/// A `chunks` document, without its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRow {
    /// `files_id`.
    pub files_id: String,
    /// `n`, the chunk's index in its file.
    pub n: i64,
}

/// Everything stored, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The `jobs` documents.
    pub jobs: Vec<JobRow>,
    /// The GridFS `files` documents.
    pub files: Vec<FileRow>,
    /// The GridFS `chunks` documents.
    pub chunks: Vec<ChunkRow>,
}

impl Snapshot {
    /// Reads the `jobs` collection and the bucket's `files` and `chunks` (without the chunks' data).
    ///
    /// # Errors
    /// [`Error::Mongo`] when a query fails.
    pub async fn read(database: &Database, bucket: &str) -> Result<Self, Error> {
        let jobs = all(
            database,
            JOBS_COLLECTION,
            doc! { "status": 1, "original": 1, "outputs": 1 },
        )
        .await?;
        let files = all(
            database,
            &files_collection(bucket),
            doc! { "length": 1, "chunkSize": 1, "metadata.job_id": 1 },
        )
        .await?;
        Ok(Self {
            jobs: jobs.iter().map(job_row).collect(),
            files: files.iter().map(file_row).collect(),
            chunks: read_chunks(database, bucket).await?,
        })
    }
}

/// How many chunks have no `files` document right now.
///
/// # Errors
/// [`Error::Mongo`] when a query fails.
pub async fn orphan_chunks_now(database: &Database, bucket: &str) -> Result<u64, Error> {
    let files = all(database, &files_collection(bucket), doc! { "_id": 1 }).await?;
    let ids: HashSet<String> = files.iter().map(|file| id_text(file.get("_id"))).collect();
    let chunks = read_chunks(database, bucket).await?;
    Ok(orphan_chunks(&chunks, &ids))
}

/// Where the GridFS write of one file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteProgress {
    /// No chunk and no `files` document yet.
    NotStarted,
    /// Chunks without the `files` document: a write in progress, or an interrupted one.
    Writing,
    /// The `files` document is there (GridFS writes it after the last chunk).
    Complete,
}

/// Where the GridFS write of `gridfs_id` stands.
///
/// # Errors
/// [`Error::Mongo`] when a query fails.
pub async fn write_progress(
    database: &Database,
    bucket: &str,
    gridfs_id: &str,
) -> Result<WriteProgress, Error> {
    let files = database
        .collection::<Document>(&files_collection(bucket))
        .count_documents(doc! { "_id": gridfs_id })
        .await
        .map_err(Error::mongo("looking up a file"))?;
    if files > 0 {
        return Ok(WriteProgress::Complete);
    }
    let chunks = database
        .collection::<Document>(&chunks_collection(bucket))
        .count_documents(doc! { "files_id": gridfs_id })
        .await
        .map_err(Error::mongo("counting a file's chunks"))?;
    Ok(if chunks > 0 {
        WriteProgress::Writing
    } else {
        WriteProgress::NotStarted
    })
}

/// How many of `ids` have a job document.
///
/// # Errors
/// [`Error::Mongo`] when the query fails.
pub async fn stored_count(database: &Database, ids: &[String]) -> Result<u64, Error> {
    database
        .collection::<Document>(JOBS_COLLECTION)
        .count_documents(doc! { "_id": { "$in": ids } })
        .await
        .map_err(Error::mongo("counting job documents"))
}

async fn all(
    database: &Database,
    collection: &str,
    projection: Document,
) -> Result<Vec<Document>, Error> {
    database
        .collection::<Document>(collection)
        .find(doc! {})
        .projection(projection)
        .await
        .map_err(Error::mongo("reading a collection"))?
        .try_collect()
        .await
        .map_err(Error::mongo("reading a collection"))
}

async fn read_chunks(database: &Database, bucket: &str) -> Result<Vec<ChunkRow>, Error> {
    let chunks = all(
        database,
        &chunks_collection(bucket),
        doc! { "files_id": 1, "n": 1 },
    )
    .await?;
    Ok(chunks
        .iter()
        .map(|chunk| ChunkRow {
            files_id: id_text(chunk.get("files_id")),
            n: number(chunk.get("n")).map_or(-1, |n| i64::try_from(n).unwrap_or(-1)),
        })
        .collect())
}

fn job_row(document: &Document) -> JobRow {
    let original = document.get_document("original").ok().map(|original| {
        (
            original.get_str("gridfs_id").unwrap_or_default().to_owned(),
            number(original.get("bytes")).unwrap_or_default(),
        )
    });
    let outputs = document
        .get_array("outputs")
        .map(|outputs| {
            outputs
                .iter()
                .filter_map(Bson::as_document)
                .map(|output| {
                    (
                        output.get_str("name").unwrap_or_default().to_owned(),
                        output.get_str("gridfs_id").unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    JobRow {
        id: id_text(document.get("_id")),
        status: document.get_str("status").unwrap_or_default().to_owned(),
        original,
        outputs,
    }
}

fn file_row(document: &Document) -> FileRow {
    FileRow {
        id: id_text(document.get("_id")),
        job_id: document
            .get_document("metadata")
            .ok()
            .and_then(|metadata| metadata.get_str("job_id").ok())
            .map(str::to_owned),
        length: number(document.get("length")).unwrap_or_default(),
        chunk_size: number(document.get("chunkSize")).unwrap_or_default(),
    }
}

/// A string id as it is, any other id in its extended-JSON form.
fn id_text(value: Option<&Bson>) -> String {
    match value {
        Some(Bson::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A non-negative integer stored as any BSON number.
fn number(value: Option<&Bson>) -> Option<u64> {
    match value? {
        Bson::Int32(number) => u64::try_from(*number).ok(),
        Bson::Int64(number) => u64::try_from(*number).ok(),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Bson::Double(number) if *number >= 0.0 => Some(*number as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_read_from_bson() {
        let document = doc! {
            "_id": "j",
            "status": "done",
            "original": { "gridfs_id": "j/original", "bytes": 12_i64 },
            "outputs": [{ "name": "thumb", "gridfs_id": "j/output/thumb" }],
        };
        assert_eq!(
            job_row(&document),
            JobRow {
                id: "j".into(),
                status: "done".into(),
                original: Some(("j/original".into(), 12)),
                outputs: vec![("thumb".into(), "j/output/thumb".into())],
            }
        );
        let file = doc! { "_id": "j/original", "length": 12_i64, "chunkSize": 261_120, "metadata": { "job_id": "j" } };
        assert_eq!(
            file_row(&file),
            FileRow {
                id: "j/original".into(),
                job_id: Some("j".into()),
                length: 12,
                chunk_size: 261_120,
            }
        );
        assert_eq!(id_text(Some(&Bson::Int32(3))), "3");
    }
}
