//! What a replica sets up before it serves, and how it answers a method a route does not take.

use clap::Parser as _;
use imagepipe_common::amqp::ready_count;
use imagepipe_gateway::{Application, Config};

use crate::helpers::{Harness, error_of};

#[tokio::test]
async fn the_reply_queue_exists_before_the_first_request_is_served() {
    // Built, not yet running: no request has been served and no consumer attached, yet a result published for
    // a job this replica accepts would already have a queue to wait in.
    let harness = Harness::new();
    let mut args = vec!["imagepipe-gateway".to_owned()];
    args.extend(harness.flags(true));
    let app = Application::build(Config::try_parse_from(args).unwrap())
        .await
        .expect("the gateway builds");
    let queue = harness.broker().topology().gateway_queue(app.instance());
    let channel = harness.broker().channel().await.unwrap();
    assert_eq!(ready_count(&channel, &queue).await.unwrap(), 0, "{queue}");
    drop(app);
    let _ = channel
        .queue_delete(queue.as_str().into(), Default::default())
        .await;
    harness.teardown().await;
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_405_with_allow() {
    let mut harness = Harness::new();
    let gateway = harness.gateway(&[]).await;
    let client = reqwest::Client::new();
    let id = uuid::Uuid::new_v4();
    for (method, path, allow) in [
        ("TRACE", "/readyz".to_owned(), "GET"),
        ("PUT", format!("/image/{id}"), "GET, DELETE"),
        ("DELETE", "/image".to_owned(), "POST"),
        ("POST", "/images".to_owned(), "GET"),
        ("PATCH", format!("/image/{id}/thumb"), "GET"),
    ] {
        let response = client
            .request(method.parse().unwrap(), format!("{}{path}", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body = error_of(response, 405).await;
        assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
    }
    let unknown = client
        .put(format!("{}/nowhere", gateway.base))
        .send()
        .await
        .unwrap();
    assert!(!unknown.headers().contains_key("allow"));
    assert_eq!(error_of(unknown, 404).await["code"], "not_found");
    harness.teardown().await;
}
