//! From pixels to bytes: JPEG (libjpeg-turbo), PNG, WebP (libwebp).
//!
//! - JPEG: the libjpeg quality (default 85), 4:2:0 chroma subsampling for colour, one channel for grey;
//!   baseline, or progressive when asked (SOF2). JPEG has no alpha: translucent pixels are laid over the
//!   request's background colour (default white; its grey when the result is grey).
//! - WebP: lossy at the quality (default 80), or **lossless** when asked or at quality 100.
//! - PNG: always lossless; quality means nothing.
//!
//! Outputs carry no metadata: no EXIF (the orientation is already applied to the pixels), no ICC profile, no
//! XMP, no comments. Pixel values are written as decoded, so a source in a wide-gamut profile (e.g. Display
//! P3) is shown as if it were sRGB.

use image::{DynamicImage, GrayImage, LumaA, Rgb, RgbImage, Rgba, codecs::png::PngEncoder};
use imagepipe_proto::v1::ImageFormat;
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

use crate::{
    EngineError,
    request::{DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, Request},
    webp::{self, Compression},
};

/// `image` encoded as `format`, with `request`'s encoder settings as the module docs describe them.
///
/// # Errors
/// [`EngineError::InvalidSpec`] for a format that cannot be written or a WebP larger than the format allows;
/// [`EngineError::EncodeFailed`] when the encoder refuses the image.
pub(crate) fn encode(
    image: DynamicImage,
    format: ImageFormat,
    request: &Request,
) -> Result<Vec<u8>, EngineError> {
    match format {
        ImageFormat::Jpeg => {
            let background = if request.grayscale {
                grey(request.background)
            } else {
                request.background
            };
            encode_jpeg(&flatten(image, background), request)
        }
        ImageFormat::Png => {
            let mut bytes = Vec::new();
            image
                .write_with_encoder(PngEncoder::new(&mut bytes))
                .map_err(|error| EngineError::EncodeFailed(format!("png: {error}")))?;
            Ok(bytes)
        }
        ImageFormat::Webp if request.lossless => webp::encode(&image, Compression::Lossless),
        ImageFormat::Webp => webp::encode(
            &image,
            Compression::Lossy(request.quality.unwrap_or(DEFAULT_WEBP_QUALITY)),
        ),
        other => Err(EngineError::InvalidSpec(format!(
            "{} cannot be written; use jpeg, png or webp",
            other.name()
        ))),
    }
}

