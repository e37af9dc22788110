//! `DELETE /image/{id}` of a job not stored yet is refused; a stranger's is not found. (Deleting a stored job
//! everywhere is the system suite's.)

use crate::helpers::{Harness, error_of, get, picture, post_image};

#[tokio::test]
async fn a_job_not_stored_yet_cannot_be_deleted_and_strangers_are_not_found() {
    // No transformer: the job stays queued.
    let mut harness = Harness::new();
    let gateway = harness.gateway(&[]).await;
    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{}/image", gateway.base),
        "image/png",
        picture(32, 32, image::ImageFormat::Png),
    )
    .await;
    let response = client
        .delete(format!("{}/image/{id}", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let body = error_of(response, 409).await;
    assert_eq!(body["code"], "job_in_progress");
    // The message says why, and what to do: true of a queued job.
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("still queued"), "{message}");
    assert!(
        message.contains("once its status is done or failed"),
        "{message}"
    );
    // Still there, still queued.
    let response = get(&client, format!("{}/image/{id}/status", gateway.base)).await;
    assert_eq!(response.status(), 200);

    for stranger in [uuid::Uuid::new_v4().to_string(), "not-a-job-id".to_owned()] {
        let response = client
            .delete(format!("{}/image/{stranger}", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(response, 404).await["code"], "job_not_found");
    }
    harness.teardown().await;
}
