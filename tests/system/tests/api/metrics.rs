//! `/metrics` on every service after a real job.

use imagepipe_common::metrics::{CONTENT_TYPE_OPENMETRICS, sample_sum};

use crate::helpers::{Stack, get, picture, post_image, stored};

/// The body of `GET {base}/metrics`, after checking it is OpenMetrics text.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = get(client, format!("{base}/metrics")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], CONTENT_TYPE_OPENMETRICS);
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"));
    text
}

fn at_least(text: &str, name: &str, labels: &[(&str, &str)], minimum: f64) {
    let value = sample_sum(text, name, labels).unwrap_or(0.0);
    assert!(
        value >= minimum,
        "{name}{labels:?} is {value}, expected at least {minimum}"
    );
}

#[tokio::test]
async fn every_service_reports_a_job_in_its_metrics() {
    let mut stack = Stack::new();
    let transformer_base = stack.transformer().await;
    let save2db_base = stack.save2db().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();

    let png = picture(120, 80, image::ImageFormat::Png);
    let id = post_image(
        &client,
        format!("{}/image?width=60", gateway.base),
        "image/png",
        png.clone(),
    )
    .await;
    let result = get(&client, format!("{}/image/{id}?wait=20", gateway.base)).await;
    assert_eq!(result.status(), 200);
    result.bytes().await.unwrap();
    let status = get(&client, format!("{}/image/{id}/status", gateway.base)).await;
    assert_eq!(status.status(), 200);
    let missing = get(&client, format!("{}/no/such/route", gateway.base)).await;
    assert_eq!(missing.status(), 404);
    stored(&stack.archive().await, &id).await;

    let text = scrape(&client, &gateway.base).await;
    let requests = "imagepipe_http_requests_total";
    at_least(
        &text,
        requests,
        &[("method", "POST"), ("route", "/image"), ("status", "202")],
        1.0,
    );
    at_least(
        &text,
        requests,
        &[("route", "/image/{id}"), ("status", "200")],
        1.0,
    );
    at_least(
        &text,
        requests,
        &[("route", "/image/{id}/status"), ("status", "200")],
        1.0,
    );
    at_least(
        &text,
        requests,
        &[("route", "unmatched"), ("status", "404")],
        1.0,
    );
    assert!(
        !text.contains(&id),
        "no job id in any label (nor the raw path)"
    );
    assert!(!text.contains("/no/such/route"));
    at_least(
        &text,
        "imagepipe_http_request_duration_seconds_count",
        &[("route", "/image")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_gateway_job_latency_seconds_count",
        &[("status", "done")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_gateway_upload_bytes_total",
        &[("format", "png")],
        png.len() as f64,
    );
    at_least(
        &text,
        "imagepipe_gateway_served_bytes_total",
        &[("content_type", "image/png")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_gateway_cache_lookups_total",
        &[("what", "image"), ("result", "hit")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_amqp_publishes_total",
        &[("message", "ImageSubmitted"), ("outcome", "acked")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_amqp_deliveries_total",
        &[("queue", "gateway"), ("redelivered", "false")],
        1.0,
    );
    assert!(sample_sum(&text, "imagepipe_jobs_in_flight", &[("service", "gateway")]).is_some());

    // The transformer and save2db answer on their health ports with their own series.
    let text = scrape(&client, &transformer_base).await;
    for stage in ["decode", "transform", "encode", "publish"] {
        at_least(
            &text,
            "imagepipe_transformer_stage_duration_seconds_count",
            &[("stage", stage)],
            1.0,
        );
    }
    at_least(
        &text,
        "imagepipe_transformer_jobs_total",
        &[("outcome", "done")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_transformer_bytes_total",
        &[("direction", "in")],
        png.len() as f64,
    );
    at_least(
        &text,
        "imagepipe_amqp_publishes_total",
        &[("message", "ImageArchive"), ("outcome", "acked")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_amqp_deliveries_total",
        &[("queue", "transform")],
        1.0,
    );
    let text = scrape(&client, &save2db_base).await;
    at_least(
        &text,
        "imagepipe_save2db_jobs_stored_total",
        &[("status", "done")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_save2db_store_duration_seconds_count",
        &[("result", "ok")],
        1.0,
    );
    at_least(
        &text,
        "imagepipe_save2db_stored_bytes_total",
        &[("kind", "original")],
        png.len() as f64,
    );
    at_least(
        &text,
        "imagepipe_amqp_settled_total",
        &[("queue", "archive"), ("disposition", "ack")],
        1.0,
    );

    stack.teardown().await;
}
