//! The worker: `process_one` on crafted deliveries, and the whole service consuming from RabbitMQ.

use std::time::Duration;

use imagepipe_archive::original_id;
use imagepipe_common::amqp::{Broker, Channel, Delivery, Disposition, Envelope, Publisher};
use imagepipe_proto::{
    Message,
    topology::routing,
    v1::{ImageArchive, JobEvent, JobStatus, job_event},
};
use imagepipe_save2db::{ArchiveWorker, Outcome};
use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};
use mongodb::bson::doc;

use crate::helpers::{
    BUCKET, EVENT_TIMEOUT, amqp_url, done_archive, scratch_archive, spawn_app, unique, wait_for,
    wait_ready,
};

/// A delivery as the broker would hand it over, with the contract's properties.
fn delivery<M: Message>(message_type_of: &M, payload: Vec<u8>, job_id: &str) -> Delivery {
    let _ = message_type_of;
    let mut delivery = Delivery::mock(1, "ex".into(), routing::ARCHIVE.into(), false, payload);
    delivery.properties = Envelope {
        routing_key: routing::ARCHIVE,
        job_id,
        trace_id: "trace",
        persistent: true,
        mandatory: true,
    }
    .properties::<M>();
    delivery
}

/// Declares a private queue receiving every `stored` event of `broker`'s namespace.
async fn stored_events(broker: &Broker) -> (Channel, String) {
    let channel = broker.channel().await.unwrap();
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let name = queue.name().as_str().to_owned();
    channel
        .queue_bind(
            name.as_str().into(),
            broker.topology().exchange().into(),
            routing::event("stored").into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (channel, name)
}

async fn next_event(channel: &Channel, queue: &str) -> Option<JobEvent> {
    let message = channel
        .basic_get(queue.into(), BasicGetOptions::default())
        .await
        .unwrap()?;
    message
        .delivery
        .acker
        .ack(BasicAckOptions::default())
        .await
        .unwrap();
    Some(JobEvent::from_payload(message.delivery.data.clone()).unwrap())
}

async fn ready_count(channel: &Channel, queue: &str) -> u32 {
    imagepipe_common::amqp::ready_count(channel, queue)
        .await
        .unwrap()
}

#[tokio::test]
async fn process_one_decides_what_becomes_of_each_delivery() {
    let db = scratch_archive().await;
    let broker = Broker::new(
        &imagepipe_common::config::AmqpArgs::new(amqp_url(), unique("t")),
        "save2db-tests",
    )
    .unwrap();
    broker.declare_topology().await.unwrap();
    let (channel, events) = stored_events(&broker).await;
    let worker = ArchiveWorker::new(db.store.clone(), Publisher::new(broker.clone()), "s2d-unit");

    let garbage = delivery(&ImageArchive::default(), vec![0xff; 16], "job-x");
    let outcome = worker.process_one(&garbage).await;
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    assert_eq!(outcome.disposition(), Disposition::DeadLetter);

    let event = JobEvent::default();
    let wrong_type = delivery(&event, event.to_payload(), "job-x");
    assert_eq!(
        worker.process_one(&wrong_type).await.disposition(),
        Disposition::DeadLetter
    );

    let no_id = ImageArchive {
        job_id: String::new(),
        ..done_archive("x", 10, 10)
    };
    let invalid = delivery(&no_id, no_id.to_payload(), "");
    assert_eq!(
        worker.process_one(&invalid).await.disposition(),
        Disposition::DeadLetter
    );

    let job_id = unique("job");
    let archive = done_archive(&job_id, 1000, 100);
    let good = delivery(&archive, archive.to_payload(), &job_id);
    let outcome = worker.process_one(&good).await;
    let Outcome::Stored(document) = &outcome else {
        panic!("expected Stored, got {outcome:?}");
    };
    assert_eq!(outcome.disposition(), Disposition::Ack);
    assert_eq!(document.id, job_id);
    assert!(db.store.job(&job_id).await.unwrap().is_some());

    let event = wait_for(EVENT_TIMEOUT, || next_event(&channel, &events))
        .await
        .expect("a stored event");
    assert_eq!(event.job_id, job_id);
    assert_eq!(event.kind, job_event::Kind::Stored as i32);
    assert_eq!(event.status, JobStatus::Done as i32);
    assert_eq!(event.by, "s2d-unit");

    // The job is deleted; its archive is delivered again (a redelivery, a replay): acked, nothing stored again,
    // nothing announced.
    let deletion = JobEvent {
        job_id: job_id.clone(),
        kind: job_event::Kind::Deleted as i32,
        at_ms: 1_700_000_009_000,
        by: "gw-test".into(),
        ..JobEvent::default()
    };
    assert!(db.store.delete_job(&deletion).await.unwrap());
    let outcome = worker.process_one(&good).await;
    assert!(matches!(outcome, Outcome::Deleted), "{outcome:?}");
    assert_eq!(outcome.disposition(), Disposition::Ack);
    assert_eq!(db.store.job(&job_id).await.unwrap(), None);
    // `process_one` returned after the broker confirmed anything it published: an event would be queued by
    // now, and the half second only gives a wrong one the chance to show.
    assert!(
        wait_for(Duration::from_millis(500), || next_event(&channel, &events))
            .await
            .is_none(),
        "no stored event for a deleted job"
    );

    worker.publisher().close().await;
    let _ = channel.close(200, "done".into()).await;
    broker.delete_topology().await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn the_service_stores_a_twice_published_archive_once() {
    let mut app = spawn_app().await;
    // `/readyz` turns 200 once consuming.
    wait_ready(app.addr).await;

    let (channel, events) = stored_events(&app.broker).await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, 300_000, 1000);
    let envelope = Envelope {
        routing_key: routing::ARCHIVE,
        job_id: &job_id,
        trace_id: &archive.trace_id,
        persistent: true,
        mandatory: true,
    };
    app.publisher.publish(envelope, &archive).await.unwrap();
    app.publisher.publish(envelope, &archive).await.unwrap();

    let document = wait_for(EVENT_TIMEOUT, || async {
        app.db.store.job(&job_id).await.unwrap()
    })
    .await
    .expect("the job document appears");
    assert_eq!(document.status, "done");
    // Both deliveries are handled (stored or found stored) and announced.
    let mut announced = 0;
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    while announced < 2 && tokio::time::Instant::now() < deadline {
        match next_event(&channel, &events).await {
            Some(event) => {
                assert_eq!(event.job_id, job_id);
                announced += 1;
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(announced, 2, "both deliveries are stored and announced");

    assert_eq!(app.db.count("jobs", doc! {}).await, 1);
    assert_eq!(app.db.count(&format!("{BUCKET}.files"), doc! {}).await, 2);
    assert_eq!(
        app.db
            .count(
                &format!("{BUCKET}.chunks"),
                doc! { "files_id": original_id(&job_id) }
            )
            .await,
        2
    );
    let original = app
        .db
        .store
        .read_file(&original_id(&job_id))
        .await
        .unwrap()
        .unwrap();
    assert!(original == archive.original);

    // Poison goes to the dead-letter queue, not back to the archive queue.
    let poison = JobEvent::default();
    app.publisher.publish(envelope, &poison).await.unwrap();
    let dead_letters = app.broker.topology().dead_letter_queue();
    let dead = wait_for(EVENT_TIMEOUT, || async {
        (ready_count(&channel, &dead_letters).await == 1).then_some(())
    })
    .await;
    assert!(dead.is_some(), "the poison message is dead-lettered");

    app.stop().await;
    let archive_queue = app.broker.topology().archive_queue();
    assert_eq!(
        ready_count(&channel, &archive_queue).await,
        0,
        "the archive queue ends empty"
    );
    let _ = channel.close(200, "done".into()).await;
    app.clean_up().await;
}
