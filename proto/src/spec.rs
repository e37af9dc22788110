//! What a valid [`TransformSpec`] and a valid list of [`Variant`]s are: the ranges every producer (the
//! gateway, the `convert` command) checks before sending, and the engine checks again on receipt, from one
//! definition.

use crate::v1::{
    Fit, Flip, Gravity, ImageFormat, TransformSpec, Variant, Watermark, watermark::Mark,
};

/// Most pixels per side of a requested result.
pub const MAX_SIDE: u32 = 16_384;

/// Blur sigma range, in pixels.
pub const BLUR_SIGMA: (f32, f32) = (0.1, 100.0);

/// Sharpen sigma range, in pixels.
pub const SHARPEN_SIGMA: (f32, f32) = (0.1, 10.0);

/// Watermark width range, as a fraction of the image's: from 1 % (smaller marks vanish) to the whole width.
pub const WATERMARK_SCALE: (f32, f32) = (0.01, 1.0);

/// Longest watermark text, in characters.
pub const MAX_WATERMARK_TEXT: usize = 200;

/// Largest encoded watermark image, in bytes.
pub const MAX_WATERMARK_IMAGE_BYTES: usize = 1024 * 1024;

/// Most variants one job may ask for.
pub const MAX_VARIANTS: usize = 16;

/// Longest variant name.
pub const MAX_VARIANT_NAME: usize = 32;

/// Names a variant may not take: they are the sub-resources of `GET /image/{id}/…`.
pub const RESERVED_VARIANT_NAMES: [&str; 4] = ["original", "status", "variants", "events"];

/// A spec or variant list outside what the contract allows, with a message for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(message.into()))
}

/// Checks every field of `spec` against the contract's ranges.
///
/// # Errors
/// [`SpecError`] naming the first field out of range: a side outside 1..=16384, quality outside 1..=100, an
/// unknown enum value, an output format that cannot be written (gif, bmp, tiff), a rotation other than
/// 0/90/180/270, a blur or sharpen sigma out of range, a colour above 0xFFFFFF, or a bad watermark.
pub fn check(spec: &TransformSpec) -> Result<(), SpecError> {
    for (name, side) in [("width", spec.width), ("height", spec.height)] {
        if let Some(pixels) = side
            && !(1..=MAX_SIDE).contains(&pixels)
        {
            return fail(format!(
                "{name} {pixels} is out of range; use 1 to {MAX_SIDE} pixels"
            ));
        }
    }
    if Fit::try_from(spec.fit).is_err() {
        return fail(format!(
            "unknown fit {}; use contain, cover, fill or inside",
            spec.fit
        ));
    }
    match ImageFormat::try_from(spec.format) {
        Ok(format) if format == ImageFormat::Unspecified || format.is_writable() => {}
        Ok(format) => {
            return fail(format!(
                "{} cannot be written; use jpeg, png or webp",
                format.name()
            ));
        }
        Err(_) => {
            return fail(format!(
                "unknown output format {}; use jpeg, png or webp",
                spec.format
            ));
        }
    }
    if let Some(quality) = spec.quality
        && !(1..=100).contains(&quality)
    {
        return fail(format!("quality {quality} is out of range; use 1 to 100"));
    }
    if Gravity::try_from(spec.gravity).is_err() {
        return fail(format!("unknown gravity {}", spec.gravity));
    }
    if !matches!(spec.rotate, 0 | 90 | 180 | 270) {
        return fail(format!(
            "rotate {} is not a right angle; use 0, 90, 180 or 270",
            spec.rotate
        ));
    }
    if Flip::try_from(spec.flip).is_err() {
        return fail(format!("unknown flip {}", spec.flip));
    }
    check_range("blur", spec.blur, BLUR_SIGMA)?;
    check_range("sharpen", spec.sharpen, SHARPEN_SIGMA)?;
    check_colour("background", spec.background)?;
    if let Some(watermark) = &spec.watermark {
        check_watermark(watermark)?;
    }
    Ok(())
}

fn check_range(name: &str, value: Option<f32>, (low, high): (f32, f32)) -> Result<(), SpecError> {
    match value {
        Some(value) if !(value.is_finite() && (low..=high).contains(&value)) => fail(format!(
            "{name} {value} is out of range; use a sigma from {low} to {high} pixels"
        )),
        _ => Ok(()),
    }
}

fn check_colour(name: &str, value: Option<u32>) -> Result<(), SpecError> {
    match value {
        Some(colour) if colour > 0xFF_FFFF => fail(format!(
            "{name} {colour:#x} is not a colour; use RRGGBB hex"
        )),
        _ => Ok(()),
    }
}

