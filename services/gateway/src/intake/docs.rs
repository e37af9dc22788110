//! The OpenAPI description of `POST /image`'s options and bodies, generated from the option names the parser
//! knows ([`imagepipe_proto::options::NAMES`]) and the contract's limits, so the document lists exactly the
//! options the gateway reads. The tests feed every documented example and bound back through the real parser.

use imagepipe_proto::{
    options,
    spec::{self, MAX_SIDE},
    v1::{Gravity, ImageFormat},
};
use serde_json::{Value, json};
use utoipa::{
    IntoParams, PartialSchema, ToSchema,
    openapi::{
        ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, RefOr, Schema, SchemaFormat, Type,
        path::{Parameter, ParameterBuilder, ParameterIn},
        schema::AdditionalProperties,
    },
};

use crate::intake::options::{VARIANTS, WATERMARK_IMAGE};
use imagepipe_proto::options::JsonKind;

/// The client's file name, kept with the job (last path component only).
pub const FILENAME: &str = "filename";

/// A colour as `RRGGBB` hex, `#` optional.
/// A colour, or empty (unset).
const COLOUR_PATTERN: &str = "^(#?[0-9A-Fa-f]{6})?$";

/// How the variant list is written.
const VARIANTS_DOC: &str = "Named outputs made from the one upload, each reachable at `/image/{id}/{name}`. Compact: \
`thumb:256x256,medium:1280x1280,webp:800w.webp,tall:x600.png,logo` (a name, then after `:` a size `WxH`, `W`/`Ww` for a \
width or `xH`/`Hh` for a height, and an optional `.format`; the other options come from the job's own; a bare name \
asks for the transformer's preset). JSON: `[{\"name\": \"thumb\", \"width\": 256, \"fit\": \"cover\"}, {\"name\": \"medium\"}]`.";

/// The schema, description and example of option `name`; `None` for a name the parser does not know.
#[must_use]
pub fn option_doc(name: &str) -> Option<(Schema, String, Value)> {
    let integer = |low: u32, high: u32| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(low))
            .maximum(Some(high))
    };
    // The bounds as the parser compares them: as written, 0.1 rather than the f32's 0.10000000149011612.
    let number = |low: f32, high: f32| {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(options::as_written(low)))
            .maximum(Some(options::as_written(high)))
    };
    // An empty value leaves an option unset: the named values and the colours list it.
    let names = |values: &[&str]| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([values, &[""]].concat()))
    };
    let boolean = || ObjectBuilder::new().schema_type(Type::Boolean);
    let colour = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(COLOUR_PATTERN))
    };
    let gravities: Vec<&str> = Gravity::ALL.iter().map(|gravity| gravity.name()).collect();
    let (schema, description, example) = match name {
        "width" => (
            integer(1, MAX_SIDE),
            "Result width in pixels; alone, the height follows the aspect ratio.".to_owned(),
            json!(320),
        ),
        "height" => (
            integer(1, MAX_SIDE),
            "Result height in pixels; alone, the width follows the aspect ratio.".to_owned(),
            json!(240),
        ),
        "fit" => (
            names(&["contain", "cover", "fill", "inside"]),
            "How the image fits a width x height box: `contain` (inside the box, the default), `cover` (fill it, \
             cropping toward `gravity`), `fill` (stretch), `inside` (like contain, never enlarging)."
                .to_owned(),
            json!("cover"),
        ),
        "format" => (
            names(&["jpeg", "png", "webp"]),
            "Output format; default: the upload's own when writable, else JPEG.".to_owned(),
            json!("webp"),
        ),
        "quality" => (
            integer(1, 100),
            "Lossy encoder quality.".to_owned(),
            json!(80),
        ),
        "gravity" => (
            names(&gravities),
            "Where `cover` keeps the image when cropping.".to_owned(),
            json!("center"),
        ),
        "progressive" => (
            boolean(),
            "Progressive JPEG.".to_owned(),
            json!(true),
        ),
        "rotate" => (
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([0, 90, 180, 270])),
            "Clockwise rotation in degrees (after EXIF orientation).".to_owned(),
            json!(90),
        ),
        "flip" => (
            names(&["none", "horizontal", "vertical", "both"]),
            "Mirror the image.".to_owned(),
            json!("horizontal"),
        ),
        "grayscale" => (boolean(), "Drop the colour.".to_owned(), json!(true)),
        "blur" => (
            number(spec::BLUR_SIGMA.0, spec::BLUR_SIGMA.1),
            "Gaussian blur sigma in pixels.".to_owned(),
            json!(2.5),
        ),
        "sharpen" => (
            number(spec::SHARPEN_SIGMA.0, spec::SHARPEN_SIGMA.1),
            "Unsharp-mask sigma in pixels.".to_owned(),
            json!(1),
        ),
        "background" => (
            colour(),
            "Colour behind transparent pixels when the format has no alpha, and of `contain`'s padding.".to_owned(),
            json!("ffffff"),
        ),
        "lossless" => (
            boolean(),
            "Lossless WebP.".to_owned(),
            json!(false),
        ),
        "watermark" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(spec::MAX_WATERMARK_TEXT)),
            format!(
                "Watermark text; or send a `{WATERMARK_IMAGE}` (form field or JSON base64 member) for an image mark."
            ),
            json!("© imagepipe"),
        ),
        "watermark_position" => (
            names(&gravities),
            "Where the watermark goes.".to_owned(),
            json!("south_east"),
        ),
        "watermark_opacity" => (
            number(0.0, 1.0),
            "Watermark opacity, 0 to 1.".to_owned(),
            json!(0.5),
        ),
        "watermark_margin" => (
            integer(0, MAX_SIDE),
            "Watermark distance from the edges, in pixels.".to_owned(),
            json!(16),
        ),
        "watermark_scale" => (
            number(spec::WATERMARK_SCALE.0, spec::WATERMARK_SCALE.1),
            format!(
                "Watermark width as a fraction of the image's, {} to {}.",
                spec::WATERMARK_SCALE.0,
                spec::WATERMARK_SCALE.1
            ),
            json!(0.25),
        ),
        "watermark_color" => (
            colour(),
            "Colour of a text watermark.".to_owned(),
            json!("#ffffff"),
        ),
        _ => return None,
    };
    Some((schema.into(), description, example))
}

