//! From pixels to bytes: JPEG (with alpha flattened onto white), PNG, WebP.
//!
//! WebP is written **lossless**: the `image` crate's WebP encoder has no lossy mode. Results are larger than a
//! lossy WebP would be, and `quality` does not apply to them (nor to PNG).

use image::{
    DynamicImage, GrayImage, LumaA, RgbImage, Rgba,
    codecs::{jpeg::JpegEncoder, png::PngEncoder, webp::WebPEncoder},
};
use imagepipe_proto::v1::ImageFormat;

use super::limits::WEBP_MAX_SIDE;
use crate::EngineError;

/// `image` encoded as `format` (`quality` 1..=100 applies to JPEG only).
///
/// # Errors
/// [`EngineError::InvalidSpec`] for a format that cannot be written or a WebP larger than the format allows;
/// [`EngineError::EncodeFailed`] when the encoder refuses the image.
pub(crate) fn encode(
    image: DynamicImage,
    format: ImageFormat,
    quality: u8,
) -> Result<Vec<u8>, EngineError> {
    let mut bytes = Vec::new();
    let written = match format {
        ImageFormat::Jpeg => {
            let opaque = flatten_onto_white(image);
            opaque.write_with_encoder(JpegEncoder::new_with_quality(
                &mut bytes,
                quality.clamp(1, 100),
            ))
        }
        ImageFormat::Png => image.write_with_encoder(PngEncoder::new(&mut bytes)),
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
            let bytes = encode(image.clone(), format, 85).unwrap();
            assert_eq!(image::guess_format(&bytes).unwrap(), guessed);
            assert_eq!(decode(&bytes).dimensions(), (12, 7));
        }
    }

    #[test]
    fn webp_is_lossless() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(8, 4));
        let bytes = encode(image.clone(), ImageFormat::Webp, 10).unwrap();
        assert_eq!(decode(&bytes).to_rgba8(), image.to_rgba8());
    }

    #[test]
    fn jpeg_flattens_alpha_onto_white() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(32, 16));
        let bytes = encode(image, ImageFormat::Jpeg, 95).unwrap();
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
        let low = encode(image.clone(), ImageFormat::Jpeg, 10).unwrap();
        let high = encode(image, ImageFormat::Jpeg, 100).unwrap();
        assert!(low.len() < high.len(), "{} < {}", low.len(), high.len());
    }

    #[test]
    fn refuses_formats_it_cannot_write() {
        let image = DynamicImage::ImageRgb8(samples::rgb(2, 2));
        let error = encode(image, ImageFormat::Gif, 85).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }
}
