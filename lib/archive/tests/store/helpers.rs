//! What the archive's tests share beyond the testkit: the bucket's collection names, deletion events, and
//! unwrapping what `save` did.

use imagepipe_archive::{JobDocument, Saved, layout};
use imagepipe_proto::v1::{JobEvent, job_event};
use mongodb::bson::{Binary, Document, doc, oid::ObjectId, spec::BinarySubtype};

pub use imagepipe_archive::testkit::ScratchArchive as TestDb;

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The default bucket's `files` collection.
pub fn files() -> String {
    layout::files_collection(layout::DEFAULT_BUCKET)
}

/// The default bucket's `chunks` collection.
pub fn chunks() -> String {
    layout::chunks_collection(layout::DEFAULT_BUCKET)
}

/// The `deleted` event a gateway announces, and deletes with, for `job_id`.
pub fn deletion(job_id: &str) -> JobEvent {
    JobEvent {
        job_id: job_id.to_owned(),
        trace_id: format!("trace-{job_id}"),
        kind: job_event::Kind::Deleted as i32,
        at_ms: 1_700_000_009_000,
        by: "gw-test".into(),
        ..JobEvent::default()
    }
}

/// The bytes of the stored GridFS file `gridfs_id` (panics if it is not stored or cannot be read).
pub async fn stored_bytes(db: &TestDb, gridfs_id: &str) -> Vec<u8> {
    db.store
        .read_file(gridfs_id)
        .await
        .expect("the file can be read")
        .unwrap_or_else(|| panic!("{gridfs_id} is not stored"))
}

/// The document a save stored (panics if it stored nothing).
pub fn stored(saved: Saved) -> JobDocument {
    match saved {
        Saved::Stored(document) => *document,
        Saved::Deleted => panic!("the job was not stored: it was deleted"),
    }
}

/// An ObjectId made `age` ago: the `_id` a chunk written then would have.
pub fn object_id_aged(age: std::time::Duration) -> ObjectId {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let seconds = u32::try_from(now.saturating_sub(age).as_secs()).unwrap();
    let mut bytes = ObjectId::new().bytes();
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

/// A GridFS chunk of `files_id` at `n` holding `data`, with `_id` `id`.
pub fn chunk(id: ObjectId, files_id: &str, n: i32, data: &[u8]) -> Document {
    doc! {
        "_id": id,
        "files_id": files_id,
        "n": n,
        "data": Binary { subtype: BinarySubtype::Generic, bytes: data.to_vec() },
    }
}