/// The compact variant list as the document states it (empty: none): 1 to 16 items, each a name, then optionally `:` a size
/// (`WxH`, `W`, `Ww`, `xH` or `Hh`, sides 1 to 9999) and a `.format`. Names must also be unique and not
/// `original`, `status`, `variants` or `events`, which a pattern cannot say; the description does.
pub const VARIANTS_PATTERN: &str = "^([a-z0-9_-]{1,32}(:([1-9][0-9]{0,3}(x[1-9][0-9]{0,3}|w|h)?|x[1-9][0-9]{0,3})(\\.(jpeg|jpg|png|webp))?)?(,[a-z0-9_-]{1,32}(:([1-9][0-9]{0,3}(x[1-9][0-9]{0,3}|w|h)?|x[1-9][0-9]{0,3})(\\.(jpeg|jpg|png|webp))?)?){0,15})?$";

/// A variant's name (see [`VARIANTS_PATTERN`] for what else a name must be).
const VARIANT_NAME_PATTERN: &str = "^[a-z0-9_-]{1,32}$";

/// The schema, description and example of the `variants` parameter, field or member.
fn variants_doc(json_list: bool) -> (RefOr<Schema>, Value) {
    let compact = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(VARIANTS_PATTERN))
        .description(Some(VARIANTS_DOC));
    if !json_list {
        return (compact.into(), json!("thumb:256x256,medium:1280x1280.webp"));
    }
    let mut item = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "name",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(VARIANT_NAME_PATTERN)),
        )
        .required("name")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for name in options::NAMES {
        if let Some((schema, description, _)) = option_doc(name) {
            item = item.property(name, with_description(schema, &description));
        }
    }
    let list = ArrayBuilder::new()
        .items(item)
        .max_items(Some(spec::MAX_VARIANTS));
    let schema = OneOfBuilder::new()
        .item(compact)
        .item(list)
        .description(Some(VARIANTS_DOC));
    (
        schema.into(),
        json!([{"name": "thumb", "width": 256, "fit": "cover"}, {"name": "medium"}]),
    )
}

fn with_description(schema: Schema, description: &str) -> Schema {
    match schema {
        Schema::Object(mut object) => {
            object.description = Some(description.to_owned());
            Schema::Object(object)
        }
        other => other,
    }
}

/// `POST /image`'s query parameters: every option, `variants` and `filename`.
#[derive(Debug)]
pub struct UploadQuery;

