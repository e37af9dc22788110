//! End to end, through HTTP only: gateway + transformer + save2db on the real broker and database.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Stack, decoded, picture};

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
        let response = client
            .get(format!("{}/image/{id}?wait=30", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "job {id}");
        assert_eq!(response.headers()["content-type"], content_type);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(decoded(&bytes), (format, width, height), "job {id}");
    }

    // save2db keeps every original byte for byte, and the result, in GridFS.
    let archive = stack.archive().await;
    for (id, original, format, _, width, height) in expected {
        let document = wait_for_document(&archive, id).await;
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
    let response = client
        .get(format!("{}/image/{raw}", other.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        decoded(&response.bytes().await.unwrap()),
        (image::ImageFormat::Png, 100, 67)
    );
    let response = client
        .get(format!("{}/image/{multipart}/original", other.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap(), jpeg);
    let status: Value = client
        .get(format!("{}/image/{json}/status", other.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "done");
    assert_eq!(status["result"]["width"], 30);
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

    let response = client
        .get(format!("{}/image/{id}?wait=30", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "job_failed");
    assert_eq!(body["job"]["status"], "failed");
    assert_eq!(body["job"]["error"]["code"], "decode_failed");
    assert!(!body["message"].as_str().unwrap().is_empty());

    // The failure is kept too, with the original, and another replica reports it the same way.
    let archive = stack.archive().await;
    let document = wait_for_document(&archive, &id).await;
    assert_eq!(document.status, "failed");
    assert_eq!(document.error.as_ref().unwrap().code, "decode_failed");
    let stored = document.original.as_ref().unwrap();
    assert_eq!(
        archive.read_file(&stored.gridfs_id).await.unwrap().unwrap(),
        truncated
    );
    let other = stack.gateway(&[]).await;
    let response = client
        .get(format!("{}/image/{id}", other.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    stack.teardown().await;
}

async fn wait_for_document(
    archive: &imagepipe_save2db::ArchiveStore,
    id: &str,
) -> imagepipe_save2db::JobDocument {
    for _ in 0..200 {
        if let Some(document) = archive.job(id).await.unwrap() {
            return document;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} was never stored");
}
