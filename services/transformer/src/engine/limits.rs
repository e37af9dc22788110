//! What the engine refuses to allocate: the guard that turns a decompression bomb into an error, not an OOM.

use crate::EngineError;

/// Most pixels per side of a requested result (and of a result derived from one side).
pub const MAX_SIDE: u32 = imagepipe_proto::spec::MAX_SIDE;

/// Most pixels per side of a WebP image (a limit of the format).
pub const WEBP_MAX_SIDE: u32 = 16_383;

/// Default of [`Limits::max_pixels`]: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Headroom the decoders may allocate beyond the decoded pixels (row buffers, palettes, Huffman tables).
const DECODER_SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// Widest decoded pixel the limits budget for: 16-bit RGBA.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Resource limits of one transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width x height) an input may have, and a result may have.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

impl Limits {
    /// Limits allowing at most `max_pixels` pixels per image.
    #[must_use]
    pub fn new(max_pixels: u64) -> Self {
        Self { max_pixels }
    }

    /// Most bytes a decoder may allocate: the largest allowed image at 16-bit RGBA, plus some headroom.
    #[must_use]
    pub fn max_alloc_bytes(&self) -> u64 {
        self.max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_SLACK_BYTES)
    }

    /// The `image` crate's decoder limits for these limits.
    pub(crate) fn decoder_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(self.max_alloc_bytes());
        limits
    }

    /// Checks a `width` x `height` input, as its header declares it, before any pixel is decoded.
    ///
    /// # Errors
    /// [`EngineError::DecodeFailed`] for a zero side; [`EngineError::TooLarge`] over [`Limits::max_pixels`].
    pub(crate) fn check_input(&self, width: u32, height: u32) -> Result<(), EngineError> {
        if width == 0 || height == 0 {
            return Err(EngineError::DecodeFailed(format!(
                "the image claims to be {width}x{height} pixels"
            )));
        }
        if !self.allows(width, height) {
            return Err(EngineError::TooLarge(format!(
                "{width}x{height} is {} pixels; at most {} are accepted",
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
        assert!(Limits::default().allows(10_000, 10_000));
        assert!(!Limits::default().allows(10_001, 10_000));
    }

    #[test]
    fn alloc_budget_covers_sixteen_bit_rgba() {
        let limits = Limits::new(1_000);
        assert_eq!(limits.max_alloc_bytes(), 8_000 + 64 * 1024 * 1024);
        assert_eq!(Limits::new(u64::MAX).max_alloc_bytes(), u64::MAX);
    }
}
