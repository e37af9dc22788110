//! The MongoDB connection: one client per process, short timeouts so a missing database is reported quickly.

use std::time::Duration;

use mongodb::{
    Client, Database,
    bson::doc,
    options::{ClientOptions, WriteConcern},
};

use crate::{Error, config::MongoArgs};

/// Connects to the database named in `args`. The returned handle writes with journaled acknowledgement.
/// Does not wait for the server: the first operation (or [`ping`]) does.
///
/// # Errors
/// [`Error::Mongo`] when the connection string is malformed.
pub async fn connect(args: &MongoArgs, app_name: &str) -> Result<Database, Error> {
    let mut options = ClientOptions::parse(&args.mongodb_uri).await?;
    options.app_name = Some(app_name.to_owned());
    options
        .server_selection_timeout
        .get_or_insert(Duration::from_secs(5));
    options
        .connect_timeout
        .get_or_insert(Duration::from_secs(5));
    options.max_idle_time.get_or_insert(Duration::from_secs(60));
    let client = Client::with_options(options)?;
    let database = client.database_with_options(
        &args.mongodb_database,
        mongodb::options::DatabaseOptions::builder()
            .write_concern(WriteConcern::builder().journal(true).build())
            .build(),
    );
    Ok(database)
}

/// Checks the server answers.
///
/// # Errors
/// [`Error::Mongo`] when it does not within the client's server-selection timeout.
pub async fn ping(database: &Database) -> Result<(), Error> {
    database.run_command(doc! { "ping": 1 }).await?;
    Ok(())
}
