//! A job's options as clients send them (query string, form fields or JSON members): the transform options of
//! [`imagepipe_proto::options`], a `variants` list, and a watermark image, validated into the contract's
//! [`TransformSpec`] and [`Variant`]s.

use bytes::Bytes;
use imagepipe_proto::{
    options, spec,
    v1::{TransformSpec, Variant},
};

use crate::error::ApiError;

/// The parameter naming a job's variants.
pub const VARIANTS: &str = "variants";

/// The form field or JSON member carrying a watermark image.
pub const WATERMARK_IMAGE: &str = "watermark_image";

/// Options gathered from a request, checked as a whole by [`JobOptions::finish`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOptions {
    spec: TransformSpec,
    variants: Option<String>,
}

/// A job's checked options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSpec {
    /// The job's own spec; with variants, the base every compact variant started from.
    pub spec: TransformSpec,
    /// The named outputs; empty: one output made by `spec`.
    pub variants: Vec<Variant>,
}

impl JobOptions {
    /// Whether `name` is an option of a job (other parameters, like `filename`, are the caller's).
    #[must_use]
    pub fn is_option(name: &str) -> bool {
        options::is_option(name) || name == VARIANTS
    }

    /// Sets option `name` from its text `value`. An empty value leaves the option as it is.
    ///
    /// # Errors
    /// [`ApiError::InvalidOption`] for an unknown name or a value that is not what the option takes.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        if name == VARIANTS {
            if !value.trim().is_empty() {
                self.variants = Some(value.to_owned());
            }
            return Ok(());
        }
        options::set(&mut self.spec, name, value).map_err(|error| {
            if options::is_option(name) {
                ApiError::InvalidOption(error.0)
            } else {
                ApiError::InvalidOption(format!(
                    "unknown option `{name}`; the options are {}, {VARIANTS}, {WATERMARK_IMAGE} and filename",
                    options::NAMES.join(", ")
                ))
            }
        })
    }

    /// Makes `image` the watermark.
    pub fn set_watermark_image(&mut self, image: Bytes) {
        options::set_watermark_image(&mut self.spec, image);
    }

    /// Options from `(name, value)` pairs, later pairs overriding earlier ones.
    ///
    /// # Errors
    /// As [`JobOptions::set`].
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut options = Self::default();
        for (name, value) in pairs {
            options.set(name, value)?;
        }
        Ok(options)
    }

    /// Checks the options as a whole: the spec (watermark settings without a mark dropped), then the variants
    /// parsed on top of it.
    ///
    /// # Errors
    /// [`ApiError::InvalidOption`] saying what is wrong.
    pub fn finish(mut self) -> Result<JobSpec, ApiError> {
        options::drop_idle_watermark(&mut self.spec);
        spec::check(&self.spec).map_err(|error| ApiError::InvalidOption(error.0))?;
        let variants = match &self.variants {
            Some(text) => options::parse_variants(text, &self.spec)
                .map_err(|error| ApiError::InvalidOption(error.0))?,
            None => Vec::new(),
        };
        Ok(JobSpec {
            spec: self.spec,
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::{Fit, Gravity, ImageFormat, watermark::Mark};

    use super::*;

    #[test]
    fn parses_options_and_variants() {
        let job = JobOptions::from_pairs([
            ("width", "320"),
            ("fit", "COVER"),
            ("gravity", "north"),
            ("format", "jpg"),
            ("variants", "thumb:64x64,big:1000w.webp,preset"),
        ])
        .unwrap()
        .finish()
        .unwrap();
        assert_eq!(job.spec.width, Some(320));
        assert_eq!(job.spec.fit(), Fit::Cover);
        assert_eq!(job.spec.gravity(), Gravity::North);
        assert_eq!(job.spec.format(), ImageFormat::Jpeg);
        let names: Vec<_> = job.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["thumb", "big", "preset"]);
        let big = job.variants[1].spec.clone().unwrap();
        assert_eq!(
            (big.width, big.format(), big.fit()),
            (Some(1000), ImageFormat::Webp, Fit::Cover)
        );
    }

    #[test]
    fn empty_values_leave_defaults() {
        let job = JobOptions::from_pairs([("width", ""), ("variants", " ")])
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(job, JobSpec::default());
    }

    #[test]
    fn watermark_settings_place_a_mark_only_with_one() {
        // Without a text or an image, the settings place nothing and are ignored.
        let options = JobOptions::from_pairs([("watermark_opacity", "0.5")]).unwrap();
        assert_eq!(options.clone().finish().unwrap().spec.watermark, None);
        let mut with_image = options;
        with_image.set_watermark_image(Bytes::from_static(b"png bytes"));
        let job = with_image.finish().unwrap();
        assert!(matches!(
            job.spec.watermark.unwrap().mark,
            Some(Mark::Image(_))
        ));
    }

    #[test]
    fn rejects_bad_values_with_a_clear_message() {
        for (name, value, needle) in [
            ("width", "0", "from 1 to 16384"),
            ("fit", "stretch", "contain, cover, fill or inside"),
            ("format", "gif", "jpeg, png or webp"),
            ("rotate", "45", "0, 90, 180 or 270"),
            ("widht", "10", "unknown option `widht`"),
        ] {
            let error = JobOptions::from_pairs([(name, value)]).unwrap_err();
            assert_eq!(error.code(), "invalid_option");
            assert!(error.to_string().contains(needle), "{error}");
        }
        let error = JobOptions::from_pairs([("variants", "a:1,a:2")])
            .unwrap()
            .finish()
            .unwrap_err();
        assert_eq!(error.code(), "invalid_option");
        assert!(error.to_string().contains("named twice"), "{error}");
    }
}
