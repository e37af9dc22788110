//! The MongoDB connection: one client per process, short timeouts so a missing database is reported quickly, and
//! majority, journaled writes; and asking whether the database answers.

use std::time::Duration;

use mongodb::{
    Client, Database,
    bson::doc,
    options::{Acknowledgment, ClientOptions, DatabaseOptions, WriteConcern},
};

use crate::{ArchiveArgs, StoreError};

/// Connects to the database `args` names. The returned handle writes with majority, journaled acknowledgement.
/// Does not wait for the server: the first operation (or a `ping`) does.
///
/// # Errors
/// [`StoreError::Mongo`] when the connection string is malformed.
pub async fn connect(args: &ArchiveArgs, app_name: &str) -> Result<Database, StoreError> {
    let mut options = ClientOptions::parse(&args.mongodb_uri)
        .await
        .map_err(StoreError::mongo("reading the connection string"))?;
    options.app_name = Some(app_name.to_owned());
    options
        .server_selection_timeout
        .get_or_insert(Duration::from_secs(5));
    options
        .connect_timeout
        .get_or_insert(Duration::from_secs(5));
    options.max_idle_time.get_or_insert(Duration::from_secs(60));
    // A write counts once a majority of the replica set has it in its journal (a standalone server: once it is
    // in the journal), so a primary's failover cannot roll back a stored job; a `w` of the connection string
    // wins over the majority.
    let acknowledgment = options
        .write_concern
        .as_ref()
        .and_then(|concern| concern.w.clone())
        .unwrap_or(Acknowledgment::Majority);
    let client =
        Client::with_options(options).map_err(StoreError::mongo("configuring the client"))?;
    Ok(client.database_with_options(
        &args.mongodb_database,
        DatabaseOptions::builder()
            .write_concern(
                WriteConcern::builder()
                    .w(acknowledgment)
                    .journal(true)
                    .build(),
            )
            .build(),
    ))
}

/// Whether `database` takes writes now: the server answers and says it is a writable primary (a standalone server
/// and a `mongos` say so too). A member of a replica set during an election or a step-down answers pings but
/// refuses writes; a writer that only waited for a ping would retry into the same refusal.
///
/// # Errors
/// [`StoreError::NotWritable`] when it answers as no primary, [`StoreError::Mongo`] when it does not answer.
pub async fn writable(database: &Database) -> Result<(), StoreError> {
    let reply = database
        .run_command(doc! { "hello": 1 })
        .await
        .map_err(StoreError::mongo(
            "asking the database whether it takes writes",
        ))?;
    let primary = reply
        .get_bool("isWritablePrimary")
        .or_else(|_| reply.get_bool("ismaster"))
        .unwrap_or(false);
    if primary {
        Ok(())
    } else {
        Err(StoreError::NotWritable)
    }
}

/// Whether `database` answers now.
///
/// # Errors
/// [`StoreError::Mongo`] when it does not (within the client's server-selection timeout).
pub async fn ping(database: &Database) -> Result<(), StoreError> {
    database
        .run_command(doc! { "ping": 1 })
        .await
        .map_err(StoreError::mongo("pinging the database"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn concern_of(uri: &str) -> WriteConcern {
        let args = ArchiveArgs::new(uri, "t");
        let database = connect(&args, "test").await.expect("a valid URI");
        database.write_concern().cloned().expect("a write concern")
    }

    #[tokio::test]
    async fn writes_wait_for_a_majority_s_journal_unless_the_uri_says_otherwise() {
        // Nothing listens there: connecting does not reach the server.
        let concern = concern_of("mongodb://127.0.0.1:1/?directConnection=true").await;
        assert_eq!(concern.w, Some(Acknowledgment::Majority));
        assert_eq!(concern.journal, Some(true));
        let concern = concern_of("mongodb://127.0.0.1:1/?w=2").await;
        assert_eq!(concern.w, Some(Acknowledgment::Nodes(2)));
        assert_eq!(concern.journal, Some(true));
    }
}
