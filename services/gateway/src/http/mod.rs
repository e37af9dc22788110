//! The HTTP face of the gateway: the route table and the router behind the one rejection handler, the handlers
//! of the job routes, image responses (ETags, cache headers), the status document, the live status stream, the
//! per-request log line and metrics, the web page, and the OpenAPI document.

pub mod handlers;
pub mod images;
pub mod live;
pub mod openapi;
pub mod request_log;
pub mod routes;
pub mod view;
pub mod web;

pub use routes::{AppState, ROUTES, Route, routes};
