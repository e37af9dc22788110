//! The operator commands the binary runs instead of the gateway: `keys new --owner NAME` prints a new API key
//! and its entry for the configuration, `openapi` prints the OpenAPI document.

use anyhow::Context as _;

use crate::{
    auth::keys,
    config::{Command, KeysCommand},
    http::openapi,
};

/// Runs `command`, writing what it prints to `out`.
///
/// # Errors
/// When the OS's random source fails (minting a key) or `out` cannot be written.
pub fn run(command: &Command, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    match command {
        Command::Keys(KeysCommand::New { owner }) => {
            let text =
                keys::new_key_text(owner).context("Failed to draw random bytes for the key")?;
            out.write_all(text.as_bytes())
        }
        Command::Openapi => writeln!(out, "{}", openapi::document()),
    }
    .context("Failed to write the command's output")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Owner;

    #[test]
    fn keys_new_prints_a_key_and_its_entry() {
        let mut out = Vec::new();
        let owner = Owner::new("alice").unwrap();
        run(&Command::Keys(KeysCommand::New { owner }), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("ipk_"), "{text}");
        assert!(text.contains("alice:sha256:"), "{text}");
    }

    #[test]
    fn openapi_prints_the_document() {
        let mut out = Vec::new();
        run(&Command::Openapi, &mut out).unwrap();
        let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(document["info"]["title"], "imagepipe");
    }
}
