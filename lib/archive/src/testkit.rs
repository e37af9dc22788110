//! What the suites that test against a real archive share (feature `testkit`, never in a release build): the
//! MongoDB-protocol server to use, a scratch database per test, and sample archives with deterministic bytes.

use imagepipe_proto::v1::{
    Fit, ImageArchive, ImageFormat, ImageInfo, JobStatus, Output, TransformSpec,
};
use mongodb::{Database, bson::Document};

use crate::{ArchiveArgs, ArchiveStore, DEFAULT_MONGODB_URI};

/// The store's chunk size: data longer than this spans several chunks.
pub const CHUNK_SIZE: usize = crate::CHUNK_SIZE_BYTES as usize;

/// The server the tests use: `MONGODB_URI`, else the local stack's.
#[must_use]
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| DEFAULT_MONGODB_URI.to_owned())
}

/// A database name no other test uses: `{prefix}_{uuid}`.
#[must_use]
pub fn unique_database(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A fresh, uniquely named database with the archive opened on it. Call [`ScratchArchive::drop`] at the end.
#[derive(Debug)]
pub struct ScratchArchive {
    /// Where it is, for a service under test.
    pub args: ArchiveArgs,
    /// The database.
    pub database: Database,
    /// The archive on it, in the default bucket.
    pub store: ArchiveStore,
}

impl ScratchArchive {
    /// Opens the archive on a new database named after `prefix`.
    ///
    /// # Panics
    /// When the server cannot be reached: the test cannot run.
    pub async fn new(prefix: &str) -> Self {
        let args = ArchiveArgs::new(mongodb_uri(), unique_database(prefix));
        let database = crate::connect(&args, "imagepipe-tests")
            .await
            .expect("a MongoDB client");
        let store = ArchiveStore::open(database.clone(), &args.mongodb_bucket)
            .await
            .expect("the test database answers");
        Self {
            args,
            database,
            store,
        }
    }

    /// A second store on the same database, through a client of its own: what another save2db replica or
    /// gateway sees. Nothing is shared with [`Self::store`] but the database.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn replica(&self) -> ArchiveStore {
        let database = crate::connect(&self.args, "imagepipe-tests-replica")
            .await
            .expect("a MongoDB client");
        ArchiveStore::open(database, &self.args.mongodb_bucket)
            .await
            .expect("the test database answers")
    }

    /// How many documents of `collection` match `filter`.
    ///
    /// # Panics
    /// When the query fails.
    pub async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.database
            .collection::<Document>(collection)
            .count_documents(filter)
            .await
            .expect("a count")
    }

    /// Drops the database.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn drop(self) {
        self.database.drop().await.expect("the database is dropped");
    }
}

/// `len` deterministic pseudo-random bytes (so chunk boundaries are not all-equal data).
#[must_use]
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn info(format: ImageFormat, width: u32, height: u32, bytes: usize) -> Option<ImageInfo> {
    Some(ImageInfo {
        format: format as i32,
        width,
        height,
        bytes: bytes as u64,
    })
}

/// A done archive with an original of `original_len` bytes and one `default` output of `output_len` bytes.
#[must_use]
pub fn done_archive(job_id: &str, original_len: usize, output_len: usize) -> ImageArchive {
    ImageArchive {
        job_id: job_id.to_owned(),
        trace_id: format!("trace-{job_id}"),
        status: JobStatus::Done as i32,
        spec: Some(TransformSpec {
            width: Some(320),
            height: Some(200),
            fit: Fit::Cover as i32,
            format: ImageFormat::Jpeg as i32,
            quality: Some(80),
            ..TransformSpec::default()
        }),
        original: bytes(original_len, 1).into(),
        original_info: info(ImageFormat::Png, 1920, 1200, original_len),
        outputs: vec![Output {
            name: "default".into(),
            data: bytes(output_len, 2).into(),
            info: info(ImageFormat::Jpeg, 320, 200, output_len),
        }],
        submitted_at_ms: 1_700_000_000_000,
        started_at_ms: 1_700_000_000_250,
        finished_at_ms: 1_700_000_000_500,
        accepted_by: "gw-test".into(),
        processed_by: "tf-test".into(),
        filename: "holiday.png".into(),
        ..Default::default()
    }
}

/// A failed archive: an original that could not be decoded, no outputs.
#[must_use]
pub fn failed_archive(job_id: &str) -> ImageArchive {
    ImageArchive {
        status: JobStatus::Failed as i32,
        outputs: vec![],
        error_code: "decode_failed".into(),
        error: "the image could not be decoded".into(),
        original_info: info(ImageFormat::Unspecified, 0, 0, 1000),
        ..done_archive(job_id, 1000, 0)
    }
}
