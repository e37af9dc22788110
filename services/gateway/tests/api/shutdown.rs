//! Shutdown: the gateway stops accepting, ends its long polls and live streams, lets requests in flight finish,
//! and drops those still running after its grace period instead of waiting for them.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use clap::Parser as _;
use imagepipe_common::testkit::{EVENT_TIMEOUT, wait_ready};
use imagepipe_gateway::{Application, Config};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::TcpStream,
    time::timeout,
};

use crate::helpers::{Harness, picture, post_image};

/// The grace period the gateway runs with.
const GRACE: Duration = Duration::from_secs(1);
/// What the long poll asks to wait: it answers sooner only when something (here, the shutdown) ends it.
const LONG_POLL: Duration = Duration::from_secs(30);

/// A new connection to `addr` with `request` written on it.
async fn send(addr: SocketAddr, request: &str) -> BufReader<TcpStream> {
    let mut connection = TcpStream::connect(addr).await.unwrap();
    connection.write_all(request.as_bytes()).await.unwrap();
    BufReader::new(connection)
}

/// The next line the gateway sends on `connection`, without its line ending; fails a test the gateway never
/// answers.
async fn next_line(connection: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    // Only the limit for a hung test: the answer normally comes in milliseconds.
    timeout(EVENT_TIMEOUT, connection.read_line(&mut line))
        .await
        .expect("the gateway answers")
        .unwrap();
    line.trim_end().to_owned()
}

#[tokio::test]
async fn long_polls_end_and_stalled_requests_do_not_hold_the_shutdown() {
    let harness = Harness::new();
    let mut args = vec!["imagepipe-gateway".to_owned()];
    args.extend(harness.flags(true));
    args.extend([
        "--shutdown-grace-secs".to_owned(),
        GRACE.as_secs().to_string(),
    ]);
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

    // No transformer: the job stays queued, and its long poll would wait 30 s. Its request is on the wire
    // before the stalled upload below connects, so the gateway takes it up first.
    let client = reqwest::Client::new();
    let id = post_image(
        &client,
        format!("{base}/image"),
        "image/png",
        picture(16, 16, image::ImageFormat::Png),
    )
    .await;
    let long_poll_sent = Instant::now();
    let mut long_poll = send(
        addr,
        &format!(
            "GET /image/{id}?wait={} HTTP/1.1\r\nHost: gw\r\n\r\n",
            LONG_POLL.as_secs()
        ),
    )
    .await;
    // An upload whose client stalls after three of the thousand bytes it announced. It asks for `100 Continue`
    // first, which the gateway sends once the upload's handler reads the body: then the upload is surely in
    // flight when the shutdown begins (no sleep standing in for that).
    let mut stalled = send(
        addr,
        "POST /image HTTP/1.1\r\nHost: gw\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\
         Expect: 100-continue\r\n\r\n",
    )
    .await;
    assert_eq!(next_line(&mut stalled).await, "HTTP/1.1 100 Continue");
    stalled.get_mut().write_all(b"abc").await.unwrap();

    let stopping = Instant::now();
    stop.send(()).unwrap();
    let status_line = next_line(&mut long_poll).await;
    assert_eq!(
        status_line.split_whitespace().nth(1),
        Some("202"),
        "the job is still queued: ask again ({status_line})"
    );
    // A long poll the shutdown did not end would have answered only once its wait ran out.
    assert!(
        long_poll_sent.elapsed() < LONG_POLL,
        "the long poll ends at the shutdown, not after its wait"
    );
    // Only the limit for a hung test: the gateway normally stops right after its grace period.
    timeout(EVENT_TIMEOUT, running)
        .await
        .expect("the stalled upload does not hold the gateway past its 1 s grace")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() >= GRACE, "the grace was given");
    drop(stalled);
    harness.teardown().await;
}