fn check_watermark(watermark: &Watermark) -> Result<(), SpecError> {
    match &watermark.mark {
        None => return fail("a watermark needs a text or an image"),
        Some(Mark::Text(text)) if text.trim().is_empty() => {
            return fail("the watermark text is empty");
        }
        Some(Mark::Text(text)) if text.chars().count() > MAX_WATERMARK_TEXT => {
            return fail(format!(
                "the watermark text is longer than {MAX_WATERMARK_TEXT} characters"
            ));
        }
        Some(Mark::Image(image)) if image.is_empty() => {
            return fail("the watermark image is empty");
        }
        Some(Mark::Image(image)) if image.len() > MAX_WATERMARK_IMAGE_BYTES => {
            return fail(format!(
                "the watermark image is {} bytes; at most {MAX_WATERMARK_IMAGE_BYTES} are accepted",
                image.len()
            ));
        }
        Some(_) => {}
    }
    if Gravity::try_from(watermark.position).is_err() {
        return fail(format!("unknown watermark position {}", watermark.position));
    }
    if let Some(opacity) = watermark.opacity
        && !(opacity.is_finite() && (0.0..=1.0).contains(&opacity))
    {
        return fail(format!(
            "watermark opacity {opacity} is out of range; use 0 to 1"
        ));
    }
    if let Some(scale) = watermark.scale
        && !(scale.is_finite() && (WATERMARK_SCALE.0..=WATERMARK_SCALE.1).contains(&scale))
    {
        let (low, high) = WATERMARK_SCALE;
        return fail(format!(
            "watermark scale {scale} is out of range; use {low} to {high}"
        ));
    }
    if let Some(margin) = watermark.margin
        && margin > MAX_SIDE
    {
        return fail(format!(
            "watermark margin {margin} is out of range; use 0 to {MAX_SIDE} pixels"
        ));
    }
    check_colour("watermark color", watermark.color)
}

