//! save2db, imagepipe's archivist: it consumes `ImageArchive` messages from its quorum queue and stores each
//! job's original and outputs in a MongoDB GridFS bucket plus one document in `jobs`, acknowledging only after
//! MongoDB has journaled the writes. Saving is idempotent, so a redelivered archive leaves exactly one copy of
//! everything. Beside it, it keeps the activity log: every job event from the activity queue, as the job's
//! history in `job_events`. The gateway reads stored jobs and their history through the same [`ArchiveStore`].
//!
//! # Layout
//! - [`config`]: the clap [`Config`], and the operator [`Command`]s.
//! - [`document`]: [`JobDocument`] and [`StoredFile`], the GridFS ids, the archive → document mapping.
//! - [`store`]: [`ArchiveStore`], GridFS + `jobs` reads and idempotent writes.
//! - [`history`]: [`JobHistory`] and [`EventDocument`], the jobs' events in `job_events`.
//! - [`worker`]: [`ArchiveWorker`], the consumer [`Handler`](imagepipe_common::amqp::Handler), and its
//!   [`Outcome`].
//! - [`activity`]: [`ActivityWorker`], the activity queue's consumer, keeping each event in the history.
//! - [`startup`]: [`Application`], build and run.
//! - [`dead_letters`]: list and replay the dead-letter queue ([`DeadLetter`], [`ReplayReport`]).
//! - [`admin`]: the `dead-letters list|replay` subcommands, printing what [`dead_letters`] did.
//! - [`error`]: [`StoreError`] and which errors are transient.
//! - [`metrics`]: save2db's Prometheus series (jobs stored, store duration, bytes, failures, in flight).

pub mod activity;
pub mod admin;
pub mod config;
pub mod dead_letters;
pub mod document;
pub mod error;
pub mod history;
pub mod metrics;
pub mod startup;
pub mod store;
pub mod worker;

pub use activity::{ActivityOutcome, ActivityWorker};
pub use config::{Command, Config, DeadLetterCommand};
pub use dead_letters::{DeadLetter, DeathReason, ReplayReport, Selection};
pub use document::{
    JobDocument, JobError, SpecDocument, StoredFile, VariantDocument, WatermarkDocument,
    original_id, output_id,
};
pub use error::StoreError;
pub use history::{EventDocument, JobHistory, Recorded};
pub use startup::Application;
pub use store::ArchiveStore;
pub use worker::{ArchiveWorker, Outcome};
