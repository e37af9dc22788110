//! The gateway binary's JSON log lines about a job name the job and its trace, from its acceptance to its
//! result. The test plays the transformer through the contract: it takes the job off the transform queue and
//! publishes its result to the gateway's reply queue.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use imagepipe_common::{
    amqp::{Envelope, Publisher},
    testkit::{EVENT_TIMEOUT, READY_TIMEOUT, wait_for},
};
use imagepipe_gateway::testkit::get_final;
use imagepipe_proto::{
    Message,
    v1::{ImageFormat, ImageInfo, ImageResult, ImageSubmitted, JobStatus, Output},
};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use serde_json::Value;

use crate::helpers::{Harness, picture, post_image};

/// Plays the transformer for one job: takes it off the transform queue and publishes a done result with one
/// `default` output (`result_png`) to the replica that accepted it, as the transformer would.
async fn transform_one(harness: &Harness, result_png: Vec<u8>) -> ImageSubmitted {
    let broker = harness.broker();
    let channel = broker.channel().await.unwrap();
    let queue = broker.topology().transform_queue();
    let delivery = wait_for(EVENT_TIMEOUT, || async {
        channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
    })
    .await
    .expect("the job reaches the transform queue");
    let job = ImageSubmitted::from_payload(delivery.delivery.data.clone()).unwrap();
    delivery
        .delivery
        .acker
        .ack(BasicAckOptions::default())
        .await
        .unwrap();
    let result = ImageResult {
        job_id: job.job_id.clone(),
        trace_id: job.trace_id.clone(),
        status: JobStatus::Done as i32,
        outputs: vec![Output {
            name: "default".into(),
            info: Some(ImageInfo {
                format: ImageFormat::Png as i32,
                width: 40,
                height: 30,
                bytes: result_png.len() as u64,
            }),
            data: result_png.into(),
        }],
        finished_at_ms: job.submitted_at_ms + 1,
        processed_by: "tf-stand-in".into(),
        ..ImageResult::default()
    };
    let publisher = Publisher::new(broker);
    let envelope = Envelope {
        routing_key: &job.reply_routing_key,
        job_id: &job.job_id,
        trace_id: &job.trace_id,
        persistent: true,
        mandatory: true,
    };
    publisher.publish(envelope, &result).await.unwrap();
    publisher.close().await;
    job
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
    let harness = Harness::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagepipe-gateway"))
        .args(harness.flags(true))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let lines = lines_of(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let listening = wait_for_line(&lines, &mut seen, READY_TIMEOUT, |line| {
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
    let job = transform_one(&harness, picture(40, 30, image::ImageFormat::Png)).await;
    assert_eq!(job.job_id, id);
    let result = get_final(&client, format!("{base}/image/{id}")).await;
    assert_eq!(result.status(), 200);
    // The lines come within milliseconds of the answer: the limits are for a hung test only.
    wait_for_line(&lines, &mut seen, EVENT_TIMEOUT, |line| {
        line["message"] == "Result arrived." && line["job_id"] == id.as_str()
    });
    // Let the request lines of the GET land too.
    wait_for_line(&lines, &mut seen, EVENT_TIMEOUT, |line| {
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
    harness.teardown().await;
}
