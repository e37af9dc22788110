//! What an image's bytes say before any pixel is decoded: the format, sniffed from the signature (never from a
//! content type or a file name), and the size its header declares. The gateway checks every upload this way
//! before it queues the job; the transformer's decode reads the same header again under its own limits.

use std::io::Cursor;

use imagepipe_proto::v1::ImageInfo;

use crate::{EngineError, decode};

/// The format, size and length of the encoded image `bytes`, from its signature and header alone.
///
/// # Errors
/// [`EngineError::UnsupportedFormat`] when the bytes are not an image format the engine reads (no known
/// signature, or one of a format it cannot read); [`EngineError::DecodeFailed`] when the header is damaged or
/// truncated, or declares no pixels.
pub fn probe(bytes: &[u8]) -> Result<ImageInfo, EngineError> {
    let (guessed, format) = decode::image_format(bytes).map_err(|error| match error {
        EngineError::DecodeFailed(message) => EngineError::UnsupportedFormat(message),
        other => other,
    })?;
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), guessed)
        .into_dimensions()
        .map_err(|error| EngineError::DecodeFailed(error.to_string()))?;
    if width == 0 || height == 0 {
        return Err(EngineError::DecodeFailed(format!(
            "the header says {width}x{height} pixels"
        )));
    }
    Ok(ImageInfo {
        format: format as i32,
        width,
        height,
        bytes: bytes.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::ImageFormat;

    use super::*;
    use crate::samples;

    #[test]
    fn reads_format_and_size_from_the_header() {
        let png = samples::png(&samples::rgb(40, 30));
        let info = probe(&png).unwrap();
        assert_eq!(info.format(), ImageFormat::Png);
        assert_eq!((info.width, info.height), (40, 30));
        assert_eq!(info.bytes, png.len() as u64);
        let jpeg = samples::jpeg(&samples::rgb(64, 48));
        let info = probe(&jpeg).unwrap();
        assert_eq!(info.format(), ImageFormat::Jpeg);
        assert_eq!((info.width, info.height), (64, 48));
    }

    #[test]
    fn what_is_not_a_readable_image_is_unsupported() {
        let error = probe(b"hello, this is text").unwrap_err();
        assert!(
            matches!(error, EngineError::UnsupportedFormat(_)),
            "{error}"
        );
        // An ICO: a known image format the engine does not read.
        let error = probe(&[0, 0, 1, 0, 1, 0, 16, 16, 0, 0]).unwrap_err();
        assert!(
            matches!(error, EngineError::UnsupportedFormat(_)),
            "{error}"
        );
    }

    #[test]
    fn a_truncated_header_is_unreadable() {
        let png = samples::png(&samples::rgb(40, 30));
        let error = probe(&png[..12]).unwrap_err();
        assert!(matches!(error, EngineError::DecodeFailed(_)), "{error}");
    }
}
