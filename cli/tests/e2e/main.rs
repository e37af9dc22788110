//! The `imagepipe` binary against the real stack (gateway, transformer, save2db in-process on the real broker
//! and database): upload a directory, check the downloaded outputs, then status, get, list and delete.

mod helpers;

use helpers::{Stack, decoded, imagepipe, scratch_dir, write_picture};
use image::ImageFormat;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The job id the summary table shows for `file`.
fn job_of(summary: &str, file: &str) -> String {
    let row = summary
        .lines()
        .find(|line| line.starts_with(file))
        .unwrap_or_else(|| panic!("no row for {file} in\n{summary}"));
    row.split_whitespace().nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn uploads_a_directory_and_manages_its_jobs() {
    let (stack, gateway) = Stack::start().await;
    let server = gateway.base.as_str();
    let input = scratch_dir();
    let out = scratch_dir().join("out");
    write_picture(&input.join("a.png"), 120, 60, ImageFormat::Png);
    write_picture(&input.join("nested/b.jpg"), 200, 100, ImageFormat::Jpeg);
    std::fs::write(input.join("notes.txt"), "not an image").unwrap();
    let (input_arg, out_arg) = (input.to_str().unwrap(), out.to_str().unwrap());

    // Upload the directory: two images (the text file is skipped), two variants each.
    let upload = imagepipe(
        &[
            "upload",
            input_arg,
            "--variants",
            "small:40w",
            "--variants",
            "large:100w.webp",
            "--out",
            out_arg,
            "--concurrency",
            "2",
            "--server",
            server,
        ],
        &[],
    )
    .await;
    let summary = stdout(&upload);
    assert!(upload.status.success(), "{summary}\n{}", stderr(&upload));
    assert!(summary.starts_with("FILE"), "{summary}");
    assert!(summary.contains("2 done, 0 failed"), "{summary}");
    assert!(!summary.contains("notes.txt"), "{summary}");
    let a_label = input.join("a.png").display().to_string();
    let b_label = input.join("nested/b.jpg").display().to_string();
    let a = job_of(&summary, &a_label);
    let b = job_of(&summary, &b_label);
    assert!(uuid::Uuid::parse_str(&a).is_ok() && uuid::Uuid::parse_str(&b).is_ok());

    // Every output, named <stem>.<output>.<format>, decodes at the size asked for.
    for (file, expected) in [
        ("a.small.png", (ImageFormat::Png, 40, 20)),
        ("a.large.webp", (ImageFormat::WebP, 100, 50)),
        ("b.small.jpeg", (ImageFormat::Jpeg, 40, 20)),
        ("b.large.webp", (ImageFormat::WebP, 100, 50)),
    ] {
        assert_eq!(decoded(&out.join(file)), expected, "{file}");
    }
    let mut written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "a.large.webp",
            "a.small.png",
            "b.large.webp",
            "b.small.jpeg"
        ]
    );

    // status --json prints the status document; the server can come from IMAGEPIPE_URL.
    let status = imagepipe(&["status", &a, "--json"], &[("IMAGEPIPE_URL", server)]).await;
    assert!(status.status.success(), "{}", stderr(&status));
    let document: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(document["status"], "done");
    assert_eq!(document["outputs"].as_array().unwrap().len(), 2);
    assert!(stdout(&status).contains("\n  \"id\""), "pretty-printed");
    // Without --json: the status, then the timeline as a table, a line per step in order.
    let status = imagepipe(&["status", &a], &[("IMAGEPIPE_URL", server)]).await;
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.contains(&format!("job     {a}\nstatus  done\n")),
        "{text}"
    );
    let table: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("TIME"))
        .collect();
    assert!(
        table[0].split_whitespace().eq(["TIME", "EVENT", "BY"]),
        "{text}"
    );
    let steps: Vec<&str> = table[1..]
        .iter()
        .map(|line| line.split_whitespace().nth(1).unwrap_or_default())
        .collect();
    assert_eq!(steps[..3], ["accepted", "started", "done"], "{text}");

    // get fetches the main result or a named output.
    let fetched = scratch_dir();
    let large = fetched.join("b-large.webp");
    let get = imagepipe(
        &[
            "get",
            &b,
            "--variant",
            "large",
            "-o",
            large.to_str().unwrap(),
            "--server",
            server,
        ],
        &[],
    )
    .await;
    assert!(get.status.success(), "{}", stderr(&get));
    assert_eq!(decoded(&large), (ImageFormat::WebP, 100, 50));
    let main = fetched.join("a-main");
    let get = imagepipe(
        &["get", &a, "-o", main.to_str().unwrap(), "--server", server],
        &[],
    )
    .await;
    assert!(get.status.success(), "{}", stderr(&get));
    assert_eq!(
        decoded(&main),
        (ImageFormat::Png, 40, 20),
        "the first variant"
    );
    let missing = imagepipe(
        &[
            "get",
            &a,
            "--variant",
            "tiny",
            "-o",
            fetched.join("x").to_str().unwrap(),
            "--server",
            server,
        ],
        &[],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("output_not_found"),
        "{}",
        stderr(&missing)
    );

    // list shows both once save2db has stored them (a moment after their results), and pages with a cursor.
    let mut listing = String::new();
    // Polled for up to a minute: moments normally, the limit only fails a hung test.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let list = imagepipe(&["list", "--server", server], &[]).await;
        assert!(list.status.success(), "{}", stderr(&list));
        listing = stdout(&list);
        if listing.contains(&a) && listing.contains(&b) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listing.starts_with("ID"), "{listing}");
    assert!(listing.contains(&a) && listing.contains(&b), "{listing}");
    assert!(listing.contains("small,large"), "{listing}");
    let first = imagepipe(&["list", "--limit", "1", "--server", server], &[]).await;
    let first = stdout(&first);
    assert!(first.contains("more: imagepipe list --cursor "), "{first}");
    let cursor = first.lines().last().unwrap().rsplit(' ').next().unwrap();
    let rest = imagepipe(&["list", "--cursor", cursor, "--server", server], &[]).await;
    let rest = stdout(&rest);
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().next())
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map(str::to_owned)
            .collect()
    };
    let mut walked = ids(&first);
    walked.extend(ids(&rest));
    walked.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(walked, expected, "{first}\n{rest}");

    // delete removes the job; afterwards it is not found.
    let delete = imagepipe(&["delete", &a, "--server", server], &[]).await;
    assert!(delete.status.success(), "{}", stderr(&delete));
    assert_eq!(stdout(&delete).trim(), format!("deleted {a}"));
    for args in [&["delete", a.as_str()][..], &["status", a.as_str()]] {
        let gone = imagepipe(&[args, &["--server", server]].concat(), &[]).await;
        assert_eq!(gone.status.code(), Some(1), "{args:?}");
        assert!(stderr(&gone).contains("job_not_found"), "{}", stderr(&gone));
    }

    // A file that fails is reported with its reason, and the exit code says so.
    let broken_dir = scratch_dir();
    let png = write_picture(&broken_dir.join("ok.png"), 50, 50, ImageFormat::Png);
    std::fs::write(broken_dir.join("broken.png"), &png[..png.len() / 3]).unwrap();
    let upload = imagepipe(
        &[
            "upload",
            broken_dir.to_str().unwrap(),
            "--width",
            "25",
            "--out",
            out_arg,
            "--server",
            server,
        ],
        &[],
    )
    .await;
    let summary = stdout(&upload);
    assert_eq!(upload.status.code(), Some(1), "{summary}");
    assert!(summary.contains("1 done, 1 failed"), "{summary}");
    let broken_row = summary.lines().find(|l| l.contains("broken.png")).unwrap();
    assert!(broken_row.contains("failed  decode_failed: "), "{summary}");
    assert_eq!(
        decoded(&out.join("ok.default.png")),
        (ImageFormat::Png, 25, 25)
    );

    // A server that is not there is a clear error.
    let nobody = imagepipe(&["status", &b, "--server", "http://127.0.0.1:9"], &[]).await;
    assert_eq!(nobody.status.code(), Some(1));
    assert!(
        stderr(&nobody).contains("could not reach the gateway"),
        "{}",
        stderr(&nobody)
    );

    for dir in [&input, &out, &fetched, &broken_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
    stack.teardown().await;
}

