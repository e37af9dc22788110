//! From pixels to bytes: JPEG (libjpeg-turbo, 4:2:0 chroma subsampling, alpha flattened onto white), PNG,
//! WebP.
//!
//! `quality` (1..=100) means:
//! - JPEG: the libjpeg quality, default 85;
//! - WebP: absent, lossy at quality 80 (libwebp); 1..=99, lossy at that quality; **100, lossless** (the
//!   `image` crate's encoder: exact pixels, larger files);
//! - PNG: nothing (PNG is always lossless).

use image::{
    DynamicImage, GrayImage, LumaA, RgbImage, Rgba,
    codecs::{png::PngEncoder, webp::WebPEncoder},
};
use imagepipe_proto::v1::ImageFormat;
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

use super::{
    limits::WEBP_MAX_SIDE,
    request::{DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY},
    webp,
};
use crate::EngineError;

/// `image` encoded as `format`, at `quality` as the module docs describe it.
///
/// # Errors
/// [`EngineError::InvalidSpec`] for a format that cannot be written or a WebP larger than the format allows;
/// [`EngineError::EncodeFailed`] when the encoder refuses the image.
pub(crate) fn encode(
    image: DynamicImage,
    format: ImageFormat,
    quality: Option<u8>,
) -> Result<Vec<u8>, EngineError> {
    let mut bytes = Vec::new();
    let written = match format {
        ImageFormat::Jpeg => {
            let quality = quality.unwrap_or(DEFAULT_JPEG_QUALITY).clamp(1, 100);
            return encode_jpeg(&flatten_onto_white(image), quality);
        }
        ImageFormat::Png => image.write_with_encoder(PngEncoder::new(&mut bytes)),
        ImageFormat::Webp if quality != Some(100) => {
            return webp::encode_lossy(&image, quality.unwrap_or(DEFAULT_WEBP_QUALITY));
        }
        ImageFormat::Webp => {
            if image.width() > WEBP_MAX_SIDE || image.height() > WEBP_MAX_SIDE {
                return Err(EngineError::InvalidSpec(format!(
                    "a WebP image is at most {WEBP_MAX_SIDE} pixels per side, this one would be {}x{}",
                    image.width(),
                    image.height()
                )));
            }
            image.write_with_encoder(WebPEncoder::new_lossless(&mut bytes))
        }
        other => {
            return Err(EngineError::InvalidSpec(format!(
                "{} cannot be written; use jpeg, png or webp",
                other.name()
            )));
        }
    };
    written.map_err(|error| EngineError::EncodeFailed(format!("{}: {error}", format.name())))?;
    Ok(bytes)
}

/// An opaque (L8 or RGB8) `image` as a baseline JPEG: libjpeg-turbo, 4:2:0 for colour.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, EngineError> {
    let failed = |error: turbojpeg::Error| EngineError::EncodeFailed(format!("jpeg: {error}"));
    let converted;
    let (pixels, format, subsampling) = match image {
        DynamicImage::ImageLuma8(gray) => (gray.as_raw(), PixelFormat::GRAY, Subsamp::Gray),
        DynamicImage::ImageRgb8(rgb) => (rgb.as_raw(), PixelFormat::RGB, Subsamp::Sub2x2),
        other => {
            converted = other.to_rgb8();
            (converted.as_raw(), PixelFormat::RGB, Subsamp::Sub2x2)
        }
    };
    let (width, height) = (image.width() as usize, image.height() as usize);
    let mut compressor = Compressor::new().map_err(failed)?;
    compressor.set_quality(i32::from(quality)).map_err(failed)?;
    compressor.set_subsamp(subsampling).map_err(failed)?;
    compressor
        .compress_to_vec(Image {
            pixels: pixels.as_slice(),
            width,
            pitch: width * format.size(),
            height,
            format,
        })
        .map_err(failed)
}

