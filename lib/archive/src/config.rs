//! Where the archive lives: the MongoDB connection string, the database and the GridFS bucket. Both services that
//! touch the archive (save2db writes it, the gateway reads and deletes) flatten this one group into their
//! `Config`, so they cannot disagree on where it is.

/// The connection string the services default to: the local stack's MongoDB-protocol server.
pub const DEFAULT_MONGODB_URI: &str = "mongodb://127.0.0.1:27017/?directConnection=true";

/// How to reach the archive.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ArchiveArgs {
    /// MongoDB connection string.
    #[arg(long, env = "MONGODB_URI", default_value = DEFAULT_MONGODB_URI)]
    pub mongodb_uri: String,
    /// Database holding the GridFS bucket, `jobs` and `job_events`.
    #[arg(long, env = "MONGODB_DATABASE", default_value = "imagepipe")]
    pub mongodb_database: String,
    /// GridFS bucket of originals and outputs (collections `<bucket>.files` and `<bucket>.chunks`).
    #[arg(long, env = "MONGODB_BUCKET", default_value = crate::layout::DEFAULT_BUCKET)]
    pub mongodb_bucket: String,
}

impl ArchiveArgs {
    /// The archive in database `database` at `uri`, in the default bucket (for tests and tools).
    #[must_use]
    pub fn new(uri: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            mongodb_uri: uri.into(),
            mongodb_database: database.into(),
            mongodb_bucket: crate::layout::DEFAULT_BUCKET.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Test {
        #[command(flatten)]
        archive: ArchiveArgs,
    }

    #[test]
    fn defaults_work_against_the_local_stack_and_flags_override_them() {
        let parsed = Test::try_parse_from(["t"]).unwrap();
        assert_eq!(
            parsed.archive,
            ArchiveArgs {
                mongodb_uri: DEFAULT_MONGODB_URI.to_owned(),
                mongodb_database: "imagepipe".to_owned(),
                mongodb_bucket: "images".to_owned(),
            }
        );
        let parsed = Test::try_parse_from([
            "t",
            "--mongodb-database",
            "db",
            "--mongodb-bucket",
            "pictures",
        ])
        .unwrap();
        assert_eq!(parsed.archive.mongodb_database, "db");
        assert_eq!(parsed.archive.mongodb_bucket, "pictures");
    }
}
