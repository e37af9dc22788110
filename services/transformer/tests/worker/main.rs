//! The transformer against the real broker: jobs in on the transform queue, results and archives out, on a
//! private topology per test.

mod helpers;

use helpers::{INSTANCE, job, spawn_app};
use image::{DynamicImage, Rgb, RgbImage};
use imagepipe_common::{
    amqp::DeliveryIds,
    testkit::{EVENT_TIMEOUT, READY_TIMEOUT, wait_for},
};
use imagepipe_proto::{
    Message as _,
    v1::{ImageArchive, ImageFormat, ImageResult, JobStatus, TransformSpec},
};

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 200]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

#[tokio::test]
async fn png_is_resized_and_archived_with_its_exact_original() {
    let app = spawn_app().await;
    let original = png(64, 48);
    let job = job(
        original.clone(),
        TransformSpec {
            width: Some(32),
            ..TransformSpec::default()
        },
    );
    app.submit(&job).await;

    let (result, delivery) = app.next::<ImageResult>(&app.result_queue).await;
    assert_eq!(result.job_id, job.job_id);
    assert_eq!(result.status(), JobStatus::Done, "{}", result.error);
    assert_eq!(result.processed_by, INSTANCE);
    let ids = DeliveryIds::of(&delivery);
    assert_eq!(
        (ids.job_id, ids.trace_id),
        (job.job_id.clone(), job.trace_id.clone())
    );
    let [output] = result.outputs.as_slice() else {
        panic!("one output, got {}", result.outputs.len());
    };
    let info = output.info.unwrap();
    assert_eq!(
        (info.format(), info.width, info.height),
        (ImageFormat::Png, 32, 24)
    );
    assert_eq!(info.bytes, output.data.len() as u64);
    let decoded = image::load_from_memory(&output.data).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (32, 24));

    let archive_queue = app.broker.topology().archive_queue();
    let (archive, _) = app.next::<ImageArchive>(&archive_queue).await;
    assert_eq!(archive.job_id, job.job_id);
    assert_eq!(archive.status(), JobStatus::Done);
    assert_eq!(
        archive.original.as_ref(),
        original.as_slice(),
        "exact original bytes"
    );
    assert_eq!(archive.outputs, result.outputs);
    assert_eq!(archive.spec, job.spec);
    assert!(archive.submitted_at_ms <= archive.started_at_ms);
    assert!(archive.started_at_ms <= archive.finished_at_ms);
    assert_eq!(archive.finished_at_ms, result.finished_at_ms);

    let stopped = app.stop().await;
    let transform_queue = stopped.broker.topology().transform_queue();
    assert_eq!(stopped.ready_count(&transform_queue).await, 0, "acked");
    stopped.clean_up().await;
}

#[tokio::test]
async fn garbage_fails_with_decode_failed_and_is_not_retried() {
    let app = spawn_app().await;
    let garbage = b"this is not an image, just some text".to_vec();
    let job = job(garbage.clone(), TransformSpec::default());
    app.submit(&job).await;

    let (result, _) = app.next::<ImageResult>(&app.result_queue).await;
    assert_eq!(result.job_id, job.job_id);
    assert_eq!(result.status(), JobStatus::Failed);
    assert_eq!(result.error_code, "decode_failed");
    assert!(!result.error.is_empty());
    assert!(result.outputs.is_empty());

    let archive_queue = app.broker.topology().archive_queue();
    let (archive, _) = app.next::<ImageArchive>(&archive_queue).await;
    assert_eq!(archive.status(), JobStatus::Failed);
    assert_eq!(archive.error_code, "decode_failed");
    assert_eq!(
        archive.original.as_ref(),
        garbage.as_slice(),
        "the original is still archived"
    );

    let stopped = app.stop().await;
    let topology = stopped.broker.topology().clone();
    assert_eq!(
        stopped.ready_count(&topology.transform_queue()).await,
        0,
        "acked, not retried"
    );
    assert_eq!(
        stopped.ready_count(&topology.archive_queue()).await,
        0,
        "archived once"
    );
    assert_eq!(stopped.ready_count(&topology.dead_letter_queue()).await, 0);
    stopped.clean_up().await;
}

