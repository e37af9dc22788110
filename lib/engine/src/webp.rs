//! WebP through libwebp (bundled, statically linked), lossy or lossless: the `image` crate only writes
//! lossless WebP, and less compactly.
//!
//! libwebp's simple encoding API: lossy at its default effort (method 4), lossless at its default effort
//! (quality 70 as the effort factor), alpha kept when the pixels have an alpha channel. Lossless is exact for
//! every visible pixel; libwebp may change the colour of fully transparent ones, which nobody sees.

use std::{ffi::c_int, ptr};

use image::DynamicImage;

use crate::{EngineError, limits::WEBP_MAX_SIDE};

/// How a WebP is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// Lossy (VP8) at a quality 0..=100, libwebp's scale.
    Lossy(u8),
    /// Lossless (VP8L).
    Lossless,
}

/// `image` as a WebP compressed as `compression` says.
///
/// # Errors
/// [`EngineError::InvalidSpec`] when a side exceeds the format's 16383 pixels; [`EngineError::EncodeFailed`]
/// when libwebp refuses the image (e.g. out of memory).
pub(crate) fn encode(
    image: &DynamicImage,
    compression: Compression,
) -> Result<Vec<u8>, EngineError> {
    let (width, height) = (image.width(), image.height());
    if width > WEBP_MAX_SIDE || height > WEBP_MAX_SIDE {
        return Err(EngineError::InvalidSpec(format!(
            "a WebP image is at most {WEBP_MAX_SIDE} pixels per side, this one would be {width}x{height}"
        )));
    }
    let refused =
        || EngineError::EncodeFailed(format!("webp: libwebp refused a {width}x{height} image"));
    // Sides are at most 16383, so the stride (at most 4 * 16383) and the sides fit a C int.
    let (Ok(c_width), Ok(c_height)) = (c_int::try_from(width), c_int::try_from(height)) else {
        return Err(refused());
    };
    let has_alpha = image.color().has_alpha();
    let converted;
    let pixels: &[u8] = match image {
        DynamicImage::ImageRgb8(rgb) => rgb.as_raw(),
        DynamicImage::ImageRgba8(rgba) => rgba.as_raw(),
        other if has_alpha => {
            converted = other.to_rgba8().into_raw();
            &converted
        }
        other => {
            converted = other.to_rgb8().into_raw();
            &converted
        }
    };
    let channels = if has_alpha { 4 } else { 3 };
    let Ok(stride) = c_int::try_from(width as usize * channels) else {
        return Err(refused());
    };
    let input = pixels.as_ptr();
    let mut output: *mut u8 = ptr::null_mut();
    // SAFETY: `pixels` holds `height` rows of `stride` bytes (RGB or RGBA, as each function expects) and
    // outlives the call; libwebp writes a buffer it allocated to `output` and returns its length (0 on
    // failure, when `output` stays null or is freed below).
    let length = unsafe {
        match (compression, has_alpha) {
            (Compression::Lossy(quality), true) => libwebp_sys::WebPEncodeRGBA(
                input,
                c_width,
                c_height,
                stride,
                f32::from(quality),
                &mut output,
            ),
            (Compression::Lossy(quality), false) => libwebp_sys::WebPEncodeRGB(
                input,
                c_width,
                c_height,
                stride,
                f32::from(quality),
                &mut output,
            ),
            (Compression::Lossless, true) => {
                libwebp_sys::WebPEncodeLosslessRGBA(input, c_width, c_height, stride, &mut output)
            }
            (Compression::Lossless, false) => {
                libwebp_sys::WebPEncodeLosslessRGB(input, c_width, c_height, stride, &mut output)
            }
        }
    };
    if output.is_null() {
        return Err(refused());
    }
    // SAFETY: libwebp returned `length` initialised bytes at `output`; they are copied out, then the buffer
    // is released with libwebp's own allocator, exactly once.
    let bytes = unsafe {
        let bytes = std::slice::from_raw_parts(output, length).to_vec();
        libwebp_sys::WebPFree(output.cast());
        bytes
    };
    if bytes.is_empty() {
        return Err(refused());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use image::GenericImageView;

    use super::*;
    use crate::samples;

    #[test]
    fn writes_a_lossy_webp_smaller_at_lower_quality() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 48));
        let high = encode(&image, Compression::Lossy(90)).unwrap();
        let low = encode(&image, Compression::Lossy(10)).unwrap();
        assert_eq!(
            image::guess_format(&high).unwrap(),
            image::ImageFormat::WebP
        );
        assert!(low.len() < high.len(), "{} < {}", low.len(), high.len());
        let decoded = image::load_from_memory(&high).unwrap();
        assert_eq!(decoded.dimensions(), (64, 48));
        let (original, decoded) = (image.to_rgb8(), decoded.to_rgb8());
        let (a, b) = (original.get_pixel(40, 20), decoded.get_pixel(40, 20));
        for channel in 0..3 {
            assert!(a[channel].abs_diff(b[channel]) < 16, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn keeps_alpha_and_grey() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(32, 16));
        let decoded =
            image::load_from_memory(&encode(&image, Compression::Lossy(80)).unwrap()).unwrap();
        assert!(decoded.color().has_alpha());
        assert_eq!(decoded.to_rgba8().get_pixel(2, 8)[3], 0);
        assert_eq!(decoded.to_rgba8().get_pixel(30, 8)[3], 255);
        let grey = DynamicImage::ImageLuma8(image::GrayImage::new(9, 7));
        assert_eq!(
            image::load_from_memory(&encode(&grey, Compression::Lossy(80)).unwrap())
                .unwrap()
                .dimensions(),
            (9, 7)
        );
    }

    #[test]
    fn lossless_keeps_every_visible_pixel() {
        let image = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(33, 17, |x, y| {
            let alpha = if x < 4 { 0 } else { (x * 7 + y) as u8 };
            image::Rgba([(x * 5) as u8, (y * 9) as u8, 77, alpha])
        }));
        let bytes = encode(&image, Compression::Lossless).unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgba8();
        for (original, decoded) in image.to_rgba8().pixels().zip(decoded.pixels()) {
            assert_eq!(original[3], decoded[3]);
            if original[3] > 0 {
                assert_eq!(original, decoded);
            }
        }
        let rgb = DynamicImage::ImageRgb8(samples::rgb(40, 30));
        let bytes = encode(&rgb, Compression::Lossless).unwrap();
        assert_eq!(
            image::load_from_memory(&bytes).unwrap().to_rgb8(),
            rgb.to_rgb8()
        );
    }

    #[test]
    fn refuses_sides_past_the_format() {
        let image = DynamicImage::ImageLuma8(image::GrayImage::new(WEBP_MAX_SIDE + 1, 1));
        for compression in [Compression::Lossy(80), Compression::Lossless] {
            let error = encode(&image, compression).unwrap_err();
            assert_eq!(error.code(), "invalid_spec");
        }
    }
}