impl IntoParams for UploadQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let parameter = |name: &str, schema: RefOr<Schema>, description: String, example: Value| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .schema(Some(schema))
                .description(Some(description))
                .example(Some(example))
                .build()
        };
        let mut parameters: Vec<Parameter> = options::NAMES
            .iter()
            .filter_map(|name| {
                let (schema, description, example) = option_doc(name)?;
                Some(parameter(name, schema.into(), description, example))
            })
            .collect();
        let (schema, example) = variants_doc(false);
        parameters.push(parameter(
            VARIANTS,
            schema,
            VARIANTS_DOC.to_owned(),
            example,
        ));
        parameters.push(parameter(
            FILENAME,
            String::schema(),
            "The client's file name, kept with the job.".to_owned(),
            json!("cat.jpg"),
        ));
        parameters
    }
}

/// Standard base64, padded or not, as the document states it (the gateway also takes line breaks and `data:`
/// URLs, which the description mentions). Every string of this form decodes.
pub const BASE64_PATTERN: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)$";

/// A flag as a form field's text: the spellings the parser reads, or empty (unset).
fn flag_text() -> Schema {
    let spellings = options::FLAG_SPELLINGS
        .iter()
        .map(|(spelling, _)| *spelling);
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(spellings.chain([""]).collect::<Vec<_>>()))
        .into()
}

/// The object both structured upload shapes share: the image, a watermark image, and every option.
fn upload_object(binary: bool) -> ObjectBuilder {
    let image = |description: &str| {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .description(Some(description));
        if binary {
            schema.format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        } else {
            schema
                .content_encoding("base64")
                .pattern(Some(BASE64_PATTERN))
        }
    };
    let types = ImageFormat::ALL.map(ImageFormat::mime_type).join(", ");
    let (image_doc, mark_doc) = if binary {
        (
            format!(
                "The image file: {types} (sniffed from its bytes; other files are refused with 415)."
            ),
            format!("An image to use as the watermark: {types}."),
        )
    } else {
        (
            format!(
                "The image ({types}), base64 (standard alphabet, padding optional, line breaks allowed) or a \
                 `data:` URL."
            ),
            "An image to use as the watermark, base64.".to_owned(),
        )
    };
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("image", image(&image_doc))
        .required("image")
        .property(WATERMARK_IMAGE, image(&mark_doc))
        .property(
            FILENAME,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The client's file name, kept with the job.")),
        );
    for name in options::NAMES {
        if let Some((schema, description, _)) = option_doc(name) {
            // A form field is text: a flag takes any of the spellings the parser reads.
            let schema = if binary && JsonKind::of(name) == JsonKind::Boolean {
                flag_text()
            } else {
                schema
            };
            object = object.property(name, with_description(schema, &description));
        }
    }
    let (variants, _) = variants_doc(!binary);
    object.property(VARIANTS, variants)
}

/// A `multipart/form-data` upload: the file in the field `image`, options as further fields.
#[derive(Debug)]
pub struct MultipartUpload;

impl PartialSchema for MultipartUpload {
    fn schema() -> RefOr<Schema> {
        upload_object(true).into()
    }
}

impl ToSchema for MultipartUpload {}

/// A JSON upload: `{"image": "<base64>", ...options}`.
#[derive(Debug)]
pub struct JsonUpload;

impl PartialSchema for JsonUpload {
    fn schema() -> RefOr<Schema> {
        upload_object(false).into()
    }
}

impl ToSchema for JsonUpload {}

/// A raw image body (`image/*` or `application/octet-stream`).
#[derive(Debug)]
pub struct RawImage;

impl PartialSchema for RawImage {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .min_length(Some(1))
            .description(Some(
                "The image's bytes: JPEG, PNG, WebP, GIF, BMP or TIFF.",
            ))
            .into()
    }
}

