//! `DELETE /image/{id}`: a stored job goes from MongoDB and from every replica's memory; a job deleted the moment
//! its result arrives is waited for and deleted too.

use std::time::{Duration, Instant};

use imagepipe_common::testkit::EVENT_TIMEOUT;
use mongodb::bson::{Document, doc};

use crate::helpers::{Gateway, Stack, error_of, get, get_final, picture, post_image, stored};

/// Every URL of job `id` with outputs `outputs`.
fn urls(gateway: &Gateway, id: &str, outputs: &[&str]) -> Vec<String> {
    let base = format!("{}/image/{id}", gateway.base);
    let mut urls = vec![
        base.clone(),
        format!("{base}/original"),
        format!("{base}/status"),
    ];
    urls.extend(outputs.iter().map(|name| format!("{base}/{name}")));
    urls
}

#[tokio::test]
async fn a_deleted_job_is_gone_from_every_replica_and_from_gridfs() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let first = stack.gateway(&[]).await;
    let second = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{}/image?variants=small:40w,large:120w.webp", first.base),
        "image/png",
        picture(160, 120, image::ImageFormat::Png),
    )
    .await;
    let outputs = ["small", "large"];
    let response = get_final(&client, format!("{}/image/{id}", first.base)).await;
    assert_eq!(response.status(), 200);
    let archive = stack.archive().await;
    let document = stored(&archive, &id).await;
    let gridfs_ids: Vec<String> = document
        .original
        .iter()
        .chain(&document.outputs)
        .map(|file| file.gridfs_id.clone())
        .collect();
    assert_eq!(gridfs_ids.len(), 3);
    // The other replica heard of the job from its events only; once it hears it is stored, its status lists the
    // outputs (read from MongoDB).
    let started = Instant::now();
    loop {
        let status: serde_json::Value = get(&client, format!("{}/image/{id}/status", second.base))
            .await
            .json()
            .await
            .unwrap();
        if status["status"] == "done" {
            let names: Vec<_> = status["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|output| output["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(names, outputs);
            break;
        }
        // Moments normally; the limit only fails a hung test on a loaded machine.
        assert!(started.elapsed() < EVENT_TIMEOUT, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both replicas serve every part, so both hold it in memory when it is deleted.
    for gateway in [&first, &second] {
        for url in urls(gateway, &id, &outputs) {
            assert_eq!(get(&client, &url).await.status(), 200, "{url}");
        }
    }

    let response = client
        .delete(format!("{}/image/{id}", first.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());

    // The deleting replica forgets at once; the other on the deleted event, within moments.
    for url in urls(&first, &id, &outputs) {
        let body = error_of(get(&client, &url).await, 404).await;
        assert_eq!(body["code"], "job_not_found", "{url}");
    }
    let started = Instant::now();
    for url in urls(&second, &id, &outputs) {
        loop {
            let response = get(&client, &url).await;
            if response.status() == 404 {
                assert_eq!(error_of(response, 404).await["code"], "job_not_found");
                break;
            }
            assert!(
                started.elapsed() < EVENT_TIMEOUT,
                "{url} still answers {} after the deletion",
                response.status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // A replica started afterwards does not find it in MongoDB either.
    let third = stack.gateway(&[]).await;
    for url in urls(&third, &id, &outputs) {
        let body = error_of(get(&client, &url).await, 404).await;
        assert_eq!(body["code"], "job_not_found", "{url}");
    }

    // Nothing of it is left in MongoDB: no job document, no GridFS file, no chunk.
    assert!(archive.job(&id).await.unwrap().is_none());
    let database = stack.database().await;
    let files = database
        .collection::<Document>("images.files")
        .count_documents(doc! { "metadata.job_id": &id })
        .await
        .unwrap();
    assert_eq!(files, 0, "GridFS files left");
    let chunks = database
        .collection::<Document>("images.chunks")
        .count_documents(doc! { "files_id": { "$in": &gridfs_ids } })
        .await
        .unwrap();
    assert_eq!(chunks, 0, "GridFS chunks left");

    // Deleting again, from either replica, finds nothing.
    for gateway in [&first, &second] {
        let response = client
            .delete(format!("{}/image/{id}", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(response, 404).await["code"], "job_not_found");
    }
    stack.teardown().await;
}

#[tokio::test]
async fn a_job_deleted_as_soon_as_its_result_arrives_is_deleted() {
    let (stack, gateway) = Stack::start().await;
    let client = reqwest::Client::new();
    let archive = stack.archive().await;
    for round in 0..3 {
        let id = post_image(
            &client,
            format!("{}/image?width=40", gateway.base),
            "image/png",
            picture(80, 60, image::ImageFormat::Png),
        )
        .await;
        let response = get_final(&client, format!("{}/image/{id}", gateway.base)).await;
        assert_eq!(response.status(), 200, "round {round}");
        // At once, as a client that got its result deletes it: save2db may not have stored it yet, and the
        // gateway waits for it rather than answering 409.
        let response = client
            .delete(format!("{}/image/{id}", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            204,
            "round {round}: {}",
            response.text().await.unwrap()
        );
        let body = error_of(
            get(&client, format!("{}/image/{id}/status", gateway.base)).await,
            404,
        )
        .await;
        assert_eq!(body["code"], "job_not_found");
        assert!(archive.job(&id).await.unwrap().is_none(), "round {round}");
    }
    stack.teardown().await;
}
