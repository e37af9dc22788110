//! The OpenAPI document against the running gateway: every documented operation exists and answers only
//! statuses the document lists, and real answers (status documents, error bodies, a listing page, the health
//! reports) match the document's schemas.

use serde_json::Value;

use crate::helpers::{Stack, get, get_final, picture, post_image, stored};

/// The schema `reference` (`#/components/schemas/Name`) names in `document`.
fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("unexpected reference {reference}"));
    &document["components"]["schemas"][name]
}

/// Whether `value` is of JSON Schema type `kind`.
fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

/// What is wrong with `value` against `schema` (empty: it conforms), for the subset of JSON Schema the
/// document uses: `$ref`, `allOf`, `oneOf`/`anyOf`, `type` (one or a list), `enum`, `required`, `properties`,
/// `items`, `minimum`/`maximum`.
fn violations(document: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return violations(document, resolve(document, reference), value, at);
    }
    let mut found = Vec::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        found.extend(violations(document, part, value, at));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array()
            && !options
                .iter()
                .any(|option| violations(document, option, value, at).is_empty())
        {
            found.push(format!("{at}: matches none of {key} {options:?}: {value}"));
        }
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|kind| has_type(value, kind)) {
        found.push(format!("{at}: {value} is not {kinds:?}"));
        return found;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(number)) = (schema["minimum"].as_f64(), value.as_f64())
        && number < minimum
    {
        found.push(format!("{at}: {number} < {minimum}"));
    }
    if let (Some(maximum), Some(number)) = (schema["maximum"].as_f64(), value.as_f64())
        && number > maximum
    {
        found.push(format!("{at}: {number} > {maximum}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                found.push(format!("{at}: `{name}` is missing"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in object {
                if let Some(property_schema) = properties.get(name) {
                    let at = format!("{at}.{name}");
                    found.extend(violations(document, property_schema, property, &at));
                }
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (index, item) in values.iter().enumerate() {
            found.extend(violations(document, items, item, &format!("{at}[{index}]")));
        }
    }
    found
}

/// The documented response of `method path` for `status`.
fn documented<'a>(document: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let response =
        &document["paths"][path][method.to_ascii_lowercase()]["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which the document does not list"
    );
    response
}

/// Checks a JSON answer of `method path` against its documented schema.
fn assert_conforms(document: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let schema =
        &documented(document, method, path, status)["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status} has no JSON schema"
    );
    let found = violations(document, schema, body, "body");
    assert!(found.is_empty(), "{method} {path} {status}: {found:#?}");
}

