//! The whole imagepipe system in one process, for tests: [`Stack`] starts save2db, transformers and gateways on
//! port 0 against the real RabbitMQ and MongoDB-protocol server, in a private namespace and database, exactly
//! as their binaries would (each from its `Config`, parsed from flags). The suites under `tests/` drive it
//! through HTTP only, as a user would; the command-line client's suite runs its binary against it.
//!
//! The services' own suites test each service alone, through the contract; this crate is where they meet.
//!
//! # Layout
//! - [`stack`]: [`Stack`], and [`stored`]: waiting for save2db to store a job.
//! - [`tools`]: [`skip_without`], for tests that drive a browser or a fuzzer.
//! - `docs` (a test): the tables in `docs/` that the code prints are what it prints now.
//! - The gateway's testkit, re-exported: the [`Gateway`] handle, request helpers ([`get`], [`get_final`],
//!   [`post_image`], [`error_of`]) and test pictures ([`picture`], [`decoded`]).

#[cfg(test)]
mod docs;
pub mod stack;
pub mod tools;

pub use imagepipe_gateway::testkit::{
    Gateway, decoded, error_of, get, get_final, picture, post_image,
};
pub use stack::{Stack, stored};
pub use tools::skip_without;
