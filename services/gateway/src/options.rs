//! Transform options as clients send them (query string, form fields or JSON members), validated into the
//! contract's `TransformSpec`.

use imagepipe_proto::v1::{Fit, ImageFormat, TransformSpec};

use crate::error::ApiError;

/// Largest width or height a client may ask for.
pub const MAX_DIMENSION: u32 = 16_384;

/// The option names, for error messages.
const KNOWN: &str = "width, height, fit, format, quality";

/// Validated transform options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformOptions {
    /// Target width.
    pub width: Option<u32>,
    /// Target height.
    pub height: Option<u32>,
    /// How to fit the box.
    pub fit: Fit,
    /// Output format; unspecified: same as the input where writable, else JPEG.
    pub format: ImageFormat,
    /// Lossy encoder quality, 1-100.
    pub quality: Option<u32>,
}

impl TransformOptions {
    /// Whether `name` is a transform option (other parameters, like `filename`, are handled by the caller).
    #[must_use]
    pub fn is_option(name: &str) -> bool {
        matches!(name, "width" | "height" | "fit" | "format" | "quality")
    }

    /// Sets option `name` from its text `value`. An empty value leaves the option unset.
    ///
    /// # Errors
    /// [`ApiError::InvalidOption`] for an unknown name or a value out of range.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        match name {
            "width" => self.width = Some(dimension(name, value)?),
            "height" => self.height = Some(dimension(name, value)?),
            "fit" => {
                self.fit = Fit::from_name(value).ok_or_else(|| {
                    ApiError::InvalidOption(format!(
                        "fit must be contain, cover or fill, not `{value}`"
                    ))
                })?;
            }
            "format" => {
                let format = ImageFormat::from_name(value)
                    .filter(|format| format.is_writable())
                    .ok_or_else(|| {
                        ApiError::InvalidOption(format!(
                            "format must be jpeg, png or webp, not `{value}`"
                        ))
                    })?;
                self.format = format;
            }
            "quality" => {
                let quality = value
                    .parse::<u32>()
                    .ok()
                    .filter(|quality| (1..=100).contains(quality))
                    .ok_or_else(|| {
                        ApiError::InvalidOption(format!(
                            "quality must be a whole number from 1 to 100, not `{value}`"
                        ))
                    })?;
                self.quality = Some(quality);
            }
            _ => {
                return Err(ApiError::InvalidOption(format!(
                    "unknown option `{name}`; the options are {KNOWN}"
                )));
            }
        }
        Ok(())
    }

    /// Options from `(name, value)` pairs, later pairs overriding earlier ones.
    ///
    /// # Errors
    /// As [`TransformOptions::set`].
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut options = Self::default();
        for (name, value) in pairs {
            options.set(name, value)?;
        }
        Ok(options)
    }

    /// The contract's spec for these options.
    #[must_use]
    pub fn to_spec(&self) -> TransformSpec {
        TransformSpec {
            width: self.width,
            height: self.height,
            fit: self.fit as i32,
            format: self.format as i32,
            quality: self.quality,
        }
    }
}

fn dimension(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|size| (1..=MAX_DIMENSION).contains(size))
        .ok_or_else(|| {
            ApiError::InvalidOption(format!(
                "{name} must be a whole number of pixels from 1 to {MAX_DIMENSION}, not `{value}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option() {
        let options = TransformOptions::from_pairs([
            ("width", "320"),
            ("height", " 200 "),
            ("fit", "COVER"),
            ("format", "jpg"),
            ("quality", "70"),
        ])
        .unwrap();
        assert_eq!(
            options,
            TransformOptions {
                width: Some(320),
                height: Some(200),
                fit: Fit::Cover,
                format: ImageFormat::Jpeg,
                quality: Some(70),
            }
        );
        let spec = options.to_spec();
        assert_eq!(spec.fit(), Fit::Cover);
        assert_eq!(spec.format(), ImageFormat::Jpeg);
    }

    #[test]
    fn empty_values_leave_defaults() {
        let options = TransformOptions::from_pairs([("width", ""), ("format", "")]).unwrap();
        assert_eq!(options, TransformOptions::default());
        assert_eq!(options.to_spec().fit(), Fit::Unspecified);
    }

    #[test]
    fn rejects_bad_values_with_a_clear_message() {
        for (name, value, needle) in [
            ("width", "0", "from 1 to 16384"),
            ("width", "abc", "whole number"),
            ("height", "99999", "from 1 to 16384"),
            ("fit", "stretch", "contain, cover or fill"),
            ("format", "gif", "jpeg, png or webp"),
            ("quality", "101", "1 to 100"),
            ("widht", "10", "unknown option `widht`"),
        ] {
            let error = TransformOptions::from_pairs([(name, value)]).unwrap_err();
            assert_eq!(error.code(), "invalid_option");
            assert!(error.to_string().contains(needle), "{error}");
        }
    }
}
