//! Shutdown: the gateway stops accepting, ends its long polls and live streams, lets requests in flight finish,
//! and drops those still running after its grace period instead of waiting for them.

use std::time::{Duration, Instant};

use clap::Parser as _;
use imagepipe_common::testkit::wait_ready;
use imagepipe_gateway::{Application, Config};
use tokio::{io::AsyncWriteExt as _, net::TcpStream};

use crate::helpers::{Harness, picture, post_image};

/// Longest a gateway with a 1 s grace may take to stop, on a loaded machine.
const STOPS_WITHIN: Duration = Duration::from_secs(15);

#[tokio::test]
async fn long_polls_end_and_stalled_requests_do_not_hold_the_shutdown() {
    let harness = Harness::new();
    let mut args = vec!["imagepipe-gateway".to_owned()];
    args.extend(harness.flags(true));
    args.extend(["--shutdown-grace-secs", "1"].map(str::to_owned));
    let app = Application::build(Config::try_parse_from(args).unwrap())
        .await
        .unwrap();
    let addr = app.addr();
    let base = format!("http://{addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    wait_ready(addr).await;

    // No transformer: the job stays queued, and its long poll would wait 30 s.
    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{base}/image"),
        "image/png",
        picture(16, 16, image::ImageFormat::Png),
    )
    .await;
    let long_poll = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/image/{id}?wait=30");
        async move {
            client
                .get(url)
                .send()
                .await
                .map(|response| response.status())
        }
    });
    // An upload whose client stalls after three of the thousand bytes it announced.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /image HTTP/1.1\r\nHost: gw\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nabc",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = Instant::now();
    stop.send(()).unwrap();
    let status = tokio::time::timeout(STOPS_WITHIN, long_poll)
        .await
        .expect("the long poll ends at the shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(status, 202, "the job is still queued: ask again");
    tokio::time::timeout(STOPS_WITHIN, running)
        .await
        .expect("the stalled upload does not hold the gateway past its 1 s grace")
        .unwrap()
        .unwrap();
    assert!(
        stopping.elapsed() >= Duration::from_secs(1),
        "the grace was given"
    );
    drop(stalled);
    harness.teardown().await;
}
