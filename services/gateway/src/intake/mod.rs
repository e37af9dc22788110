//! Accepting a job (`POST /image`), all of it here: the handler, the request body read under the size limit in
//! whichever shape it comes (raw, multipart, JSON), the job's options validated into the contract's spec and
//! variants, the image's format and size read from its header, the job published with publisher confirms,
//! and the OpenAPI description of the options and bodies.

pub mod admission;
pub mod body;
pub mod docs;
pub mod handler;
pub mod options;
pub mod probe;
pub mod publish;

pub use publish::{Accepted, Submitter};