/// JPEG has no alpha channel: lay translucent pixels over white (what a browser shows them on). Opaque images
/// are returned as they are.
fn flatten_onto_white(image: DynamicImage) -> DynamicImage {
    fn over_white(channel: u8, alpha: u8) -> u8 {
        let (channel, alpha) = (u16::from(channel), u16::from(alpha));
        // channel * a + 255 * (1 - a), rounded; never exceeds 255.
        ((channel * alpha + 255 * (255 - alpha) + 127) / 255) as u8
    }
    match image {
        DynamicImage::ImageLumaA8(pixels) => {
            let (width, height) = pixels.dimensions();
            DynamicImage::ImageLuma8(GrayImage::from_fn(width, height, |x, y| {
                let LumaA([luma, alpha]) = *pixels.get_pixel(x, y);
                image::Luma([over_white(luma, alpha)])
            }))
        }
        DynamicImage::ImageRgba8(pixels) => {
            let (width, height) = pixels.dimensions();
            DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
                let Rgba([red, green, blue, alpha]) = *pixels.get_pixel(x, y);
                image::Rgb([
                    over_white(red, alpha),
                    over_white(green, alpha),
                    over_white(blue, alpha),
                ])
            }))
        }
        other if other.color().has_alpha() => {
            flatten_onto_white(DynamicImage::ImageRgba8(other.to_rgba8()))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use image::GenericImageView;

    use super::*;
    use crate::engine::samples;

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).unwrap()
    }

    #[test]
    fn writes_each_format_with_its_signature() {
        let image = DynamicImage::ImageRgb8(samples::rgb(12, 7));
        for (format, guessed) in [
            (ImageFormat::Jpeg, image::ImageFormat::Jpeg),
            (ImageFormat::Png, image::ImageFormat::Png),
            (ImageFormat::Webp, image::ImageFormat::WebP),
        ] {
            let bytes = encode(image.clone(), format, Some(85)).unwrap();
            assert_eq!(image::guess_format(&bytes).unwrap(), guessed);
            assert_eq!(decode(&bytes).dimensions(), (12, 7));
        }
    }

    #[test]
    fn webp_at_quality_100_is_lossless() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(8, 4));
        let bytes = encode(image.clone(), ImageFormat::Webp, Some(100)).unwrap();
        assert_eq!(decode(&bytes).to_rgba8(), image.to_rgba8());
    }

    #[test]
    fn webp_is_lossy_otherwise() {
        // Noise, which lossless coding cannot shrink much.
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| {
            let mut hash = u64::from(x) << 32 | u64::from(y);
            for _ in 0..3 {
                hash = (hash ^ (hash >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            }
            image::Rgb([hash as u8, (hash >> 8) as u8, (hash >> 16) as u8])
        }));
        let default = encode(image.clone(), ImageFormat::Webp, None).unwrap();
        let lossless = encode(image.clone(), ImageFormat::Webp, Some(100)).unwrap();
        let low = encode(image, ImageFormat::Webp, Some(20)).unwrap();
        assert!(
            low.len() < default.len(),
            "{} < {}",
            low.len(),
            default.len()
        );
        assert!(
            default.len() < lossless.len(),
            "{} < {}",
            default.len(),
            lossless.len()
        );
    }

    #[test]
    fn grey_jpeg_stays_grey() {
        let image = DynamicImage::ImageLuma8(GrayImage::from_fn(16, 8, |x, _| {
            image::Luma([(x * 16) as u8])
        }));
        let bytes = encode(image, ImageFormat::Jpeg, None).unwrap();
        assert_eq!(decode(&bytes).color(), image::ColorType::L8);
    }

    #[test]
    fn jpeg_flattens_alpha_onto_white() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(32, 16));
        let bytes = encode(image, ImageFormat::Jpeg, Some(95)).unwrap();
        let decoded = decode(&bytes).to_rgb8();
        let transparent = decoded.get_pixel(4, 8);
        assert!(
            transparent.0.iter().all(|&c| c > 240),
            "white: {transparent:?}"
        );
        let green = decoded.get_pixel(28, 8);
        assert!(green[1] > 170 && green[0] < 40, "green: {green:?}");
    }

    #[test]
    fn quality_changes_jpeg_size() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 64));
        let low = encode(image.clone(), ImageFormat::Jpeg, Some(10)).unwrap();
        let high = encode(image, ImageFormat::Jpeg, Some(100)).unwrap();
        assert!(low.len() < high.len(), "{} < {}", low.len(), high.len());
    }

    #[test]
    fn refuses_formats_it_cannot_write() {
        let image = DynamicImage::ImageRgb8(samples::rgb(2, 2));
        let error = encode(image, ImageFormat::Gif, None).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }
}
