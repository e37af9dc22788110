//! The gateway's integration suite: the real gateway alone, on port 0, against the real RabbitMQ and
//! MongoDB-protocol server, each test in its own namespace and database, driven through HTTP, and through the
//! contract where a test plays the transformer. The suites of the whole system (gateway, transformer and save2db
//! together) are in `tests/system`.

mod auth;
mod delete;
mod helpers;
mod logs;
mod overload;
mod routing;
mod shutdown;
mod submit;
