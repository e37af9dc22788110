//! What the integration suites share (feature `testkit`, never in a release build): the broker to test against,
//! a [`Sandbox`] (a private namespace of it, and the in-process services started there, stopped together), the
//! [`CutProxy`] that simulates an outage, and waiting for a condition without sleeping blindly. The archive's
//! side (the database to test against, scratch databases) is `imagepipe_archive::testkit`.

mod proxy;
mod sandbox;

use std::{future::Future, net::SocketAddr, time::Duration};

pub use proxy::{CutProxy, authority_of};
pub use sandbox::Sandbox;

use crate::config::DEFAULT_AMQP_URL;

/// The broker the tests use: `AMQP_URL`, else the local stack's.
#[must_use]
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.to_owned())
}

/// A name no other test uses: `{prefix}-{uuid}`.
#[must_use]
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Calls `check` every 50 ms until it returns `Some`, for at most `limit`; `None` if it never did.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long a service in a test may take to answer `/readyz` with `200` (it waits out its broker and
/// database on a loaded machine).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a test waits for something that normally takes milliseconds (a message reaching a queue, a
/// document appearing, another replica hearing an event) before it fails. Only a limit for a hung test: the
/// whole suite runs in parallel on a loaded machine, where milliseconds can stretch to seconds.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `GET http://{addr}/readyz` answers `200`.
///
/// # Panics
/// When it has not within [`READY_TIMEOUT`].
pub async fn wait_ready(addr: SocketAddr) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/readyz");
    let ready = wait_for(READY_TIMEOUT, || async {
        let response = client.get(&url).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    assert!(ready.is_some(), "{url} never answered 200");
}
