//! The consumer side: the [`TransformWorker`] handler, the [`Outcome`] of one delivery, and the messages it
//! publishes.

mod messages;
mod outcome;
mod transform_worker;

pub use outcome::Outcome;
pub use transform_worker::TransformWorker;
