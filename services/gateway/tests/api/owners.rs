//! API keys and owners: with keys configured a job is its owner's alone (another owner gets the same 404 as
//! for a missing job, and does not see it listed), a request without a valid key gets 401, the open routes stay
//! open; the stored job document records the owner.

use futures_util::TryStreamExt as _;
use imagepipe_gateway::keys::{self, Owner};
use mongodb::bson::{Document, doc};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::helpers::{Stack, error_of, get, mongodb_uri, picture, post_image, stored};

const ALICE_KEY: &str = "ipk_alice-test-key";
const BOB_KEY: &str = "ipk_bob-test-key";

/// `--api-keys` with alice's and bob's entries.
fn api_keys() -> String {
    let alice = keys::entry(&Owner::new("alice").unwrap(), ALICE_KEY);
    let bob = keys::entry(&Owner::new("bob").unwrap(), BOB_KEY);
    format!("{alice},{bob}")
}

/// A client sending `key` as `Authorization: Bearer` on every request.
fn client_of(key: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    let mut value = HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

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
    let keys = api_keys();
    let gateway = stack.gateway(&["--api-keys", &keys]).await;
    let base = gateway.base.clone();
    let (alice, bob) = (client_of(ALICE_KEY), client_of(BOB_KEY));
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
    let response = get(&alice, format!("{base}/image/{id}?wait=10")).await;
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
    let indexes: Vec<Document> = mongodb::Client::with_uri_str(mongodb_uri())
        .await
        .unwrap()
        .database(&stack.database)
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
async fn without_a_valid_key_the_job_routes_answer_401() {
    let mut stack = Stack::new();
    let gateway = stack.gateway(&["--api-keys", &api_keys()]).await;
    let base = &gateway.base;
    let id = uuid::Uuid::new_v4();
    let anonymous = reqwest::Client::new();
    let png = picture(8, 8, image::ImageFormat::Png);
    for (name, client) in [
        ("no key", anonymous.clone()),
        ("wrong key", client_of("ipk_not-configured")),
        ("the hash as the key", client_of(&api_keys()[6..77])),
    ] {
        let requests = [
            client
                .post(format!("{base}/image"))
                .header("content-type", "image/png")
                .body(png.clone()),
            client.get(format!("{base}/image/{id}")),
            client.get(format!("{base}/image/{id}/status")),
            client.get(format!("{base}/image/{id}/original")),
            client.get(format!("{base}/image/{id}/thumb")),
            client.get(format!("{base}/image/{id}/events")),
            client.delete(format!("{base}/image/{id}")),
            client.get(format!("{base}/images")),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            let url = response.url().to_string();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|value| value.to_str().unwrap().to_owned());
            let body = error_of(response, 401).await;
            assert_eq!(body["code"], "unauthorized", "{name}: {url}");
            assert!(
                challenge
                    .as_deref()
                    .is_some_and(|c| c.starts_with("Bearer")),
                "{name}: {url}: {challenge:?}"
            );
        }
    }
    let basic = anonymous
        .get(format!("{base}/images"))
        .basic_auth("alice", Some(ALICE_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(basic, 401).await["code"], "unauthorized");
    // The open routes stay open.
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        assert_eq!(
            get(&anonymous, format!("{base}{path}")).await.status(),
            200,
            "{path}"
        );
    }
    // An unknown route is still a 404, not a 401.
    assert_eq!(get(&anonymous, format!("{base}/nope")).await.status(), 404);
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
        &client_of(ALICE_KEY),
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
        for client in [&anonymous, &client_of(BOB_KEY)] {
            let response = get(client, format!("{base}/image/{job}?wait=10")).await;
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
