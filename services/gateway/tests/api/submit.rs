//! What a client sees from the gateway alone: accepted jobs, and every way an upload can be refused.

use imagepipe_common::testkit::{EVENT_TIMEOUT, READY_TIMEOUT, wait_for};
use serde_json::Value;

use crate::helpers::{Harness, picture};

#[tokio::test]
async fn an_accepted_job_is_queued_and_visible_from_every_replica() {
    let mut harness = Harness::new();
    let first = harness.gateway(&[]).await;
    let second = harness.gateway(&[]).await;
    let client = reqwest::Client::new();
    let png = picture(64, 48, image::ImageFormat::Png);

    let response = client
        .post(format!("{}/image?width=32", first.base))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["status"], "queued");
    assert_eq!(location, format!("/image/{id}"));
    assert_eq!(body["links"]["self"], format!("/image/{id}/status"));

    // No transformer runs: the job stays queued, and the result route says so with 202.
    let response = client
        .get(format!("{}{location}", first.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["retry-after"], "1");

    // The other replica learns of the job from the accepted event (not knowing it until then).
    let body = wait_for(EVENT_TIMEOUT, || async {
        let response = client
            .get(format!("{}/image/{id}/status", second.base))
            .send()
            .await
            .unwrap();
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200);
        Some(response.json::<Value>().await.unwrap())
    })
    .await
    .expect("replica two hears of the job");
    assert_eq!(body["status"], "queued");

    // The original is served at once, byte for byte.
    let original = client
        .get(format!("{}/image/{id}/original", first.base))
        .send()
        .await
        .unwrap();
    assert_eq!(original.status(), 200);
    assert_eq!(original.headers()["content-type"], "image/png");
    assert_eq!(
        original.bytes().await.unwrap(),
        picture(64, 48, image::ImageFormat::Png)
    );
    harness.teardown().await;
}

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("errors are JSON");
    (
        status,
        body["code"].as_str().unwrap().to_owned(),
        body["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn bad_uploads_get_clear_json_errors() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&["--max-upload-bytes", "20000"]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/image", gateway.base);

    // Oversized, declared and streamed (chunked, no content-length).
    let big = vec![0_u8; 64 * 1024];
    let response = client
        .post(&url)
        .header("content-type", "image/jpeg")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    assert!(message.contains("20000"), "{message}");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    let response = client
        .post(&url)
        .header("content-type", "image/jpeg")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, 413);

    // Not an image, damaged header, unsupported content type, bad options.
    let response = client
        .post(&url)
        .header("content-type", "image/png")
        .body("definitely not a picture")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "unsupported_image_format");
    let png = picture(40, 30, image::ImageFormat::Png);
    let response = client
        .post(&url)
        .header("content-type", "image/png")
        .body(png[..14].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, 422);
    let response = client
        .post(&url)
        .header("content-type", "text/plain")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (415, "unsupported_content_type"));
    let response = client
        .post(format!("{url}?width=0"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_option"));
    assert!(message.contains("width"), "{message}");
    let response = client
        .post(&url)
        .json(&serde_json::json!({"image": "###", "width": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "invalid_base64");

    // Unknown and malformed ids, bad wait, unknown routes.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/image/{unknown}"),
        format!("/image/{unknown}/status"),
        "/image/not-an-id".into(),
    ] {
        let response = client
            .get(format!("{}{path}", gateway.base))
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (404, "job_not_found"), "{path}");
    }
    let response = client
        .get(format!("{}/image/{unknown}?wait=99", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "invalid_option");
    let response = client
        .get(format!("{}/nope", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, 404);
    harness.teardown().await;
}

#[tokio::test]
async fn a_job_the_broker_cannot_queue_is_refused_with_503() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&[]).await;
    // Take the work queue away: the mandatory publish comes back unroutable.
    let broker = harness.broker();
    let channel = broker.channel().await.unwrap();
    channel
        .queue_delete(
            format!("{}.transform", harness.namespace()).as_str().into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/image", gateway.base))
        .header("content-type", "image/png")
        .body(picture(8, 8, image::ImageFormat::Png))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (503, "broker_unavailable"));
    harness.teardown().await;
}

#[tokio::test]
async fn health_routes_answer() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&[]).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Each check has a few seconds to answer, which a loaded machine can miss for a moment: the report that
    // matters is the one once every check passes.
    let ready: Value = wait_for(READY_TIMEOUT, || async {
        let response = client
            .get(format!("{}/readyz", gateway.base))
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            return None;
        }
        Some(response.json::<Value>().await.unwrap())
    })
    .await
    .expect("/readyz answers 200");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["broker"], "ok");
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["consumer"], "ok");
    harness.teardown().await;
}