/// Whether `name` may name a variant: 1-32 of `a-z`, `0-9`, `-`, `_`, and not reserved.
#[must_use]
pub fn is_variant_name(name: &str) -> bool {
    (1..=MAX_VARIANT_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !RESERVED_VARIANT_NAMES.contains(&name)
}

/// Checks a job's variants: at most 16, valid unique names, each spec valid (a variant without a spec names a
/// preset, which only the transformer can resolve).
///
/// # Errors
/// [`SpecError`] naming the first problem.
pub fn check_variants(variants: &[Variant]) -> Result<(), SpecError> {
    if variants.len() > MAX_VARIANTS {
        return fail(format!(
            "{} variants asked for; at most {MAX_VARIANTS} per job",
            variants.len()
        ));
    }
    for (index, variant) in variants.iter().enumerate() {
        if !is_variant_name(&variant.name) {
            return fail(format!(
                "`{}` cannot name a variant; use 1 to {MAX_VARIANT_NAME} of a-z, 0-9, - and _, and not {}",
                variant.name,
                RESERVED_VARIANT_NAMES.join(", ")
            ));
        }
        if variants[..index]
            .iter()
            .any(|other| other.name == variant.name)
        {
            return fail(format!("variant `{}` is named twice", variant.name));
        }
        if let Some(spec) = &variant.spec {
            check(spec).map_err(|SpecError(message)| {
                SpecError(format!("variant `{}`: {message}", variant.name))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TransformSpec {
        TransformSpec::default()
    }

    fn message(spec: &TransformSpec) -> String {
        check(spec).unwrap_err().0
    }

    #[test]
    fn the_empty_spec_is_valid() {
        assert_eq!(check(&spec()), Ok(()));
    }

    #[test]
    fn sides_and_quality_have_ranges() {
        assert!(
            message(&TransformSpec {
                width: Some(0),
                ..spec()
            })
            .contains("width 0")
        );
        assert!(
            message(&TransformSpec {
                height: Some(MAX_SIDE + 1),
                ..spec()
            })
            .contains("height")
        );
        assert!(
            check(&TransformSpec {
                width: Some(MAX_SIDE),
                ..spec()
            })
            .is_ok()
        );
        for quality in [0, 101] {
            assert!(
                message(&TransformSpec {
                    quality: Some(quality),
                    ..spec()
                })
                .contains("quality")
            );
        }
    }

    #[test]
    fn unknown_enums_and_unwritable_formats_are_refused() {
        assert!(message(&TransformSpec { fit: 9, ..spec() }).contains("fit"));
        assert!(
            message(&TransformSpec {
                format: 42,
                ..spec()
            })
            .contains("format")
        );
        let gif = TransformSpec {
            format: ImageFormat::Gif as i32,
            ..spec()
        };
        assert!(message(&gif).contains("gif cannot be written"));
        assert!(
            message(&TransformSpec {
                gravity: 10,
                ..spec()
            })
            .contains("gravity")
        );
        assert!(message(&TransformSpec { flip: 4, ..spec() }).contains("flip"));
    }

    #[test]
    fn rotation_is_a_right_angle() {
        for rotate in [0, 90, 180, 270] {
            assert!(check(&TransformSpec { rotate, ..spec() }).is_ok());
        }
        assert!(
            message(&TransformSpec {
                rotate: 45,
                ..spec()
            })
            .contains("right angle")
        );
    }

    #[test]
    fn filters_and_colours_have_ranges() {
        assert!(
            check(&TransformSpec {
                blur: Some(2.5),
                sharpen: Some(1.0),
                ..spec()
            })
            .is_ok()
        );
        for blur in [0.0, -1.0, 101.0, f32::NAN, f32::INFINITY] {
            assert!(
                message(&TransformSpec {
                    blur: Some(blur),
                    ..spec()
                })
                .contains("blur")
            );
        }
        assert!(
            message(&TransformSpec {
                sharpen: Some(11.0),
                ..spec()
            })
            .contains("sharpen")
        );
        assert!(
            check(&TransformSpec {
                background: Some(0xFF_FFFF),
                ..spec()
            })
            .is_ok()
        );
        assert!(
            message(&TransformSpec {
                background: Some(0x100_0000),
                ..spec()
            })
            .contains("background")
        );
    }

    #[test]
    fn watermarks_need_a_mark_in_range() {
        let with = |watermark: Watermark| TransformSpec {
            watermark: Some(watermark),
            ..spec()
        };
        let text = |text: &str| Watermark {
            mark: Some(Mark::Text(text.to_owned())),
            ..Watermark::default()
        };
        assert!(check(&with(text("© imagepipe"))).is_ok());
        assert!(message(&with(Watermark::default())).contains("needs a text or an image"));
        assert!(message(&with(text("  "))).contains("empty"));
        assert!(message(&with(text(&"x".repeat(MAX_WATERMARK_TEXT + 1)))).contains("longer"));
        let image = Watermark {
            mark: Some(Mark::Image(vec![0; MAX_WATERMARK_IMAGE_BYTES + 1].into())),
            ..Watermark::default()
        };
        assert!(message(&with(image)).contains("bytes"));
        let opaque = Watermark {
            opacity: Some(1.5),
            ..text("a")
        };
        assert!(message(&with(opaque)).contains("opacity"));
        let scaled = Watermark {
            scale: Some(0.0),
            ..text("a")
        };
        assert!(message(&with(scaled)).contains("scale"));
        let coloured = Watermark {
            color: Some(0x1FF_FFFF),
            ..text("a")
        };
        assert!(message(&with(coloured)).contains("color"));
    }

    #[test]
    fn variant_names_are_checked() {
        for good in ["thumb", "x", "w-800_2", &"a".repeat(MAX_VARIANT_NAME)] {
            assert!(is_variant_name(good), "{good}");
        }
        for bad in [
            "",
            "Thumb",
            "a b",
            "é",
            "original",
            "status",
            &"a".repeat(MAX_VARIANT_NAME + 1),
        ] {
            assert!(!is_variant_name(bad), "{bad}");
        }
    }

    #[test]
    fn variant_lists_are_checked() {
        let variant = |name: &str, spec: Option<TransformSpec>| Variant {
            name: name.to_owned(),
            spec,
        };
        let ok = [variant("thumb", Some(spec())), variant("medium", None)];
        assert!(check_variants(&ok).is_ok());
        let twice = [variant("a", None), variant("a", None)];
        assert!(check_variants(&twice).unwrap_err().0.contains("twice"));
        let bad_spec = [variant(
            "a",
            Some(TransformSpec {
                rotate: 1,
                ..spec()
            }),
        )];
        assert!(
            check_variants(&bad_spec)
                .unwrap_err()
                .0
                .starts_with("variant `a`")
        );
        let many: Vec<_> = (0..=MAX_VARIANTS)
            .map(|i| variant(&format!("v{i}"), None))
            .collect();
        assert!(check_variants(&many).unwrap_err().0.contains("at most"));
    }
}
