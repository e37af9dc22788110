//! Who is calling: the configured API keys and their owners, the filter that names a request's caller, and
//! the rule of which jobs a caller may see.

mod caller;
pub mod keys;

pub use caller::{caller, identify, may_see};
pub use keys::{ApiKeys, Owner};
