//! The cheap checks an upload passes before it is queued: the format sniffed from its bytes (never from the
//! client's content type or file name) and its dimensions read from the header, without decoding pixels. The
//! engine reads the header ([`imagepipe_engine::probe`]); the gateway holds it to its own pixel limit.

use imagepipe_engine::EngineError;
use imagepipe_proto::v1::ImageInfo;

use crate::error::ApiError;

/// Sniffs `bytes` and reads the image header.
///
/// # Errors
/// - [`ApiError::UnsupportedImageFormat`]: not a format imagepipe reads;
/// - [`ApiError::UnreadableImage`]: a known format whose header is damaged or truncated;
/// - [`ApiError::TooManyPixels`]: more than `max_pixels` pixels.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<ImageInfo, ApiError> {
    let info = imagepipe_engine::probe(bytes).map_err(|error| match error {
        EngineError::UnsupportedFormat(_) => ApiError::UnsupportedImageFormat,
        other => ApiError::UnreadableImage(other.detail().to_owned()),
    })?;
    if u64::from(info.width) * u64::from(info.height) > max_pixels {
        return Err(ApiError::TooManyPixels {
            width: info.width,
            height: info.height,
            limit: max_pixels,
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use imagepipe_proto::v1::ImageFormat;

    use super::*;

    /// A `width` x `height` gradient encoded as `format`.
    fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn reads_format_and_dimensions_from_the_bytes() {
        let png = encoded(40, 30, image::ImageFormat::Png);
        let info = probe(&png, 10_000).unwrap();
        assert_eq!(info.format(), ImageFormat::Png);
        assert_eq!((info.width, info.height), (40, 30));
        assert_eq!(info.bytes, png.len() as u64);
        let jpeg = encoded(64, 48, image::ImageFormat::Jpeg);
        let info = probe(&jpeg, 10_000).unwrap();
        assert_eq!(info.format(), ImageFormat::Jpeg);
        assert_eq!((info.width, info.height), (64, 48));
    }

    #[test]
    fn rejects_what_is_not_an_image() {
        let error = probe(b"hello, this is text", 10_000).unwrap_err();
        assert_eq!(error.code(), "unsupported_image_format");
        assert_eq!(error.status(), 415);
    }

    #[test]
    fn rejects_a_truncated_header() {
        let png = encoded(40, 30, image::ImageFormat::Png);
        let error = probe(&png[..12], 10_000).unwrap_err();
        assert_eq!(error.code(), "unreadable_image");
        assert_eq!(error.status(), 422);
    }

    #[test]
    fn rejects_too_many_pixels() {
        let png = encoded(40, 30, image::ImageFormat::Png);
        let error = probe(&png, 1_000).unwrap_err();
        assert_eq!(error.code(), "image_too_large");
    }
}
