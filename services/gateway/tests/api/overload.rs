//! Load shedding: once a new job would wait past `--max-queue-wait-secs` (here: the oldest queued job has waited
//! that long, and nothing starts), or the waiting jobs hold three quarters of the transform queue's bytes,
//! uploads are refused with `503 overloaded` and `Retry-After`, `/readyz` says `overloaded` (still `200`), and
//! the gateway takes jobs again as soon as the jobs start. No transformer runs here: the tests play their
//! `started` events.

use imagepipe_common::{
    amqp::{Envelope, Publisher},
    testkit::{EVENT_TIMEOUT, wait_for},
};
use imagepipe_proto::{
    topology::routing,
    v1::{JobEvent, JobStatus, job_event},
};
use serde_json::Value;

use crate::helpers::{Harness, picture};

/// `POST {base}/image` with `png`.
async fn post(client: &reqwest::Client, base: &str, png: &[u8]) -> reqwest::Response {
    client
        .post(format!("{base}/image"))
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .expect("the gateway answers")
}

/// `GET {base}/readyz`'s report; it answers `200` whether overloaded or not.
async fn readyz(client: &reqwest::Client, base: &str) -> Value {
    let response = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "overloaded or not, a gateway stays ready"
    );
    response.json::<Value>().await.unwrap()
}

/// Polls `{base}/readyz` until its status is `status`, and returns that report.
async fn wait_status(client: &reqwest::Client, base: &str, status: &str) -> Option<Value> {
    wait_for(EVENT_TIMEOUT, || async {
        let load = readyz(client, base).await;
        (load["status"] == status).then_some(load)
    })
    .await
}

/// Plays a transformer starting `job_id`, then waits until every gateway of `bases` takes uploads again.
async fn start_and_recover(
    harness: &Harness,
    client: &reqwest::Client,
    job_id: &str,
    bases: [&str; 2],
) {
    let publisher = Publisher::new(harness.broker());
    let key = routing::event("started");
    publisher
        .publish(Envelope::event(&key, job_id, "t"), &started(job_id))
        .await
        .expect("the started event is published");
    for base in bases {
        wait_status(client, base, "ready")
            .await
            .expect("the gateway recovers once the job starts");
    }
    publisher.close().await;
}

#[tokio::test]
async fn a_backlog_older_than_the_limit_refuses_uploads_until_the_oldest_job_starts() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&["--max-queue-wait-secs", "1"]).await;
    let other = harness.gateway(&["--max-queue-wait-secs", "1"]).await;
    let client = reqwest::Client::new();
    let png = picture(32, 24, image::ImageFormat::Png);

    let response = post(&client, &gateway.base, &png).await;
    assert_eq!(response.status(), 202);
    let first: Value = response.json().await.unwrap();
    let job_id = first["id"].as_str().unwrap().to_owned();
    let load = readyz(&client, &gateway.base).await;
    assert_eq!(load["status"], "ready", "{load}");
    assert_eq!(load["load"]["queued"], 1, "{load}");
    assert_eq!(load["load"]["limit_secs"], 1, "{load}");

    // Both replicas see the job wait past the limit: each refuses uploads.
    for base in [&gateway.base, &other.base] {
        let load = wait_status(&client, base, "overloaded")
            .await
            .expect("the gateway says it is overloaded");
        assert_eq!(load["load"]["status"], "overloaded", "{load}");
        assert!(
            load["load"]["oldest_wait_secs"].as_f64().unwrap() >= 1.0,
            "{load}"
        );
    }
    let response = post(&client, &gateway.base, &png).await;
    assert_eq!(response.status(), 503);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "overloaded", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("would wait"),
        "{body}"
    );

    // A transformer starts the job: the backlog is empty and uploads are taken again, on both replicas.
    start_and_recover(&harness, &client, &job_id, [&gateway.base, &other.base]).await;
    assert_eq!(post(&client, &gateway.base, &png).await.status(), 202);
    harness.teardown().await;
}

#[tokio::test]
async fn waiting_jobs_holding_three_quarters_of_the_transform_queue_s_bytes_refuse_uploads() {
    let mut harness = Harness::new();
    let png = picture(160, 120, image::ImageFormat::Png);
    // The transform queue gets a quarter of the budget: four uploads' worth, so the gateways refuse from three
    // (their messages are a little larger than the image). No wait limit: the bytes alone decide.
    // Every queue that takes whole jobs must fit the largest message (the dead letters' fifth of the budget is
    // 3.2 uploads), which must carry twice the largest upload.
    let budget = (16 * png.len()).to_string();
    let max_message = (3 * png.len()).to_string();
    let max_upload = png.len().to_string();
    let flags = [
        "--max-queue-wait-secs",
        "0",
        "--amqp-queue-budget-bytes",
        &budget,
        "--amqp-max-message-bytes",
        &max_message,
        "--max-upload-bytes",
        &max_upload,
    ];
    let gateway = harness.gateway(&flags).await;
    let other = harness.gateway(&flags).await;
    let client = reqwest::Client::new();

    let mut accepted = Vec::new();
    for _ in 0..3 {
        let response = post(&client, &gateway.base, &png).await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        accepted.push(body["id"].as_str().unwrap().to_owned());
    }
    let response = post(&client, &gateway.base, &png).await;
    assert_eq!(response.status(), 503, "a fourth upload is refused");
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "overloaded", "{body}");
    assert!(body["message"].as_str().unwrap().contains("hold"), "{body}");
    // The other replica weighs the same backlog from the `accepted` events, and refuses too.
    let seen = wait_status(&client, &other.base, "overloaded")
        .await
        .expect("the other replica hears of the three jobs' bytes");
    let queued_bytes = seen["load"]["queued_bytes"].as_u64().unwrap();
    let limit = seen["load"]["limit_bytes"].as_u64().unwrap();
    assert_eq!(seen["load"]["queued"], 3, "{seen}");
    assert!(queued_bytes > 3 * png.len() as u64, "{seen}");
    assert_eq!(limit, 3 * png.len() as u64, "{seen}");

    // The transformers start one job: the bytes fall under the limit and both replicas take uploads again.
    start_and_recover(
        &harness,
        &client,
        &accepted[0],
        [&gateway.base, &other.base],
    )
    .await;
    assert_eq!(post(&client, &gateway.base, &png).await.status(), 202);
    harness.teardown().await;
}

/// A transformer's `started` event for `job_id`.
fn started(job_id: &str) -> JobEvent {
    JobEvent {
        job_id: job_id.to_owned(),
        trace_id: "t".into(),
        kind: job_event::Kind::Started as i32,
        at_ms: imagepipe_common::time::now_ms(),
        by: "tf-test".into(),
        status: JobStatus::Processing as i32,
        ..JobEvent::default()
    }
}
