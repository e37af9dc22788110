//! Lossy WebP through libwebp (bundled, statically linked): the `image` crate only writes lossless WebP.
//!
//! libwebp's simple encoding API, at its default effort (method 4) and with alpha kept when the pixels have
//! any transparency.

use std::{ffi::c_int, ptr};

use image::DynamicImage;

use super::limits::WEBP_MAX_SIDE;
use crate::EngineError;

/// `image` as a lossy WebP at `quality` (0..=100, libwebp's scale).
///
/// # Errors
/// [`EngineError::InvalidSpec`] when a side exceeds the format's 16383 pixels; [`EngineError::EncodeFailed`]
/// when libwebp refuses the image (e.g. out of memory).
pub(crate) fn encode_lossy(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, EngineError> {
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
    let mut output: *mut u8 = ptr::null_mut();
    // SAFETY: `pixels` holds `height` rows of `stride` bytes (RGB or RGBA, as the function expects) and
    // outlives the call; libwebp writes a buffer it allocated to `output` and returns its length (0 on
    // failure, when `output` stays null or is freed below).
    let length = unsafe {
        if has_alpha {
            libwebp_sys::WebPEncodeRGBA(
                pixels.as_ptr(),
                c_width,
                c_height,
                stride,
                f32::from(quality),
                &mut output,
            )
        } else {
            libwebp_sys::WebPEncodeRGB(
                pixels.as_ptr(),
                c_width,
                c_height,
                stride,
                f32::from(quality),
                &mut output,
            )
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
    use crate::engine::samples;

    #[test]
    fn writes_a_lossy_webp_smaller_at_lower_quality() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 48));
        let high = encode_lossy(&image, 90).unwrap();
        let low = encode_lossy(&image, 10).unwrap();
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
        let decoded = image::load_from_memory(&encode_lossy(&image, 80).unwrap()).unwrap();
        assert!(decoded.color().has_alpha());
        assert_eq!(decoded.to_rgba8().get_pixel(2, 8)[3], 0);
        assert_eq!(decoded.to_rgba8().get_pixel(30, 8)[3], 255);
        let grey = DynamicImage::ImageLuma8(image::GrayImage::new(9, 7));
        assert_eq!(
            image::load_from_memory(&encode_lossy(&grey, 80).unwrap())
                .unwrap()
                .dimensions(),
            (9, 7)
        );
    }
}
