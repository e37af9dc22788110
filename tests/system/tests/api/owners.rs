//! API keys and owners: with keys configured a job is its owner's alone (another owner gets the same 404 as
//! for a missing job, and does not see it listed); the stored job document records the owner. (A request
//! without a valid key, and the open routes, are the gateway's own suite's.)

use futures_util::TryStreamExt as _;
use imagepipe_system_tests::get_final;
use mongodb::bson::{Document, doc};
use serde_json::Value;

use crate::helpers::{
    ALICE_KEY, BOB_KEY, Stack, alice_and_bob, client_with_key, error_of, get, picture, post_image,
    stored,
};

/// The ids of the jobs `client` sees listed.
async fn listed(client: &reqwest::Client, base: &str) -> Vec<String> {
    let response = get(client, format!("{base}/images?limit=100")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that `response` is exactly the 404 a job that never existed gets, for `id`.
async fn not_found_as_if_missing(response: reqwest::Response, id: &str) {
    let url = response.url().to_string();
    let body = error_of(response, 404).await;
    let expected = serde_json::json!({
        "code": "job_not_found",
        "message": format!("no job with id `{id}`"),
    });
    assert_eq!(body, expected, "{url}");
}

#[tokio::test]
async fn a_job_is_its_owners_alone() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let keys = alice_and_bob();
    let gateway = stack.gateway(&["--api-keys", &keys]).await;
    let base = gateway.base.clone();
    let (alice, bob) = (client_with_key(ALICE_KEY), client_with_key(BOB_KEY));
    let archive = stack.archive().await;
    let png = picture(64, 48, image::ImageFormat::Png);

    let id = post_image(
        &alice,
        format!("{base}/image?width=16"),
        "image/png",
        png.clone(),
    )
    .await;
    // Before it is stored, from this replica's memory.
    assert_eq!(
        get(&alice, format!("{base}/image/{id}/status"))
            .await
            .status(),
        200
    );
    not_found_as_if_missing(get(&bob, format!("{base}/image/{id}/status")).await, &id).await;

    let document = stored(&archive, &id).await;
    assert_eq!(
        document.owner.as_deref(),
        Some("alice"),
        "the document records the owner"
    );

    // Alice sees everything of her job; shared caches may not keep it (they would hand it to anyone).
    let response = get_final(&alice, format!("{base}/image/{id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()["vary"], "authorization");
    for part in ["status", "original", "default"] {
        let response = get(&alice, format!("{base}/image/{id}/{part}")).await;
        assert_eq!(response.status(), 200, "{part}");
    }
    // Bob gets what a job that never existed gets.
    let missing = uuid::Uuid::new_v4().to_string();
    for path in ["", "/status", "/original", "/default", "/events"] {
        not_found_as_if_missing(get(&bob, format!("{base}/image/{id}{path}")).await, &id).await;
        let response = get(&bob, format!("{base}/image/{missing}{path}")).await;
        not_found_as_if_missing(response, &missing).await;
    }
    let response = bob
        .delete(format!("{base}/image/{id}"))
        .send()
        .await
        .unwrap();
    not_found_as_if_missing(response, &id).await;
    assert!(
        archive.job(&id).await.unwrap().is_some(),
        "bob deleted nothing"
    );

    // Listings: each owner sees their own jobs only.
    let bobs = post_image(
        &bob,
        format!("{base}/image?width=8"),
        "image/png",
        png.clone(),
    )
    .await;
    assert_eq!(stored(&archive, &bobs).await.owner.as_deref(), Some("bob"));
    assert_eq!(listed(&alice, &base).await, [id.as_str()]);
    assert_eq!(listed(&bob, &base).await, [bobs.as_str()]);
    let response = get(&bob, format!("{base}/images?status=done")).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["items"][0]["id"], bobs.as_str());
    // The owner's listing is indexed.
    let indexes: Vec<Document> = stack
        .database()
        .await
        .collection::<Document>("jobs")
        .list_indexes()
        .await
        .unwrap()
        .map_ok(|index| index.keys)
        .try_collect()
        .await
        .unwrap();
    for keys in [
        doc! { "owner": 1, "submitted_at": -1, "_id": -1 },
        doc! { "owner": 1, "status": 1, "submitted_at": -1, "_id": -1 },
    ] {
        assert!(
            indexes
                .iter()
                .any(|index| index.to_string() == keys.to_string()),
            "{keys} in {indexes:?}"
        );
    }

    // A replica that never saw the job in memory reads the owner from MongoDB.
    let second = stack.gateway(&["--api-keys", &keys]).await;
    not_found_as_if_missing(get(&bob, format!("{}/image/{id}", second.base)).await, &id).await;
    assert_eq!(
        get(&alice, format!("{}/image/{id}", second.base))
            .await
            .status(),
        200
    );
    let response = get(&bob, format!("{}/image/{id}/status", second.base)).await;
    not_found_as_if_missing(response, &id).await;

    // Alice deletes her job; then it is gone for her too.
    let response = alice
        .delete(format!("{base}/image/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    not_found_as_if_missing(get(&alice, format!("{base}/image/{id}/status")).await, &id).await;
    assert!(listed(&alice, &base).await.is_empty());

    stack.teardown().await;
}

#[tokio::test]
async fn an_open_gateway_ignores_keys_and_records_no_owner() {
    let mut stack = Stack::new();
    stack.save2db().await;
    stack.transformer().await;
    let gateway = stack.gateway(&[]).await;
    let base = &gateway.base;
    let archive = stack.archive().await;
    let png = picture(32, 32, image::ImageFormat::Png);
    let anonymous = reqwest::Client::new();
    let id = post_image(
        &anonymous,
        format!("{base}/image"),
        "image/png",
        png.clone(),
    )
    .await;
    let sent_a_key = post_image(
        &client_with_key(ALICE_KEY),
        format!("{base}/image"),
        "image/png",
        png,
    )
    .await;
    for job in [&id, &sent_a_key] {
        assert_eq!(
            stored(&archive, job).await.owner,
            None,
            "no owner in open mode"
        );
        for client in [&anonymous, &client_with_key(BOB_KEY)] {
            let response = get_final(client, format!("{base}/image/{job}")).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
        }
    }
    let mut everyone = listed(&anonymous, base).await;
    everyone.sort();
    let mut expected = vec![id, sent_a_key];
    expected.sort();
    assert_eq!(everyone, expected);
    stack.teardown().await;
}
