//! Encoding and decoding of contract messages as AMQP payloads.

use bytes::Bytes;

use crate::v1::{ImageArchive, ImageResult, ImageSubmitted, JobEvent};

/// The AMQP `content_type` every contract message carries.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// A contract message: a prost message with a stable type name, sent as the AMQP `type` property so a consumer
/// that receives several kinds on one queue can tell them apart before decoding.
pub trait Message: prost::Message + Default + Sized {
    /// The full protobuf name, e.g. `imagepipe.v1.ImageSubmitted`.
    const TYPE: &'static str;

    /// How many bytes [`Message::to_payload`] would produce, without encoding.
    fn payload_len(&self) -> usize {
        self.encoded_len()
    }

    /// Encodes the message into a fresh buffer.
    fn to_payload(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Decodes a payload. `bytes` fields of the result share `payload`'s buffer instead of copying it.
    ///
    /// # Errors
    /// [`DecodeError`] when the payload is not a valid encoding of this message.
    fn from_payload(payload: impl Into<Bytes>) -> Result<Self, DecodeError> {
        Self::decode(payload.into()).map_err(|source| DecodeError {
            message_type: Self::TYPE,
            source,
        })
    }
}

/// A payload that is not a valid encoding of the expected message.
#[derive(Debug, thiserror::Error)]
#[error("payload is not a valid {message_type}: {source}")]
pub struct DecodeError {
    /// The message type that was expected.
    pub message_type: &'static str,
    /// What prost found wrong.
    #[source]
    pub source: prost::DecodeError,
}

impl Message for ImageSubmitted {
    const TYPE: &'static str = "imagepipe.v1.ImageSubmitted";
}

impl Message for ImageResult {
    const TYPE: &'static str = "imagepipe.v1.ImageResult";
}

impl Message for ImageArchive {
    const TYPE: &'static str = "imagepipe.v1.ImageArchive";
}

impl Message for JobEvent {
    const TYPE: &'static str = "imagepipe.v1.JobEvent";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{
        Fit, Gravity, ImageFormat, ImageInfo, JobStatus, Output, TransformSpec, Variant, Watermark,
        job_event, watermark,
    };

    fn spec() -> TransformSpec {
        TransformSpec {
            width: Some(320),
            height: None,
            fit: Fit::Cover as i32,
            format: ImageFormat::Webp as i32,
            quality: Some(80),
            gravity: Gravity::North as i32,
            rotate: 90,
            blur: Some(1.5),
            watermark: Some(Watermark {
                mark: Some(watermark::Mark::Text("© imagepipe".into())),
                opacity: Some(0.4),
                ..Watermark::default()
            }),
            ..TransformSpec::default()
        }
    }

    #[test]
    fn image_submitted_round_trips() {
        let message = ImageSubmitted {
            job_id: "0b4f5a52-1c1e-4a53-9a57-2a4ee4f6d0e1".into(),
            trace_id: "trace".into(),
            reply_routing_key: "image.result.gw-1".into(),
            submitted_at_ms: 1_700_000_000_000,
            spec: Some(spec()),
            original: Bytes::from_static(b"\x89PNG\r\n\x1a\n rest"),
            original_info: Some(ImageInfo {
                format: ImageFormat::Png as i32,
                width: 640,
                height: 480,
                bytes: 13,
            }),
            accepted_by: "gw-1".into(),
            filename: "cat.png".into(),
            owner: "alice".into(),
            variants: vec![
                Variant {
                    name: "thumb".into(),
                    spec: Some(spec()),
                },
                Variant {
                    name: "preset".into(),
                    spec: None,
                },
            ],
        };
        let decoded = ImageSubmitted::from_payload(message.to_payload()).unwrap();
        assert_eq!(decoded, message);
        assert_eq!(decoded.spec.unwrap().height, None, "absent stays absent");
        assert_eq!(decoded.variants[1].spec, None, "a preset stays a preset");
    }

    #[test]
    fn result_archive_and_event_round_trip() {
        let output = Output {
            name: "default".into(),
            data: Bytes::from_static(&[0xff, 0xd8, 0xff]),
            info: Some(ImageInfo {
                format: ImageFormat::Jpeg as i32,
                width: 10,
                height: 20,
                bytes: 3,
            }),
        };
        let result = ImageResult {
            job_id: "id".into(),
            status: JobStatus::Done as i32,
            outputs: vec![output.clone()],
            ..Default::default()
        };
        assert_eq!(
            ImageResult::from_payload(result.to_payload()).unwrap(),
            result
        );

        let archive = ImageArchive {
            job_id: "id".into(),
            status: JobStatus::Failed as i32,
            error_code: "decode_failed".into(),
            error: "bad".into(),
            original: Bytes::from_static(b"xyz"),
            outputs: vec![output],
            spec: Some(spec()),
            ..Default::default()
        };
        assert_eq!(
            ImageArchive::from_payload(archive.to_payload()).unwrap(),
            archive
        );

        let event = JobEvent {
            job_id: "id".into(),
            kind: job_event::Kind::Accepted as i32,
            status: JobStatus::Queued as i32,
            ..Default::default()
        };
        assert_eq!(JobEvent::from_payload(event.to_payload()).unwrap(), event);
    }

    #[test]
    fn garbage_is_a_decode_error_naming_the_type() {
        let err = ImageSubmitted::from_payload(vec![0xff, 0xff, 0xff]).unwrap_err();
        assert!(
            err.to_string().contains("imagepipe.v1.ImageSubmitted"),
            "{err}"
        );
    }

    #[test]
    fn decoded_bytes_share_the_payload_buffer() {
        let message = ImageSubmitted {
            original: Bytes::from(vec![7u8; 4096]),
            ..Default::default()
        };
        let payload = Bytes::from(message.to_payload());
        let range = payload.as_ptr() as usize..payload.as_ptr() as usize + payload.len();
        let decoded = ImageSubmitted::from_payload(payload.clone()).unwrap();
        assert!(range.contains(&(decoded.original.as_ptr() as usize)));
    }
}
