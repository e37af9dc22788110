//! API keys and their owners: reading the configured keys (`GATEWAY_API_KEYS`, `GATEWAY_API_KEYS_FILE`), finding
//! the owner of a presented key, and minting new keys (`imagepipe-gateway keys new --owner NAME`).
//!
//! Only hashes are configured and kept: an entry is `owner:sha256:<64 hex digits>` (or `owner sha256:<hex>`),
//! the SHA-256 of the key. Keys are 256 random bits, so a plain SHA-256 is as good as a slow password hash here
//! (GitHub and Stripe tokens are stored the same way), and looking a key up is hashing it once and one map
//! lookup. An owner may have several keys (to rotate one without downtime); a hash may appear only once.

use std::{collections::HashMap, fmt, path::Path, sync::Arc};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use crate::error::KeyConfigError;

/// What every minted key starts with, so a leaked key is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "ipk_";
/// What an entry's hash starts with.
const HASH_PREFIX: &str = "sha256:";
/// Random bytes in a minted key.
const KEY_RANDOM_BYTES: usize = 32;
/// Longest owner name.
pub const MAX_OWNER_LEN: usize = 64;

/// The SHA-256 of an API key.
pub type KeyHash = [u8; 32];

/// The owner a request acts for: the name its API key is configured under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(Arc<str>);

impl Owner {
    /// The owner called `name`.
    ///
    /// # Errors
    /// What is wrong with the name: it must be 1-64 of ASCII letters, digits, `.`, `_`, `-`, `@`.
    pub fn new(name: &str) -> Result<Self, String> {
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if name.is_empty() || name.len() > MAX_OWNER_LEN || !name.chars().all(valid) {
            return Err(format!(
                "owner `{name}` is not 1-{MAX_OWNER_LEN} of ASCII letters, digits, `.`, `_`, `-`, `@`"
            ));
        }
        Ok(Self(name.into()))
    }

    /// The owner's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The configured keys, by hash. Empty: the gateway runs open.
#[derive(Clone, Default)]
pub struct ApiKeys {
    owners: HashMap<KeyHash, Owner>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.owners.len())
            .field("owners", &self.owner_count())
            .finish()
    }
}

impl ApiKeys {
    /// The keys of `inline` (`GATEWAY_API_KEYS`: entries separated by commas or new lines) and of the file at
    /// `file` (`GATEWAY_API_KEYS_FILE`: an entry per line, `#` starts a comment), together.
    ///
    /// # Errors
    /// [`KeyConfigError`] when the file cannot be read, an entry is malformed, or a hash appears twice.
    pub fn load(inline: Option<&str>, file: Option<&Path>) -> Result<Self, KeyConfigError> {
        let mut keys = Self::default();
        if let Some(inline) = inline {
            let entries = inline.split([',', '\n']).map(str::trim);
            for (index, entry) in entries.enumerate() {
                if !entry.is_empty() {
                    keys.add(entry, &format!("GATEWAY_API_KEYS entry {}", index + 1))?;
                }
            }
        }
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|source| KeyConfigError::Unreadable {
                    path: path.display().to_string(),
                    source,
                })?;
            keys.add_file(&text, &path.display().to_string())?;
        }
        Ok(keys)
    }

    /// Adds the entries of a key file's `text`, read from `name`.
    ///
    /// # Errors
    /// [`KeyConfigError`] for a malformed entry or a hash that appears twice.
    pub fn add_file(&mut self, text: &str, name: &str) -> Result<(), KeyConfigError> {
        for (index, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if !entry.is_empty() {
                self.add(entry, &format!("{name} line {}", index + 1))?;
            }
        }
        Ok(())
    }

    /// Adds one entry, `owner:sha256:<hex>` or `owner sha256:<hex>`, found at `location`.
    fn add(&mut self, entry: &str, location: &str) -> Result<(), KeyConfigError> {
        let malformed = |reason: String| KeyConfigError::Malformed {
            location: location.to_owned(),
            reason,
        };
        let (owner, hash) = match entry.split_once(char::is_whitespace) {
            Some((owner, hash)) => (owner, hash.trim()),
            None => entry
                .split_once(':')
                .ok_or_else(|| malformed("not `owner:sha256:<64 hex digits>`".to_owned()))?,
        };
        let owner = Owner::new(owner).map_err(malformed)?;
        let hash = parse_hash(hash).ok_or_else(|| {
            malformed(format!(
                "the hash of `{owner}`'s key is not `sha256:` and 64 hex digits (configure the hash `keys new` \
                 prints, never the key itself)"
            ))
        })?;
        if let Some(first) = self.owners.get(&hash) {
            return Err(KeyConfigError::DuplicateKey {
                location: location.to_owned(),
                owner: owner.to_string(),
                first: first.to_string(),
            });
        }
        self.owners.insert(hash, owner);
        Ok(())
    }

    /// Whether no key is configured: the gateway runs open.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.owners.is_empty()
    }

    /// How many keys are configured.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.owners.len()
    }

    /// How many different owners the keys belong to.
    #[must_use]
    pub fn owner_count(&self) -> usize {
        let mut owners: Vec<&str> = self.owners.values().map(Owner::name).collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len()
    }

    /// The owner of `key`, if it is configured.
    #[must_use]
    pub fn owner_of(&self, key: &str) -> Option<&Owner> {
        self.owners.get(&hash_key(key))
    }
}

