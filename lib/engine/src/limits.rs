//! What the engine refuses to read or allocate: the guard that turns an oversized upload or a decompression
//! bomb into a `too_large` error, not an OOM.
//!
//! An input is checked three times, each check cheaper than what it protects:
//! 1. its length, before anything is parsed ([`Limits::max_input_bytes`]);
//! 2. the size its header declares, before any pixel buffer is allocated ([`Limits::max_dimension`] per
//!    side, [`Limits::max_pixels`] in all) — so a 200-byte file claiming 65000x60000 costs nothing;
//! 3. during the decode, by the decoder itself: the `image` crate's decoders get the same per-side limit and
//!    an allocation budget ([`Limits::max_alloc_bytes`]); libjpeg-turbo writes into a buffer sized from the
//!    header that step 2 accepted.

use crate::EngineError;

/// Most pixels per side of a requested result (and of a result derived from one side).
pub const MAX_SIDE: u32 = imagepipe_proto::spec::MAX_SIDE;

/// Most pixels per side of a WebP image (a limit of the format).
pub const WEBP_MAX_SIDE: u32 = 16_383;

/// Default of [`Limits::max_pixels`]: 50 megapixels (an 8688x5792 full-frame camera photo is 50.3 MP).
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// Default of [`Limits::max_input_bytes`]: 25 MiB, the gateway's default upload limit
/// (`GATEWAY_MAX_UPLOAD_BYTES`), so that whatever the gateway accepts by default the engine reads.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 25 * 1024 * 1024;

/// Default of [`Limits::max_dimension`]: 32768 pixels per side. Wide panoramas pass; the largest sides a
/// header can declare (65535 for JPEG, PNG's 2^31) do not, even when their pixel count would.
pub const DEFAULT_MAX_DIMENSION: u32 = 32_768;

/// Headroom the decoders may allocate beyond the decoded pixels (row buffers, palettes, Huffman tables).
const DECODER_SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// Widest decoded pixel the limits budget for: 16-bit RGBA.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Resource limits of one transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width x height) an input may have, and a result may have.
    pub max_pixels: u64,
    /// Most bytes an encoded input may have.
    pub max_input_bytes: u64,
    /// Most pixels per side an input may have (as its header declares it).
    pub max_dimension: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_dimension: DEFAULT_MAX_DIMENSION,
        }
    }
}

impl Limits {
    /// Limits allowing at most `max_pixels` pixels per image; the other limits at their defaults.
    #[must_use]
    pub fn new(max_pixels: u64) -> Self {
        Self {
            max_pixels,
            ..Self::default()
        }
    }

    /// These limits, with at most `max_input_bytes` bytes per encoded input.
    #[must_use]
    pub fn with_max_input_bytes(self, max_input_bytes: u64) -> Self {
        Self {
            max_input_bytes,
            ..self
        }
    }

    /// These limits, with at most `max_dimension` pixels per side of an input.
    #[must_use]
    pub fn with_max_dimension(self, max_dimension: u32) -> Self {
        Self {
            max_dimension,
            ..self
        }
    }

