//! The AMQP properties every contract message carries, and reading them back from a delivery.

use imagepipe_proto::{
    Message,
    codec::CONTENT_TYPE,
    topology::{HEADER_JOB_ID, HEADER_TRACE_ID},
};
use lapin::{
    BasicProperties,
    message::Delivery,
    types::{AMQPValue, FieldTable},
};

/// Where a message goes and which job it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Routing key on the topic exchange.
    pub routing_key: &'a str,
    /// The job's id (AMQP `message_id` and header `x-job-id`).
    pub job_id: &'a str,
    /// The job's trace id (header `x-trace-id`).
    pub trace_id: &'a str,
    /// Written to disk by the broker (delivery mode 2): every message that must survive a broker restart.
    pub persistent: bool,
    /// Returned (and reported as an error) when no queue is bound for the routing key.
    pub mandatory: bool,
}

impl<'a> Envelope<'a> {
    /// The envelope of a job event: informative, so neither persistent nor mandatory (a replica that misses
    /// one still finds the job in MongoDB).
    #[must_use]
    pub fn event(routing_key: &'a str, job_id: &'a str, trace_id: &'a str) -> Self {
        Self {
            routing_key,
            job_id,
            trace_id,
            persistent: false,
            mandatory: false,
        }
    }

    /// The AMQP properties of a message `M` in this envelope.
    #[must_use]
    pub fn properties<M: Message>(&self) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert(
            HEADER_JOB_ID.into(),
            AMQPValue::LongString(self.job_id.into()),
        );
        headers.insert(
            HEADER_TRACE_ID.into(),
            AMQPValue::LongString(self.trace_id.into()),
        );
        let timestamp = u64::try_from(crate::time::now_ms() / 1000).unwrap_or_default();
        BasicProperties::default()
            .with_content_type(CONTENT_TYPE.into())
            .with_type(M::TYPE.into())
            .with_message_id(self.job_id.into())
            .with_delivery_mode(if self.persistent { 2 } else { 1 })
            .with_timestamp(timestamp)
            .with_app_id("imagepipe".into())
            .with_headers(headers)
    }
}

/// The ids a delivery carries in its properties, for logging before (or without) decoding the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryIds {
    /// The AMQP `type` property (the contract message name).
    pub message_type: String,
    /// Header `x-job-id`, else `message_id`.
    pub job_id: String,
    /// Header `x-trace-id`.
    pub trace_id: String,
}

impl DeliveryIds {
    /// Reads the ids of `delivery`; missing ones are empty.
    #[must_use]
    pub fn of(delivery: &Delivery) -> Self {
        let properties = &delivery.properties;
        let header = |name: &str| {
            properties
                .headers()
                .as_ref()
                .and_then(|headers| headers.inner().get(name))
                .and_then(|value| match value {
                    AMQPValue::LongString(text) => {
                        Some(String::from_utf8_lossy(text.as_bytes()).into_owned())
                    }
                    AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
                    _ => None,
                })
        };
        Self {
            message_type: properties
                .kind()
                .as_ref()
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
            job_id: header(HEADER_JOB_ID)
                .or_else(|| {
                    properties
                        .message_id()
                        .as_ref()
                        .map(|id| id.as_str().to_owned())
                })
                .unwrap_or_default(),
            trace_id: header(HEADER_TRACE_ID).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagepipe_proto::v1::JobEvent;

    #[test]
    fn ids_survive_the_properties() {
        let envelope = Envelope {
            routing_key: "job.event.accepted",
            job_id: "job-1",
            trace_id: "trace-1",
            persistent: true,
            mandatory: false,
        };
        let mut delivery =
            Delivery::mock(1, "ex".into(), "job.event.accepted".into(), false, vec![]);
        delivery.properties = envelope.properties::<JobEvent>();
        assert_eq!(
            DeliveryIds::of(&delivery),
            DeliveryIds {
                message_type: "imagepipe.v1.JobEvent".into(),
                job_id: "job-1".into(),
                trace_id: "trace-1".into(),
            }
        );
        assert_eq!(delivery.properties.delivery_mode(), &Some(2));
    }
}
