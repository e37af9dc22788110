//! The text form of a [`TransformSpec`] and of a variant list, as people write them: query parameters, form
//! fields, JSON members and command-line flags all go through [`set`] and [`parse_variants`], so every entry
//! point accepts the same names and values and says the same thing about a bad one.
//!
//! Options: `width`, `height`, `fit`, `format`, `quality`, `gravity`, `progressive`, `rotate`, `flip`,
//! `grayscale`, `blur`, `sharpen`, `background`, `lossless`, `watermark` (text), `watermark_position`,
//! `watermark_opacity`, `watermark_margin`, `watermark_scale`, `watermark_color`.
//!
//! Variants, compact: `thumb:256x256,medium:1280x1280,webp:800w.webp,tall:x600.png,logo` — each item is a
//! name, then after `:` a size (`WxH`, `W`/`Ww`/`Wx` for a width, `xH`/`Hh` for a height) and an optional
//! `.format`; the other options come from the job's own. A bare name asks for the transformer's preset.
//! Variants, JSON: `[{"name": "thumb", "width": 256, "fit": "cover"}, {"name": "medium"}]` — each member
//! but `name` is an option, on top of the job's; an object with only a name asks for the preset.

use crate::{
    spec::{self, SpecError},
    v1::{Fit, Flip, Gravity, ImageFormat, TransformSpec, Variant, Watermark, watermark::Mark},
};

/// Every option name [`set`] knows.
pub const NAMES: [&str; 20] = [
    "width",
    "height",
    "fit",
    "format",
    "quality",
    "gravity",
    "progressive",
    "rotate",
    "flip",
    "grayscale",
    "blur",
    "sharpen",
    "background",
    "lossless",
    "watermark",
    "watermark_position",
    "watermark_opacity",
    "watermark_margin",
    "watermark_scale",
    "watermark_color",
];

/// Whether `name` is a transform option (other parameters, like `filename` or `variants`, are the caller's).
#[must_use]
pub fn is_option(name: &str) -> bool {
    NAMES.contains(&name)
}

fn invalid<T>(message: String) -> Result<T, SpecError> {
    Err(SpecError(message))
}

/// Sets option `name` of `spec` from its text `value`. An empty value leaves the option as it is. Only the
/// value's syntax and range are checked here; [`spec::check`] checks the whole spec.
///
/// # Errors
/// [`SpecError`] for an unknown name or a value that is not what the option takes.
pub fn set(spec: &mut TransformSpec, name: &str, value: &str) -> Result<(), SpecError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    match name {
        "width" => spec.width = Some(side(name, value)?),
        "height" => spec.height = Some(side(name, value)?),
        "fit" => {
            spec.fit = Fit::from_name(value).ok_or_else(|| {
                SpecError(format!(
                    "fit must be contain, cover, fill or inside, not `{value}`"
                ))
            })? as i32;
        }
        "format" => {
            spec.format = ImageFormat::from_name(value)
                .filter(|format| format.is_writable())
                .ok_or_else(|| {
                    SpecError(format!("format must be jpeg, png or webp, not `{value}`"))
                })? as i32;
        }
        "quality" => {
            spec.quality = Some(
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|quality| (1..=100).contains(quality))
                    .ok_or_else(|| {
                        SpecError(format!(
                            "quality must be a whole number from 1 to 100, not `{value}`"
                        ))
                    })?,
            );
        }
        "gravity" => spec.gravity = gravity(name, value)? as i32,
        "progressive" => spec.progressive = flag(name, value)?,
        "rotate" => {
            spec.rotate = value
                .parse::<u32>()
                .ok()
                .filter(|degrees| matches!(degrees, 0 | 90 | 180 | 270))
                .ok_or_else(|| {
                    SpecError(format!("rotate must be 0, 90, 180 or 270, not `{value}`"))
                })?;
        }
        "flip" => {
            spec.flip = Flip::from_name(value).ok_or_else(|| {
                SpecError(format!(
                    "flip must be none, horizontal, vertical or both, not `{value}`"
                ))
            })? as i32;
        }
        "grayscale" => spec.grayscale = flag(name, value)?,
        "blur" => spec.blur = Some(sigma(name, value, spec::BLUR_SIGMA)?),
        "sharpen" => spec.sharpen = Some(sigma(name, value, spec::SHARPEN_SIGMA)?),
        "background" => spec.background = Some(colour(name, value)?),
        "lossless" => spec.lossless = flag(name, value)?,
        "watermark" => {
            watermark(spec).mark = Some(Mark::Text(value.to_owned()));
        }
        "watermark_position" => watermark(spec).position = gravity(name, value)? as i32,
        "watermark_opacity" => watermark(spec).opacity = Some(fraction(name, value, true)?),
        "watermark_scale" => watermark(spec).scale = Some(fraction(name, value, false)?),
        "watermark_margin" => {
            watermark(spec).margin = Some(
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|margin| *margin <= spec::MAX_SIDE)
                    .ok_or_else(|| {
                        SpecError(format!(
                            "watermark_margin must be a whole number of pixels from 0 to {}, not `{value}`",
                            spec::MAX_SIDE
                        ))
                    })?,
            );
        }
        "watermark_color" => watermark(spec).color = Some(colour(name, value)?),
        _ => {
            return invalid(format!(
                "unknown option `{name}`; the options are {}",
                NAMES.join(", ")
            ));
        }
    }
    Ok(())
}

