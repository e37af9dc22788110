//! imagepipe's archive: where every job is kept for good, in MongoDB. One GridFS bucket holds each job's original
//! and outputs under deterministic ids, the `jobs` collection one document per job, `job_events` each job's
//! history. save2db writes it (idempotently, so a redelivered archive leaves one copy of everything); the gateway
//! reads it, lists it and deletes from it; the chaos test checks it. This crate is the one home of that schema:
//! no service defines a name, an id or a document shape of its own.
//!
//! A library: it depends on the contract and the MongoDB driver, on no service and no broker.
//!
//! # Layout
//! - [`config`]: [`ArchiveArgs`], the connection string, database and bucket every user flattens into its
//!   `Config` (`MONGODB_URI`, `MONGODB_DATABASE`, `MONGODB_BUCKET`).
//! - [`database`]: [`connect`], the client with short timeouts and journaled writes.
//! - [`layout`]: the collection and bucket names, and the ids of files and tombstones.
//! - [`job`]: [`JobDocument`] and [`StoredFile`], and how an `ImageArchive` maps onto them.
//! - [`store`]: [`ArchiveStore`], GridFS + `jobs` reads, idempotent writes, listing and deletion.
//! - [`history`]: [`JobHistory`] and [`EventDocument`], the jobs' events in `job_events`, and tombstones.
//! - `indexes`: the indexes the reads rely on, created when missing.
//! - [`error`]: [`StoreError`] and which errors are transient.
//! - [`testkit`] (feature `testkit`): the server to test against, scratch databases, sample archives.

pub mod config;
pub mod database;
pub mod error;
pub mod history;
mod indexes;
pub mod job;
pub mod layout;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{ArchiveArgs, DEFAULT_MONGODB_URI};
pub use database::connect;
pub use error::StoreError;
pub use history::{EventDocument, JobHistory, Recorded};
pub use job::{
    JobDocument, JobError, SpecDocument, StoredFile, VariantDocument, WatermarkDocument,
};
pub use layout::{original_id, output_id};
pub use store::{ArchiveStore, CHUNK_SIZE_BYTES, JobPosition, STALE_CHUNKS_AFTER, Saved};
