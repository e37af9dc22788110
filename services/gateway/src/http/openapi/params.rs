//! The values the code accepts where a type says too little, set on the document from the constants the
//! handlers use: the statuses a listing takes, the form of a cursor, and the files under `/assets/` and
//! `/docs/`. A client (or a fuzzer) that keeps to the document sends only
//! values the API accepts.

use utoipa::{
    Modify,
    openapi::{self, RefOr, Schema, Type, schema::Object},
};

use super::DOCS_FILES;
use crate::{
    http::web::ASSETS,
    stored::listing::{CURSOR_PATTERN, LISTED_STATUSES},
};

/// Sets the parameters' allowed values.
#[derive(Debug)]
pub struct ParamDocs;

impl Modify for ParamDocs {
    fn modify(&self, document: &mut openapi::OpenApi) {
        let one_of = |values: &[&str]| {
            let values: Vec<serde_json::Value> =
                values.iter().map(|value| (*value).into()).collect();
            move |schema: &mut Object| schema.enum_values = Some(values)
        };
        // Empty: every status, as if absent.
        let statuses = [LISTED_STATUSES.as_slice(), &[""]].concat();
        restrict(document, "/images", "status", one_of(&statuses));
        restrict(document, "/images", "cursor", |schema| {
            schema.pattern = Some(CURSOR_PATTERN.to_owned());
        });
        restrict(document, "/assets/{file}", "file", one_of(&ASSETS));
        restrict(document, "/docs/{file}", "file", one_of(&DOCS_FILES));
    }
}

/// Applies `edit` to the schema of the `name` parameter of `GET path` (a string schema if it had none).
fn restrict(
    document: &mut openapi::OpenApi,
    path: &str,
    name: &str,
    edit: impl FnOnce(&mut Object),
) {
    let parameter = document
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| item.get.as_mut())
        .and_then(|operation| operation.parameters.as_mut())
        .and_then(|parameters| {
            parameters.iter_mut().find_map(|parameter| match parameter {
                RefOr::T(parameter) if parameter.name == name => Some(parameter),
                _ => None,
            })
        });
    let Some(parameter) = parameter else {
        return; // The document's tests name every parameter restricted here.
    };
    let mut schema = match parameter.schema.take() {
        Some(RefOr::T(Schema::Object(object))) => object,
        _ => Object::with_type(Type::String),
    };
    edit(&mut schema);
    parameter.schema = Some(RefOr::T(Schema::Object(schema)));
}
