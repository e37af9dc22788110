//! The image engine: a pure library from bytes + a [`TransformSpec`](imagepipe_proto::v1::TransformSpec) to
//! an encoded [`Output`](imagepipe_proto::v1::Output). No async runtime, no broker: the worker calls
//! [`transform`] on a blocking thread, and tests call it directly.
//!
//! Pipeline: `request` checks each output's spec → `transform` has the original decoded once → `decode` sniffs
//! the format from the bytes, decodes under [`Limits`] (first frame of an animation), applies the EXIF
//! orientation and converts to 8 bits per channel → for each output (`render`): `geometry` plans the result
//! size on the rotated source (and the crop's anchor) → `ops` rotates and flips, and `resize` resamples
//! (fast_image_resize, Lanczos3), the turn done on the smaller of source and result → `ops` converts to grey,
//! blurs, sharpens → the watermark is drawn → `encode` writes JPEG (baseline or progressive, alpha flattened
//! onto the background), PNG or WebP (lossy or lossless). Outputs carry no metadata (no EXIF, no ICC).
//!
//! JPEGs are decoded by libjpeg-turbo at a reduced IDCT scale when the result is much smaller than the
//! source (shrink-on-load, `jpeg`), and written by libjpeg-turbo; WebP is written by libwebp (`webp`).
//! Both are C libraries built from bundled sources (libjpeg-turbo needs cmake and nasm to build).

mod decode;
mod encode;
mod geometry;
mod jpeg;
mod limits;
mod ops;
mod render;
mod request;
mod resize;
#[cfg(test)]
mod samples;
mod transform;
mod watermark;
mod webp;

pub use decode::sniff;
pub use limits::{
    DEFAULT_MAX_DIMENSION, DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS, Limits, MAX_SIDE,
    WEBP_MAX_SIDE,
};
pub use request::{DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY};
pub use transform::{DEFAULT_OUTPUT, transform, transform_variants};
