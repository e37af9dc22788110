//! Reading an upload from a request body, whichever of the three shapes it comes in: a raw `image/*` body,
//! `multipart/form-data` with a field `image`, or JSON `{"image": "<base64>", ...}`. Every shape is read as a
//! stream under the size limit, so an oversized upload is refused without buffering it whole.

use base64::{
    Engine as _,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};

use imagepipe_proto::{options, spec::MAX_WATERMARK_IMAGE_BYTES};

use crate::{
    error::{ApiError, ErrorCode},
    intake::options::{JobOptions, JobSpec, WATERMARK_IMAGE},
};

/// Room for the other parts of a multipart form and for JSON's syntax around the base64 text.
const ENVELOPE_ALLOWANCE: u64 = 64 * 1024;

/// Standard base64, padded or not, and lenient about the unused bits of the last symbol (every string of the
/// API document's base64 pattern decodes).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// An upload's image bytes, the client's file name, and the job's checked options.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The encoded image, exactly as the client sent it.
    pub bytes: Bytes,
    /// The client's file name, when it gave one.
    pub filename: Option<String>,
    /// The validated options (query string first, then form fields or JSON members).
    pub options: JobSpec,
}

/// The request as the upload route sees it.
#[derive(Debug)]
pub struct UploadRequest<'a> {
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Content-Length` header, when the client sent one.
    pub content_length: Option<u64>,
    /// The query string's pairs.
    pub query: &'a [(String, String)],
    /// The largest accepted image in bytes.
    pub max_bytes: u64,
}

/// Reads `body` to its end without keeping it, stopping past `limit` bytes or at a read error: for an upload
/// refused before it was read, so that its client gets the answer instead of a reset connection.
pub async fn discard<S, B>(body: S, limit: u64)
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf + Send,
{
    let mut body = std::pin::pin!(body);
    let mut read = 0_u64;
    while let Some(Ok(chunk)) = body.next().await {
        read += chunk.remaining() as u64;
        if read > limit {
            break;
        }
    }
}

/// Reads the upload in `body`.
///
/// # Errors
/// [`ApiError::PayloadTooLarge`] past the limit, [`ApiError::UnsupportedContentType`] for a body that cannot carry
/// an image, [`ApiError::InvalidOption`] / [`ApiError::BadRequest`] for bad options, fields or encodings.
pub async fn read<S, B>(request: UploadRequest<'_>, body: S) -> Result<Upload, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    let mut options = JobOptions::default();
    let mut filename = None;
    for (name, value) in request.query {
        apply(&mut options, &mut filename, name, value)?;
    }
    let body = body.map_ok(|mut chunk| chunk.copy_to_bytes(chunk.remaining()));
    let content_type = request.content_type.unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let max = request.max_bytes;
    let bytes = match essence.as_str() {
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type).map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::InvalidMultipart,
                    "the multipart/form-data content type has no boundary",
                )
            })?;
            read_form(body, &boundary, max, &mut options, &mut filename).await?
        }
        "application/json" => {
            let limit = max / 3 * 4 + ENVELOPE_ALLOWANCE;
            check_length(request.content_length, limit, max)?;
            let text = collect(body, limit, max).await?;
            // Parsing and decoding megabytes of base64 is CPU work: keep it off the executor.
            let (bytes, parsed_options, parsed_filename) = tokio::task::spawn_blocking(move || {
                read_json(&text, max, &mut options, &mut filename)
                    .map(|bytes| (bytes, options, filename))
            })
            .await
            .map_err(|error| {
                ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    format!("reading the JSON body failed: {error}"),
                )
            })??;
            options = parsed_options;
            filename = parsed_filename;
            bytes
        }
        essence if essence.starts_with("image/") || essence == "application/octet-stream" => {
            check_length(request.content_length, max, max)?;
            collect(body, max, max).await?
        }
        "" => return Err(ApiError::UnsupportedContentType("(none)".into())),
        _ => return Err(ApiError::UnsupportedContentType(essence)),
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::EmptyImage,
            "the upload holds no image bytes",
        ));
    }
    Ok(Upload {
        bytes,
        filename,
        options: options.finish()?,
    })
}

/// Applies one query parameter, form field or JSON member other than the image.
fn apply(
    options: &mut JobOptions,
    filename: &mut Option<String>,
    name: &str,
    value: &str,
) -> Result<(), ApiError> {
    if name == "filename" {
        *filename = clean_filename(value);
        Ok(())
    } else {
        options.set(name, value)
    }
}

/// Keeps the last path component of a client file name, without control characters, at most 255 characters.
fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim().to_owned();
    (!clean.is_empty()).then_some(clean)
}

fn check_length(content_length: Option<u64>, limit: u64, max: u64) -> Result<(), ApiError> {
    match content_length {
        Some(length) if length > limit => Err(ApiError::PayloadTooLarge { limit: max }),
        _ => Ok(()),
    }
}

async fn collect<S>(body: S, limit: u64, max: u64) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>>,
{
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(
                ErrorCode::BodyReadFailed,
                format!("reading the body failed: {error}"),
            )
        })?;
        if (buffer.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::PayloadTooLarge { limit: max });
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

async fn read_form<S>(
    body: S,
    boundary: &str,
    max: u64,
    options: &mut JobOptions,
    filename: &mut Option<String>,
) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Send + 'static,
{
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max + ENVELOPE_ALLOWANCE)
            .per_field(max),
    );
    let mut form = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut image = None;
    while let Some(field) = form.next_field().await.map_err(|e| form_error(e, max))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            if filename.is_none() {
                *filename = field.file_name().and_then(clean_filename);
            }
            image = Some(field.bytes().await.map_err(|e| form_error(e, max))?);
        } else if name == WATERMARK_IMAGE {
            let mark = field.bytes().await.map_err(|e| form_error(e, max))?;
            options.set_watermark_image(check_watermark_size(mark)?);
        } else {
            let value = field.text().await.map_err(|e| form_error(e, max))?;
            apply(options, filename, &name, &value)?;
        }
    }
    image.ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::MissingImage,
            "the multipart form has no field named `image`",
        )
    })
}

fn form_error(error: multer::Error, max: u64) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::PayloadTooLarge { limit: max }
        }
        other => ApiError::bad_request(
            ErrorCode::InvalidMultipart,
            format!("the multipart/form-data body is malformed: {other}"),
        ),
    }
}

fn read_json(
    text: &[u8],
    max: u64,
    options: &mut JobOptions,
    filename: &mut Option<String>,
) -> Result<Bytes, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|error| {
        ApiError::bad_request(
            ErrorCode::InvalidJson,
            format!("the JSON body is malformed: {error}"),
        )
    })?;
    let serde_json::Value::Object(members) = value else {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidJson,
            "the JSON body must be an object like {\"image\": \"<base64>\", \"width\": 320}",
        ));
    };
    let mut image = None;
    for (name, value) in &members {
        match (name.as_str(), value) {
            ("image", serde_json::Value::String(encoded)) => image = Some(encoded.as_str()),
            ("image", _) => {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    "`image` must be a base64 string",
                ));
            }
            (WATERMARK_IMAGE, serde_json::Value::String(encoded)) => {
                let mark =
                    decode_base64(WATERMARK_IMAGE, encoded, MAX_WATERMARK_IMAGE_BYTES as u64)?;
                options.set_watermark_image(mark);
            }
            (_, serde_json::Value::Null) => {}
            (name, value) if options::is_option(name) => {
                let text = options::json_text(name, value)
                    .map_err(|error| ApiError::InvalidOption(error.0))?;
                if let Some(text) = text {
                    apply(options, filename, name, &text)?;
                }
            }
            (_, serde_json::Value::String(text)) => apply(options, filename, name, text)?,
            (_, serde_json::Value::Number(number)) => {
                apply(options, filename, name, &options::number_text(number))?;
            }
            (_, serde_json::Value::Bool(flag)) => {
                apply(options, filename, name, &flag.to_string())?;
            }
            // A variant list may come as JSON itself.
            ("variants", list @ serde_json::Value::Array(_)) => {
                apply(options, filename, name, &list.to_string())?;
            }
            (_, _) => {
                return Err(ApiError::InvalidOption(format!(
                    "`{name}` must be a string, a number or a boolean"
                )));
            }
        }
    }
    let encoded = image.ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::MissingImage,
            "the JSON body has no member `image`",
        )
    })?;
    decode_base64("image", encoded, max)
}

/// A watermark image within the contract's size limit.
fn check_watermark_size(mark: Bytes) -> Result<Bytes, ApiError> {
    if mark.len() > MAX_WATERMARK_IMAGE_BYTES {
        return Err(ApiError::InvalidOption(format!(
            "the watermark image is {} bytes; at most {MAX_WATERMARK_IMAGE_BYTES} are accepted",
            mark.len()
        )));
    }
    Ok(mark)
}

/// Decodes standard base64 (padded or not, line breaks allowed), optionally as a `data:` URL.
fn decode_base64(member: &str, encoded: &str, max: u64) -> Result<Bytes, ApiError> {
    let encoded = match encoded.split_once(";base64,") {
        Some((prefix, data)) if prefix.starts_with("data:") => data,
        _ => encoded,
    };
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    if compact.len() as u64 / 4 * 3 > max {
        return Err(too_large(member, max));
    }
    let bytes = BASE64.decode(&compact).map_err(|error| {
        ApiError::bad_request(
            ErrorCode::InvalidBase64,
            format!("`{member}` is not valid base64: {error}"),
        )
    })?;
    if bytes.len() as u64 > max {
        return Err(too_large(member, max));
    }
    Ok(Bytes::from(bytes))
}

fn too_large(member: &str, max: u64) -> ApiError {
    if member == "image" {
        ApiError::PayloadTooLarge { limit: max }
    } else {
        ApiError::InvalidOption(format!("`{member}` is larger than {max} bytes"))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use imagepipe_proto::v1::watermark::Mark;

    use super::*;

    fn body(parts: &[&[u8]]) -> impl Stream<Item = Result<Bytes, warp::Error>> + Send + 'static {
        let chunks: Vec<Result<Bytes, warp::Error>> = parts
            .iter()
            .map(|part| Ok(Bytes::copy_from_slice(part)))
            .collect();
        stream::iter(chunks)
    }

    fn request<'a>(content_type: &'a str, query: &'a [(String, String)]) -> UploadRequest<'a> {
        UploadRequest {
            content_type: Some(content_type),
            content_length: None,
            query,
            max_bytes: 100,
        }
    }

    #[tokio::test]
    async fn reads_a_raw_body_with_query_options() {
        let query = vec![
            ("width".to_owned(), "32".to_owned()),
            ("filename".to_owned(), "../etc/cat.png".to_owned()),
        ];
        let upload = read(request("image/png", &query), body(&[b"abc", b"def"]))
            .await
            .unwrap();
        assert_eq!(upload.bytes.as_ref(), b"abcdef");
        assert_eq!(upload.options.spec.width, Some(32));
        assert_eq!(upload.filename.as_deref(), Some("cat.png"));
    }

    #[tokio::test]
    async fn refuses_a_streamed_body_past_the_limit() {
        let chunk = [0_u8; 60];
        let error = read(request("image/jpeg", &[]), body(&[&chunk, &chunk]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "payload_too_large");
        let mut declared = request("image/jpeg", &[]);
        declared.content_length = Some(1_000);
        let error = read(declared, body(&[b"x"])).await.unwrap_err();
        assert_eq!(error.status(), 413);
    }

    #[tokio::test]
    async fn reads_a_multipart_form() {
        let form = b"--XyZ\r\nContent-Disposition: form-data; name=\"width\"\r\n\r\n40\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n\
--XyZ--\r\n";
        let upload = read(
            request("multipart/form-data; boundary=XyZ", &[]),
            body(&[form]),
        )
        .await
        .unwrap();
        assert_eq!(upload.bytes.as_ref(), b"PNGDATA");
        assert_eq!(upload.options.spec.width, Some(40));
        assert_eq!(upload.filename.as_deref(), Some("a.png"));
    }

    #[tokio::test]
    async fn a_form_without_an_image_field_is_a_clear_error() {
        let form = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nPNG\r\n--XyZ--\r\n";
        let error = read(
            request("multipart/form-data; boundary=XyZ", &[]),
            body(&[form]),
        )
        .await
        .unwrap_err();
        assert_eq!(error.code(), "invalid_option");
        let form =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"width\"\r\n\r\n5\r\n--XyZ--\r\n";
        let error = read(
            request("multipart/form-data; boundary=XyZ", &[]),
            body(&[form]),
        )
        .await
        .unwrap_err();
        assert_eq!(error.code(), "missing_image");
    }

    #[tokio::test]
    async fn reads_json_with_base64_and_numbers() {
        let json = br#"{"image": "aGVs\nbG8", "width": 10, "height": 20.0, "fit": "fill", "quality": null}"#;
        let upload = read(
            request("application/json; charset=utf-8", &[]),
            body(&[json]),
        )
        .await
        .unwrap();
        assert_eq!(upload.bytes.as_ref(), b"hello");
        assert_eq!(upload.options.spec.width, Some(10));
        assert_eq!(upload.options.spec.height, Some(20));
        // JSON takes numbers and booleans as such, as the document says; their text is for forms and queries.
        let quoted = br#"{"image": "aGVsbG8=", "height": "20"}"#;
        let error = read(request("application/json", &[]), body(&[quoted]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_option");
        let data_url = br#"{"image": "data:image/png;base64,aGVsbG8="}"#;
        let upload = read(request("application/json", &[]), body(&[data_url]))
            .await
            .unwrap();
        assert_eq!(upload.bytes.as_ref(), b"hello");
    }

    #[test]
    fn every_string_of_the_documented_base64_pattern_decodes() {
        // The last symbol's unused bits need not be zero ("AB" is not canonical base64, yet of the pattern).
        for encoded in [
            "AB", "AB==", "ABC", "ABC=", "ABCD", "ABCDAB", "/+9z", "0000",
        ] {
            assert!(decode_base64("image", encoded, 100).is_ok(), "{encoded}");
        }
        for refused in ["0", "ABCDA", "A=BC"] {
            assert!(decode_base64("image", refused, 100).is_err(), "{refused}");
        }
    }

    #[tokio::test]
    async fn reads_variants_flags_and_a_watermark_image_from_json() {
        let json = br#"{"image": "aGVsbG8=", "grayscale": true, "watermark_image": "UE5H",
            "variants": [{"name": "thumb", "width": 8}, {"name": "medium"}]}"#;
        let upload = read(request("application/json", &[]), body(&[json]))
            .await
            .unwrap();
        assert!(upload.options.spec.grayscale);
        let mark = upload.options.spec.watermark.clone().unwrap().mark;
        assert_eq!(mark, Some(Mark::Image(Bytes::from_static(b"PNG"))));
        let names: Vec<_> = upload
            .options
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(names, ["thumb", "medium"]);
    }

    #[tokio::test]
    async fn reads_a_watermark_image_from_a_form() {
        let form = b"--XyZ\r\nContent-Disposition: form-data; name=\"watermark_image\"; filename=\"logo.png\"\r\n\r\nLOGO\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nPNGDATA\r\n--XyZ--\r\n";
        let upload = read(
            request("multipart/form-data; boundary=XyZ", &[]),
            body(&[form]),
        )
        .await
        .unwrap();
        assert_eq!(upload.bytes.as_ref(), b"PNGDATA");
        let mark = upload.options.spec.watermark.unwrap().mark;
        assert_eq!(mark, Some(Mark::Image(Bytes::from_static(b"LOGO"))));
    }

    #[tokio::test]
    async fn json_errors_say_what_is_wrong() {
        for (json, code) in [
            (&br#"{"image": "!!!"}"#[..], "invalid_base64"),
            (br#"{"width": 3}"#, "missing_image"),
            (br#"[1]"#, "invalid_json"),
            (br#"{"image": "aGVsbG8=", "fit": "zoom"}"#, "invalid_option"),
            (b"{not json", "invalid_json"),
        ] {
            let error = read(request("application/json", &[]), body(&[json]))
                .await
                .unwrap_err();
            assert_eq!(error.code(), code, "{}", String::from_utf8_lossy(json));
        }
    }

    #[tokio::test]
    async fn other_content_types_are_refused() {
        let error = read(request("text/plain", &[]), body(&[b"hi"]))
            .await
            .unwrap_err();
        assert_eq!(error.status(), 415);
        let error = read(request("image/png", &[]), body(&[]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "empty_image");
    }
}