    /// Most bytes a decoder may allocate: the largest allowed image at 16-bit RGBA, plus some headroom.
    #[must_use]
    pub fn max_alloc_bytes(&self) -> u64 {
        self.max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_SLACK_BYTES)
    }

    /// The `image` crate's decoder limits for these limits: the per-side limit and the allocation budget.
    pub(crate) fn decoder_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_dimension);
        limits.max_image_height = Some(self.max_dimension);
        limits.max_alloc = Some(self.max_alloc_bytes());
        limits
    }

    /// Checks the length of an encoded input, before anything of it is parsed.
    ///
    /// # Errors
    /// [`EngineError::TooLarge`] over [`Limits::max_input_bytes`].
    pub(crate) fn check_input_bytes(&self, length: usize) -> Result<(), EngineError> {
        if u64::try_from(length).map_or(true, |length| length > self.max_input_bytes) {
            return Err(EngineError::TooLarge(format!(
                "the file is {length} bytes; at most {} bytes are accepted",
                self.max_input_bytes
            )));
        }
        Ok(())
    }

    /// Checks a `width` x `height` input, as its header declares it, before any pixel is decoded.
    ///
    /// # Errors
    /// [`EngineError::DecodeFailed`] for a zero side; [`EngineError::TooLarge`] for a side over
    /// [`Limits::max_dimension`] or more than [`Limits::max_pixels`] pixels.
    pub(crate) fn check_input(&self, width: u32, height: u32) -> Result<(), EngineError> {
        if width == 0 || height == 0 {
            return Err(EngineError::DecodeFailed(format!(
                "the image claims to be {width}x{height} pixels"
            )));
        }
        if width > self.max_dimension || height > self.max_dimension {
            return Err(EngineError::TooLarge(format!(
                "the image claims to be {width}x{height} pixels; at most {} pixels per side are accepted",
                self.max_dimension
            )));
        }
        if !self.allows(width, height) {
            return Err(EngineError::TooLarge(format!(
                "the image claims to be {width}x{height} = {} pixels; at most {} pixels are accepted",
                u64::from(width) * u64::from(height),
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// Whether a `width` x `height` image is within [`Limits::max_pixels`].
    #[must_use]
    pub fn allows(&self, width: u32, height: u32) -> bool {
        u64::from(width) * u64::from(height) <= self.max_pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_max_pixels() {
        let limits = Limits::new(100);
        assert!(limits.allows(10, 10));
        assert!(!limits.allows(10, 11));
        assert!(Limits::default().allows(10_000, 5_000));
        assert!(!Limits::default().allows(10_000, 5_001));
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.max_pixels, 50_000_000);
        assert_eq!(limits.max_input_bytes, 26_214_400);
        assert_eq!(limits.max_dimension, 32_768);
        assert_eq!(Limits::new(7).max_input_bytes, DEFAULT_MAX_INPUT_BYTES);
        let custom = Limits::new(7).with_max_input_bytes(8).with_max_dimension(9);
        assert_eq!(
            custom,
            Limits {
                max_pixels: 7,
                max_input_bytes: 8,
                max_dimension: 9
            }
        );
    }

    #[test]
    fn alloc_budget_covers_sixteen_bit_rgba() {
        let limits = Limits::new(1_000);
        assert_eq!(limits.max_alloc_bytes(), 8_000 + 64 * 1024 * 1024);
        assert_eq!(Limits::new(u64::MAX).max_alloc_bytes(), u64::MAX);
    }

    #[test]
    fn decoders_get_the_side_limit_and_the_budget() {
        let limits = Limits::new(1_000).with_max_dimension(300).decoder_limits();
        assert_eq!(limits.max_image_width, Some(300));
        assert_eq!(limits.max_image_height, Some(300));
        assert_eq!(limits.max_alloc, Some(8_000 + 64 * 1024 * 1024));
    }

    #[test]
    fn refuses_inputs_over_the_byte_limit() {
        let limits = Limits::default().with_max_input_bytes(10);
        assert!(limits.check_input_bytes(10).is_ok());
        let error = limits.check_input_bytes(11).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert_eq!(
            error.to_string(),
            "the image is too large: the file is 11 bytes; at most 10 bytes are accepted"
        );
    }

    #[test]
    fn header_sizes_are_checked_per_side_then_in_all() {
        let limits = Limits::new(1_000_000).with_max_dimension(2_000);
        assert!(limits.check_input(2_000, 500).is_ok());
        let error = limits.check_input(2_001, 1).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(
            error
                .to_string()
                .contains("2001x1 pixels; at most 2000 pixels per side")
        );
        let error = limits.check_input(1_001, 1_000).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(
            error
                .to_string()
                .contains("1001x1000 = 1001000 pixels; at most 1000000"),
            "{error}"
        );
        assert_eq!(
            limits.check_input(0, 5).unwrap_err().code(),
            "decode_failed"
        );
    }
}
