//! imagepipe's wire contract: the protobuf messages the services exchange, the names of the RabbitMQ topology
//! they meet on, and how a message is encoded into and decoded from an AMQP payload.
//!
//! A leaf crate: no async runtime, no AMQP client, no HTTP. Every service depends on it; nothing here knows
//! which service runs it.
//!
//! # Layout
//! - `proto/imagepipe/v1/messages.proto`: the messages, compiled by `build.rs` (protox + prost-build).
//! - [`v1`]: the generated Rust types.
//! - [`codec`]: the [`Message`] trait (type names, AMQP content type), encode and decode.
//! - [`failure`]: [`FailureCode`], why a job failed (`decode_failed`, `too_large`, …), with its meaning.
//! - [`topology`]: exchange, queue and routing-key names, queue arguments, header names.
//! - [`format`](mod@format): helpers on [`v1::ImageFormat`], [`v1::Fit`], [`v1::Gravity`], [`v1::Flip`],
//!   [`v1::JobStatus`] and [`v1::job_event::Kind`] (names, MIME types).
//! - [`spec`]: what a valid transform spec and variant list are (ranges, names), checked by producers and the
//!   engine alike.
//! - [`options`]: the text form of a spec and of a variant list (query strings, form fields, flags).

pub mod codec;
pub mod failure;
pub mod format;
pub mod options;
pub mod spec;
pub mod topology;

/// The generated messages of `imagepipe.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/imagepipe.v1.rs"));
}

pub use codec::{DecodeError, Message};
pub use failure::FailureCode;
pub use topology::Topology;
