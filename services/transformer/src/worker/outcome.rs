//! What handling one delivery came to, and what the consumer loop does with the delivery then.

use imagepipe_common::amqp::Disposition;
use imagepipe_proto::FailureCode;

/// The end of one delivery's handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The image was transformed; the result and the archive are confirmed by the broker.
    Done,
    /// The job failed permanently (`code`: an engine code, or `internal`); the failed result and the archive
    /// (with the original) are confirmed by the broker.
    Failed {
        /// The machine code sent as `error_code`.
        code: FailureCode,
    },
    /// The payload is not an `ImageSubmitted`: poison, nothing could be reported.
    Undecodable,
    /// The result or the archive was not confirmed; the whole job is to be redone.
    PublishFailed,
}

impl Outcome {
    /// What the consumer loop does with the delivery: done and failed jobs are acked (a failure is reported,
    /// not retried), poison is dead-lettered, a publish failure is requeued (the quorum queue's delivery limit
    /// dead-letters a job that never gets through).
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        match self {
            Outcome::Done | Outcome::Failed { .. } => Disposition::Ack,
            Outcome::Undecodable => Disposition::DeadLetter,
            Outcome::PublishFailed => Disposition::Requeue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_acked_poison_dead_lettered_publish_errors_retried() {
        assert_eq!(Outcome::Done.disposition(), Disposition::Ack);
        assert_eq!(
            Outcome::Failed {
                code: FailureCode::DecodeFailed
            }
            .disposition(),
            Disposition::Ack
        );
        assert_eq!(Outcome::Undecodable.disposition(), Disposition::DeadLetter);
        assert_eq!(Outcome::PublishFailed.disposition(), Disposition::Requeue);
    }
}
