//! API keys: with keys configured, a request without a valid key gets 401 on every job route, and the open
//! routes stay open. (A job being its owner's alone is the system suite's.)

use crate::helpers::{ALICE_KEY, Harness, alice_and_bob, client_with_key, error_of, get, picture};

#[tokio::test]
async fn without_a_valid_key_the_job_routes_answer_401() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&["--api-keys", &alice_and_bob()]).await;
    let base = &gateway.base;
    let id = uuid::Uuid::new_v4();
    let anonymous = reqwest::Client::new();
    let png = picture(8, 8, image::ImageFormat::Png);
    for (name, client) in [
        ("no key", anonymous.clone()),
        ("wrong key", client_with_key("ipk_not-configured")),
        (
            "the hash as the key",
            client_with_key(&alice_and_bob()[6..77]),
        ),
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
    harness.teardown().await;
}
