//! Outages, simulated with a proxy the test cuts: the broker or the database goes away under running
//! services, which must say so (`/readyz` 503, `POST /image` 503 with `Retry-After`, never hang), keep what
//! they accepted, and carry on by themselves once it is back.

use std::time::{Duration, Instant};

use imagepipe_common::{
    amqp::ready_count,
    testkit::{CutProxy, authority_of},
};
use serde_json::Value;

use crate::helpers::{Stack, amqp_url, get, mongodb_uri, picture, stored};

/// How long a service may take to notice an outage or a recovery: heartbeats are 5 s and backoff at most
/// 10 s, so this is only the limit for a hung test, generous for a loaded machine.
const NOTICE: Duration = Duration::from_secs(60);
/// How long an upload may take to be refused while the broker is away. The gateway gives up on the broker
/// within its own limits (a pooled connection in 5 s, a confirm in 10 s), normally at once; an upload still
/// waiting well past them hangs, and twice their sum leaves room for a loaded machine.
const REFUSED_WITHIN: Duration = Duration::from_secs(30);

async fn post_png(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/image?width=40"))
        .header("content-type", "image/png")
        .body(picture(120, 80, image::ImageFormat::Png))
        .send()
        .await
        .expect("the gateway answers")
}

async fn accepted(client: &reqwest::Client, base: &str) -> String {
    let response = post_png(client, base).await;
    assert_eq!(response.status(), 202);
    job_id(response).await
}

/// The job id of a `202` answer.
async fn job_id(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// Polls `GET {base}/readyz` until it answers `status` and its report's `check` is (`ok`) or is not `ok`.
async fn wait_readyz(client: &reqwest::Client, base: &str, status: u16, check: &str) -> Value {
    let deadline = Instant::now() + NOTICE;
    let healthy = status == 200;
    loop {
        let response = get(client, format!("{base}/readyz")).await;
        let answered = response.status();
        let report: Value = response.json().await.unwrap();
        if answered == status && (report[check] == "ok") == healthy {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "{base}/readyz never answered {status} with {check} {}: {report}",
            if healthy { "ok" } else { "failing" }
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the job's status until it is `done`.
async fn wait_done(client: &reqwest::Client, base: &str, id: &str) {
    let deadline = Instant::now() + NOTICE * 2;
    loop {
        let status: Value = get(client, format!("{base}/image/{id}/status"))
            .await
            .json()
            .await
            .unwrap();
        if status["status"] == "done" {
            return;
        }
        assert_ne!(status["status"], "failed", "{status}");
        assert!(
            Instant::now() < deadline,
            "job {id} never finished: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_broker_outage_is_reported_and_every_service_recovers_from_it() {
    let proxy = CutProxy::start(authority_of(&amqp_url(), 5672)).await;
    let mut stack = Stack::new();
    stack.broker_through(&proxy);
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let before = accepted(&client, &gateway.base).await;
    wait_done(&client, &gateway.base, &before).await;

    proxy.cut();
    wait_readyz(&client, &gateway.base, 503, "broker").await;
    let refused = tokio::time::timeout(REFUSED_WITHIN, post_png(&client, &gateway.base))
        .await
        .unwrap_or_else(|_| panic!("the upload waited more than {REFUSED_WITHIN:?}"));
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "broker_unavailable");
    // What was stored before the outage is still served.
    let response = get(&client, format!("{}/image/{before}", gateway.base)).await;
    assert_eq!(response.status(), 200);

    proxy.restore();
    wait_readyz(&client, &gateway.base, 200, "broker").await;
    // Every consumer reconnected: a new job goes through transformer and save2db and back to the gateway.
    let after = accepted(&client, &gateway.base).await;
    wait_done(&client, &gateway.base, &after).await;
    stored(&stack.archive().await, &after).await;
    stack.teardown().await;
}

/// Posts until the gateway takes the upload: right after a broker node went, its publisher may still hold a
/// channel of the lost connection and answer `503 broker_unavailable` once.
async fn accepted_eventually(client: &reqwest::Client, base: &str) -> String {
    let deadline = Instant::now() + NOTICE;
    loop {
        let response = post_png(client, base).await;
        if response.status() == 202 {
            return job_id(response).await;
        }
        assert_eq!(response.status(), 503, "only a passing refusal is expected");
        assert!(
            Instant::now() < deadline,
            "the gateway never took an upload again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_services_carry_on_through_another_broker_node_when_theirs_goes() {
    // Two nodes, as far as the services can tell: two proxies to the test broker, each cut in turn and never
    // restored while it matters, so only moving to the other node lets a service carry on.
    let upstream = authority_of(&amqp_url(), 5672);
    let first = CutProxy::start(upstream.clone()).await;
    let second = CutProxy::start(upstream).await;
    let mut stack = Stack::new();
    stack.broker_through_nodes(&[&first, &second]);
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let archive = stack.archive().await;
    // Each service starts on a node of its own choosing; after the first cut every one is on the second node,
    // so the second cut moves them all. A job accepted just before a cut and one accepted after are both done
    // and stored.
    for (gone, left) in [(&first, &second), (&second, &first)] {
        left.restore();
        let in_flight = accepted_eventually(&client, &gateway.base).await;
        gone.cut();
        let after = accepted_eventually(&client, &gateway.base).await;
        for id in [&in_flight, &after] {
            wait_done(&client, &gateway.base, id).await;
            stored(&archive, id).await;
        }
        wait_readyz(&client, &gateway.base, 200, "broker").await;
    }
    stack.teardown().await;
}

#[tokio::test]
async fn a_database_outage_delays_storage_but_loses_nothing() {
    let proxy = CutProxy::start(authority_of(&mongodb_uri(), 27017)).await;
    let mut stack = Stack::new();
    stack.database_through(&proxy);
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let archive = stack.archive().await;

    proxy.cut();
    wait_readyz(&client, &gateway.base, 503, "database").await;
    // Accepting needs only the broker: the job is queued, transformed and served from the gateway's memory.
    let id = accepted(&client, &gateway.base).await;
    wait_done(&client, &gateway.base, &id).await;
    let response = get(&client, format!("{}/image/{id}", gateway.base)).await;
    assert_eq!(response.status(), 200);
    // save2db cannot store it yet, and keeps the archive message rather than dropping it. (A window in which
    // nothing may happen; that it is stored after all is waited for below.)
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(archive.job(&id).await.unwrap().is_none());

    proxy.restore();
    let deadline = Instant::now() + NOTICE * 2;
    let document = loop {
        if let Some(document) = archive.job(&id).await.unwrap() {
            break document;
        }
        assert!(Instant::now() < deadline, "job {id} was never stored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(document.outputs.len(), 1);
    wait_readyz(&client, &gateway.base, 200, "database").await;
    // Nothing was dead-lettered on the way.
    let broker = stack.broker();
    let channel = broker.channel().await.unwrap();
    let dead = ready_count(&channel, &broker.topology().dead_letter_queue())
        .await
        .unwrap();
    assert_eq!(dead, 0);
    stack.teardown().await;
}
