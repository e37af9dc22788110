//! AMQP plumbing: the broker handle, confirmed publishing, and the recovering consumer loop.

mod broker;
mod consumer;
pub(crate) mod metrics;
mod nodes;
mod properties;
mod publisher;

pub use broker::{Broker, ready_count};
pub use consumer::{ConsumerOptions, ConsumerState, Disposition, Handler, consume};
pub use nodes::{redact, split_urls};
pub use properties::{DeliveryIds, Envelope};
pub use publisher::Publisher;

pub use lapin::{Channel, message::Delivery};
