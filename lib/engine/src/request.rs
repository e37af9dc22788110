//! A [`TransformSpec`] checked and resolved: what the engine will actually do.

use image::Rgb;
use imagepipe_proto::v1::{Fit, Flip, Gravity, ImageFormat, TransformSpec, Watermark};

use crate::EngineError;

/// JPEG quality when the spec does not set one.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// Lossy WebP quality when the spec does not set one.
pub const DEFAULT_WEBP_QUALITY: u8 = 80;

/// What transparent pixels are flattened onto for JPEG when the spec does not say: white, what a browser
/// shows them on.
pub(crate) const DEFAULT_BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);

/// A clockwise rotation by a right angle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// Upright as decoded.
    #[default]
    None,
    /// A quarter turn clockwise.
    Clockwise90,
    /// Upside down.
    Half,
    /// Three quarter turns clockwise (a quarter turn anticlockwise).
    Clockwise270,
}

impl Rotation {
    /// The rotation by `degrees` clockwise, if it is a multiple of 90 below 360.
    pub(crate) fn from_degrees(degrees: u32) -> Option<Self> {
        match degrees {
            0 => Some(Self::None),
            90 => Some(Self::Clockwise90),
            180 => Some(Self::Half),
            270 => Some(Self::Clockwise270),
            _ => None,
        }
    }

    /// Whether the rotation exchanges width and height (a quarter or three quarter turn).
    pub(crate) fn swaps_sides(self) -> bool {
        matches!(self, Self::Clockwise90 | Self::Clockwise270)
    }

    /// The size of a `(width, height)` image after this rotation (the rotation is its own inverse on sizes).
    pub(crate) fn turn(self, (width, height): (u32, u32)) -> (u32, u32) {
        if self.swaps_sides() {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// A validated transform spec, its defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// Target width, 1..=[`MAX_SIDE`](imagepipe_proto::spec::MAX_SIDE), of the rotated result.
    pub width: Option<u32>,
    /// Target height, 1..=[`MAX_SIDE`](imagepipe_proto::spec::MAX_SIDE), of the rotated result.
    pub height: Option<u32>,
    /// How to fit into a width x height box (never `Unspecified`).
    pub fit: Fit,
    /// The output format asked for (always writable), or `None` for "like the input".
    pub format: Option<ImageFormat>,
    /// Encoder quality as asked, 1..=100 (`None`: each format's default).
    pub quality: Option<u8>,
    /// Which part a `cover` crop keeps, in the result's orientation (never `Unspecified`: `Center`).
    pub gravity: Gravity,
    /// Clockwise rotation after the EXIF orientation.
    pub rotation: Rotation,
    /// Mirroring after the rotation (`Unspecified`: none).
    pub flip: Flip,
    /// Convert the result to shades of grey (keeping alpha).
    pub grayscale: bool,
    /// Gaussian blur sigma in result pixels, 0.1..=100.
    pub blur: Option<f32>,
    /// Unsharp-mask sigma in result pixels, 0.1..=10.
    pub sharpen: Option<f32>,
    /// What transparent pixels are flattened onto for JPEG.
    pub background: Rgb<u8>,
    /// JPEG: write a progressive JPEG.
    pub progressive: bool,
    /// WebP: write lossless (asked for, or quality 100).
    pub lossless: bool,
    /// A mark drawn over the finished result (by `engine/watermark.rs`).
    pub watermark: Option<Watermark>,
}

impl Request {
    /// Checks `spec` and resolves its defaults.
    ///
    /// # Errors
    /// [`EngineError::InvalidSpec`] for anything [`imagepipe_proto::spec::check`] refuses: a side outside
    /// 1..=16384, a quality outside 1..=100, an unknown enum value, an output format that cannot be written
    /// (gif, bmp, tiff), a rotation that is not a right angle, a sigma or colour out of range, a bad
    /// watermark, …
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
        let gravity = match spec.gravity() {
            Gravity::Unspecified => Gravity::Center,
            gravity => gravity,
        };
        let rotation = Rotation::from_degrees(spec.rotate).ok_or_else(|| {
            EngineError::InvalidSpec(format!("rotate {} is not a right angle", spec.rotate))
        })?;
        let quality = spec.quality.and_then(|quality| u8::try_from(quality).ok());
        Ok(Self {
            width: spec.width,
            height: spec.height,
            fit,
            format,
            quality,
            gravity,
            rotation,
            flip: spec.flip(),
            grayscale: spec.grayscale,
            blur: spec.blur,
            sharpen: spec.sharpen,
            background: spec.background.map_or(DEFAULT_BACKGROUND, |rgb| {
                let [_, red, green, blue] = rgb.to_be_bytes();
                Rgb([red, green, blue])
            }),
            progressive: spec.progressive,
            lossless: spec.lossless || quality == Some(100),
            watermark: spec.watermark.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::{spec::MAX_SIDE, v1::watermark::Mark};

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
                gravity: Gravity::Center,
                rotation: Rotation::None,
                flip: Flip::Unspecified,
                grayscale: false,
                blur: None,
                sharpen: None,
                background: Rgb([255, 255, 255]),
                progressive: false,
                lossless: false,
                watermark: None,
            }
        );
    }

    #[test]
    fn resolves_every_operation() {
        let watermark = imagepipe_proto::v1::Watermark {
            mark: Some(Mark::Text("© me".into())),
            ..imagepipe_proto::v1::Watermark::default()
        };
        let request = Request::from_spec(&TransformSpec {
            gravity: Gravity::SouthEast as i32,
            rotate: 270,
            flip: Flip::Both as i32,
            grayscale: true,
            blur: Some(2.5),
            sharpen: Some(0.5),
            background: Some(0x12_34_56),
            progressive: true,
            lossless: true,
            watermark: Some(watermark.clone()),
            ..spec()
        })
        .unwrap();
        assert_eq!(request.gravity, Gravity::SouthEast);
        assert_eq!(request.rotation, Rotation::Clockwise270);
        assert_eq!(request.flip, Flip::Both);
        assert!(request.grayscale && request.progressive && request.lossless);
        assert_eq!((request.blur, request.sharpen), (Some(2.5), Some(0.5)));
        assert_eq!(request.background, Rgb([0x12, 0x34, 0x56]));
        assert_eq!(request.watermark, Some(watermark));
    }

    #[test]
    fn quality_100_means_lossless() {
        let request = Request::from_spec(&TransformSpec {
            quality: Some(100),
            ..spec()
        })
        .unwrap();
        assert!(request.lossless);
        let request = Request::from_spec(&TransformSpec {
            quality: Some(99),
            ..spec()
        })
        .unwrap();
        assert!(!request.lossless);
    }

    #[test]
    fn rotations_are_right_angles() {
        for (degrees, rotation, swaps) in [
            (0, Rotation::None, false),
            (90, Rotation::Clockwise90, true),
            (180, Rotation::Half, false),
            (270, Rotation::Clockwise270, true),
        ] {
            assert_eq!(Rotation::from_degrees(degrees), Some(rotation));
            assert_eq!(rotation.swaps_sides(), swaps);
            let turned = if swaps { (20, 10) } else { (10, 20) };
            assert_eq!(rotation.turn((10, 20)), turned);
        }
        assert_eq!(Rotation::from_degrees(360), None);
        let error = Request::from_spec(&TransformSpec {
            rotate: 45,
            ..spec()
        })
        .unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
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
