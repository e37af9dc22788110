//! Everything a request can fail with: [`ApiError`], each with its [`ErrorCode`] (the one list of the codes an
//! error response carries, with their HTTP status and meaning), and the one rejection handler that turns every
//! error into `{"code", "message"}`; and the settings the gateway refuses to start with ([`ConfigError`],
//! [`KeyConfigError`]).

mod api_error;
pub mod code;
mod config_error;
pub mod rejection;

pub use api_error::{ApiError, AuthFailure, Unstored};
pub use code::ErrorCode;
pub use config_error::{ConfigError, KeyConfigError};
pub use rejection::{ErrorBody, handle_rejection};
