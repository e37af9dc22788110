//! imagepipe's image engine: a pure library from an encoded image and a
//! [`TransformSpec`](imagepipe_proto::v1::TransformSpec) (or a list of named
//! [`Variant`](imagepipe_proto::v1::Variant)s) to encoded [`Output`](imagepipe_proto::v1::Output)s. No async
//! runtime, no broker, no web server, no database, no metrics: bytes in, bytes out, an [`EngineError`] when
//! that cannot be, and the [`Timings`] of its stages for the caller to record. The transformer runs it on a
//! blocking thread for every job and in its one-shot `convert` command; the gateway reads upload headers with
//! [`probe`]; the awkward-input suite, the transformer's benchmark and the fuzz target (`fuzz/`) call it
//! directly.
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
//!
//! # Layout
//! - `transform`: [`transform`] and [`transform_variants`], one decode then one render per output, and the
//!   [`Transformed`] outputs with their [`Timings`].
//! - `probe`: [`probe`], an image's format and size from its signature and header, no pixels decoded.
//! - `request`: one output's spec, checked and with its defaults filled in.
//! - `decode` and `jpeg`: bytes to upright 8-bit pixels ([`sniff`] the format first); libjpeg-turbo with
//!   shrink-on-load for JPEG.
//! - `geometry`: the result's size and crop for each fit.
//! - `ops`, `resize`, `watermark`: rotate and flip, grey, blur, sharpen; Lanczos3 resampling; text and image
//!   marks (the bundled DejaVu Sans, `assets/`).
//! - `render`: one output from the decoded pixels, in order.
//! - `encode` and `webp`: JPEG, PNG and WebP out.
//! - `limits`: [`Limits`], the input and result bounds checked before any large allocation.
//! - `error`: [`EngineError`], each with its contract [`FailureCode`](imagepipe_proto::FailureCode).

mod decode;
mod encode;
mod error;
mod geometry;
mod jpeg;
mod limits;
mod ops;
mod probe;
mod render;
mod request;
mod resize;
#[cfg(test)]
mod samples;
mod transform;
mod watermark;
mod webp;

pub use decode::sniff;
pub use error::EngineError;
pub use limits::{
    DEFAULT_MAX_DIMENSION, DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS, Limits, MAX_SIDE,
    WEBP_MAX_SIDE,
};
pub use probe::probe;
pub use request::{DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY};
pub use transform::{
    DEFAULT_OUTPUT, OutputTimings, Timings, Transformed, transform, transform_variants,
};
