//! `/metrics` on every service after a real job.

use imagepipe_common::{
    metrics::{CONTENT_TYPE_OPENMETRICS, sample_sum},
    testkit::{EVENT_TIMEOUT, wait_for},
};
use imagepipe_system_tests::get_final;

use crate::helpers::{Stack, get, picture, post_image, stored};

/// A series a scrape must show: its name, the labels it must carry, and the least its samples add up to.
type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// The body of `GET {base}/metrics`, after checking it is OpenMetrics text.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = get(client, format!("{base}/metrics")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], CONTENT_TYPE_OPENMETRICS);
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"));
    text
}

fn reaches(text: &str, (name, labels, minimum): &Expected<'_>) -> bool {
    sample_sum(text, name, labels).unwrap_or(0.0) >= *minimum
}

/// The scrape of `base` once every `expected` series is there: a service counts some things just after what the
/// test can see (an ack after the job document, a job after its result's confirm), so the scrape waits for them
/// (up to [`EVENT_TIMEOUT`]), then checks each.
async fn scrape_with(client: &reqwest::Client, base: &str, expected: &[Expected<'_>]) -> String {
    let ready = wait_for(EVENT_TIMEOUT, || async {
        let text = scrape(client, base).await;
        expected
            .iter()
            .all(|series| reaches(&text, series))
            .then_some(text)
    })
    .await;
    let text = match ready {
        Some(text) => text,
        None => scrape(client, base).await,
    };
    for series @ (name, labels, minimum) in expected {
        let value = sample_sum(&text, name, labels).unwrap_or(0.0);
        assert!(
            reaches(&text, series),
            "{name}{labels:?} is {value}, expected at least {minimum}"
        );
    }
    text
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
    let result = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(result.status(), 200);
    result.bytes().await.unwrap();
    let status = get(&client, format!("{}/image/{id}/status", gateway.base)).await;
    assert_eq!(status.status(), 200);
    let missing = get(&client, format!("{}/no/such/route", gateway.base)).await;
    assert_eq!(missing.status(), 404);
    stored(&stack.archive().await, &id).await;

    let requests = "imagepipe_http_requests_total";
    let upload_bytes = png.len() as f64;
    let text = scrape_with(
        &client,
        &gateway.base,
        &[
            (
                requests,
                &[("method", "POST"), ("route", "/image"), ("status", "202")],
                1.0,
            ),
            (
                requests,
                &[("route", "/image/{id}"), ("status", "200")],
                1.0,
            ),
            (
                requests,
                &[("route", "/image/{id}/status"), ("status", "200")],
                1.0,
            ),
            (requests, &[("route", "unmatched"), ("status", "404")], 1.0),
            (
                "imagepipe_http_request_duration_seconds_count",
                &[("route", "/image")],
                1.0,
            ),
            (
                "imagepipe_gateway_job_latency_seconds_count",
                &[("status", "done")],
                1.0,
            ),
            (
                "imagepipe_gateway_upload_bytes_total",
                &[("format", "png")],
                upload_bytes,
            ),
            (
                "imagepipe_gateway_served_bytes_total",
                &[("content_type", "image/png")],
                1.0,
            ),
            (
                "imagepipe_gateway_cache_lookups_total",
                &[("what", "image"), ("result", "hit")],
                1.0,
            ),
            (
                "imagepipe_amqp_publishes_total",
                &[("message", "ImageSubmitted"), ("outcome", "acked")],
                1.0,
            ),
            (
                "imagepipe_amqp_deliveries_total",
                &[("queue", "gateway"), ("redelivered", "false")],
                1.0,
            ),
        ],
    )
    .await;
    assert!(
        !text.contains(&id),
        "no job id in any label (nor the raw path)"
    );
    assert!(!text.contains("/no/such/route"));
    assert!(sample_sum(&text, "imagepipe_jobs_in_flight", &[("service", "gateway")]).is_some());

    // The transformer and save2db answer on their health ports with their own series.
    let stage_count = "imagepipe_transformer_stage_duration_seconds_count";
    scrape_with(
        &client,
        &transformer_base,
        &[
            (stage_count, &[("stage", "decode")], 1.0),
            (stage_count, &[("stage", "transform")], 1.0),
            (stage_count, &[("stage", "encode")], 1.0),
            (stage_count, &[("stage", "publish")], 1.0),
            (
                "imagepipe_transformer_jobs_total",
                &[("outcome", "done")],
                1.0,
            ),
            (
                "imagepipe_transformer_bytes_total",
                &[("direction", "in")],
                upload_bytes,
            ),
            (
                "imagepipe_amqp_publishes_total",
                &[("message", "ImageArchive"), ("outcome", "acked")],
                1.0,
            ),
            (
                "imagepipe_amqp_deliveries_total",
                &[("queue", "transform")],
                1.0,
            ),
        ],
    )
    .await;
    scrape_with(
        &client,
        &save2db_base,
        &[
            (
                "imagepipe_save2db_jobs_stored_total",
                &[("status", "done")],
                1.0,
            ),
            (
                "imagepipe_save2db_store_duration_seconds_count",
                &[("result", "ok")],
                1.0,
            ),
            (
                "imagepipe_save2db_stored_bytes_total",
                &[("kind", "original")],
                upload_bytes,
            ),
            (
                "imagepipe_amqp_settled_total",
                &[("queue", "archive"), ("disposition", "ack")],
                1.0,
            ),
        ],
    )
    .await;

    stack.teardown().await;
}
