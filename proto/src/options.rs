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

/// The JSON type an option's value has as a JSON member (of a JSON upload, or of a variant in a JSON list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON string.
    Text,
}

impl JsonKind {
    /// Of option `name`.
    #[must_use]
    pub fn of(name: &str) -> Self {
        match name {
            "width" | "height" | "quality" | "rotate" | "blur" | "sharpen"
            | "watermark_opacity" | "watermark_margin" | "watermark_scale" => JsonKind::Number,
            "progressive" | "grayscale" | "lossless" => JsonKind::Boolean,
            _ => JsonKind::Text,
        }
    }
}

/// Option `name`'s JSON member `value` as the text [`set`] takes; `None` for `null` (unset). Numbers and booleans
/// come as such, not as strings: the text forms are for query strings and form fields.
///
/// # Errors
/// [`SpecError`] for a value of another JSON type.
pub fn json_text(name: &str, value: &serde_json::Value) -> Result<Option<String>, SpecError> {
    use serde_json::Value;
    match (JsonKind::of(name), value) {
        (_, Value::Null) => Ok(None),
        (JsonKind::Number, Value::Number(number)) => Ok(Some(number_text(number))),
        (JsonKind::Boolean, Value::Bool(flag)) => Ok(Some(flag.to_string())),
        (JsonKind::Text, Value::String(text)) => Ok(Some(text.clone())),
        (kind, other) => {
            let wanted = match kind {
                JsonKind::Number => "a number",
                JsonKind::Boolean => "true or false",
                JsonKind::Text => "a string",
            };
            invalid(format!("{name} must be {wanted} in JSON, not {other}"))
        }
    }
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
            // Checked here too, not only by `spec::check`: a watermark image sent beside the text replaces it.
            if value.chars().count() > spec::MAX_WATERMARK_TEXT {
                return invalid(format!(
                    "{name} must be at most {} characters long",
                    spec::MAX_WATERMARK_TEXT
                ));
            }
            watermark(spec).mark = Some(Mark::Text(value.to_owned()));
        }
        "watermark_position" => watermark(spec).position = gravity(name, value)? as i32,
        "watermark_opacity" => watermark(spec).opacity = Some(fraction(name, value)?),
        "watermark_scale" => watermark(spec).scale = Some(scale(name, value)?),
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

/// The texts a flag takes (case-insensitively), with their value; what a form or query documents for it.
pub const FLAG_SPELLINGS: [(&str, bool); 8] = [
    ("true", true),
    ("false", false),
    ("1", true),
    ("0", false),
    ("yes", true),
    ("no", false),
    ("on", true),
    ("off", false),
];

fn flag(name: &str, value: &str) -> Result<bool, SpecError> {
    FLAG_SPELLINGS
        .iter()
        .find(|(spelling, _)| spelling.eq_ignore_ascii_case(value))
        .map(|(_, flag)| *flag)
        .ok_or_else(|| SpecError(format!("{name} must be true or false, not `{value}`")))
}

/// A range bound as written (0.1, not the f32's exact 0.100000001…): what the parser compares a value with,
/// and what a document states.
#[must_use]
pub fn as_written(bound: f32) -> f64 {
    bound.to_string().parse().unwrap_or(f64::from(bound))
}

/// `value` as an f32 if it is a finite number within `range`, compared as written ([`as_written`]), the value
/// before rounding to f32 (so 0.0999999 is below 0.1, although it rounds to it).
fn within(value: &str, (low, high): (f32, f32)) -> Option<f32> {
    let parsed = value.parse::<f64>().ok()?;
    #[allow(clippy::cast_possible_truncation)] // Within an f32 range, so only the precision goes.
    (parsed.is_finite() && (as_written(low)..=as_written(high)).contains(&parsed))
        .then_some(parsed as f32)
}

fn sigma(name: &str, value: &str, (low, high): (f32, f32)) -> Result<f32, SpecError> {
    within(value, (low, high)).ok_or_else(|| {
        SpecError(format!(
            "{name} must be a sigma from {low} to {high} pixels, not `{value}`"
        ))
    })
}

/// A fraction from 0 to 1, both included.
fn fraction(name: &str, value: &str) -> Result<f32, SpecError> {
    within(value, (0.0, 1.0)).ok_or_else(|| {
        SpecError(format!(
            "{name} must be a number from 0 to 1, not `{value}`"
        ))
    })
}