/// Makes `image` (encoded) the watermark of `spec`, keeping its position, opacity and the like.
pub fn set_watermark_image(spec: &mut TransformSpec, image: bytes::Bytes) {
    watermark(spec).mark = Some(Mark::Image(image));
}

fn watermark(spec: &mut TransformSpec) -> &mut Watermark {
    spec.watermark.get_or_insert_with(Watermark::default)
}

fn side(name: &str, value: &str) -> Result<u32, SpecError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|pixels| (1..=spec::MAX_SIDE).contains(pixels))
        .ok_or_else(|| {
            SpecError(format!(
                "{name} must be a whole number of pixels from 1 to {}, not `{value}`",
                spec::MAX_SIDE
            ))
        })
}

fn gravity(name: &str, value: &str) -> Result<Gravity, SpecError> {
    Gravity::from_name(value).ok_or_else(|| {
        SpecError(format!(
            "{name} must be one of {}, not `{value}`",
            Gravity::ALL.map(Gravity::name).join(", ")
        ))
    })
}

fn flag(name: &str, value: &str) -> Result<bool, SpecError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => invalid(format!("{name} must be true or false, not `{value}`")),
    }
}

fn sigma(name: &str, value: &str, (low, high): (f32, f32)) -> Result<f32, SpecError> {
    value
        .parse::<f32>()
        .ok()
        .filter(|sigma| sigma.is_finite() && (low..=high).contains(sigma))
        .ok_or_else(|| {
            SpecError(format!(
                "{name} must be a sigma from {low} to {high} pixels, not `{value}`"
            ))
        })
}

fn fraction(name: &str, value: &str, zero_allowed: bool) -> Result<f32, SpecError> {
    value
        .parse::<f32>()
        .ok()
        .filter(|fraction| {
            fraction.is_finite()
                && *fraction <= 1.0
                && (*fraction > 0.0 || (zero_allowed && *fraction == 0.0))
        })
        .ok_or_else(|| {
            let low = if zero_allowed { "from 0" } else { "above 0" };
            SpecError(format!("{name} must be a number {low} to 1, not `{value}`"))
        })
}

/// `RRGGBB` or `#RRGGBB` as 0xRRGGBB.
fn colour(name: &str, value: &str) -> Result<u32, SpecError> {
    let digits = value.strip_prefix('#').unwrap_or(value);
    if digits.len() == 6
        && digits.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(colour) = u32::from_str_radix(digits, 16)
    {
        return Ok(colour);
    }
    invalid(format!(
        "{name} must be a colour as RRGGBB hex (e.g. ffffff), not `{value}`"
    ))
}

/// The text form of a colour: `rrggbb`.
#[must_use]
pub fn colour_name(colour: u32) -> String {
    format!("{colour:06x}")
}

/// Parses a variant list, compact or JSON (see the module docs), each variant starting from `base`'s options,
/// and checks it with [`spec::check_variants`].
///
/// # Errors
/// [`SpecError`] for a list that does not parse, or a variant that is not valid.
pub fn parse_variants(text: &str, base: &TransformSpec) -> Result<Vec<Variant>, SpecError> {
    let text = text.trim();
    let variants = if text.starts_with('[') {
        parse_json_variants(text, base)?
    } else {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| parse_compact_variant(item, base))
            .collect::<Result<Vec<_>, _>>()?
    };
    spec::check_variants(&variants)?;
    Ok(variants)
}

