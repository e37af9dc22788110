//! The API keeps its own contract under a fuzzer: schemathesis (pinned in `schemathesis/requirements.txt`) runs
//! every check against the document the gateway serves, on a gateway, transformer and save2db started here, with
//! a fixed seed and a small example count, so the run is short and repeatable. Any finding fails the test, with
//! schemathesis's report. `schemathesis/schemathesis.toml` says which documented refusals of schema-valid requests
//! are expected and why; `schemathesis/hooks.py` keeps generated variant lists to the rules a schema cannot state.
//!
//! Needs `schemathesis` (the `SCHEMATHESIS` variable, else on the PATH); `deploy/local/test` installs it into
//! `.imagepipe/schemathesis-venv`. Without it the test says so and passes, except under `CI=true`, where it fails:
//! CI skips nothing.

use std::path::{Path, PathBuf};

use crate::helpers::{Stack, skip_without};

/// Examples per operation and phase: enough to reach every route's answers, few enough for about a minute.
const MAX_EXAMPLES: &str = "25";
/// The seed, so that a finding reproduces.
const SEED: &str = "1";

/// The schemathesis command, if it runs here.
fn schemathesis() -> Option<PathBuf> {
    let command =
        std::env::var_os("SCHEMATHESIS").map_or_else(|| "schemathesis".into(), PathBuf::from);
    let version = std::process::Command::new(&command)
        .arg("--version")
        .output();
    version
        .is_ok_and(|output| output.status.success())
        .then_some(command)
}

#[test]
fn the_hook_reserves_the_contracts_variant_names() {
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis/hooks.py"),
    )
    .unwrap();
    let listed = hooks
        .lines()
        .find_map(|line| line.strip_prefix("RESERVED = "))
        .expect("hooks.py names the reserved variant names");
    let names = imagepipe_proto::spec::RESERVED_VARIANT_NAMES.map(|name| format!("\"{name}\""));
    assert_eq!(listed, format!("{{{}}}", names.join(", ")));
}

#[tokio::test]
async fn the_api_keeps_its_contract_under_schemathesis() {
    let Some(command) = schemathesis() else {
        skip_without(
            "the contract test needs schemathesis (`deploy/local/test` installs it; or set SCHEMATHESIS)",
        );
        return;
    };
    let mut stack = Stack::new();
    stack.save2db().await;
    // Results of at most one megapixel: the fuzzer asks for outputs up to 16384 px a side, which then fail at once
    // with `too_large` (a documented answer) instead of keeping a debug build's two workers busy for minutes.
    stack.transformer_with(&["--max-pixels", "1000000"]).await;
    // The fuzzer sends bursts of uploads on a machine busy with the rest of the suite: it checks the API against
    // its document, not the pipeline's capacity, so this gateway never sheds load (`503 overloaded`, which
    // schemathesis would count as a server error; the overload suites test it).
    let gateway = stack.gateway(&["--max-queue-wait-secs", "0"]).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis");
    let base = gateway.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&command)
            // Its cache folder lands in the target directory, not in the source tree.
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .env("SCHEMATHESIS_HOOKS", dir.join("hooks.py"))
            .arg("--config-file")
            .arg(dir.join("schemathesis.toml"))
            .args(["run", &format!("{base}/openapi.json")])
            .args([
                "--checks",
                "all",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
            ])
            .arg("--no-color")
            .output()
    })
    .await
    .expect("the schemathesis task")
    .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found the API breaking its document:\n{report}\n{errors}"
    );
    let summary = report.lines().last().unwrap_or_default();
    assert!(
        !summary.contains("failure") && !summary.contains("error"),
        "{report}"
    );
    eprintln!("schemathesis: {summary}");
    stack.teardown().await;
}
