//! The AMQP series every service shares: publishes by outcome (confirms acked, nacked, returned, timed out,
//! failed) and deliveries by queue, with redeliveries and how each was settled.

use std::sync::LazyLock;

use crate::metrics::CounterVec;

struct AmqpMetrics {
    publishes: CounterVec<2>,
    deliveries: CounterVec<2>,
    settled: CounterVec<2>,
}

static METRICS: LazyLock<AmqpMetrics> = LazyLock::new(|| AmqpMetrics {
    publishes: CounterVec::register(
        "imagepipe_amqp_publishes",
        "Messages published, by contract message and outcome: acked (confirmed), nacked (refused by the broker), \
         unroutable (returned: no queue bound), too_large (over the broker's limit, not sent), timeout (no \
         confirm in time), failed (channel or connection error)",
        ["message", "outcome"],
    ),
    deliveries: CounterVec::register(
        "imagepipe_amqp_deliveries",
        "Deliveries received, by queue role and whether the broker had delivered the message before",
        ["queue", "redelivered"],
    ),
    settled: CounterVec::register(
        "imagepipe_amqp_settled",
        "Deliveries settled, by queue role and disposition (ack, requeue, dead_letter)",
        ["queue", "disposition"],
    ),
});

/// Registers the AMQP series, so a scrape shows them before the first message.
pub(crate) fn register() {
    LazyLock::force(&METRICS);
}

/// Counts one publish of contract message `message_type` that ended in `outcome`.
pub(crate) fn published(message_type: &str, outcome: &str) {
    let message = message_type.rsplit('.').next().unwrap_or(message_type);
    METRICS.publishes.inc([message, outcome]);
}

/// Counts one delivery from the queue whose role is `queue`.
pub(crate) fn delivered(queue: &str, redelivered: bool) {
    let redelivered = if redelivered { "true" } else { "false" };
    METRICS.deliveries.inc([queue, redelivered]);
}

/// Counts one delivery from `queue` settled as `disposition`.
pub(crate) fn settled(queue: &str, disposition: &str) {
    METRICS.settled.inc([queue, disposition]);
}

/// A queue's role, the label its series carry: `transform`, `archive`, `activity`, `gateway` (every replica's
/// reply queue alike), from the queue's name in `namespace`.
pub(crate) fn queue_role<'a>(namespace: &str, queue: &'a str) -> &'a str {
    let local = queue
        .strip_prefix(namespace)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(queue);
    local.split('.').next().unwrap_or(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_roles_drop_the_namespace_and_the_instance() {
        assert_eq!(queue_role("imagepipe", "imagepipe.transform"), "transform");
        assert_eq!(queue_role("t-1", "t-1.gateway.gw-a1b2"), "gateway");
        assert_eq!(
            queue_role("imagepipe", "imagepipe.dead-letter"),
            "dead-letter"
        );
        assert_eq!(queue_role("imagepipe", "elsewhere"), "elsewhere");
    }

    #[test]
    fn publishes_are_counted_by_message_name() {
        published("imagepipe.v1.TestOnlyMessage", "acked");
        published("imagepipe.v1.TestOnlyMessage", "nacked");
        published("imagepipe.v1.TestOnlyMessage", "acked");
        assert_eq!(METRICS.publishes.get(["TestOnlyMessage", "acked"]), 2);
        assert_eq!(METRICS.publishes.get(["TestOnlyMessage", "nacked"]), 1);
    }
}
