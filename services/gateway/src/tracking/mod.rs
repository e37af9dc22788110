//! What this replica knows of jobs: the bounded job table, the backlog of jobs waiting for a transformer and the byte-bounded cache of originals and results
//! (fed by its own submissions and its reply queue), the reply-queue consumer, each job's timeline, and the
//! lookup that asks memory first and the archive second.

pub mod backlog;
pub mod jobs;
pub mod lookup;
pub mod replies;
pub mod timeline;

pub use jobs::{Blob, BlobKind, JobState, JobStore};
pub use lookup::Lookup;