/// A watermark's width as a fraction of the image's, within [`spec::WATERMARK_SCALE`].
fn scale(name: &str, value: &str) -> Result<f32, SpecError> {
    let (low, high) = spec::WATERMARK_SCALE;
    within(value, spec::WATERMARK_SCALE).ok_or_else(|| {
        SpecError(format!(
            "{name} must be a number from {low} to {high}, not `{value}`"
        ))
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

/// A JSON number as an option's text. A whole number written with a fraction (`292.0`, an `integer` to JSON
/// Schema) is written without it, so that whole-number options take it.
#[must_use]
pub fn number_text(number: &serde_json::Number) -> String {
    match number.as_f64() {
        Some(value) if number.is_f64() && value.fract() == 0.0 && value.abs() < 1e15 => {
            format!("{value:.0}")
        }
        _ => number.to_string(),
    }
}

/// Drops watermark settings that came without a mark (a `watermark` text or a watermark image): they would place
/// nothing, and like a setting of any other feature not asked for they are ignored. Producers call it once all
/// options are set, before [`spec::check`] (which refuses a watermark without a mark).
pub fn drop_idle_watermark(spec: &mut TransformSpec) {
    if spec
        .watermark
        .as_ref()
        .is_some_and(|watermark| watermark.mark.is_none())
    {
        spec.watermark = None;
    }
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
    let mut variants = variants;
    for spec in variants
        .iter_mut()
        .filter_map(|variant| variant.spec.as_mut())
    {
        drop_idle_watermark(spec);
    }
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
                let wrap = |error: SpecError| SpecError(format!("variant `{name}`: {}", error.0));
                let text = if is_option(option) {
                    json_text(option, value).map_err(wrap)?
                } else {
                    // Not an option: `set` names the options there are.
                    Some(value.to_string())
                };
                if let Some(text) = text {
                    set(&mut spec, option, &text).map_err(wrap)?;
                }
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
            ("watermark_scale", "0", "from 0.01 to 1"),
            ("watermark_scale", "5e-324", "from 0.01 to 1"),
            ("watermark", &"w".repeat(201), "at most 200 characters"),
            ("blur", "0.09999999999999999", "sigma"),
            ("watermark_opacity", "1.0000000001", "from 0 to 1"),
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
    fn json_members_have_their_options_types() {
        let text = |name: &str, json: &str| json_text(name, &serde_json::from_str(json).unwrap());
        assert_eq!(text("width", "64").unwrap().as_deref(), Some("64"));
        assert_eq!(text("lossless", "true").unwrap().as_deref(), Some("true"));
        assert_eq!(text("fit", r#""cover""#).unwrap().as_deref(), Some("cover"));
        assert_eq!(text("fit", "null").unwrap(), None);
        for (name, json) in [
            ("width", r#""64""#),
            ("lossless", "0"),
            ("fit", "1"),
            ("blur", "true"),
        ] {
            let error = text(name, json).unwrap_err();
            assert!(error.0.starts_with(name), "{error}");
        }
        assert!(
            parse_variants(
                r#"[{"name": "a", "width": "64"}]"#,
                &TransformSpec::default()
            )
            .is_err()
        );
    }

    #[test]
    fn whole_json_numbers_lose_their_fraction() {
        let text = |json: &str| number_text(&serde_json::from_str(json).unwrap());
        assert_eq!(text("292.0"), "292");
        assert_eq!(text("292"), "292");
        assert_eq!(text("-3.0"), "-3");
        assert_eq!(text("0.25"), "0.25");
        assert!(
            text("1e300").contains('e'),
            "huge numbers stay as JSON wrote them"
        );
        let variants = parse_variants(
            r#"[{"name": "a", "width": 64.0}]"#,
            &TransformSpec::default(),
        )
        .unwrap();
        assert_eq!(variants[0].spec.as_ref().unwrap().width, Some(64));
    }

    #[test]
    fn watermark_settings_without_a_mark_are_dropped() {
        let mut spec =
            spec_of(&[("watermark_margin", "16"), ("watermark_opacity", "0.5")]).unwrap();
        drop_idle_watermark(&mut spec);
        assert_eq!(spec.watermark, None);
        assert_eq!(spec::check(&spec), Ok(()));
        let mut marked = spec_of(&[("watermark", "©"), ("watermark_margin", "16")]).unwrap();
        drop_idle_watermark(&mut marked);
        assert_eq!(marked.watermark.unwrap().margin, Some(16));
        let variants = parse_variants(
            r#"[{"name": "a", "watermark_scale": 0.5}]"#,
            &TransformSpec::default(),
        )
        .unwrap();
        assert_eq!(variants[0].spec.as_ref().unwrap().watermark, None);
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
                "width must be a number in JSON",
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