fn parse_compact_variant(item: &str, base: &TransformSpec) -> Result<Variant, SpecError> {
    let Some((name, rest)) = item.split_once(':') else {
        return Ok(Variant {
            name: item.to_owned(),
            spec: None,
        });
    };
    let mut spec = base.clone();
    let (size, format) = match rest.rsplit_once('.') {
        Some((size, format)) => (size, Some(format)),
        None => (rest, None),
    };
    let size = size.trim().to_ascii_lowercase();
    let (width, height) = if let Some((width, height)) = size.split_once('x') {
        (width, height)
    } else if let Some(width) = size.strip_suffix('w') {
        (width, "")
    } else if let Some(height) = size.strip_suffix('h') {
        ("", height)
    } else {
        (size.as_str(), "")
    };
    let wrap = |error: SpecError| SpecError(format!("variant `{item}`: {}", error.0));
    if !width.is_empty() || !height.is_empty() {
        // A size replaces the job's whole box: `800w` means 800 wide, whatever height the job asked for.
        spec.width = None;
        spec.height = None;
    }
    set(&mut spec, "width", width).map_err(wrap)?;
    set(&mut spec, "height", height).map_err(wrap)?;
    if let Some(format) = format {
        set(&mut spec, "format", format).map_err(wrap)?;
    }
    Ok(Variant {
        name: name.trim().to_owned(),
        spec: Some(spec),
    })
}

