//! The gateway's integration suite: the real gateway (and, for end-to-end tests, the real transformer and
//! save2db) on port 0 against the real RabbitMQ and MongoDB-protocol server, each test in its own namespace
//! and database, driven through HTTP only.

mod browser;
mod delete;
mod helpers;
mod listing;
mod metrics;
mod openapi;
mod outage;
mod owners;
mod pipeline;
mod submit;
mod timeline;
