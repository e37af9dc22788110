//! `/metrics` on every service after a real job, and the gateway binary's JSON log lines naming the job.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use clap::Parser;
use imagepipe_common::metrics::{CONTENT_TYPE_OPENMETRICS, sample_sum};
use serde_json::Value;

use crate::helpers::{Stack, amqp_url, get, mongodb_uri, picture, post_image, stored};

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
    // The transformer and save2db are built here, not through the stack, to reach their health ports.
    let transformer = imagepipe_transformer::Application::build(
        imagepipe_transformer::Config::try_parse_from([
            "imagepipe-transformer",
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &amqp_url(),
            "--amqp-namespace",
            &stack.namespace,
            "--workers",
            "1",
        ])
        .unwrap(),
    )
    .await
    .unwrap();
    let save2db = imagepipe_save2db::Application::build(
        imagepipe_save2db::Config::try_parse_from([
            "imagepipe-save2db",
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &amqp_url(),
            "--amqp-namespace",
            &stack.namespace,
            "--mongodb-uri",
            &mongodb_uri(),
            "--mongodb-database",
            &stack.database,
        ])
        .unwrap(),
    )
    .await
    .unwrap();
    let (transformer_base, save2db_base) = (
        format!("http://{}", transformer.addr()),
        format!("http://{}", save2db.addr()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let transformer = tokio::spawn(transformer.run_until_stopped(until_stopped()));
    let save2db = tokio::spawn(save2db.run_until_stopped(until_stopped()));
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

    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), transformer).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), save2db).await;
    stack.teardown().await;
}

/// Reads the child's stdout lines into a channel, on a thread of their own.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// The next line of `lines` that `wanted` accepts, within `within`; every line read is kept in `seen`.
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<Value>,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no such line within {within:?}; saw {seen:#?}"));
        let value: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        seen.push(value.clone());
        if wanted(&value) {
            return value;
        }
    }
}

#[tokio::test]
async fn json_log_lines_about_a_job_name_its_job_and_trace() {
    let mut stack = Stack::new();
    stack.transformer().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagepipe-gateway"))
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &amqp_url(),
            "--amqp-namespace",
            &stack.namespace,
            "--mongodb-uri",
            &mongodb_uri(),
            "--mongodb-database",
            &stack.database,
        ])
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let lines = lines_of(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let listening = wait_for_line(&lines, &mut seen, Duration::from_secs(60), |line| {
        line["message"] == "Gateway listening."
    });
    let base = format!("http://{}", listening["addr"].as_str().unwrap());

    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{base}/image?width=40"),
        "image/png",
        picture(80, 60, image::ImageFormat::Png),
    )
    .await;
    let result = get(&client, format!("{base}/image/{id}?wait=20")).await;
    assert_eq!(result.status(), 200);
    wait_for_line(&lines, &mut seen, Duration::from_secs(20), |line| {
        line["message"] == "Result arrived." && line["job_id"] == id.as_str()
    });
    // Let the request lines of the GET land too.
    wait_for_line(&lines, &mut seen, Duration::from_secs(10), |line| {
        line["message"] == "Request." && line["route"] == "/image/{id}"
    });
    let _ = child.kill();
    let _ = child.wait();

    let about_the_job: Vec<&Value> = seen
        .iter()
        .filter(|line| line.to_string().contains(&id))
        .collect();
    assert!(about_the_job.len() >= 2, "{seen:#?}");
    let trace_id = about_the_job[0]["trace_id"].as_str().unwrap_or_default();
    assert!(!trace_id.is_empty(), "{:#?}", about_the_job[0]);
    for line in &about_the_job {
        assert_eq!(line["job_id"], id.as_str(), "{line}");
        assert_eq!(line["trace_id"], trace_id, "{line}");
        for key in ["timestamp", "level", "message"] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
        assert_eq!(line["service"], "gateway", "{line}");
    }
    let messages: Vec<&str> = about_the_job
        .iter()
        .filter_map(|line| line["message"].as_str())
        .collect();
    assert!(messages.contains(&"Accepted a job."), "{messages:?}");
    assert!(messages.contains(&"Result arrived."), "{messages:?}");
    // One line per request, with its route template and status, and never an ERROR for a served request.
    let requests: Vec<&Value> = seen
        .iter()
        .filter(|line| line["message"] == "Request.")
        .collect();
    assert!(
        requests
            .iter()
            .any(|line| line["route"] == "/image" && line["status"] == 202),
        "{requests:#?}"
    );
    assert!(
        seen.iter().all(|line| line["level"] != "ERROR"),
        "{seen:#?}"
    );
    stack.teardown().await;
}
