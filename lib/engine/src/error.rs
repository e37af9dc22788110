//! The engine's errors. Each has a stable machine code (sent as `error_code` in a failed job's result and
//! archive, and shown to the client) and a human message (sent as `error`).

use imagepipe_proto::FailureCode;

/// Why an image could not be transformed. Every variant is permanent: retrying the same bytes with the same
/// spec fails the same way, so the worker reports the job as failed and acks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The bytes are not a readable image (unknown signature, truncated or corrupt data).
    #[error("the image could not be decoded: {0}")]
    DecodeFailed(String),
    /// The bytes are an image in a format (or pixel layout) the engine cannot read.
    #[error("unsupported image: {0}")]
    UnsupportedFormat(String),
    /// The image, or the result asked for, exceeds the configured pixel or memory limits.
    #[error("the image is too large: {0}")]
    TooLarge(String),
    /// The transform spec asks for something impossible (bad size, quality or output format).
    #[error("invalid transform: {0}")]
    InvalidSpec(String),
    /// The encoder refused the result.
    #[error("the result could not be encoded: {0}")]
    EncodeFailed(String),
}

impl EngineError {
    /// The stable machine-readable code: `decode_failed`, `unsupported_format`, `too_large`, `invalid_spec` or
    /// `encode_failed`.
    #[must_use]
    pub fn code(&self) -> FailureCode {
        match self {
            EngineError::DecodeFailed(_) => FailureCode::DecodeFailed,
            EngineError::UnsupportedFormat(_) => FailureCode::UnsupportedFormat,
            EngineError::TooLarge(_) => FailureCode::TooLarge,
            EngineError::InvalidSpec(_) => FailureCode::InvalidSpec,
            EngineError::EncodeFailed(_) => FailureCode::EncodeFailed,
        }
    }

    /// What went wrong, without the leading kind (`the image could not be decoded: `).
    #[must_use]
    pub fn detail(&self) -> &str {
        match self {
            EngineError::DecodeFailed(detail)
            | EngineError::UnsupportedFormat(detail)
            | EngineError::TooLarge(detail)
            | EngineError::InvalidSpec(detail)
            | EngineError::EncodeFailed(detail) => detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_say_why() {
        let error = EngineError::InvalidSpec("width must be between 1 and 16384".into());
        assert_eq!(error.code(), FailureCode::InvalidSpec);
        assert_eq!(
            error.to_string(),
            "invalid transform: width must be between 1 and 16384"
        );
        assert_eq!(error.detail(), "width must be between 1 and 16384");
        assert_eq!(
            EngineError::DecodeFailed(String::new()).code(),
            FailureCode::DecodeFailed
        );
        assert_eq!(
            EngineError::UnsupportedFormat(String::new()).code(),
            FailureCode::UnsupportedFormat
        );
        assert_eq!(
            EngineError::TooLarge(String::new()).code(),
            FailureCode::TooLarge
        );
        assert_eq!(
            EngineError::EncodeFailed(String::new()).code(),
            FailureCode::EncodeFailed
        );
    }
}
