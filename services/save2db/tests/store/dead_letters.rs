//! The dead-letter queue against the real RabbitMQ: archives rejected into it are listed without being
//! consumed, replayed by job id back to the archive queue, and the binary's `dead-letters` subcommand does the same.

use std::process::Output;

use imagepipe_common::{
    amqp::{Broker, Channel, Delivery, Envelope, Publisher},
    config::AmqpArgs,
};
use imagepipe_proto::{Message, topology::routing, v1::ImageArchive};
use imagepipe_save2db::{
    DeathReason, Selection,
    dead_letters::{self, HEADER_REPLAYED},
};
use lapin::{
    options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions, BasicRejectOptions},
    types::AMQPValue,
};

use crate::helpers::{EVENT_TIMEOUT, amqp_url, done_archive, unique, wait_for};

/// A broker on a fresh namespace with its topology declared, and a publisher on it.
async fn namespace() -> (Broker, Publisher) {
    let broker = Broker::new(&AmqpArgs::new(amqp_url(), unique("t")), "save2db-tests").unwrap();
    broker.declare_topology().await.unwrap();
    let publisher = Publisher::new(broker.clone());
    (broker, publisher)
}

fn envelope(job_id: &str) -> Envelope<'_> {
    Envelope {
        routing_key: routing::ARCHIVE,
        job_id,
        trace_id: "trace-dl",
        persistent: true,
        mandatory: true,
    }
}

async fn ready_count(channel: &Channel, queue: &str) -> u32 {
    imagepipe_common::amqp::ready_count(channel, queue)
        .await
        .unwrap()
}

async fn get(channel: &Channel, queue: &str) -> Option<Delivery> {
    channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap()
        .map(|message| message.delivery)
}

/// Waits until `queue` holds exactly `count` ready messages.
async fn wait_for_count(channel: &Channel, queue: &str, count: u32) {
    let reached = wait_for(EVENT_TIMEOUT, || async {
        (ready_count(channel, queue).await == count).then_some(())
    })
    .await;
    assert!(
        reached.is_some(),
        "{queue} holds {} ready messages, expected {count}",
        ready_count(channel, queue).await
    );
}

/// Publishes one archive per job and rejects each from the archive queue, as save2db does with poison, so they
/// are dead-lettered. Returns the archives' payloads.
async fn dead_letter_archives(
    broker: &Broker,
    publisher: &Publisher,
    jobs: &[&str],
) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    for job in jobs {
        let archive = done_archive(job, 500, 50);
        publisher.publish(envelope(job), &archive).await.unwrap();
        payloads.push(archive.to_payload());
    }
    let channel = broker.channel().await.unwrap();
    let archive_queue = broker.topology().archive_queue();
    for _ in jobs {
        let delivery = wait_for(EVENT_TIMEOUT, || get(&channel, &archive_queue))
            .await
            .expect("the archive reaches its queue");
        delivery
            .acker
            .reject(BasicRejectOptions { requeue: false })
            .await
            .unwrap();
    }
    wait_for_count(
        &channel,
        &broker.topology().dead_letter_queue(),
        jobs.len() as u32,
    )
    .await;
    let _ = channel.close(200, "done".into()).await;
    payloads
}

#[tokio::test]
async fn dead_letters_are_listed_in_place_and_replayed_by_job_id() {
    let (broker, publisher) = namespace().await;
    let topology = broker.topology().clone();
    let (first, second) = (unique("job"), unique("job"));
    let payloads = dead_letter_archives(&broker, &publisher, &[&first, &second]).await;
    let channel = broker.channel().await.unwrap();

    let letters = dead_letters::list(&broker, 10).await.unwrap();
    let jobs: Vec<&str> = letters
        .iter()
        .map(|letter| letter.job_id.as_str())
        .collect();
    assert_eq!(jobs, [first.as_str(), second.as_str()], "in queue order");
    for (letter, payload) in letters.iter().zip(&payloads) {
        assert_eq!(letter.reason, DeathReason::Rejected);
        assert_eq!(letter.queue, topology.archive_queue());
        assert_eq!(letter.exchange, topology.exchange());
        assert_eq!(letter.routing_key, routing::ARCHIVE);
        assert_eq!(letter.deaths, 1);
        assert_eq!(letter.replayed, 0);
        assert_eq!(letter.trace_id, "trace-dl");
        assert_eq!(letter.message_type, ImageArchive::TYPE);
        assert_eq!(letter.bytes, payload.len());
        assert!(letter.died_at().is_some());
    }
    let dead_letter_queue = topology.dead_letter_queue();
    assert_eq!(
        ready_count(&channel, &dead_letter_queue).await,
        2,
        "listing leaves every dead letter ready in the queue"
    );
    assert_eq!(dead_letters::count(&broker).await.unwrap(), 2);
    assert_eq!(
        dead_letters::list(&broker, 1).await.unwrap().len(),
        1,
        "the limit holds"
    );
    // RabbitMQ requeues what a listing held behind what it did not reach, so only the set is stable.
    let by_job = |mut letters: Vec<imagepipe_save2db::DeadLetter>| {
        letters.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        letters
    };
    assert_eq!(
        by_job(dead_letters::list(&broker, 10).await.unwrap()),
        by_job(letters.clone()),
        "listing again sees the same dead letters"
    );
    assert_eq!(ready_count(&channel, &dead_letter_queue).await, 2);

    let report = dead_letters::replay(&broker, &Selection::Jobs(vec![first.clone()]), 100)
        .await
        .unwrap();
    assert_eq!(report.examined, 2);
    assert_eq!(report.replayed.len(), 1);
    assert_eq!(report.replayed[0].job_id, first);
    assert_eq!(report.kept, 1);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.missing.is_empty());

    let archive_queue = topology.archive_queue();
    let replayed = wait_for(EVENT_TIMEOUT, || get(&channel, &archive_queue))
        .await
        .expect("the replayed archive is back in the archive queue");
    let headers = replayed.properties.headers().clone().unwrap_or_default();
    let names: Vec<&str> = headers.inner().keys().map(|name| name.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|name| name.starts_with("x-death") || name.contains("-death-")),
        "no death record survives the replay: {names:?}"
    );
    assert_eq!(
        headers.inner().get(HEADER_REPLAYED),
        Some(&AMQPValue::LongLongInt(1))
    );
    assert_eq!(
        replayed
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str()),
        Some(first.as_str())
    );
    assert_eq!(
        replayed
            .properties
            .kind()
            .as_ref()
            .map(|kind| kind.as_str()),
        Some(ImageArchive::TYPE)
    );
    assert!(replayed.data == payloads[0], "the exact payload");
    assert_eq!(replayed.routing_key.as_str(), routing::ARCHIVE);
    replayed
        .acker
        .ack(BasicAckOptions::default())
        .await
        .unwrap();
    assert_eq!(ready_count(&channel, &archive_queue).await, 0);

    let left = dead_letters::list(&broker, 10).await.unwrap();
    assert_eq!(left.len(), 1, "the other one is still dead");
    assert_eq!(left[0].job_id, second);

    let report = dead_letters::replay(&broker, &Selection::Jobs(vec!["no-such-job".into()]), 100)
        .await
        .unwrap();
    assert_eq!(report.missing, ["no-such-job"]);
    assert_eq!((report.kept, report.replayed.len()), (1, 0));
    assert_eq!(ready_count(&channel, &dead_letter_queue).await, 1);

    let _ = channel.close(200, "done".into()).await;
    publisher.close().await;
    broker.delete_topology().await.unwrap();
}

