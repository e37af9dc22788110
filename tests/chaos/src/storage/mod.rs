//! What MongoDB holds, read directly (not through the gateway), and the exactly-once checks on it. A job is
//! stored exactly once when it has one document in `jobs`, one GridFS file per name in that document (its
//! original and each output, `metadata.job_id` naming the job), and each file has exactly
//! `ceil(length / chunkSize)` chunks numbered from 0. Chunks whose `files_id` has no `files` document are
//! orphans: what an interrupted upload leaves until save2db stores that file again.

mod findings;
mod snapshot;

pub use findings::{Findings, analyse, orphan_chunks};
pub use snapshot::{
    ChunkRow, FileRow, JobRow, Snapshot, WriteProgress, orphan_chunks_now, stored_count,
    write_progress,
};
