//! Why a job failed: the stable codes a failed job carries as `error_code` (in its `ImageResult`,
//! `ImageArchive` and `failed` event), set by the transformer, kept by save2db, shown by the gateway as the
//! status document's `error.code`. On the wire the code stays a string, so a consumer reads a code it does not
//! know yet (from a newer transformer) as it is; [`FailureCode`] is what producers send and what the docs list.

/// One stable reason for a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureCode {
    /// The bytes could not be decoded.
    DecodeFailed,
    /// An image format or pixel layout the engine does not read.
    UnsupportedFormat,
    /// The image, or a result asked for, exceeds the transformer's limits.
    TooLarge,
    /// The options ask for something impossible for this image.
    InvalidSpec,
    /// The encoder refused the result.
    EncodeFailed,
    /// The results are larger than one broker message may carry.
    OutputTooLarge,
    /// A bug in the transformer.
    Internal,
}

impl FailureCode {
    /// Every code, in the order the docs list them.
    pub const ALL: [FailureCode; 7] = [
        FailureCode::DecodeFailed,
        FailureCode::UnsupportedFormat,
        FailureCode::TooLarge,
        FailureCode::InvalidSpec,
        FailureCode::EncodeFailed,
        FailureCode::OutputTooLarge,
        FailureCode::Internal,
    ];

    /// The code as it travels and as clients match on it (`decode_failed`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::DecodeFailed => "decode_failed",
            FailureCode::UnsupportedFormat => "unsupported_format",
            FailureCode::TooLarge => "too_large",
            FailureCode::InvalidSpec => "invalid_spec",
            FailureCode::EncodeFailed => "encode_failed",
            FailureCode::OutputTooLarge => "output_too_large",
            FailureCode::Internal => "internal",
        }
    }

    /// What it means, for people (the docs and the OpenAPI document).
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            FailureCode::DecodeFailed => {
                "The bytes could not be decoded (corrupt or truncated image)."
            }
            FailureCode::UnsupportedFormat => {
                "The image is in a format or pixel layout the engine cannot read."
            }
            FailureCode::TooLarge => {
                "The image, or a result asked for, exceeds the transformer's pixel or memory limits."
            }
            FailureCode::InvalidSpec => "The options ask for something impossible for this image.",
            FailureCode::EncodeFailed => "The encoder refused the result.",
            FailureCode::OutputTooLarge => {
                "The results are larger than one broker message may carry."
            }
            FailureCode::Internal => "A bug in the transformer; the cause is logged.",
        }
    }

    /// The code named `code`, if this version knows it.
    #[must_use]
    pub fn from_name(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }

    /// Every code as a Markdown table (`error.code`, meaning), for the docs and the OpenAPI document.
    #[must_use]
    pub fn markdown_table() -> String {
        let mut table = String::from("| `error.code` | Meaning |\n|---|---|\n");
        for code in Self::ALL {
            table.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.meaning()));
        }
        table
    }
}

impl PartialEq<str> for FailureCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FailureCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_unique_round_trip_and_have_a_table_row_each() {
        let names: BTreeSet<_> = FailureCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(names.len(), FailureCode::ALL.len());
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::from_name(code.as_str()), Some(code));
            assert!(code.meaning().ends_with('.'), "{code}");
        }
        assert_eq!(FailureCode::from_name("no_such_code"), None);
        assert_eq!(FailureCode::TooLarge, "too_large");
        assert_eq!(
            FailureCode::markdown_table().lines().count(),
            FailureCode::ALL.len() + 2
        );
    }

    #[test]
    fn the_wire_names_stay_what_clients_match_on() {
        let names: Vec<_> = FailureCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(
            names,
            [
                "decode_failed",
                "unsupported_format",
                "too_large",
                "invalid_spec",
                "encode_failed",
                "output_too_large",
                "internal"
            ]
        );
    }
}
