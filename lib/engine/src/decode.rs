//! From bytes to 8-bit pixels: sniff the format, decode under limits, apply the EXIF orientation, and bring
//! every pixel layout down to 8 bits per channel (the resizer and every encoder then see one of four layouts:
//! L8, LA8, RGB8, RGBA8).
//!
//! JPEGs go to libjpeg-turbo first ([`super::jpeg`], which may shrink them on load); everything else, and
//! the JPEGs it hands back, to the `image` crate's decoders.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, metadata::Orientation};
use imagepipe_proto::v1::ImageFormat;

use crate::{EngineError, jpeg, limits::Limits};

/// A decoded, upright, 8-bit image and the format it was encoded in.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The pixels.
    pub image: DynamicImage,
    /// The encoded format the bytes were in.
    pub format: ImageFormat,
    /// The upright size of the encoded image. The pixels may be smaller: a JPEG can be shrunk on load.
    pub source: (u32, u32),
}

/// The format of `bytes`, from their signature.
///
/// # Errors
/// [`EngineError::DecodeFailed`] when no known signature matches; [`EngineError::UnsupportedFormat`] when it
/// is an image format the engine does not read (e.g. AVIF, ICO).
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, EngineError> {
    image_format(bytes).map(|(_, format)| format)
}

pub(crate) fn image_format(bytes: &[u8]) -> Result<(image::ImageFormat, ImageFormat), EngineError> {
    let guessed = image::guess_format(bytes).map_err(|_| {
        EngineError::DecodeFailed(
            "the bytes are not a recognised image (expected JPEG, PNG, WebP, GIF, BMP or TIFF)"
                .into(),
        )
    })?;
    let format = match guessed {
        image::ImageFormat::Jpeg => ImageFormat::Jpeg,
        image::ImageFormat::Png => ImageFormat::Png,
        image::ImageFormat::WebP => ImageFormat::Webp,
        image::ImageFormat::Gif => ImageFormat::Gif,
        image::ImageFormat::Bmp => ImageFormat::Bmp,
        image::ImageFormat::Tiff => ImageFormat::Tiff,
        other => {
            return Err(EngineError::UnsupportedFormat(format!(
                "{} images cannot be read; send JPEG, PNG, WebP, GIF, BMP or TIFF",
                other.extensions_str().first().copied().unwrap_or("these")
            )));
        }
    };
    Ok((guessed, format))
}

/// Decodes `bytes` (the first frame of an animation), upright and at 8 bits per channel. A JPEG may be
/// decoded smaller than its source, but never below `min_size(upright source size)`; other formats are
/// decoded at their full size.
///
/// # Errors
/// [`EngineError::DecodeFailed`] for unreadable data, [`EngineError::UnsupportedFormat`] for formats or
/// features the decoders do not support, [`EngineError::TooLarge`] when the bytes or the image exceed
/// `limits` (the length checked first, the size from the header before the pixels are allocated, and the
/// allocations again while decoding).
pub(crate) fn decode(
    bytes: &[u8],
    limits: &Limits,
    min_size: &dyn Fn((u32, u32)) -> (u32, u32),
) -> Result<Decoded, EngineError> {
    limits.check_input_bytes(bytes.len())?;
    let (guessed, format) = image_format(bytes)?;
    if format == ImageFormat::Jpeg
        && let Some(decoded) = jpeg::decode(bytes, limits, min_size)?
    {
        return Ok(decoded);
    }
    // The PNG and GIF decoders read on to the first image data before they report a size: the size at its
    // fixed place in the header is checked first, so a file claiming too much is refused whatever follows.
    if let Some((width, height)) = declared_size(bytes, format) {
        limits.check_input(width, height)?;
    }
    // The decoder reads the header under the allocation budget alone, so that a size over the limits is
    // refused by `check_input`, whose message says what the header claims; then it gets every limit.
    let mut header_limits = image::Limits::no_limits();
    header_limits.max_alloc = Some(limits.max_alloc_bytes());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), guessed);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(from_image_error)?;

    let (width, height) = decoder.dimensions();
    limits.check_input(width, height)?;
    let mut decoder_limits = limits.decoder_limits();
    // The decoded buffer counts against the allocation budget, as `ImageReader::decode` does it.
    decoder_limits
        .reserve(decoder.total_bytes())
        .map_err(from_image_error)?;
    decoder
        .set_limits(decoder_limits)
        .map_err(from_image_error)?;

    // A broken EXIF block is no reason to refuse the pixels: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    image.apply_orientation(orientation);
    Ok(Decoded {
        source: (image.width(), image.height()),
        image: to_eight_bit(image),
        format,
    })
}

