//! What the archive's tests share beyond the testkit: the bucket's collection names, deletion events, and
//! unwrapping what `save` did.

use imagepipe_archive::{JobDocument, Saved, layout};
use imagepipe_proto::v1::{JobEvent, job_event};

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

/// The document a save stored (panics if it stored nothing).
pub fn stored(saved: Saved) -> JobDocument {
    match saved {
        Saved::Stored(document) => *document,
        Saved::Deleted => panic!("the job was not stored: it was deleted"),
    }
}
