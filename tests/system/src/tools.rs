//! Tests that drive a tool outside Rust (a browser, a fuzzer): what they do when the tool is not installed.

/// For a test whose `missing` tool is not here: under `CI=true` it fails (CI skips nothing), else it says it is
/// skipping. The test returns after it.
///
/// # Panics
/// Under `CI=true`.
pub fn skip_without(missing: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{missing}; CI runs every test"
    );
    eprintln!("Skipping: {missing}.");
}