/// Sends `method path` (its templates filled from `fill`) and checks the answer against the document: a status
/// it lists, never the router's own `not_found`, and a JSON body that matches the documented schema.
async fn call(
    client: &reqwest::Client,
    base: &str,
    document: &Value,
    (method, template): (&str, &str),
    fill: &dyn Fn(&str) -> String,
) -> u16 {
    let mut path = template.to_owned();
    for name in ["id", "output", "file"] {
        path = path.replace(&format!("{{{name}}}"), &fill(name));
    }
    let url = format!("{base}{path}");
    let request = match method {
        "GET" => client.get(&url),
        "DELETE" => client.delete(&url),
        "POST" => client
            .post(&url)
            .header("content-type", "image/png")
            .body(picture(8, 8, image::ImageFormat::Png)),
        other => panic!("no request for {other}"),
    };
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    documented(document, method, template, status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if content_type.starts_with("application/json") && template != "/openapi.json" {
        let body: Value = response.json().await.unwrap();
        assert_ne!(
            body["code"], "not_found",
            "{method} {path} is not a route: {body}"
        );
        assert_conforms(document, method, template, status, &body);
    }
    status
}

#[tokio::test]
async fn every_documented_operation_exists_and_answers_as_documented() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let response = get(&client, format!("{}/openapi.json", gateway.base)).await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let mut served: Vec<_> = imagepipe_gateway::http::ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.template.to_owned()))
        .collect();
    served.sort();
    operations.sort();
    assert_eq!(
        operations, served,
        "the document's operations are the routes"
    );

    // A job that does not exist: every job route answers its own 404, not the router's.
    let unknown = uuid::Uuid::new_v4().to_string();
    let file = |template_name: &str, path: &str| match (template_name, path) {
        ("file", path) if path.starts_with("/docs") => "swagger-ui.css".to_owned(),
        ("file", _) => "app.js".to_owned(),
        _ => String::new(),
    };
    for (method, path) in &operations {
        let fill = |name: &str| match name {
            "id" => unknown.clone(),
            "output" => "thumb".to_owned(),
            other => file(other, path),
        };
        let status = call(&client, &gateway.base, &document, (method, path), &fill).await;
        if path.contains("{id}") {
            assert_eq!(status, 404, "{method} {path} of an unknown job");
        } else {
            assert!(status < 300, "{method} {path}: {status}");
        }
    }

    // A done and stored job: every job route answers with its success status.
    let png = picture(64, 48, image::ImageFormat::Png);
    let url = format!("{}/image?variants=thumb:16x16", gateway.base);
    let id = post_image(&client, url, "image/png", png).await;
    stored(&stack.archive().await, &id).await;
    let mut job_routes: Vec<_> = operations
        .iter()
        .filter(|(_, path)| path.contains("{id}"))
        .collect();
    // DELETE last.
    job_routes.sort_by_key(|(method, _)| method == "DELETE");
    for (method, path) in job_routes {
        let fill = |name: &str| match name {
            "id" => id.clone(),
            "output" => "thumb".to_owned(),
            _ => String::new(),
        };
        let status = call(&client, &gateway.base, &document, (method, path), &fill).await;
        let expected = if method == "DELETE" { 204 } else { 200 };
        assert_eq!(status, expected, "{method} {path} of a stored job");
    }
    stack.teardown().await;
}

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let document: Value = get(&client, format!("{}/openapi.json", gateway.base))
        .await
        .json()
        .await
        .unwrap();
    let json = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };

    // The status document as `POST /image` answers it, and once done, with its outputs.
    let png = picture(64, 48, image::ImageFormat::Png);
    let response = client
        .post(format!(
            "{}/image?variants=thumb:16x16,big:32w.webp",
            gateway.base
        ))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let (status, accepted) = json(response).await;
    assert_eq!(status, 202);
    assert_conforms(&document, "POST", "/image", 202, &accepted);
    let id = accepted["id"].as_str().unwrap().to_owned();
    stored(&stack.archive().await, &id).await;
    let (status, done) =
        json(get(&client, format!("{}/image/{id}/status", gateway.base)).await).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("done")));
    assert_eq!(done["outputs"].as_array().unwrap().len(), 2);
    assert_conforms(&document, "GET", "/image/{id}/status", 200, &done);

    // A failed job: its status document has `error`, its result answers `422 job_failed`.
    let mut broken = picture(64, 48, image::ImageFormat::Png);
    broken.truncate(broken.len() / 2);
    let failed = post_image(
        &client,
        format!("{}/image", gateway.base),
        "image/png",
        broken,
    )
    .await;
    stored(&stack.archive().await, &failed).await;
    let (status, body) =
        json(get_final(&client, format!("{}/image/{failed}", gateway.base)).await).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("job_failed")));
    assert_conforms(&document, "GET", "/image/{id}", 422, &body);
    assert!(body["job"]["error"]["code"].is_string());

    // Error bodies.
    let (status, body) = json(
        get(
            &client,
            format!("{}/image/{}", gateway.base, uuid::Uuid::new_v4()),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("job_not_found"))
    );
    assert_conforms(&document, "GET", "/image/{id}", 404, &body);
    let response = client
        .post(format!("{}/image?width=0", gateway.base))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_option"))
    );
    assert_conforms(&document, "POST", "/image", 400, &body);
    let (status, body) =
        json(get(&client, format!("{}/images?cursor=nope", gateway.base)).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    assert_conforms(&document, "GET", "/images", 400, &body);

    // A listing page with both jobs.
    let (status, page) = json(get(&client, format!("{}/images?limit=1", gateway.base)).await).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string());
    assert_conforms(&document, "GET", "/images", 200, &page);
    let (_, page) = json(get(&client, format!("{}/images", gateway.base)).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_null());
    assert_conforms(&document, "GET", "/images", 200, &page);

    // The health reports.
    for path in ["/healthz", "/readyz"] {
        let (status, body) = json(get(&client, format!("{}{path}", gateway.base)).await).await;
        assert_conforms(&document, "GET", path, status, &body);
    }

    // The checker does catch a document that is not what the schema says.
    let mut wrong = done.clone();
    wrong["links"] = Value::from(3);
    assert!(
        !violations(
            &document,
            &documented(&document, "GET", "/image/{id}/status", 200)["content"]["application/json"]
                ["schema"],
            &wrong,
            "body"
        )
        .is_empty()
    );
    let incomplete = serde_json::json!({"message": "no code"});
    let error_schema = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
    assert!(!violations(&document, &error_schema, &incomplete, "body").is_empty());
    stack.teardown().await;
}
