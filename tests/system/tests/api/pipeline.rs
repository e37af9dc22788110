//! End to end, through HTTP only: gateway + transformer + save2db on the real broker and database.

use imagepipe_system_tests::get_final;
use serde_json::Value;

use crate::helpers::{Stack, decoded, get, picture, stored};

/// POSTs and returns the job id.
async fn post(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn images_travel_the_whole_pipeline() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/image", gateway.base);

    let png = picture(300, 200, image::ImageFormat::Png);
    let jpeg = picture(640, 480, image::ImageFormat::Jpeg);
    let small_png = picture(90, 60, image::ImageFormat::Png);

    // Raw body, options in the query: same format out.
    let raw = post(
        client
            .post(format!("{url}?width=100"))
            .header("content-type", "image/png")
            .body(png.clone()),
    )
    .await;
    // Multipart, options as fields: cover-crop into a square PNG.
    let form = reqwest::multipart::Form::new()
        .text("width", "50")
        .text("height", "50")
        .text("fit", "cover")
        .text("format", "png")
        .part(
            "image",
            reqwest::multipart::Part::bytes(jpeg.clone())
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let multipart = post(client.post(&url).multipart(form)).await;
    // JSON with base64, converted to WebP and stretched.
    use base64::Engine as _;
    let json = post(client.post(&url).json(&serde_json::json!({
        "image": base64::engine::general_purpose::STANDARD.encode(&small_png),
        "width": 30,
        "height": 45,
        "fit": "fill",
        "format": "webp",
    })))
    .await;

    let expected = [
        (&raw, &png, image::ImageFormat::Png, "image/png", 100, 67),
        (
            &multipart,
            &jpeg,
            image::ImageFormat::Png,
            "image/png",
            50,
            50,
        ),
        (
            &json,
            &small_png,
            image::ImageFormat::WebP,
            "image/webp",
            30,
            45,
        ),
    ];
    for (id, _, format, content_type, width, height) in expected {
        let response = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
        assert_eq!(response.status(), 200, "job {id}");
        assert_eq!(response.headers()["content-type"], content_type);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(decoded(&bytes), (format, width, height), "job {id}");
    }

    // save2db keeps every original byte for byte, and the result, in GridFS.
    let archive = stack.archive().await;
    for (id, original, format, _, width, height) in expected {
        let document = stored(&archive, id).await;
        assert_eq!(document.status, "done");
        let stored = document.original.as_ref().unwrap();
        assert_eq!(
            &archive.read_file(&stored.gridfs_id).await.unwrap().unwrap(),
            original
        );
        assert_eq!(document.outputs.len(), 1);
        let result = archive
            .read_file(&document.outputs[0].gridfs_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(decoded(&result), (format, width, height));
    }

    // A replica that never saw these jobs serves them from MongoDB.
    let other = stack.gateway(&[]).await;
    let response = get(&client, format!("{}/image/{raw}", other.base)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        decoded(&response.bytes().await.unwrap()),
        (image::ImageFormat::Png, 100, 67)
    );
    let response = get(
        &client,
        format!("{}/image/{multipart}/original", other.base),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap(), jpeg);
    let status: Value = get(&client, format!("{}/image/{json}/status", other.base))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "done");
    assert_eq!(status["result"]["width"], 30);
    stack.teardown().await;
}

#[tokio::test]
async fn variants_are_made_stored_and_served_by_name() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let jpeg = picture(600, 400, image::ImageFormat::Jpeg);
    // Compact variants on top of the job's options (cover), plus the transformer's `thumb` preset.
    let id = post(
        client
            .post(format!(
                "{}/image?fit=cover&variants=square:120x120,wide:300w.webp,thumb",
                gateway.base
            ))
            .header("content-type", "image/jpeg")
            .body(jpeg.clone()),
    )
    .await;
    let expected = [
        ("square", image::ImageFormat::Jpeg, "image/jpeg", 120, 120),
        ("wide", image::ImageFormat::WebP, "image/webp", 300, 200),
        ("thumb", image::ImageFormat::Jpeg, "image/jpeg", 256, 171),
    ];
    for (name, format, content_type, width, height) in expected {
        let response = get_final(&client, format!("{}/image/{id}/{name}", gateway.base)).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.headers()["content-type"], content_type);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(decoded(&bytes), (format, width, height), "{name}");
    }
    // Conditional GETs: each image URL has its ETag, and naming it gets 304 without the bytes.
    let square = get(&client, format!("{}/image/{id}/square", gateway.base)).await;
    let etag = square.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{id}/square\""));
    assert!(
        square.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let again = client
        .get(format!("{}/image/{id}/square", gateway.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let other_tag = client
        .get(format!("{}/image/{id}/wide", gateway.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other_tag.status(),
        200,
        "another image's tag does not match"
    );
    let original = client
        .get(format!("{}/image/{id}/original", gateway.base))
        .header("if-none-match", format!("\"{id}/original\""))
        .send()
        .await
        .unwrap();
    assert_eq!(original.status(), 304);

    // The job's own URL serves the first variant; the status lists them all with their URLs.
    let response = get(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(
        decoded(&response.bytes().await.unwrap()),
        (image::ImageFormat::Jpeg, 120, 120)
    );
    let status: Value = get(&client, format!("{}/image/{id}/status", gateway.base))
        .await
        .json()
        .await
        .unwrap();
    let outputs = status["outputs"].as_array().unwrap();
    let names: Vec<_> = outputs
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["square", "wide", "thumb"]);
    assert_eq!(outputs[1]["url"], format!("/image/{id}/wide"));
    assert_eq!(outputs[1]["format"], "webp");
    let missing = get(&client, format!("{}/image/{id}/tiny", gateway.base)).await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "output_not_found");

    // save2db stores one GridFS file per variant, and the resolved preset in the job document.
    let archive = stack.archive().await;
    let document = stored(&archive, &id).await;
    let stored: Vec<_> = document.outputs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(stored, ["square", "wide", "thumb"]);
    for (file, (_, format, _, width, height)) in document.outputs.iter().zip(expected) {
        let bytes = archive.read_file(&file.gridfs_id).await.unwrap().unwrap();
        assert_eq!(decoded(&bytes), (format, width, height), "{}", file.name);
    }
    let thumb = &document.variants[2];
    assert_eq!(
        (thumb.name.as_str(), thumb.spec.width),
        ("thumb", Some(256))
    );
    assert_eq!(thumb.spec.fit, "inside");
    assert_eq!(
        document.variants[0].spec.fit, "cover",
        "inherited from the job"
    );

    // Another replica serves a variant from MongoDB, and knows which names exist.
    let other = stack.gateway(&[]).await;
    let response = get(&client, format!("{}/image/{id}/wide", other.base)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        decoded(&response.bytes().await.unwrap()),
        (image::ImageFormat::WebP, 300, 200)
    );
    let missing = get(&client, format!("{}/image/{id}/tiny", other.base)).await;
    assert_eq!(missing.status(), 404);

    // An unknown preset fails the job with the reason; a bad variant list is refused at once.
    let unknown = post(
        client
            .post(format!("{}/image?variants=huge", gateway.base))
            .header("content-type", "image/jpeg")
            .body(jpeg.clone()),
    )
    .await;
    let response = get_final(&client, format!("{}/image/{unknown}", gateway.base)).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["job"]["error"]["code"], "invalid_spec");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no preset `huge`")
    );
    let response = client
        .post(format!("{}/image?variants=a:0x5", gateway.base))
        .header("content-type", "image/jpeg")
        .body(jpeg)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_option");
    stack.teardown().await;
}

