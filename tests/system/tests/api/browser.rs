//! The web page in a real browser: gateway + transformer on port 0, then `browser/upload.mjs` drives
//! headless Chromium (Debian's `chromium`, through playwright-core) through the page: a real photo uploaded
//! through the file input at a chosen width goes live to `done` and its result renders at that width; a file
//! that is no image and one over the upload limit are refused in words. The screenshot lands in
//! `target/browser/page.png`.
//!
//! Needs `node` (20 or later), Chromium at `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci` run in
//! `tests/system/browser` (`deploy/local/test` sees to all three). Without them the test says what
//! is missing and passes, except under `CI=true`, where it fails: CI skips nothing.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::helpers::{Stack, skip_without};

/// The upload limit the gateway runs with, small enough for the page's "too large" check to be cheap.
const MAX_UPLOAD_BYTES: u64 = 1024 * 1024;
/// How long each step of `upload.mjs` may wait for the page (its `BROWSER_TIMEOUT_MS`). Steps take well under
/// a second; this is only the limit for a hung page, generous because the suites run in parallel with the
/// browser on a loaded machine.
const STEP_TIMEOUT_MS: u64 = 120_000;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What is missing to run the browser, if anything.
fn missing_prerequisites() -> Vec<String> {
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        missing.push("`node` on the PATH (Node.js 20 or later)".to_owned());
    }
    if !chromium().exists() {
        missing.push(format!(
            "Chromium at {} (`apt-get install chromium`, or set CHROMIUM)",
            chromium().display()
        ));
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        missing.push(format!(
            "playwright-core (`npm ci` in {})",
            browser_dir().display()
        ));
    }
    missing
}

/// Runs `upload.mjs` against `base` and returns its JSON report.
async fn drive_the_page(base: String, screenshot: PathBuf) -> Value {
    let dir = browser_dir();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("upload.mjs"))
            .arg(&base)
            .arg(dir.join("fixtures/garden.jpg"))
            .arg(&screenshot)
            .env("CHROMIUM", chromium())
            .env("BROWSER_TIMEOUT_MS", STEP_TIMEOUT_MS.to_string())
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| {
            panic!("upload.mjs printed no report.\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    assert!(
        output.status.success() && report.get("error").is_none(),
        "upload.mjs failed: {}\nreport: {report:#}\nstderr:\n{stderr}",
        report["error"]
    );
    report
}

#[tokio::test]
async fn the_page_uploads_a_photo_and_shows_the_result_live() {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        skip_without(&format!("the browser test needs {}", missing.join(", ")));
        return;
    }
    let mut stack = Stack::new();
    stack.transformer().await;
    let gateway = stack
        .gateway(&["--max-upload-bytes", &MAX_UPLOAD_BYTES.to_string()])
        .await;
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("browser/page.png");
    let _ = std::fs::remove_file(&screenshot);

    let report = drive_the_page(gateway.base.clone(), screenshot.clone()).await;
    println!("Screenshot of the page: {}", screenshot.display());

    // The page loads, carrying the gateway's upload limit.
    let page = &report["page"];
    assert_eq!(page["status"], 200, "{report:#}");
    assert_eq!(page["contentType"], "text/html; charset=utf-8");
    assert_eq!(page["title"], "imagepipe");
    assert_eq!(page["maxUploadBytes"], MAX_UPLOAD_BYTES);

    // The photo went live to done, through the event stream, and its result renders at the width asked for.
    let photo = &report["photo"];
    assert_eq!(photo["state"], "done", "{report:#}");
    let states: Vec<&str> = photo["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // In this order; `processing` may be too short to show (the stream sends the latest state).
    let order = ["uploading", "queued", "processing", "done"];
    let positions: Vec<_> = states
        .iter()
        .map(|state| order.iter().position(|known| known == state))
        .collect();
    assert!(
        positions.iter().all(Option::is_some) && positions.is_sorted(),
        "{states:?}"
    );
    assert_eq!(states.first(), Some(&"uploading"), "{states:?}");
    assert!(states.contains(&"queued"), "{states:?}");
    assert_eq!(states.last(), Some(&"done"), "{states:?}");
    let id = photo["jobId"].as_str().expect("the card knows its job");
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        requests.contains(&format!("GET /image/{id}/events").as_str()),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|request| request.ends_with("/status")),
        "no polling: {requests:?}"
    );
    let figures = photo["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 2, "the original and one result: {figures:?}");
    let original = &figures[0];
    assert_eq!(original["image"]["naturalWidth"], 1200);
    assert_eq!(original["image"]["naturalHeight"], 750);
    let result = &figures[1];
    assert_eq!(result["image"]["naturalWidth"], photo["requested"]["width"]);
    assert_eq!(result["image"]["naturalHeight"], 300);
    let caption = result["caption"].as_str().unwrap();
    assert!(
        caption.contains("480 × 300") && caption.contains("WEBP"),
        "{caption}"
    );
    assert_eq!(result["download"], "garden.default.webp");

    // A file that is no image, and one over the limit, are refused in words.
    let text = &report["notImage"];
    assert_eq!(text["state"], "rejected", "{report:#}");
    let error = text["error"].as_str().unwrap();
    assert!(
        error.contains("not an image") && error.contains("unsupported_image_format"),
        "{error}"
    );
    let huge = &report["tooLarge"];
    assert_eq!(huge["state"], "rejected", "{report:#}");
    let error = huge["error"].as_str().unwrap();
    assert!(
        error.starts_with("Too large")
            && error.contains("1,048,577 bytes, more than this gateway's limit of 1,048,576 bytes"),
        "{error}"
    );
    let uploads = requests
        .iter()
        .filter(|request| **request == "POST /image")
        .count();
    assert_eq!(uploads, 2, "the oversized file is never sent: {requests:?}");

    assert_eq!(
        report["consoleErrors"].as_array().map(Vec::len),
        Some(0),
        "the page logs no errors: {report:#}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    stack.teardown().await;
}
