//! Settings the gateway refuses to start with: limits that do not fit together, and a bad API key configuration.
//! Each names the settings to change.

/// Settings that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An upload and its outputs could not be carried by one broker message.
    #[error(
        "GATEWAY_MAX_UPLOAD_BYTES ({upload}) is more than half of AMQP_MAX_MESSAGE_BYTES ({message}): an upload and \
         its outputs could not be carried by the broker; lower the first or raise both it and the broker's \
         max_message_size"
    )]
    UploadTooLargeForMessages {
        /// `GATEWAY_MAX_UPLOAD_BYTES`.
        upload: u64,
        /// `AMQP_MAX_MESSAGE_BYTES`.
        message: u64,
    },
}

/// A bad API key configuration (`GATEWAY_API_KEYS`, `GATEWAY_API_KEYS_FILE`): the gateway does not start.
#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    /// The key file cannot be read.
    #[error("Failed to read the API key file {path}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An entry is not `owner:sha256:<hex>` or `owner sha256:<hex>`.
    #[error("bad API key entry at {location}: {reason}")]
    Malformed {
        /// Where: `GATEWAY_API_KEYS entry N` or `<file> line N`.
        location: String,
        /// What is wrong (never the entry itself: it could be a key pasted by mistake).
        reason: String,
    },
    /// A key hash appears twice.
    #[error(
        "bad API key entry at {location}: the key hash given for `{owner}` is already configured for `{first}`; every key needs its own entry, once"
    )]
    DuplicateKey {
        /// Where the second one is.
        location: String,
        /// Its owner.
        owner: String,
        /// The owner of the first.
        first: String,
    },
}