#[tokio::test]
async fn an_image_that_cannot_be_decoded_fails_with_a_reason() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    // A PNG whose header is intact (so the gateway accepts it) but whose pixel data is cut off.
    let png = picture(200, 200, image::ImageFormat::Png);
    let truncated = png[..png.len() / 3].to_vec();
    let id = post(
        client
            .post(format!("{}/image", gateway.base))
            .header("content-type", "image/png")
            .body(truncated.clone()),
    )
    .await;

    let response = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "job_failed");
    assert_eq!(body["job"]["status"], "failed");
    assert_eq!(body["job"]["error"]["code"], "decode_failed");
    assert!(!body["message"].as_str().unwrap().is_empty());

    // The failure is kept too, with the original, and another replica reports it the same way.
    let archive = stack.archive().await;
    let document = stored(&archive, &id).await;
    assert_eq!(document.status, "failed");
    assert_eq!(document.error.as_ref().unwrap().code, "decode_failed");
    let stored = document.original.as_ref().unwrap();
    assert_eq!(
        archive.read_file(&stored.gridfs_id).await.unwrap().unwrap(),
        truncated
    );
    let other = stack.gateway(&[]).await;
    let response = get(&client, format!("{}/image/{id}", other.base)).await;
    assert_eq!(response.status(), 422);
    stack.teardown().await;
}
