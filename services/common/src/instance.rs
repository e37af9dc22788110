//! Each replica's instance id: its name in the job events, results and archives it sends, in its logs and broker
//! connection name, and (for a gateway) in its reply queue's name and routing key. Every service makes it the
//! same way: the configured id, made safe for queue names and routing keys, or else the host name with four
//! random hex digits, so that two replicas on one host (or two processes of one container image) never share
//! one.

/// The longest id kept, in characters.
const MAX_LEN: usize = 64;

/// A new id for this process: the host name (`HOSTNAME`, else `/etc/hostname`, else `imagepipe`) and four random
/// hex digits, e.g. `web-1-3fa2`.
#[must_use]
pub fn generated() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "imagepipe".to_owned());
    with_suffix(&host)
}

/// `host`, made safe and shortened so that the random suffix always fits within [`MAX_LEN`].
fn with_suffix(host: &str) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    let mut id = safe(host);
    id.truncate(MAX_LEN - suffix.len() - 1);
    format!("{id}-{suffix}")
}

/// A configured id as the services use it: every character but ASCII letters, digits, `-` and `_` becomes `-`,
/// and it is cut at 64 characters. For clap's `value_parser`.
///
/// # Errors
/// When nothing is left (an empty id).
pub fn parse(raw: &str) -> Result<String, String> {
    let id = safe(raw);
    if id.is_empty() {
        Err("an instance id needs at least one character".to_owned())
    } else {
        Ok(id)
    }
}

fn safe(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= MAX_LEN
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[test]
    fn configured_ids_are_made_safe_in_routing_keys() {
        assert_eq!(parse("gw.1 #*").unwrap(), "gw-1---");
        assert_eq!(parse("tf_2").unwrap(), "tf_2");
        assert_eq!(parse(&"x".repeat(100)).unwrap().len(), MAX_LEN);
        assert!(parse("").is_err());
    }

    #[test]
    fn generated_ids_are_safe_and_differ_between_processes() {
        let (first, second) = (generated(), generated());
        assert!(is_safe(&first), "{first}");
        assert_ne!(first, second, "the random suffix tells two replicas apart");
        assert_eq!(first[..first.len() - 4], second[..second.len() - 4]);
        // A host name too long for the limit is shortened, never the suffix that tells replicas apart.
        let (long, again) = (with_suffix(&"h".repeat(100)), with_suffix(&"h".repeat(100)));
        assert!(is_safe(&long), "{long}");
        assert_eq!(long.len(), MAX_LEN);
        assert_ne!(long, again);
    }
}
