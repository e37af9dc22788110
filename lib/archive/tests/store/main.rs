//! The archive against the real MongoDB-protocol server, each test on its own database, dropped at the end.

mod archive_store;
mod helpers;
mod replicas;
mod round_trips;
mod tombstones;
