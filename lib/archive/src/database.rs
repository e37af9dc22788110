//! The MongoDB connection: one client per process, short timeouts so a missing database is reported quickly, and
//! journaled writes; and asking whether the database answers.

use std::time::Duration;

use mongodb::{
    Client, Database,
    bson::doc,
    options::{ClientOptions, DatabaseOptions, WriteConcern},
};

use crate::{ArchiveArgs, StoreError};

/// Connects to the database `args` names. The returned handle writes with journaled acknowledgement. Does not
/// wait for the server: the first operation (or a `ping`) does.
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
    let client =
        Client::with_options(options).map_err(StoreError::mongo("configuring the client"))?;
    Ok(client.database_with_options(
        &args.mongodb_database,
        DatabaseOptions::builder()
            .write_concern(WriteConcern::builder().journal(true).build())
            .build(),
    ))
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
