//! save2db, imagepipe's archivist: it consumes `ImageArchive` messages from its quorum queue and stores each
//! job in the archive (the original and outputs in a MongoDB GridFS bucket plus one document in `jobs`, through
//! [`imagepipe_archive::ArchiveStore`]), acknowledging only after MongoDB has journaled the writes. Saving is
//! idempotent, so a redelivered archive leaves exactly one copy of everything, and an archive of a deleted job
//! stores nothing. Beside it, it keeps the activity log: every job event from the activity queue, as the job's
//! history in `job_events`. The storage schema is the archive library's; this crate is the consumers around
//! it and the dead-letter tool.
//!
//! # Layout
//! - [`config`]: the clap [`Config`], and the operator [`Command`]s.
//! - [`worker`]: [`ArchiveWorker`], the consumer [`Handler`](imagepipe_common::amqp::Handler), and its
//!   [`Outcome`].
//! - [`activity`]: [`ActivityWorker`], the activity queue's consumer, keeping each event in the history.
//! - [`group_commit`]: [`GroupCommit`](group_commit::GroupCommit), which writes the events handled at the same
//!   time together.
//! - [`startup`]: [`Application`], build and run.
//! - [`dead_letters`]: list and replay the dead-letter queue ([`DeadLetter`], [`ReplayReport`]).
//! - [`admin`]: the `dead-letters list|replay` subcommands, printing what [`dead_letters`] did.
//! - [`metrics`]: save2db's Prometheus series (jobs stored, store duration, bytes, failures, in flight).

pub mod activity;
pub mod admin;
pub mod config;
pub mod dead_letters;
pub mod group_commit;
pub mod metrics;
pub mod startup;
pub mod worker;

pub use activity::{ActivityOutcome, ActivityWorker};
pub use config::{Command, Config, DeadLetterCommand};
pub use dead_letters::{DeadLetter, DeathReason, ReplayReport, Selection};
pub use startup::Application;
pub use worker::{ArchiveWorker, Outcome};
