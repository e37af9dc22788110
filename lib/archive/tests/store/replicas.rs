//! Several save2db replicas (and gateways) on one archive: each test opens a second store through a client of
//! its own, so nothing but the database orders their writes. Whatever they race on, the archive ends with one
//! original, one file per output, one job document, no orphan chunk, and a deleted job stays deleted.

use std::time::Duration;

use imagepipe_archive::{
    ArchiveStore, Saved, original_id, output_id,
    testkit::{CHUNK_SIZE, done_archive},
};
use imagepipe_proto::v1::ImageArchive;
use mongodb::bson::{Document, doc, oid::ObjectId};

use crate::helpers::{TestDb, chunk, chunks, deletion, files, stored, stored_bytes, unique};

const ORIGINAL_LEN: usize = 800_000;
const OUTPUT_LEN: usize = 300_000;

/// Exactly one copy of `archive`'s job: its document, its two files with their exact bytes, and not one chunk
/// more than they need.
async fn stored_once(db: &TestDb, archive: &ImageArchive) {
    let job_id = archive.job_id.as_str();
    assert_eq!(
        db.count("jobs", doc! { "_id": job_id }).await,
        1,
        "{job_id}"
    );
    assert_eq!(
        db.count(&files(), doc! { "metadata.job_id": job_id }).await,
        2,
        "files of {job_id}"
    );
    for (id, data, len) in [
        (original_id(job_id), &archive.original, ORIGINAL_LEN),
        (
            output_id(job_id, "default"),
            &archive.outputs[0].data,
            OUTPUT_LEN,
        ),
    ] {
        assert_eq!(
            db.count(&chunks(), doc! { "files_id": &id }).await,
            len.div_ceil(CHUNK_SIZE) as u64,
            "chunks of {id}"
        );
        let read = stored_bytes(db, &id).await;
        assert!(read == *data, "the bytes of {id}");
    }
}

#[tokio::test]
async fn two_replicas_storing_the_same_job_at_once_leave_one_of_everything() {
    let db = TestDb::new("archive-r").await;
    let other = db.replica().await;
    // Each round starts the second replica a little later, so that it meets the first at a different point of
    // its save; every third round starts from an interrupted save of the same bytes (the redelivery case).
    for round in 0..15_u64 {
        let job_id = unique("job");
        let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
        if round % 3 == 2 {
            let first = chunk(
                ObjectId::new(),
                &original_id(&job_id),
                0,
                &archive.original[..CHUNK_SIZE],
            );
            db.database
                .collection::<Document>(&chunks())
                .insert_one(first)
                .await
                .unwrap();
        }
        let first = db.store.save(&archive);
        let second = async {
            tokio::time::sleep(Duration::from_millis(round % 5 * 2)).await;
            other.save(&archive).await
        };
        let (first, second) = tokio::join!(first, second);
        let (first, second) = (stored(first.unwrap()), stored(second.unwrap()));
        assert_eq!(first.outputs, second.outputs, "round {round}");
        stored_once(&db, &archive).await;
    }
    db.drop().await;
}

#[tokio::test]
async fn a_replica_deleting_while_another_stores_leaves_nothing_but_the_tombstone() {
    let db = TestDb::new("archive-r").await;
    let gateway = db.replica().await;
    for round in 0..12_u64 {
        let job_id = unique("job");
        let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
        let save = db.store.save(&archive);
        let delete = async {
            tokio::time::sleep(Duration::from_millis(round * 3)).await;
            gateway.delete_job(&deletion(&job_id)).await.unwrap();
        };
        let (saved, ()) = tokio::join!(save, delete);
        saved.unwrap();
        assert_eq!(gateway.save(&archive).await.unwrap(), Saved::Deleted);
        assert_eq!(db.store.job(&job_id).await.unwrap(), None, "round {round}");
        assert_eq!(
            db.count(&files(), doc! { "metadata.job_id": &job_id })
                .await,
            0,
            "round {round}"
        );
        for id in [original_id(&job_id), output_id(&job_id, "default")] {
            assert_eq!(
                db.count(&chunks(), doc! { "files_id": &id }).await,
                0,
                "round {round}: chunks of {id}"
            );
        }
    }
    db.drop().await;
}

/// Writes a whole other version of `archive`'s output, `len` bytes of `0xAB`, as a replica that transformed
/// the job a second time would: chunks, then (after `commit_after`) its `files` document.
async fn write_other_version(
    db: &TestDb,
    archive: &ImageArchive,
    len: usize,
    commit_after: Duration,
) {
    let id = output_id(&archive.job_id, "default");
    let data = vec![0xAB; len];
    let chunks_of_it: Vec<_> = data
        .chunks(CHUNK_SIZE)
        .enumerate()
        .map(|(n, bytes)| chunk(ObjectId::new(), &id, i32::try_from(n).unwrap(), bytes))
        .collect();
    db.database
        .collection::<Document>(&chunks())
        .insert_many(chunks_of_it)
        .await
        .unwrap();
    tokio::time::sleep(commit_after).await;
    db.database
        .collection::<Document>(&files())
        .insert_one(doc! {
            "_id": &id,
            "length": i64::try_from(len).unwrap(),
            "chunkSize": i32::try_from(CHUNK_SIZE).unwrap(),
            "uploadDate": mongodb::bson::DateTime::now(),
            "filename": "default.jpg",
            "metadata": { "job_id": &archive.job_id },
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_save_waits_for_another_version_in_progress_and_keeps_it() {
    let db = TestDb::new("archive-r").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    let other_len = OUTPUT_LEN + CHUNK_SIZE;
    // Another replica has written the chunks of its version of the output and commits it 700 ms later.
    let (_, saved) = tokio::join!(
        write_other_version(&db, &archive, other_len, Duration::from_millis(700)),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            db.store.save(&archive).await
        }
    );

    let document = stored(saved.unwrap());
    assert_eq!(
        document.outputs[0].bytes, other_len as u64,
        "the document describes the copy stored"
    );
    let id = output_id(&job_id, "default");
    assert_eq!(
        db.count(&chunks(), doc! { "files_id": &id }).await,
        other_len.div_ceil(CHUNK_SIZE) as u64,
        "no chunk of the losing version is left"
    );
    let read = stored_bytes(&db, &id).await;
    assert!(read == vec![0xAB; other_len], "the first commit wins");
    assert_eq!(
        db.store.job(&job_id).await.unwrap().unwrap().outputs[0].bytes,
        other_len as u64
    );
    db.drop().await;
}

#[tokio::test]
async fn many_replicas_at_once_agree() {
    let db = TestDb::new("archive-r").await;
    let mut stores: Vec<ArchiveStore> = vec![db.store.clone()];
    for _ in 0..3 {
        stores.push(db.replica().await);
    }
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    let saves = stores.iter().map(|store| store.save(&archive));
    for saved in futures_util::future::join_all(saves).await {
        stored(saved.unwrap());
    }
    stored_once(&db, &archive).await;
    db.drop().await;
}