impl ToSchema for RawImage {}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::TransformSpec;

    use super::*;

    fn object(schema: Schema) -> utoipa::openapi::schema::Object {
        match schema {
            Schema::Object(object) => object,
            _ => panic!("not an object schema"),
        }
    }

    fn accepts(name: &str, value: &Value) -> bool {
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        options::set(&mut TransformSpec::default(), name, &text).is_ok()
    }

    #[test]
    fn every_option_is_documented_and_nothing_else() {
        let params = UploadQuery::into_params(|| None);
        let names: Vec<_> = params.iter().map(|param| param.name.as_str()).collect();
        let mut expected: Vec<&str> = options::NAMES.to_vec();
        expected.extend([VARIANTS, FILENAME]);
        assert_eq!(names, expected);
        assert!(option_doc("widht").is_none());
    }

    #[test]
    fn documented_examples_enums_and_bounds_are_what_the_parser_accepts() {
        for name in options::NAMES {
            let (schema, _, example) = option_doc(name).unwrap();
            assert!(accepts(name, &example), "{name} = {example}");
            let object = object(schema);
            for value in object.enum_values.iter().flatten() {
                assert!(accepts(name, value), "{name} = {value}");
            }
            let bound = |number: &utoipa::Number| serde_json::to_value(number).unwrap();
            if let Some(min) = &object.minimum {
                assert!(accepts(name, &bound(min)), "{name} minimum");
                let below = bound(min).as_f64().unwrap() - 0.01;
                assert!(!accepts(name, &json!(below)), "{name} below its minimum");
            }
            if let Some(max) = &object.maximum {
                assert!(accepts(name, &bound(max)), "{name} maximum");
                let above = bound(max).as_f64().unwrap() + 1.0;
                assert!(!accepts(name, &json!(above)), "{name} above its maximum");
            }
            if let Some(pattern) = &object.pattern {
                assert_eq!(pattern, COLOUR_PATTERN, "{name}");
            }
        }
    }

    #[test]
    fn an_empty_option_is_accepted_as_unset_and_text_options_list_it() {
        for name in options::NAMES {
            assert!(accepts(name, &json!("")), "{name}");
            let object = object(option_doc(name).unwrap().0);
            if let Some(values) = &object.enum_values
                && object.schema_type == Type::String.into()
            {
                assert!(values.contains(&json!("")), "{name}");
            }
        }
    }

    #[test]
    fn the_compact_variant_pattern_is_what_the_parser_takes() {
        let (schema, _) = variants_doc(false);
        let schema = serde_json::to_value(schema).unwrap();
        assert_eq!(schema["pattern"], VARIANTS_PATTERN);
        let base = TransformSpec::default();
        for list in [
            "",
            "thumb",
            "a:1",
            "a:9999x9999.jpg,b:x1.png,c:5w,d:7h.webp,e_-0:12x3.jpeg",
        ] {
            assert!(options::parse_variants(list, &base).is_ok(), "{list}");
        }
    }

    #[test]
    fn json_types_are_the_parsers() {
        let json = serde_json::to_value(JsonUpload::schema()).unwrap();
        let form = serde_json::to_value(MultipartUpload::schema()).unwrap();
        for name in options::NAMES {
            let documented = json["properties"][name]["type"].as_str().unwrap();
            let kind = match documented {
                "integer" | "number" => JsonKind::Number,
                "boolean" => JsonKind::Boolean,
                _ => JsonKind::Text,
            };
            assert_eq!(kind, JsonKind::of(name), "{name}");
            if kind == JsonKind::Boolean {
                for spelling in form["properties"][name]["enum"].as_array().unwrap() {
                    assert!(accepts(name, spelling), "{name} = {spelling}");
                }
            }
        }
    }

    #[test]
    fn upload_objects_take_no_other_members() {
        for schema in [JsonUpload::schema(), MultipartUpload::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            assert_eq!(schema["additionalProperties"], false);
        }
        let (list, _) = variants_doc(true);
        let list = serde_json::to_value(list).unwrap();
        assert_eq!(list["oneOf"][1]["items"]["additionalProperties"], false);
    }

    #[test]
    fn documented_variant_examples_parse() {
        for json_list in [false, true] {
            let (_, example) = variants_doc(json_list);
            let text = match example {
                Value::String(text) => text,
                other => other.to_string(),
            };
            options::parse_variants(&text, &TransformSpec::default()).unwrap();
        }
    }

    #[test]
    fn structured_uploads_need_the_image_and_take_every_option() {
        let json = serde_json::to_value(JsonUpload::schema()).unwrap();
        assert_eq!(json["required"], json!(["image"]));
        assert_eq!(json["properties"]["image"]["contentEncoding"], "base64");
        assert_eq!(json["properties"]["image"]["pattern"], BASE64_PATTERN);
        for name in options::NAMES {
            assert!(json["properties"].get(name).is_some(), "{name}");
        }
        let form = serde_json::to_value(MultipartUpload::schema()).unwrap();
        assert_eq!(form["properties"]["image"]["format"], "binary");
        // An empty image is refused (`empty_image`): the document says so.
        for image in [&json["properties"]["image"], &form["properties"]["image"]] {
            assert_eq!(image["minLength"], 1);
        }
        assert_eq!(
            serde_json::to_value(RawImage::schema()).unwrap()["minLength"],
            1
        );
    }
}