#[tokio::test]
async fn a_message_that_is_not_a_job_is_dead_lettered() {
    let app = spawn_app().await;
    app.submit_raw(&[0xff, 0xff, 0xff, 0xff]).await;

    let dead = app
        .next_delivery(&app.broker.topology().dead_letter_queue())
        .await;
    assert_eq!(dead.data, vec![0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        app.ready_count(&app.result_queue).await,
        0,
        "no result for poison"
    );

    let stopped = app.stop().await;
    let transform_queue = stopped.broker.topology().transform_queue();
    assert_eq!(stopped.ready_count(&transform_queue).await, 0);
    stopped.clean_up().await;
}

#[tokio::test]
async fn health_endpoints_report_a_consuming_replica() {
    let app = spawn_app().await;
    let (status, body) = app.get_health("/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));

    // The consumer attaches right after start; wait for it rather than assuming it.
    let body = wait_for(READY_TIMEOUT, || async {
        let (status, body) = app.get_health("/readyz").await;
        (status == 200).then_some(body)
    })
    .await
    .expect("/readyz answers 200 once the consumer is attached");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["broker"], "ok");
    assert_eq!(report["consumer"], "ok");

    app.stop().await.clean_up().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_jobs_it_holds_and_leaves_the_rest_queued() {
    const JOBS: usize = 6;
    let app = spawn_app().await;
    let transform_queue = app.broker.topology().transform_queue();
    let archive_queue = app.broker.topology().archive_queue();
    let original = png(1600, 1200);
    let spec = TransformSpec {
        width: Some(400),
        ..TransformSpec::default()
    };
    let mut submitted = std::collections::HashSet::new();
    for _ in 0..JOBS {
        let job = job(original.clone(), spec.clone());
        submitted.insert(job.job_id.clone());
        app.submit(&job).await;
    }
    // Stop as soon as the transformer holds some of them (its prefetch is 2).
    let taken = wait_for(EVENT_TIMEOUT, || async {
        (app.ready_count(&transform_queue).await as usize != JOBS).then_some(())
    })
    .await;
    assert!(taken.is_some(), "nothing was taken");
    let stopped = app.stop().await;

    // Every job is either archived once (finished before the stop completed) or back in the queue, untouched.
    let mut archived = Vec::new();
    while let Some(message) = stopped
        .channel
        .basic_get(
            archive_queue.as_str().into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
    {
        archived.push(
            ImageArchive::from_payload(message.delivery.data)
                .unwrap()
                .job_id,
        );
    }
    let mut unique = archived.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        archived.len(),
        "an archive was published twice"
    );
    assert!(!archived.is_empty(), "the jobs in flight were finished");
    assert!(archived.iter().all(|id| submitted.contains(id)));
    // What the transformer held unfinished is back in the queue once the broker has seen its channel close.
    let settled = wait_for(EVENT_TIMEOUT, || async {
        let left = stopped.ready_count(&transform_queue).await as usize;
        (left + archived.len() == JOBS).then_some(left)
    })
    .await;
    let left = stopped.ready_count(&transform_queue).await as usize;
    assert!(
        settled.is_some(),
        "{left} queued + {} archived, not {JOBS}",
        archived.len()
    );
    stopped.clean_up().await;
}

#[tokio::test]
async fn a_full_archive_queue_holds_finished_jobs_and_stops_taking_new_ones_until_it_has_room() {
    use imagepipe_common::{Error, amqp::Envelope, metrics::sample_sum};
    use imagepipe_proto::topology::routing;

    // 1 MB of queues: the archive queue holds 500 kB, a message at most 200 kB.
    let app = helpers::spawn_app_with_queues(Some((1_000_000, 200_000))).await;
    let archive_queue = app.broker.topology().archive_queue();
    let transform_queue = app.broker.topology().transform_queue();
    let envelope = Envelope {
        routing_key: routing::ARCHIVE,
        job_id: "filler",
        trace_id: "filler",
        persistent: true,
        mandatory: true,
    };
    // Filled with ever smaller archives until even a small one is refused, whether the broker checks the bound
    // before or after adding a message.
    let mut full = false;
    for size in [150_000, 10_000, 100] {
        let filler = ImageArchive {
            job_id: "filler".into(),
            original: vec![0; size].into(),
            ..ImageArchive::default()
        };
        full = false;
        for _ in 0..200 {
            match app.publisher.publish(envelope, &filler).await {
                Ok(()) => {}
                Err(Error::Nacked { .. }) => {
                    full = true;
                    break;
                }
                Err(error) => panic!("publishing a filler archive: {error}"),
            }
        }
    }
    assert!(
        full,
        "the archive queue refuses archives past its byte bound"
    );
    let fillers = app.ready_count(&archive_queue).await;

    // Two workers: two jobs are done and held, the third waits in the transform queue.
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            job(
                png(64, 48),
                TransformSpec {
                    width: Some(32),
                    ..TransformSpec::default()
                },
            )
        })
        .collect();
    for job in &jobs {
        app.submit(job).await;
    }
    let held = |want: f64| {
        let app = &app;
        async move {
            wait_for(EVENT_TIMEOUT, || async {
                let (_, metrics) = app.get_health("/metrics").await;
                let held = sample_sum(
                    &metrics,
                    "imagepipe_transformer_held_jobs",
                    &[("reason", "archive_full")],
                );
                (held == Some(want)).then_some(())
            })
            .await
            .unwrap_or_else(|| panic!("{want} jobs held"));
        }
    };
    held(2.0).await;
    // Their results went out; their archives did not, and no third job was taken.
    for _ in 0..2 {
        let (result, _) = app.next::<ImageResult>(&app.result_queue).await;
        assert_eq!(result.status(), JobStatus::Done, "{}", result.error);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.ready_count(&transform_queue).await,
        1,
        "the third job waits"
    );
    assert_eq!(app.ready_count(&archive_queue).await, fillers);

    // Storage catches up: the held archives go in, and the third job runs.
    app.channel
        .queue_purge(
            archive_queue.as_str().into(),
            lapin::options::QueuePurgeOptions::default(),
        )
        .await
        .expect("purge");
    let mut archived = Vec::new();
    for _ in 0..3 {
        let (archive, _) = app.next::<ImageArchive>(&archive_queue).await;
        assert_eq!(archive.status(), JobStatus::Done);
        archived.push(archive.job_id);
    }
    archived.sort();
    let mut expected: Vec<_> = jobs.iter().map(|job| job.job_id.clone()).collect();
    expected.sort();
    assert_eq!(archived, expected, "each job archived once");
    held(0.0).await;

    let stopped = app.stop().await;
    assert_eq!(stopped.ready_count(&transform_queue).await, 0, "all acked");
    stopped.clean_up().await;
}