/// The SHA-256 of `key`.
#[must_use]
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// `sha256:<64 hex digits>` as the hash it names.
fn parse_hash(text: &str) -> Option<KeyHash> {
    let digits = text.strip_prefix(HASH_PREFIX)?;
    let mut hash = [0_u8; 32];
    hex::decode_to_slice(digits, &mut hash).ok()?;
    Some(hash)
}

/// The configuration entry of `key` for `owner`: `owner:sha256:<hex>`.
#[must_use]
pub fn entry(owner: &Owner, key: &str) -> String {
    format!("{owner}:{HASH_PREFIX}{}", hex::encode(hash_key(key)))
}

/// A new random key: [`KEY_PREFIX`] and 32 random bytes in URL-safe base64 (43 characters).
///
/// # Errors
/// When the operating system's random source fails.
pub fn mint() -> Result<String, getrandom::Error> {
    let mut random = [0_u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)?;
    Ok(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random)))
}

/// What `imagepipe-gateway keys new --owner NAME` prints: the key, once, and the entry to configure.
///
/// # Errors
/// When the operating system's random source fails.
pub fn new_key_text(owner: &Owner) -> Result<String, getrandom::Error> {
    let key = mint()?;
    Ok(format!(
        "API key for {owner} (shown only now; the gateway keeps only its hash):\n\n    {key}\n\n\
         Configure the gateway with this entry, in GATEWAY_API_KEYS (entries separated by commas) or as a line \
         of GATEWAY_API_KEYS_FILE:\n\n    {}\n\n\
         Clients send the key as `Authorization: Bearer {key}`.\n",
        entry(owner, &key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE_KEY: &str = "ipk_alice-secret";

    fn alice_entry() -> String {
        entry(&Owner::new("alice").unwrap(), ALICE_KEY)
    }

    #[test]
    fn keys_hash_to_their_sha256() {
        // `printf %s abc | sha256sum`
        assert_eq!(
            hex::encode(hash_key("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let line = alice_entry();
        assert!(line.starts_with("alice:sha256:"), "{line}");
        assert_eq!(line.len(), "alice:sha256:".len() + 64);
    }

    #[test]
    fn both_entry_forms_comments_and_separators_are_read() {
        let bob = entry(&Owner::new("bob").unwrap(), "ipk_bob");
        let bob_spaced = bob.replacen(':', "   ", 1);
        let inline = format!(" {} ,\n\n", alice_entry());
        let mut keys = ApiKeys::load(Some(&inline), None).unwrap();
        keys.add_file(
            &format!("# owners\n\n{bob_spaced}  # bob's laptop\n  \n"),
            "keys.txt",
        )
        .unwrap();
        assert_eq!(keys.owner_of(ALICE_KEY).unwrap().name(), "alice");
        assert_eq!(keys.owner_of("ipk_bob").unwrap().name(), "bob");
        assert_eq!(keys.owner_of("ipk_bob "), None, "the key, exactly");
        assert_eq!(keys.owner_of(""), None);
        assert_eq!((keys.key_count(), keys.owner_count()), (2, 2));
        assert!(!keys.is_open());
        assert!(ApiKeys::load(Some(" , \n"), None).unwrap().is_open());
        assert!(ApiKeys::load(None, None).unwrap().is_open());
    }

    #[test]
    fn an_owner_may_have_several_keys_but_a_key_one_owner() {
        let second = entry(&Owner::new("alice").unwrap(), "ipk_alice-new");
        let keys = ApiKeys::load(Some(&format!("{},{second}", alice_entry())), None).unwrap();
        assert_eq!((keys.key_count(), keys.owner_count()), (2, 1));

        let twice = format!("{}\n{}", alice_entry(), alice_entry());
        let error = ApiKeys::load(Some(&twice), None).unwrap_err();
        assert!(error.to_string().contains("entry 2"), "{error}");
        let stolen = alice_entry().replacen("alice", "bob", 1);
        let error = ApiKeys::load(Some(&format!("{},{stolen}", alice_entry())), None).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("bob") && message.contains("alice"),
            "{message}"
        );
    }

    #[test]
    fn malformed_entries_are_refused_with_where_they_are() {
        let hash = &alice_entry()["alice:".len()..];
        for (bad, says) in [
            ("alice", "not `owner:sha256"),
            (
                &format!("alice:{}", &hash[..hash.len() - 1]),
                "64 hex digits",
            ),
            (&format!("alice:{hash}0"), "64 hex digits"),
            (
                &format!("alice:{}", hash.replace("sha256:", "md5:")),
                "sha256",
            ),
            (&format!("alice:sha256:g{}", &hash[8..]), "hex"),
            (&format!("al ice:{hash}"), "sha256"),
            (&format!("al/ice:{hash}"), "owner `al/ice`"),
            (&format!(":{hash}"), "owner ``"),
            ("alice:ipk_the-key-itself", "never the key itself"),
        ] {
            let error = ApiKeys::load(Some(&format!("{},{bad}", alice_entry())), None)
                .err()
                .unwrap_or_else(|| panic!("`{bad}` was accepted"));
            let message = error.to_string();
            assert!(message.contains("GATEWAY_API_KEYS entry 2"), "{message}");
            assert!(message.contains(says), "`{bad}`: {message}");
            assert!(
                !message.contains("ipk_the-key-itself"),
                "a key pasted by mistake is not echoed: {message}"
            );
        }
        let mut keys = ApiKeys::default();
        let error = keys.add_file("# fine\nnope\n", "/etc/keys").unwrap_err();
        assert!(error.to_string().contains("/etc/keys line 2"), "{error}");
        let error = ApiKeys::load(None, Some(Path::new("/nonexistent/keys"))).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/keys"), "{error}");
    }

    #[test]
    fn minted_keys_are_random_and_their_entry_admits_them() {
        let (one, two) = (mint().unwrap(), mint().unwrap());
        assert_ne!(one, two);
        assert!(one.starts_with(KEY_PREFIX));
        assert_eq!(one.len(), KEY_PREFIX.len() + 43);
        let owner = Owner::new("ci-bot@example.com").unwrap();
        let text = new_key_text(&owner).unwrap();
        let key = text
            .split_whitespace()
            .find(|word| word.starts_with(KEY_PREFIX))
            .unwrap();
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("ci-bot@example.com:sha256:"))
            .unwrap();
        let keys = ApiKeys::load(Some(line), None).unwrap();
        assert_eq!(keys.owner_of(key), Some(&owner));
    }

    #[test]
    fn owner_names_are_checked() {
        for good in ["alice", "team-a.bot_1", "ops@example.com", &"a".repeat(64)] {
            assert!(Owner::new(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a:b", "a/b", "é", &"a".repeat(65)] {
            assert!(Owner::new(bad).is_err(), "{bad}");
        }
    }
}
