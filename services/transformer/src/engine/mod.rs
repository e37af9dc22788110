//! The image engine: a pure library from bytes + a [`TransformSpec`](imagepipe_proto::v1::TransformSpec) to
//! an encoded [`Output`](imagepipe_proto::v1::Output). No async runtime, no broker: the worker calls
//! [`transform`] on a blocking thread, and tests call it directly.
//!
//! Pipeline: `request` checks the spec → `decode` sniffs the format from the bytes, decodes under
//! [`Limits`] (first frame of an animation), applies the EXIF orientation and converts to 8 bits per channel
//! → `geometry` plans the result size → `resize` resamples (fast_image_resize, Lanczos3) → `encode`
//! writes JPEG, PNG or (lossless) WebP.

mod decode;
mod encode;
mod geometry;
mod limits;
mod request;
mod resize;
#[cfg(test)]
mod samples;
mod transform;

pub use decode::sniff;
pub use limits::{DEFAULT_MAX_PIXELS, Limits, MAX_SIDE, WEBP_MAX_SIDE};
pub use request::DEFAULT_JPEG_QUALITY;
pub use transform::{DEFAULT_OUTPUT, transform};
