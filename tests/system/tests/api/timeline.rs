//! The activity log as a user sees it: `GET /image/{id}/status` carries the job's timeline (accepted, started,
//! done or failed, stored), each step with its time and the replica that did it, from the replica that heard it
//! and, for a replica that did not, from the history save2db keeps in MongoDB.

use std::time::{Duration, Instant};

use imagepipe_archive::ArchiveStore;
use imagepipe_common::testkit::{EVENT_TIMEOUT, wait_for};
use imagepipe_system_tests::get_final;
use serde_json::Value;

use crate::helpers::{Gateway, Stack, get, picture, post_image, stored};

/// The status document of job `id` on `gateway` once its timeline has `steps` steps (panics after
/// [`EVENT_TIMEOUT`]).
async fn status_with_steps(
    client: &reqwest::Client,
    gateway: &Gateway,
    id: &str,
    steps: usize,
) -> Value {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let response = get(client, format!("{}/image/{id}/status", gateway.base)).await;
        assert_eq!(response.status(), 200);
        let status: Value = response.json().await.unwrap();
        if status["timeline"]
            .as_array()
            .is_some_and(|timeline| timeline.len() >= steps)
        {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the timeline never reached {steps} steps: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until job `id`'s history, as save2db keeps it, holds the events `kinds` (panics after
/// [`EVENT_TIMEOUT`]): save2db records each event as it comes, apart from storing the job.
async fn wait_for_history(archive: &ArchiveStore, id: &str, kinds: &[&str]) {
    let kinds_now = || async {
        let history = archive.history(id).await.unwrap();
        history
            .into_iter()
            .map(|event| event.kind)
            .collect::<Vec<_>>()
    };
    let reached = wait_for(EVENT_TIMEOUT, || async {
        (kinds_now().await == kinds).then_some(())
    })
    .await;
    if reached.is_none() {
        assert_eq!(kinds_now().await, kinds, "the history of {id}");
    }
}

/// The timeline's events, checking on the way that every step says when (RFC 3339, UTC, milliseconds, in
/// order) and who.
fn events(status: &Value) -> Vec<String> {
    let timeline = status["timeline"].as_array().expect("a timeline");
    let mut previous = String::new();
    for step in timeline {
        let at = step["at"].as_str().expect("a time");
        assert_eq!(at.len(), "2025-01-01T00:00:00.000Z".len(), "{at}");
        assert!(at.ends_with('Z') && at.as_bytes()[19] == b'.', "{at}");
        // Same width, same zone: text order is time order.
        assert!(previous.as_str() <= at, "{previous} then {at}");
        previous = at.to_owned();
        assert!(
            step["by"].as_str().is_some_and(|by| !by.is_empty()),
            "{step}"
        );
    }
    timeline
        .iter()
        .map(|step| step["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_status_shows_every_step_of_a_job_with_its_time_and_replica() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{}/image?width=40", gateway.base),
        "image/png",
        picture(120, 80, image::ImageFormat::Png),
    )
    .await;
    let response = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(response.status(), 200);
    let archive = stack.archive().await;
    stored(&archive, &id).await;

    let status = status_with_steps(&client, &gateway, &id, 4).await;
    assert_eq!(status["status"], "done");
    assert_eq!(events(&status), ["accepted", "started", "done", "stored"]);
    let timeline = status["timeline"].as_array().unwrap();
    assert_eq!(timeline[0]["status"], "queued");
    assert_eq!(timeline[1]["status"], "processing");
    assert_eq!(timeline[2]["status"], "done");
    assert!(timeline.iter().all(|step| step.get("error").is_none()));
    // The transformer that started the job finished it.
    assert_eq!(timeline[1]["by"], timeline[2]["by"]);

    // save2db kept the same steps as the job's history (the last, `stored`, comes after the job document)...
    wait_for_history(&archive, &id, &["accepted", "started", "done", "stored"]).await;
    // ...so a replica started after the job knows it only from MongoDB and shows the same timeline.
    let late = stack.gateway(&[]).await;
    let response = get(&client, format!("{}/image/{id}/status", late.base)).await;
    assert_eq!(response.status(), 200);
    let from_history: Value = response.json().await.unwrap();
    assert_eq!(from_history["timeline"], status["timeline"]);

    // Deleting the job removes its history (the tombstone alone stays).
    let response = client
        .delete(format!("{}/image/{id}", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    wait_for_history(&archive, &id, &["deleted"]).await;
    stack.teardown().await;
}

#[tokio::test]
async fn a_failed_job_shows_failed_with_its_reason() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    // A PNG whose header is intact (so the gateway accepts it) but whose pixel data is cut off.
    let png = picture(200, 200, image::ImageFormat::Png);
    let id = post_image(
        &client,
        format!("{}/image", gateway.base),
        "image/png",
        png[..png.len() / 3].to_vec(),
    )
    .await;
    let response = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(response.status(), 422);

    let status = status_with_steps(&client, &gateway, &id, 4).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(events(&status), ["accepted", "started", "failed", "stored"]);
    let failed = &status["timeline"][2];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "decode_failed");
    assert!(
        failed["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty())
    );
    assert_eq!(status["timeline"][3]["error"]["code"], "decode_failed");
    stack.teardown().await;
}
