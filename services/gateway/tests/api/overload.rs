//! Load shedding: once a new job would wait past `--max-queue-wait-secs` (here: the oldest queued job has waited
//! that long, and nothing starts), uploads are refused with
//! `503 overloaded` and `Retry-After`, `/readyz` says `overloaded` (still `200`), and the gateway takes jobs
//! again as soon as the job starts. No transformer runs here: the test plays its `started` event.

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

#[tokio::test]
async fn a_backlog_older_than_the_limit_refuses_uploads_until_the_oldest_job_starts() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&["--max-queue-wait-secs", "1"]).await;
    let other = harness.gateway(&["--max-queue-wait-secs", "1"]).await;
    let client = reqwest::Client::new();
    let png = picture(32, 24, image::ImageFormat::Png);
    let post = || {
        client
            .post(format!("{}/image", gateway.base))
            .header("content-type", "image/png")
            .body(png.clone())
            .send()
    };
    let readyz = |base: String| {
        let client = client.clone();
        async move {
            let response = client.get(format!("{base}/readyz")).send().await.unwrap();
            assert_eq!(
                response.status(),
                200,
                "overloaded or not, a gateway stays ready"
            );
            response.json::<Value>().await.unwrap()
        }
    };

    let response = post().await.unwrap();
    assert_eq!(response.status(), 202);
    let first: Value = response.json().await.unwrap();
    let job_id = first["id"].as_str().unwrap().to_owned();
    let load = readyz(gateway.base.clone()).await;
    assert_eq!(load["status"], "ready", "{load}");
    assert_eq!(load["load"]["queued"], 1, "{load}");
    assert_eq!(load["load"]["limit_secs"], 1, "{load}");

    // Both replicas see the job wait past the limit: each refuses uploads.
    for base in [&gateway.base, &other.base] {
        let load = wait_for(EVENT_TIMEOUT, || async {
            let load = readyz(base.clone()).await;
            (load["status"] == "overloaded").then_some(load)
        })
        .await
        .expect("the gateway says it is overloaded");
        assert_eq!(load["load"]["status"], "overloaded", "{load}");
        assert!(
            load["load"]["oldest_wait_secs"].as_f64().unwrap() >= 1.0,
            "{load}"
        );
    }
    let response = post().await.unwrap();
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
    let publisher = Publisher::new(harness.broker());
    let key = routing::event("started");
    let started = JobEvent {
        job_id: job_id.clone(),
        trace_id: "t".into(),
        kind: job_event::Kind::Started as i32,
        at_ms: imagepipe_common::time::now_ms(),
        by: "tf-test".into(),
        status: JobStatus::Processing as i32,
        ..JobEvent::default()
    };
    publisher
        .publish(Envelope::event(&key, &job_id, "t"), &started)
        .await
        .expect("the started event is published");
    for base in [&gateway.base, &other.base] {
        wait_for(EVENT_TIMEOUT, || async {
            (readyz(base.clone()).await["status"] == "ready").then_some(())
        })
        .await
        .expect("the gateway recovers once the job starts");
    }
    assert_eq!(post().await.unwrap().status(), 202);
    publisher.close().await;
    harness.teardown().await;
}