#[tokio::test]
async fn a_queue_an_older_release_declared_with_other_arguments_is_kept_as_it_is() {
    use imagepipe_common::{amqp::Broker, config::AmqpArgs, testkit::amqp_url};
    use lapin::{
        options::QueueDeclareOptions,
        types::{AMQPValue, FieldTable},
    };

    let args = AmqpArgs::new(amqp_url(), imagepipe_common::testkit::unique("t"));
    let broker = Broker::new(&args, "transformer-tests").unwrap();
    let channel = broker.channel().await.unwrap();
    let archive_queue = broker.topology().archive_queue();
    // As an older release declared it: quorum, unbounded.
    let mut old = FieldTable::default();
    old.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(
            archive_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            old,
        )
        .await
        .unwrap();

    broker
        .declare_topology()
        .await
        .expect("a service starts on the old queue instead of failing");
    // The old queue is bound as the new one would be: an archive reaches it.
    let publisher = imagepipe_common::amqp::Publisher::new(broker.clone());
    let archive = ImageArchive {
        job_id: "j".into(),
        ..ImageArchive::default()
    };
    let envelope = imagepipe_common::amqp::Envelope {
        routing_key: imagepipe_proto::topology::routing::ARCHIVE,
        job_id: "j",
        trace_id: "t",
        persistent: true,
        mandatory: true,
    };
    publisher.publish(envelope, &archive).await.expect("routed");
    assert_eq!(
        imagepipe_common::amqp::ready_count(&channel, &archive_queue)
            .await
            .unwrap(),
        1
    );
    publisher.close().await;
    broker.delete_topology().await.unwrap();
}

#[tokio::test]
async fn a_result_the_gateway_s_queue_refuses_is_archived_all_the_same_and_not_retried() {
    use imagepipe_proto::topology::{ArgValue, routing};
    use lapin::options::QueueDeclareOptions;

    let app = spawn_app().await;
    // A queue bound to the gateway's result key that refuses everything, as a reply queue on a lost broker node
    // does: every result publish is nacked.
    let topology = app.broker.topology();
    app.broker
        .declare_queue(
            &format!("{}.refusing", topology.namespace()),
            QueueDeclareOptions {
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            &[
                ("x-max-length", ArgValue::Int(0)),
                ("x-overflow", ArgValue::Str("reject-publish")),
            ],
            &[(topology.exchange(), routing::result(helpers::GATEWAY))],
        )
        .await
        .expect("the refusing queue");

    let job = job(
        png(64, 48),
        TransformSpec {
            width: Some(32),
            ..TransformSpec::default()
        },
    );
    app.submit(&job).await;
    let archive_queue = app.broker.topology().archive_queue();
    let (archive, _) = app.next::<ImageArchive>(&archive_queue).await;
    assert_eq!(archive.job_id, job.job_id);
    assert_eq!(archive.status(), JobStatus::Done);
    // Acknowledged once: not transformed again, nothing more archived, nothing dead-lettered.
    let transform_queue = app.broker.topology().transform_queue();
    let dead_letters = app.broker.topology().dead_letter_queue();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(app.ready_count(&archive_queue).await, 0, "archived once");
    assert_eq!(app.ready_count(&dead_letters).await, 0);
    let stopped = app.stop().await;
    assert_eq!(stopped.ready_count(&transform_queue).await, 0, "acked");
    stopped.clean_up().await;
}
