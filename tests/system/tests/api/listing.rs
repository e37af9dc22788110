//! `GET /images`: stored jobs newest first, a page at a time, stable while new jobs arrive.

use std::collections::HashSet;

use mongodb::bson::Document;
use serde_json::Value;

use crate::helpers::{Stack, error_of, get, picture, post_image, stored};

/// One page: its items' ids and its `next` cursor.
async fn page(client: &reqwest::Client, url: &str) -> (Vec<Value>, Option<String>) {
    let response = get(client, url).await;
    assert_eq!(response.status(), 200, "{url}");
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap().clone();
    let next = body["next"].as_str().map(str::to_owned);
    assert!(next.is_some() || body["next"].is_null());
    (items, next)
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn stored_jobs_are_listed_newest_first_in_stable_pages() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let client = reqwest::Client::new();
    let archive = stack.archive().await;
    let png = picture(64, 48, image::ImageFormat::Png);
    let url = format!("{}/image", gateway.base);

    // Four jobs that succeed (one with variants) and one that fails, submitted one after another.
    let mut submitted = Vec::new();
    for query in [
        "?width=10",
        "?variants=a:8w,b:16w",
        "?width=20",
        "?width=30",
    ] {
        submitted
            .push(post_image(&client, format!("{url}{query}"), "image/png", png.clone()).await);
    }
    let truncated = png[..png.len() / 3].to_vec();
    let failed = post_image(&client, &url, "image/png", truncated).await;
    submitted.push(failed.clone());
    let mut documents = Vec::new();
    for id in &submitted {
        documents.push(stored(&archive, id).await);
    }
    // Newest first, ties broken by the higher id.
    documents.sort_by(|a, b| {
        (b.submitted_at.timestamp_millis(), &b.id).cmp(&(a.submitted_at.timestamp_millis(), &a.id))
    });
    let expected: Vec<String> = documents.iter().map(|d| d.id.clone()).collect();

    // The listing's sort key is indexed.
    let database = stack.database().await;
    let indexes: Vec<Document> = {
        use futures_util::TryStreamExt as _;
        let mut cursor = database
            .collection::<Document>("jobs")
            .list_indexes()
            .await
            .unwrap();
        let mut keys = Vec::new();
        while let Some(index) = cursor.try_next().await.unwrap() {
            keys.push(index.keys);
        }
        keys
    };
    assert!(
        indexes
            .iter()
            .any(|keys| keys.keys().collect::<Vec<_>>() == ["submitted_at", "_id"]),
        "{indexes:?}"
    );

    // Everything on one page.
    let (items, next) = page(&client, &format!("{}/images", gateway.base)).await;
    assert_eq!(ids(&items), expected);
    assert_eq!(next, None);
    let small = items
        .iter()
        .find(|item| item["id"] == submitted[1].as_str())
        .unwrap();
    assert_eq!(small["status"], "done");
    assert_eq!(small["outputs"], serde_json::json!(["a", "b"]));
    assert_eq!(
        small["links"]["self"],
        format!("/image/{}/status", submitted[1])
    );
    let submitted_at = small["submitted_at"].as_str().unwrap();
    assert!(
        submitted_at.ends_with('Z') && submitted_at.len() == "2025-01-31T12:00:00.000Z".len(),
        "{small}"
    );
    let failure = items
        .iter()
        .find(|item| item["id"] == failed.as_str())
        .unwrap();
    assert_eq!(failure["status"], "failed");
    assert_eq!(failure["error"]["code"], "decode_failed");
    assert_eq!(failure["outputs"], serde_json::json!([]));

    // Pages of two; a job that arrives between pages shows up on no later page and moves nothing.
    let (first, cursor) = page(&client, &format!("{}/images?limit=2", gateway.base)).await;
    assert_eq!(ids(&first), expected[..2]);
    let newcomer = post_image(&client, format!("{url}?width=5"), "image/png", png.clone()).await;
    stored(&archive, &newcomer).await;
    let mut walked = ids(&first);
    let mut cursor = cursor;
    let mut pages = 1;
    while let Some(next) = cursor {
        let (items, following) = page(
            &client,
            &format!("{}/images?limit=2&cursor={next}", gateway.base),
        )
        .await;
        assert!(!items.is_empty() && items.len() <= 2);
        walked.extend(ids(&items));
        cursor = following;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, expected);
    let unique: HashSet<_> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len());
    // A fresh walk starts with the newcomer.
    let (items, _) = page(&client, &format!("{}/images?limit=1", gateway.base)).await;
    assert_eq!(ids(&items), [newcomer]);

    // Narrowed by status.
    let (items, next) = page(&client, &format!("{}/images?status=failed", gateway.base)).await;
    assert_eq!((ids(&items), next), (vec![failed.clone()], None));
    let (items, _) = page(
        &client,
        &format!("{}/images?status=done&limit=100", gateway.base),
    )
    .await;
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|item| item["status"] == "done"));

    // Bad parameters say what is wrong.
    for (query, code) in [
        ("limit=0", "invalid_option"),
        ("limit=101", "invalid_option"),
        ("limit=lots", "invalid_option"),
        ("status=queued", "invalid_option"),
        ("cursor=not-a-cursor", "invalid_cursor"),
    ] {
        let response = get(&client, format!("{}/images?{query}", gateway.base)).await;
        assert_eq!(error_of(response, 400).await["code"], code, "{query}");
    }
    stack.teardown().await;
}
