//! A [`TransformSpec`] checked and resolved: what the engine will actually do.

use imagepipe_proto::v1::{Fit, ImageFormat, TransformSpec};

use crate::EngineError;

/// JPEG quality when the spec does not set one.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// Lossy WebP quality when the spec does not set one.
pub const DEFAULT_WEBP_QUALITY: u8 = 80;

/// A validated transform spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    /// Target width, 1..=[`MAX_SIDE`](imagepipe_proto::spec::MAX_SIDE).
    pub width: Option<u32>,
    /// Target height, 1..=[`MAX_SIDE`](imagepipe_proto::spec::MAX_SIDE).
    pub height: Option<u32>,
    /// How to fit into a width x height box (never `Unspecified`).
    pub fit: Fit,
    /// The output format asked for (always writable), or `None` for "like the input".
    pub format: Option<ImageFormat>,
    /// Encoder quality as asked, 1..=100 (`None`: each format's default).
    pub quality: Option<u8>,
}

impl Request {
    /// Checks `spec`.
    ///
    /// # Errors
    /// [`EngineError::InvalidSpec`] for anything [`imagepipe_proto::spec::check`] refuses: a side outside
    /// 1..=16384, a quality outside 1..=100, an unknown fit or format, an output format that cannot be written
    /// (gif, bmp, tiff), …
    pub(crate) fn from_spec(spec: &TransformSpec) -> Result<Self, EngineError> {
        imagepipe_proto::spec::check(spec).map_err(|error| EngineError::InvalidSpec(error.0))?;
        let fit = match spec.fit() {
            Fit::Unspecified => Fit::Contain,
            fit => fit,
        };
        let format = match spec.format() {
            ImageFormat::Unspecified => None,
            format => Some(format),
        };
        Ok(Self {
            width: spec.width,
            height: spec.height,
            fit,
            format,
            quality: spec.quality.and_then(|quality| u8::try_from(quality).ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::spec::MAX_SIDE;

    use super::*;

    fn spec() -> TransformSpec {
        TransformSpec::default()
    }

    #[test]
    fn empty_spec_keeps_everything() {
        let request = Request::from_spec(&spec()).unwrap();
        assert_eq!(
            request,
            Request {
                width: None,
                height: None,
                fit: Fit::Contain,
                format: None,
                quality: None,
            }
        );
    }

    #[test]
    fn rejects_sizes_out_of_range() {
        for (width, height) in [(Some(0), None), (None, Some(MAX_SIDE + 1))] {
            let error = Request::from_spec(&TransformSpec {
                width,
                height,
                ..spec()
            })
            .unwrap_err();
            assert_eq!(error.code(), "invalid_spec", "{error}");
        }
        let ok = Request::from_spec(&TransformSpec {
            width: Some(MAX_SIDE),
            ..spec()
        });
        assert!(ok.is_ok());
    }

    #[test]
    fn rejects_formats_that_cannot_be_written() {
        for format in [ImageFormat::Gif, ImageFormat::Bmp, ImageFormat::Tiff] {
            let error = Request::from_spec(&TransformSpec {
                format: format as i32,
                ..spec()
            })
            .unwrap_err();
            assert_eq!(error.code(), "invalid_spec");
            assert!(error.to_string().contains(format.name()), "{error}");
        }
        let error = Request::from_spec(&TransformSpec {
            format: 42,
            ..spec()
        })
        .unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
    }

    #[test]
    fn checks_quality_and_fit() {
        let request = Request::from_spec(&TransformSpec {
            quality: Some(40),
            fit: Fit::Cover as i32,
            ..spec()
        })
        .unwrap();
        assert_eq!((request.quality, request.fit), (Some(40), Fit::Cover));
        for quality in [0, 101] {
            assert!(
                Request::from_spec(&TransformSpec {
                    quality: Some(quality),
                    ..spec()
                })
                .is_err()
            );
        }
        assert!(Request::from_spec(&TransformSpec { fit: 9, ..spec() }).is_err());
    }
}