fn parse_json_variants(text: &str, base: &TransformSpec) -> Result<Vec<Variant>, SpecError> {
    let list: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(text)
        .map_err(|error| {
            SpecError(format!(
                "variants must be a JSON list of objects with a `name` and options: {error}"
            ))
        })?;
    list.into_iter()
        .map(|object| {
            let Some(serde_json::Value::String(name)) = object.get("name") else {
                return invalid("every variant needs a `name` string".to_owned());
            };
            let name = name.clone();
            if object.len() == 1 {
                return Ok(Variant { name, spec: None });
            }
            let mut spec = base.clone();
            for (option, value) in &object {
                if option == "name" {
                    continue;
                }
                let text = match value {
                    serde_json::Value::String(text) => text.clone(),
                    serde_json::Value::Number(number) => number.to_string(),
                    serde_json::Value::Bool(flag) => flag.to_string(),
                    serde_json::Value::Null => continue,
                    other => {
                        return invalid(format!(
                            "variant `{name}`: option `{option}` must be a string, number or boolean, not {other}"
                        ));
                    }
                };
                set(&mut spec, option, &text)
                    .map_err(|error| SpecError(format!("variant `{name}`: {}", error.0)))?;
            }
            Ok(Variant {
                name,
                spec: Some(spec),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(pairs: &[(&str, &str)]) -> Result<TransformSpec, SpecError> {
        let mut spec = TransformSpec::default();
        for (name, value) in pairs {
            set(&mut spec, name, value)?;
        }
        Ok(spec)
    }

    #[test]
    fn every_option_sets_its_field() {
        let spec = spec_of(&[
            ("width", "640"),
            ("height", "480"),
            ("fit", "inside"),
            ("format", "jpg"),
            ("quality", "70"),
            ("gravity", "north-east"),
            ("progressive", "true"),
            ("rotate", "270"),
            ("flip", "horizontal"),
            ("grayscale", "yes"),
            ("blur", "1.5"),
            ("sharpen", "0.8"),
            ("background", "#102030"),
            ("lossless", "0"),
            ("watermark", "© ACME"),
            ("watermark_position", "sw"),
            ("watermark_opacity", "0.3"),
            ("watermark_margin", "12"),
            ("watermark_scale", "0.1"),
            ("watermark_color", "ff0000"),
        ])
        .unwrap();
        assert_eq!(spec.width, Some(640));
        assert_eq!(spec.height, Some(480));
        assert_eq!(spec.fit(), Fit::Inside);
        assert_eq!(spec.format(), ImageFormat::Jpeg);
        assert_eq!(spec.quality, Some(70));
        assert_eq!(spec.gravity(), Gravity::NorthEast);
        assert!(spec.progressive && spec.grayscale && !spec.lossless);
        assert_eq!(spec.rotate, 270);
        assert_eq!(spec.flip(), Flip::Horizontal);
        assert_eq!((spec.blur, spec.sharpen), (Some(1.5), Some(0.8)));
        assert_eq!(spec.background, Some(0x10_2030));
        let watermark = spec.watermark.clone().unwrap();
        assert_eq!(watermark.mark, Some(Mark::Text("© ACME".to_owned())));
        assert_eq!(watermark.position(), Gravity::SouthWest);
        assert_eq!(watermark.opacity, Some(0.3));
        assert_eq!(watermark.margin, Some(12));
        assert_eq!(watermark.scale, Some(0.1));
        assert_eq!(watermark.color, Some(0xFF_0000));
        assert_eq!(spec::check(&spec), Ok(()));
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        let cases = [
            ("width", "0", "1 to 16384"),
            ("height", "abc", "whole number"),
            ("fit", "squash", "contain, cover, fill or inside"),
            ("format", "gif", "jpeg, png or webp"),
            ("quality", "101", "1 to 100"),
            ("gravity", "middle", "north-east"),
            ("progressive", "maybe", "true or false"),
            ("rotate", "45", "0, 90, 180 or 270"),
            ("flip", "sideways", "horizontal"),
            ("blur", "0", "sigma"),
            ("sharpen", "NaN", "sigma"),
            ("background", "white", "RRGGBB"),
            ("watermark_opacity", "2", "from 0 to 1"),
            ("watermark_scale", "0", "above 0"),
            ("watermark_margin", "-1", "whole number"),
            ("colour", "red", "unknown option"),
        ];
        for (name, value, expected) in cases {
            let error = spec_of(&[(name, value)]).unwrap_err();
            assert!(error.0.contains(expected), "{name}={value}: {error}");
        }
    }

    #[test]
    fn empty_values_leave_options_unset() {
        assert_eq!(
            spec_of(&[("width", " "), ("watermark", "")]).unwrap(),
            TransformSpec::default()
        );
    }

    #[test]
    fn a_watermark_image_keeps_its_placement() {
        let mut spec = spec_of(&[("watermark_position", "north")]).unwrap();
        set_watermark_image(&mut spec, bytes::Bytes::from_static(b"png"));
        let watermark = spec.watermark.unwrap();
        assert_eq!(watermark.position(), Gravity::North);
        assert!(matches!(watermark.mark, Some(Mark::Image(_))));
    }

    #[test]
    fn compact_variants_inherit_the_job_options() {
        let base = spec_of(&[("fit", "cover"), ("quality", "70"), ("width", "999")]).unwrap();
        let variants = parse_variants(
            "thumb:256x256, medium:1280x1280,webp:800w.webp,tall:x600.png,logo",
            &base,
        )
        .unwrap();
        let names: Vec<_> = variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["thumb", "medium", "webp", "tall", "logo"]);
        let thumb = variants[0].spec.clone().unwrap();
        assert_eq!(
            (thumb.width, thumb.height, thumb.fit()),
            (Some(256), Some(256), Fit::Cover)
        );
        assert_eq!(thumb.quality, Some(70));
        let webp = variants[2].spec.clone().unwrap();
        assert_eq!(
            (webp.width, webp.height, webp.format()),
            (Some(800), None, ImageFormat::Webp)
        );
        let tall = variants[3].spec.clone().unwrap();
        assert_eq!(
            (tall.width, tall.height, tall.format()),
            (None, Some(600), ImageFormat::Png)
        );
        assert_eq!(variants[4].spec, None, "a bare name is a preset");
    }

    #[test]
    fn compact_sizes_have_several_spellings() {
        let one = |text: &str| {
            let spec = parse_variants(text, &TransformSpec::default()).unwrap()[0]
                .spec
                .clone()
                .unwrap();
            (spec.width, spec.height, spec.format())
        };
        assert_eq!(one("a:300"), (Some(300), None, ImageFormat::Unspecified));
        assert_eq!(one("a:300x"), (Some(300), None, ImageFormat::Unspecified));
        assert_eq!(one("a:200h"), (None, Some(200), ImageFormat::Unspecified));
        assert_eq!(one("a:.webp"), (None, None, ImageFormat::Webp));
        assert_eq!(one("a:10X20.JPG"), (Some(10), Some(20), ImageFormat::Jpeg));
    }

    #[test]
    fn json_variants_take_any_option() {
        let base = spec_of(&[("format", "png")]).unwrap();
        let variants = parse_variants(
            r#"[{"name": "thumb", "width": 256, "height": 256, "fit": "cover", "gravity": "north", "grayscale": true},
                {"name": "medium"}]"#,
            &base,
        )
        .unwrap();
        let thumb = variants[0].spec.clone().unwrap();
        assert_eq!(thumb.gravity(), Gravity::North);
        assert!(thumb.grayscale);
        assert_eq!(thumb.format(), ImageFormat::Png, "inherited");
        assert_eq!(variants[1].spec, None);
    }

    #[test]
    fn bad_variant_lists_are_refused() {
        let cases = [
            ("thumb:0x10", "variant `thumb:0x10`: width"),
            ("thumb:10x10.gif", "jpeg, png or webp"),
            ("a:1,a:2", "named twice"),
            ("Big:10", "cannot name a variant"),
            ("original:10", "cannot name a variant"),
            (r#"[{"width": 1}]"#, "needs a `name`"),
            (
                r#"[{"name": "a", "width": [1]}]"#,
                "string, number or boolean",
            ),
            (r#"[{"name": "a", "rotate": 45}]"#, "variant `a`: rotate"),
            ("[1, 2", "JSON list"),
        ];
        for (text, expected) in cases {
            let error = parse_variants(text, &TransformSpec::default()).unwrap_err();
            assert!(error.0.contains(expected), "{text}: {error}");
        }
    }
}