/// An opaque (L8 or RGB8) `image` as a JPEG: libjpeg-turbo, 4:2:0 for colour, progressive if asked.
fn encode_jpeg(image: &DynamicImage, request: &Request) -> Result<Vec<u8>, EngineError> {
    let failed = |error: turbojpeg::Error| EngineError::EncodeFailed(format!("jpeg: {error}"));
    let quality = request
        .quality
        .unwrap_or(DEFAULT_JPEG_QUALITY)
        .clamp(1, 100);
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
        .set_progressive(request.progressive)
        .map_err(failed)?;
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

/// The grey of `colour` (Rec. 709 luma, as [`super::ops::grayscale`] computes it), as a colour.
fn grey(colour: Rgb<u8>) -> Rgb<u8> {
    let Rgb([red, green, blue]) = colour;
    let luma =
        (2126 * u32::from(red) + 7152 * u32::from(green) + 722 * u32::from(blue) + 5000) / 10_000;
    // A weighted mean of bytes: at most 255.
    let luma = luma.min(255) as u8;
    Rgb([luma, luma, luma])
}

/// JPEG has no alpha channel: lay translucent pixels over `background`. Opaque images are returned as they
/// are; grey ones with alpha stay grey when the background is grey too.
fn flatten(image: DynamicImage, background: Rgb<u8>) -> DynamicImage {
    fn over(channel: u8, alpha: u8, background: u8) -> u8 {
        let (channel, alpha, background) =
            (u16::from(channel), u16::from(alpha), u16::from(background));
        // channel * a + background * (1 - a), rounded; never exceeds 255.
        ((channel * alpha + background * (255 - alpha) + 127) / 255) as u8
    }
    let Rgb([red, green, blue]) = background;
    match image {
        DynamicImage::ImageLumaA8(pixels) if red == green && green == blue => {
            let (width, height) = pixels.dimensions();
            DynamicImage::ImageLuma8(GrayImage::from_fn(width, height, |x, y| {
                let LumaA([luma, alpha]) = *pixels.get_pixel(x, y);
                image::Luma([over(luma, alpha, red)])
            }))
        }
        DynamicImage::ImageRgba8(pixels) => {
            let (width, height) = pixels.dimensions();
            DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
                let Rgba([r, g, b, alpha]) = *pixels.get_pixel(x, y);
                Rgb([
                    over(r, alpha, red),
                    over(g, alpha, green),
                    over(b, alpha, blue),
                ])
            }))
        }
        other if other.color().has_alpha() => {
            flatten(DynamicImage::ImageRgba8(other.to_rgba8()), background)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use image::GenericImageView;
    use imagepipe_proto::v1::TransformSpec;

    use super::*;
    use crate::samples;

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).unwrap()
    }

    fn request(spec: TransformSpec) -> Request {
        Request::from_spec(&spec).unwrap()
    }

    fn quality(quality: Option<u32>) -> Request {
        request(TransformSpec {
            quality,
            ..TransformSpec::default()
        })
    }

    /// Whether a JPEG has a start-of-frame marker for progressive DCT (SOF2) before its first scan.
    fn is_progressive(jpeg: &[u8]) -> bool {
        let mut at = 2;
        while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
            match jpeg[at + 1] {
                0xC2 => return true,
                0xC0 | 0xC1 | 0xDA => return false,
                _ => at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]])),
            }
        }
        false
    }

    #[test]
    fn writes_each_format_with_its_signature() {
        let image = DynamicImage::ImageRgb8(samples::rgb(12, 7));
        for (format, guessed) in [
            (ImageFormat::Jpeg, image::ImageFormat::Jpeg),
            (ImageFormat::Png, image::ImageFormat::Png),
            (ImageFormat::Webp, image::ImageFormat::WebP),
        ] {
            let bytes = encode(image.clone(), format, &quality(Some(85))).unwrap();
            assert_eq!(image::guess_format(&bytes).unwrap(), guessed);
            assert_eq!(decode(&bytes).dimensions(), (12, 7));
        }
    }

    #[test]
    fn jpeg_is_baseline_unless_progressive_is_asked() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 48));
        let baseline = encode(image.clone(), ImageFormat::Jpeg, &quality(None)).unwrap();
        assert!(!is_progressive(&baseline));
        let progressive = request(TransformSpec {
            progressive: true,
            ..TransformSpec::default()
        });
        let bytes = encode(image.clone(), ImageFormat::Jpeg, &progressive).unwrap();
        assert!(is_progressive(&bytes), "SOF2 present");
        assert!(turbojpeg::read_header(&bytes).unwrap().is_progressive);
        let decoded = decode(&bytes).to_rgb8();
        let (a, b) = (image.to_rgb8(), decoded);
        assert!(samples::close(*a.get_pixel(40, 20), *b.get_pixel(40, 20)));
        let grey = DynamicImage::ImageLuma8(GrayImage::new(16, 16));
        let bytes = encode(grey, ImageFormat::Jpeg, &progressive).unwrap();
        assert!(is_progressive(&bytes), "grey too");
    }

    #[test]
    fn outputs_carry_no_metadata() {
        // No APP1 (EXIF/XMP) or APP2 (ICC) segment in a JPEG, no eXIf/iCCP chunk in a PNG, no EXIF/ICCP
        // chunk in a WebP.
        let image = DynamicImage::ImageRgb8(samples::rgb(16, 16));
        let jpeg = encode(image.clone(), ImageFormat::Jpeg, &quality(None)).unwrap();
        assert!(
            !jpeg
                .windows(2)
                .any(|w| w == [0xFF, 0xE1] || w == [0xFF, 0xE2])
        );
        let png = encode(image.clone(), ImageFormat::Png, &quality(None)).unwrap();
        assert!(!png.windows(4).any(|w| w == b"eXIf" || w == b"iCCP"));
        let webp = encode(image, ImageFormat::Webp, &quality(None)).unwrap();
        assert!(!webp.windows(4).any(|w| w == b"EXIF" || w == b"ICCP"));
    }

    #[test]
    fn webp_at_quality_100_or_asked_is_lossless() {
        let image = DynamicImage::ImageRgb8(samples::rgb(24, 16));
        let lossless = request(TransformSpec {
            lossless: true,
            quality: Some(10),
            ..TransformSpec::default()
        });
        for request in [quality(Some(100)), lossless] {
            let bytes = encode(image.clone(), ImageFormat::Webp, &request).unwrap();
            assert_eq!(decode(&bytes).to_rgb8(), image.to_rgb8());
        }
    }

    #[test]
    fn webp_is_lossy_otherwise() {
        // Noise, which lossless coding cannot shrink much.
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| {
            let mut hash = u64::from(x) << 32 | u64::from(y);
            for _ in 0..3 {
                hash = (hash ^ (hash >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            }
            Rgb([hash as u8, (hash >> 8) as u8, (hash >> 16) as u8])
        }));
        let default = encode(image.clone(), ImageFormat::Webp, &quality(None)).unwrap();
        let lossless = encode(image.clone(), ImageFormat::Webp, &quality(Some(100))).unwrap();
        let low = encode(image, ImageFormat::Webp, &quality(Some(20))).unwrap();
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
        let bytes = encode(image, ImageFormat::Jpeg, &quality(None)).unwrap();
        assert_eq!(decode(&bytes).color(), image::ColorType::L8);
    }

    #[test]
    fn jpeg_flattens_alpha_onto_white_by_default() {
        let image = DynamicImage::ImageRgba8(samples::half_transparent(32, 16));
        let bytes = encode(image, ImageFormat::Jpeg, &quality(Some(95))).unwrap();
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
    fn jpeg_flattens_alpha_onto_the_background() {
        let on_red = request(TransformSpec {
            background: Some(0xFF_0000),
            quality: Some(95),
            ..TransformSpec::default()
        });
        let image = DynamicImage::ImageRgba8(samples::half_transparent(32, 16));
        let decoded = decode(&encode(image, ImageFormat::Jpeg, &on_red).unwrap()).to_rgb8();
        assert!(samples::close(*decoded.get_pixel(4, 8), Rgb([255, 0, 0])));
        assert!(samples::close(*decoded.get_pixel(28, 8), Rgb([0, 200, 0])));
        // Grey with alpha on a colour: the colour shows, so the JPEG is in colour.
        let grey = DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_fn(16, 8, |x, _| {
            LumaA([90, if x < 8 { 0 } else { 255 }])
        }));
        let decoded = decode(&encode(grey.clone(), ImageFormat::Jpeg, &on_red).unwrap());
        assert_eq!(decoded.color(), image::ColorType::Rgb8);
        assert!(samples::close(
            *decoded.to_rgb8().get_pixel(2, 4),
            Rgb([255, 0, 0])
        ));
        // Asked for grey: the background is the colour's grey (0.2126 * 255), and the JPEG one channel.
        let grey_on_red = Request {
            grayscale: true,
            ..on_red
        };
        let decoded = decode(&encode(grey, ImageFormat::Jpeg, &grey_on_red).unwrap());
        assert_eq!(decoded.color(), image::ColorType::L8);
        let background = decoded.to_luma8().get_pixel(2, 4)[0];
        assert!(background.abs_diff(54) < 4, "{background}");
    }

    #[test]
    fn quality_changes_jpeg_size() {
        let image = DynamicImage::ImageRgb8(samples::rgb(64, 64));
        let low = encode(image.clone(), ImageFormat::Jpeg, &quality(Some(10))).unwrap();
        let high = encode(image, ImageFormat::Jpeg, &quality(Some(100))).unwrap();
        assert!(low.len() < high.len(), "{} < {}", low.len(), high.len());
    }

    #[test]
    fn refuses_formats_it_cannot_write() {
        let image = DynamicImage::ImageRgb8(samples::rgb(2, 2));
        let error = encode(image, ImageFormat::Gif, &quality(None)).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }
}