/// The size a PNG header (IHDR, right after the signature) or a GIF header (the logical screen) declares,
/// read from its fixed place; `None` for other formats, or a header too short to hold it.
fn declared_size(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    let field = |at: usize, length: usize| bytes.get(at..at + length);
    match format {
        ImageFormat::Png => {
            if field(12, 4)? != b"IHDR" {
                return None;
            }
            let side = |at| Some(u32::from_be_bytes(field(at, 4)?.try_into().ok()?));
            Some((side(16)?, side(20)?))
        }
        ImageFormat::Gif => {
            let side = |at| {
                Some(u32::from(u16::from_le_bytes(
                    field(at, 2)?.try_into().ok()?,
                )))
            };
            Some((side(6)?, side(8)?))
        }
        _ => None,
    }
}

/// 16-bit and float images become 8-bit with the same channels; 8-bit images are returned as they are.
fn to_eight_bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

fn from_image_error(error: ImageError) -> EngineError {
    match error {
        ImageError::Limits(limit) => {
            EngineError::TooLarge(format!("decoding would exceed the memory limit ({limit})"))
        }
        ImageError::Unsupported(unsupported) => {
            EngineError::UnsupportedFormat(unsupported.to_string())
        }
        other => EngineError::DecodeFailed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use image::{ImageBuffer, Rgb, RgbImage, Rgba};

    use super::*;
    use crate::samples;

    #[test]
    fn sniffs_formats_from_signatures() {
        let png = samples::png(&samples::rgb(4, 3));
        let jpeg = samples::jpeg(&samples::rgb(4, 3));
        assert_eq!(sniff(&png), Ok(ImageFormat::Png));
        assert_eq!(sniff(&jpeg), Ok(ImageFormat::Jpeg));
        assert_eq!(sniff(b"hello, world").unwrap_err().code(), "decode_failed");
        // An ICO header: an image, but not one the engine reads.
        let ico = [0u8, 0, 1, 0, 1, 0, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(sniff(&ico).unwrap_err().code(), "unsupported_format");
    }

    #[test]
    fn garbage_is_decode_failed() {
        let error = decode(
            &[0x13, 0x37, 0, 1, 2, 3, 4, 5],
            &Limits::default(),
            &|size| size,
        )
        .unwrap_err();
        assert_eq!(error.code(), "decode_failed");
    }

    #[test]
    fn truncated_png_is_decode_failed() {
        let png = samples::png(&samples::rgb(64, 64));
        let error = decode(&png[..png.len() / 2], &Limits::default(), &|size| size).unwrap_err();
        assert_eq!(error.code(), "decode_failed", "{error}");
    }

    #[test]
    fn refuses_images_over_the_pixel_limit_from_the_header() {
        let png = samples::png(&samples::rgb(20, 20));
        let error = decode(&png, &Limits::new(399), &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(error.to_string().contains("20x20"), "{error}");
        assert!(decode(&png, &Limits::new(400), &|size| size).is_ok());
    }

    #[test]
    fn refuses_inputs_over_the_byte_limit_before_parsing_them() {
        let png = samples::png(&samples::rgb(4, 3));
        let limits = Limits::default().with_max_input_bytes(png.len() as u64 - 1);
        let error = decode(&png, &limits, &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(error.to_string().contains("bytes"), "{error}");
        // Checked first: garbage over the limit is too large, not undecodable.
        let garbage = vec![0x13; png.len()];
        assert_eq!(
            decode(&garbage, &limits, &|size| size).unwrap_err().code(),
            "too_large"
        );
        let limits = Limits::default().with_max_input_bytes(png.len() as u64);
        assert!(decode(&png, &limits, &|size| size).is_ok());
    }

    #[test]
    fn refuses_sides_over_the_dimension_limit() {
        let png = samples::png(&samples::rgb(20, 5));
        let limits = Limits::default().with_max_dimension(19);
        let error = decode(&png, &limits, &|size| size).unwrap_err();
        assert_eq!(error.code(), "too_large");
        assert!(error.to_string().contains("20x5"), "{error}");
        assert!(
            error.to_string().contains("at most 19 pixels per side"),
            "{error}"
        );
    }

    #[test]
    fn refuses_bomb_headers_with_the_size_they_claim() {
        // A PNG header claiming 40000x40000 (6.4 GB of RGBA), and no pixel data.
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 40_000, 40_000);
        encoder.set_color(png::ColorType::Rgba);
        drop(encoder.write_header().unwrap());
        // A GIF logical screen of 65535x65535, no frames.
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x3B]);
        for (bomb, size) in [(png, "40000x40000"), (gif, "65535x65535")] {
            let error = decode(&bomb, &Limits::default(), &|size| size).unwrap_err();
            assert_eq!(error.code(), "too_large", "{error}");
            assert!(error.to_string().contains(size), "{error}");
        }
    }

    #[test]
    fn reads_the_declared_size_of_png_and_gif_headers() {
        let png = samples::png(&samples::rgb(300, 2));
        assert_eq!(declared_size(&png, ImageFormat::Png), Some((300, 2)));
        assert_eq!(
            declared_size(&png[..20], ImageFormat::Png),
            None,
            "cut short"
        );
        let gif = samples::two_frame_gif();
        assert_eq!(declared_size(&gif, ImageFormat::Gif), Some((3, 2)));
        assert_eq!(declared_size(&gif, ImageFormat::Bmp), None);
    }

    #[test]
    fn sixteen_bit_png_becomes_eight_bit() {
        let image: ImageBuffer<Rgba<u16>, Vec<u16>> = ImageBuffer::from_fn(5, 4, |x, _| {
            Rgba([u16::MAX, 0, (x * 10_000) as u16, u16::MAX])
        });
        let png = samples::encode(&DynamicImage::ImageRgba16(image), image::ImageFormat::Png);
        let decoded = decode(&png, &Limits::default(), &|size| size).unwrap();
        assert_eq!(decoded.format, ImageFormat::Png);
        let DynamicImage::ImageRgba8(pixels) = decoded.image else {
            panic!("expected RGBA8, got {:?}", decoded.image.color());
        };
        assert_eq!(pixels.get_pixel(0, 0), &Rgba([255, 0, 0, 255]));
    }

    #[test]
    fn palette_png_with_transparency_decodes_to_rgba() {
        let png = samples::palette_png_with_transparency();
        let decoded = decode(&png, &Limits::default(), &|size| size).unwrap();
        let DynamicImage::ImageRgba8(pixels) = decoded.image else {
            panic!("expected RGBA8, got {:?}", decoded.image.color());
        };
        assert_eq!(pixels.dimensions(), (2, 1));
        assert_eq!(pixels.get_pixel(0, 0), &Rgba([255, 0, 0, 255]));
        assert_eq!(pixels.get_pixel(1, 0)[3], 0, "transparent palette entry");
    }

    #[test]
    fn applies_the_exif_orientation() {
        // 40x20: left half red, right half blue. Orientation 6 = rotate 90° clockwise to display upright, so
        // the upright image is 20x40 with red on top.
        let source = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let jpeg = samples::with_exif_orientation(&samples::jpeg(&source), 6);
        let decoded = decode(&jpeg, &Limits::default(), &|size| size).unwrap();
        let pixels = decoded.image.to_rgb8();
        assert_eq!(pixels.dimensions(), (20, 40));
        let top = pixels.get_pixel(10, 5);
        let bottom = pixels.get_pixel(10, 35);
        assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
        assert!(
            bottom[2] > 200 && bottom[0] < 60,
            "bottom is blue: {bottom:?}"
        );
    }

    #[test]
    fn animated_gif_gives_its_first_frame() {
        let gif = samples::two_frame_gif();
        let decoded = decode(&gif, &Limits::default(), &|size| size).unwrap();
        assert_eq!(decoded.format, ImageFormat::Gif);
        let pixels = decoded.image.to_rgba8();
        assert_eq!(pixels.dimensions(), (3, 2));
        assert_eq!(
            pixels.get_pixel(0, 0),
            &Rgba([255, 0, 0, 255]),
            "frame 1 is red"
        );
    }
}
