//! The parameters and responses several operations share, described once: the job id, an output's name,
//! `?wait=`, `If-None-Match`, and the answers of the image routes (the image with its `ETag`, `202` while pending,
//! `304`).

use std::collections::BTreeMap;

use utoipa::{
    IntoParams, IntoResponses, PartialSchema,
    openapi::{
        Content, KnownFormat, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
        SchemaFormat, Type,
        header::HeaderBuilder,
        path::{Parameter, ParameterBuilder, ParameterIn},
    },
};

use crate::http::handlers::MAX_WAIT_SECS;

fn parameter(
    name: &str,
    place: ParameterIn,
    required: bool,
    description: &str,
) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(String::schema()))
}

/// The path parameter `id`.
#[derive(Debug)]
pub struct JobId;

impl IntoParams for JobId {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "id",
                ParameterIn::Path,
                true,
                "The job id (a UUID), as `POST /image` answered it.",
            )
            .build(),
        ]
    }
}

/// The path parameter `output`.
#[derive(Debug)]
pub struct OutputName;

impl IntoParams for OutputName {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "output",
                ParameterIn::Path,
                true,
                "The output's name, as the status document's `outputs[].name` lists it.",
            )
            .build(),
        ]
    }
}

/// The query parameter `wait`.
#[derive(Debug)]
pub struct Wait;

impl IntoParams for Wait {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(0))
            .maximum(Some(MAX_WAIT_SECS));
        vec![
            parameter(
                "wait",
                ParameterIn::Query,
                false,
                &format!(
                    "Seconds to wait for a queued or processing job to finish before answering `202` (0 to \
                     {MAX_WAIT_SECS}; default 0)."
                ),
            )
            .schema(Some(seconds))
            .build(),
        ]
    }
}

/// The header `If-None-Match`.
#[derive(Debug)]
pub struct IfNoneMatch;

impl IntoParams for IfNoneMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "If-None-Match",
                ParameterIn::Header,
                false,
                "An `ETag` this image was served with: `304` if it still matches (it always does: results never \
                 change).",
            )
            .build(),
        ]
    }
}

/// A header of type `T` described by `description`.
fn header<T: PartialSchema>(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(T::schema()))
        .description(Some(description))
        .build()
}

/// The answers of an image route: `200` with the image in one of `types`, described as `image`; `202` with the
/// status document, described as `pending`; `304`.
fn image_responses(
    image: &str,
    types: &[&str],
    cache: &str,
    pending: &str,
) -> BTreeMap<String, RefOr<Response>> {
    let mut found = ResponseBuilder::new()
        .description(image)
        .header(
            "ETag",
            header::<String>("The image's tag, for `If-None-Match`."),
        )
        .header("Cache-Control", header::<String>(cache));
    for content_type in types {
        found = found.content(*content_type, Content::builder().build());
    }
    let waiting = ResponseBuilder::new()
        .description(pending)
        .content(
            "application/json",
            Content::new(Some(RefOr::<utoipa::openapi::Schema>::Ref(
                Ref::from_schema_name("JobView"),
            ))),
        )
        .header(
            "Retry-After",
            header::<u32>("Seconds to wait before asking again."),
        );
    let not_modified =
        ResponseBuilder::new().description("Not modified: `If-None-Match` names this image.");
    BTreeMap::from([
        ("200".to_owned(), found.build().into()),
        ("202".to_owned(), waiting.build().into()),
        ("304".to_owned(), not_modified.build().into()),
    ])
}

/// What `GET /image/{id}` and `GET /image/{id}/{output}` answer, errors aside.
#[derive(Debug)]
pub struct ResultResponses;

impl IntoResponses for ResultResponses {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        image_responses(
            "The image.",
            &["image/jpeg", "image/png", "image/webp"],
            "`public, max-age=31536000, immutable` (`private, …` with `Vary: Authorization` when API keys are \
             configured): results never change.",
            "Not ready yet: the job's status document; retry after `Retry-After` seconds (or pass `wait`).",
        )
    }
}

/// What `GET /image/{id}/original` answers, errors aside.
#[derive(Debug)]
pub struct OriginalResponses;

impl IntoResponses for OriginalResponses {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        image_responses(
            "The original.",
            &["image/*"],
            "`public, max-age=31536000, immutable` (`private, …` with `Vary: Authorization` when API keys are \
             configured).",
            "Not stored yet and not in this replica's memory: the job's status document.",
        )
    }
}