#[tokio::test]
async fn a_dead_letter_nothing_would_receive_is_not_replayed_and_stays() {
    let (broker, publisher) = namespace().await;
    let topology = broker.topology().clone();
    let job = unique("job");
    // Straight into the dead-letter exchange, with a key no work queue is bound to and no death record.
    let channel = broker.channel().await.unwrap();
    channel
        .basic_publish(
            topology.dead_letter_exchange().into(),
            "image.nowhere".into(),
            BasicPublishOptions::default(),
            b"stray",
            envelope(&job).properties::<ImageArchive>(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    wait_for_count(&channel, &topology.dead_letter_queue(), 1).await;

    let report = dead_letters::replay(&broker, &Selection::All, 100)
        .await
        .unwrap();
    assert_eq!((report.examined, report.kept), (1, 0));

    assert!(report.replayed.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].dead_letter.job_id, job);
    assert_eq!(report.failed[0].dead_letter.reason.as_str(), "unknown");
    assert!(
        report.failed[0].reason.contains("image.nowhere"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(
        ready_count(&channel, &topology.dead_letter_queue()).await,
        1,
        "it stays"
    );

    let _ = channel.close(200, "done".into()).await;
    publisher.close().await;
    broker.delete_topology().await.unwrap();
}

/// Runs the `imagepipe-save2db` binary with `args` on `namespace`.
async fn save2db(namespace: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_imagepipe-save2db"));
    command
        .args(args)
        .env("AMQP_URL", amqp_url())
        .env("AMQP_NAMESPACE", namespace)
        .env_remove("RUST_LOG");
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_binary_lists_and_replays_dead_letters() {
    let (broker, publisher) = namespace().await;
    let namespace = broker.topology().namespace().to_owned();
    let job = unique("job");
    dead_letter_archives(&broker, &publisher, &[&job]).await;
    let channel = broker.channel().await.unwrap();
    let dead_letter_queue = broker.topology().dead_letter_queue();

    let listed = save2db(&namespace, &["dead-letters", "list", "--json"]).await;
    assert!(listed.status.success(), "{listed:?}");
    let lines: Vec<serde_json::Value> = stdout(&listed)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one JSON line per dead letter, nothing else"
    );
    assert_eq!(lines[0]["job_id"], job.as_str());
    assert_eq!(lines[0]["reason"], "rejected");
    assert_eq!(lines[0]["routing_key"], routing::ARCHIVE);

    let table = save2db(&namespace, &["dead-letters", "list"]).await;
    assert!(table.status.success(), "{table:?}");
    let table = stdout(&table);
    assert!(table.starts_with("JOB "), "{table}");
    assert!(
        table.contains(&job) && table.contains("rejected"),
        "{table}"
    );

    let missing = save2db(
        &namespace,
        &["dead-letters", "replay", "--job", "no-such-job"],
    )
    .await;
    assert!(
        !missing.status.success(),
        "a job not found fails the command"
    );
    assert!(stdout(&missing).contains("missing   no-such-job"));

    let replayed = save2db(&namespace, &["dead-letters", "replay", "--job", &job]).await;
    assert!(replayed.status.success(), "{replayed:?}");
    let said = stdout(&replayed);
    assert!(said.starts_with(&format!("replayed  {job}")), "{said}");
    assert!(said.contains("replayed 1, failed 0, kept 0"), "{said}");

    wait_for_count(&channel, &broker.topology().archive_queue(), 1).await;
    wait_for_count(&channel, &dead_letter_queue, 0).await;
    let _ = channel.close(200, "done".into()).await;

    let wrong = save2db(&unique("no-such-namespace"), &["dead-letters", "list"]).await;
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("AMQP_NAMESPACE"),
        "{wrong:?}"
    );

    publisher.close().await;
    broker.delete_topology().await.unwrap();
}
