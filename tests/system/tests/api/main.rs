//! The system's end-to-end suite: gateway, transformer and save2db in-process ([`imagepipe_system_tests::Stack`])
//! on port 0 against the real RabbitMQ and MongoDB-protocol server, each test in its own namespace and
//! database, driven through HTTP only, as a user would: the pipeline, variants, timelines, listings, owners,
//! deletion, the OpenAPI document against real answers and under a fuzzer (schemathesis), metrics, outages, and the
//! web page in a real browser.

mod browser;
mod contract;
mod delete;
mod helpers;
mod listing;
mod metrics;
mod openapi;
mod outage;
mod owners;
mod pipeline;
mod timeline;