/// The RabbitMQ management API the bench samples: `IMAGEPIPE_BROKER_API`, else the local broker's.
fn broker_api() -> String {
    std::env::var("IMAGEPIPE_BROKER_API")
        .unwrap_or_else(|_| "http://guest:guest@127.0.0.1:15672".to_owned())
}

/// Whether the management API answers (the plugin is not enabled everywhere the suite runs).
async fn management_answers(api: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap();
    let url = format!("{}/api/overview", api.trim_end_matches('/'));
    client
        .get(url)
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// The broker part of a report: samples of the namespace's queues when the API answers, else the reason it
/// did not (and the run went on all the same).
fn check_broker(json: &serde_json::Value, management: bool, namespace: &str) {
    let broker = &json["broker"];
    if !management {
        eprintln!("the RabbitMQ management API does not answer: only its absence is checked");
        assert!(broker["unavailable"].is_string(), "{broker}");
        return;
    }
    assert!(broker["samples"].as_u64().unwrap() > 0, "{broker}");
    let series = broker["series"].as_array().unwrap();
    assert!(
        series.iter().any(|sample| sample["queues"].is_array()),
        "{broker}"
    );
    let transform = format!("{namespace}.transform");
    assert!(
        broker["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|queue| queue["name"] == transform.as_str()),
        "{broker}"
    );
    assert!(
        broker["nodes"]
            .as_array()
            .is_some_and(|nodes| !nodes.is_empty()),
        "{broker}"
    );
}

#[tokio::test]
async fn bench_loads_the_stack_briefly_and_reports_what_it_measured() {
    // A few seconds, no thresholds: CI runs the harness so that it cannot rot; the measurements are
    // deploy/local/bench's.
    let (stack, gateway) = Stack::start().await;
    let input = scratch_dir();
    write_picture(&input.join("a.png"), 160, 120, ImageFormat::Png);
    write_picture(&input.join("b.jpg"), 200, 100, ImageFormat::Jpeg);
    let report = scratch_dir().join("bench.json");
    // The services run in this test's process: its CPU time is theirs.
    let stack_process = format!("stack={}", std::process::id());
    let (broker_api, namespace) = (broker_api(), stack.namespace().to_owned());
    let management = management_answers(&broker_api).await;
    let common = [
        "--width",
        "64",
        "--json",
        report.to_str().unwrap(),
        "--server",
        gateway.base.as_str(),
        "--broker-api",
        &broker_api,
        "--namespace",
        &namespace,
    ];
    // A closed loop, and an open loop following a schedule of two phases (which wins over --duration and
    // gets the overload verdict).
    for mode in [&["--concurrency", "2"][..], &["--rate", "6:1,3:1"]] {
        let mut args = vec![
            "bench",
            input.to_str().unwrap(),
            "--duration",
            "2",
            "--process",
            &stack_process,
        ];
        args.extend(common);
        args.extend(mode);
        let bench = imagepipe(&args, &[]).await;
        let table = stdout(&bench);
        assert!(bench.status.success(), "{table}\n{}", stderr(&bench));
        assert!(table.contains("accepted → stored"), "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let count = |key: &str| json[key].as_u64().unwrap();
        assert!(count("results") > 0, "{json}");
        // Every accepted job is done and stored by the end of the drain, and none failed or was refused.
        assert_eq!(count("accepted"), count("submitted"), "{json}");
        assert_eq!(count("stored"), count("accepted"), "{json}");
        assert_eq!(json["errors"], serde_json::json!({}), "{json}");
        assert_eq!(
            json["accepted_to_stored_ms"]["count"].as_u64(),
            Some(count("stored"))
        );
        for process in ["stack", "client"] {
            assert!(json["cpu_ms_per_job"][process].is_number(), "{json}");
        }
        let windows = json["windows"].as_array().unwrap();
        assert_eq!(
            windows
                .iter()
                .map(|window| window["submitted"].as_u64().unwrap())
                .sum::<u64>(),
            count("submitted"),
            "{json}"
        );
        check_broker(&json, management, &namespace);
        if mode[0] == "--rate" {
            assert_eq!(json["mode"], "schedule", "{json}");
            assert_eq!(json["schedule"][1]["rate"], 3.0, "{json}");
            assert_eq!(json["duration_secs"], 2.0, "{json}");
            assert_eq!(json["phases"].as_array().unwrap().len(), 2, "{json}");
            assert_eq!(json["verdict"]["lost"], 0, "{json}");
            assert!(table.contains("overload verdict: "), "{table}");
        } else {
            assert!(json.get("verdict").is_none(), "{json}");
        }
    }

    // Two open-loop steps of a second each: a row each, and the plot of latency against throughput.
    let plot = scratch_dir().join("steps.svg");
    let mut args = vec![
        "bench",
        input.to_str().unwrap(),
        "--steps",
        "2,4",
        "--duration",
        "1",
        "--plot",
        plot.to_str().unwrap(),
    ];
    args.extend(common);
    let bench = imagepipe(&args, &[]).await;
    let table = stdout(&bench);
    assert!(bench.status.success(), "{table}\n{}", stderr(&bench));
    assert!(table.contains("offered/s"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{json}");
    for (step, rate) in steps.iter().zip([2.0, 4.0]) {
        assert_eq!(step["rate"], rate, "{step}");
        assert_eq!(step["stored"], step["accepted"], "{step}");
    }
    check_broker(&json, management, &namespace);
    assert_eq!(json["plot"], plot.to_str().unwrap(), "{json}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("p50") && svg.contains("p99"),
        "{svg}"
    );

    for dir in [
        &input,
        &report.parent().unwrap().to_owned(),
        &plot.parent().unwrap().to_owned(),
    ] {
        let _ = std::fs::remove_dir_all(dir);
    }
    stack.teardown().await;
}
