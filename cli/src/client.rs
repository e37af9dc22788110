//! The gateway's HTTP API as calls: submit an image, wait for and fetch a job's outputs, read its status, delete
//! it, list stored jobs. A `503` (queue full, broker or database away) is retried after the `Retry-After` the
//! gateway sent; any other refusal becomes [`CliError::Api`] with the gateway's own code and message.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{
    RequestBuilder, Response, StatusCode, Url,
    header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER},
};
use serde::Deserialize;

use crate::{
    documents::{ErrorBody, FailedBody, JobPage, JobStatus},
    error::CliError,
};

/// Longest `?wait=` the gateway accepts, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// How many times one request is retried after a `503`.
pub const MAX_RETRIES: u32 = 30;
/// How many times a deletion is asked for again while the job is still being processed or stored.
pub const MAX_IN_PROGRESS_RETRIES: u32 = 30;
/// The wait before retrying a `503` that did not say how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait a `Retry-After` is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long connecting to the gateway may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (an upload, or a `?wait=` plus the download).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Told when a request is retried: what the gateway said and how long until the retry.
pub type RetryNotice<'a> = &'a (dyn Fn(&str, Duration) + Send + Sync);

/// A client of one gateway.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    retries: u32,
}

/// An image to submit.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The encoded image.
    pub bytes: Bytes,
    /// The file name the job records.
    pub filename: &'a str,
    /// Its MIME type (the gateway sniffs the real format anyway).
    pub content_type: &'a str,
    /// The job's options, as query parameters.
    pub query: &'a [(String, String)],
}

impl ApiClient {
    /// A client of the gateway at `server` (`http://host:port`, with or without a trailing slash).
    ///
    /// # Errors
    /// [`CliError::BadServer`] when `server` is not an http(s) URL.
    pub fn new(server: &str) -> Result<Self, CliError> {
        Self::with_api_key(server, None)
    }

    /// A client of the gateway at `server` that sends `api_key`, if any, as `Authorization: Bearer <key>` on
    /// every request.
    ///
    /// # Errors
    /// [`CliError::BadServer`] when `server` is not an http(s) URL; [`CliError::BadApiKey`] when the key cannot
    /// be sent in a header.
    pub fn with_api_key(server: &str, api_key: Option<&str>) -> Result<Self, CliError> {
        let base = server.trim_end_matches('/').to_owned();
        let url = Url::parse(&base).map_err(|_| CliError::BadServer(server.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(CliError::BadServer(server.to_owned()));
        }
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                .map_err(|_| CliError::BadApiKey)?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("imagepipe-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| CliError::Unreachable {
                url: base.clone(),
                source,
            })?;
        Ok(Self {
            http,
            base,
            retries: MAX_RETRIES,
        })
    }

    /// This client, answering a `503` at once instead of retrying it (a load generator counts refusals; it
    /// does not wait them out).
    #[must_use]
    pub fn without_retries(mut self) -> Self {
        self.retries = 0;
        self
    }

    /// The gateway's base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Submits an image and returns the new job's id once the gateway accepted it.
    ///
    /// # Errors
    /// [`CliError::Api`] when the gateway refuses it (bad option, not an image, too large, or still `503` after
    /// [`MAX_RETRIES`] retries); [`CliError::Unreachable`] when it cannot be reached.
    pub async fn submit(
        &self,
        submission: &Submission<'_>,
        notice: RetryNotice<'_>,
    ) -> Result<String, CliError> {
        let url = format!("{}/image", self.base);
        let response = self
            .send(
                || {
                    // The image's bytes are shared, not copied, into each attempt's body.
                    let image = || {
                        reqwest::multipart::Part::stream_with_length(
                            submission.bytes.clone(),
                            submission.bytes.len() as u64,
                        )
                        .file_name(submission.filename.to_owned())
                    };
                    let part = image()
                        .mime_str(submission.content_type)
                        .unwrap_or_else(|_| image());
                    self.http
                        .post(&url)
                        .query(submission.query)
                        .multipart(reqwest::multipart::Form::new().part("image", part))
                },
                notice,
            )
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(error_of(response).await);
        }
        #[derive(Deserialize)]
        struct Accepted {
            id: String,
        }
        let accepted: Accepted = json_of(response).await?;
        Ok(accepted.id)
    }

    /// The bytes of job `id`'s output `name` (its main result when `None`), waiting up to `timeout` for the job
    /// to finish.
    ///
    /// # Errors
    /// [`CliError::JobFailed`] with the job's reason when it failed; [`CliError::Timeout`] when it is not
    /// finished in time; [`CliError::Api`] (`job_not_found`, `output_not_found`, …) or
    /// [`CliError::Unreachable`] otherwise.
    pub async fn fetch(
        &self,
        id: &str,
        name: Option<&str>,
        timeout: Duration,
        notice: RetryNotice<'_>,
    ) -> Result<Bytes, CliError> {
        let url = match name {
            Some(name) => format!("{}/image/{id}/{name}", self.base),
            None => format!("{}/image/{id}", self.base),
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.as_secs().min(MAX_WAIT_SECS);
            let asked = Instant::now();
            let response = self
                .send(
                    || self.http.get(&url).query(&[("wait", wait.to_string())]),
                    notice,
                )
                .await?;
            match response.status() {
                StatusCode::OK => {
                    return response
                        .bytes()
                        .await
                        .map_err(|source| CliError::Unreachable { url, source });
                }
                StatusCode::ACCEPTED => {
                    if Instant::now() >= deadline {
                        return Err(CliError::Timeout {
                            id: id.to_owned(),
                            seconds: timeout.as_secs(),
                        });
                    }
                    // Answered at once (done but not stored yet, or a replica that does not hold the job's
                    // waiters): pause as the gateway asks before asking again.
                    if asked.elapsed() < Duration::from_secs(1) {
                        tokio::time::sleep(retry_after(&response).min(left)).await;
                    }
                }
                StatusCode::UNPROCESSABLE_ENTITY => return Err(failure_of(response).await),
                _ => return Err(error_of(response).await),
            }
        }
    }

    /// The image thumbor makes of `path` (`unsafe/fit-in/256x256/photo.jpg`) under this client's base URL: the
    /// peer `imagepipe bench --thumbor` measures against.
    ///
    /// # Errors
    /// [`CliError::Api`] with code `thumbor_<status>` for any answer but `200`; [`CliError::Unreachable`].
    pub async fn thumbor(&self, path: &str) -> Result<Bytes, CliError> {
        let url = format!("{}/{path}", self.base);
        let response = self.send(|| self.http.get(&url), &|_, _| {}).await?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(CliError::Api {
                status: status.as_u16(),
                code: format!("thumbor_{}", status.as_u16()),
                message: format!("thumbor answered {status} for {url}"),
            });
        }
        response
            .bytes()
            .await
            .map_err(|source| CliError::Unreachable { url, source })
    }

    /// Job `id`'s status document, as the gateway sent it.
    ///
    /// # Errors
    /// [`CliError::Api`] (`job_not_found`, …) or [`CliError::Unreachable`].
    pub async fn status_json(&self, id: &str) -> Result<serde_json::Value, CliError> {
        let url = format!("{}/image/{id}/status", self.base);
        let response = self.send(|| self.http.get(&url), &|_, _| {}).await?;
        if response.status() != StatusCode::OK {
            return Err(error_of(response).await);
        }
        json_of(response).await
    }

    /// Job `id`'s status.
    ///
    /// # Errors
    /// As [`ApiClient::status_json`], and [`CliError::Unexpected`] for a document of another shape.
    pub async fn status(&self, id: &str) -> Result<JobStatus, CliError> {
        let value = self.status_json(id).await?;
        serde_json::from_value(value).map_err(|error| CliError::Unexpected {
            url: format!("{}/image/{id}/status", self.base),
            detail: error.to_string(),
        })
    }

    /// Deletes the stored job `id`. A job still being processed or stored (`409 job_in_progress`) is asked for
    /// again after the `Retry-After`, up to [`MAX_IN_PROGRESS_RETRIES`] times.
    ///
    /// # Errors
    /// [`CliError::Api`] (`job_not_found`, `job_in_progress`, …) or [`CliError::Unreachable`].
    pub async fn delete(&self, id: &str, notice: RetryNotice<'_>) -> Result<(), CliError> {
        let url = format!("{}/image/{id}", self.base);
        let mut retries = 0;
        loop {
            let response = self.send(|| self.http.delete(&url), notice).await?;
            match response.status() {
                StatusCode::NO_CONTENT => return Ok(()),
                StatusCode::CONFLICT if retries < MAX_IN_PROGRESS_RETRIES => {
                    retries += 1;
                    let delay = retry_after(&response);
                    let reason = error_of(response).await;
                    notice(reason.code(), delay);
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(error_of(response).await),
            }
        }
    }

    /// One page of stored jobs.
    ///
    /// # Errors
    /// [`CliError::Api`] (`invalid_option`, `invalid_cursor`) or [`CliError::Unreachable`].
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, CliError> {
        let url = format!("{}/images", self.base);
        let mut query = vec![("limit", limit.to_string())];
        query.extend(status.map(|status| ("status", status.to_owned())));
        query.extend(cursor.map(|cursor| ("cursor", cursor.to_owned())));
        let response = self
            .send(|| self.http.get(&url).query(&query), &|_, _| {})
            .await?;
        if response.status() != StatusCode::OK {
            return Err(error_of(response).await);
        }
        json_of(response).await
    }

    /// Sends the request `build` makes, again after each `503` (up to [`MAX_RETRIES`] times), waiting what
    /// its `Retry-After` says.
    async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
        notice: RetryNotice<'_>,
    ) -> Result<Response, CliError> {
        let mut retries = 0;
        loop {
            let request = build().build().map_err(|source| CliError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
            let url = request.url().to_string();
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|source| CliError::Unreachable { url, source })?;
            if response.status() != StatusCode::SERVICE_UNAVAILABLE || retries >= self.retries {
                return Ok(response);
            }
            retries += 1;
            let delay = retry_after(&response);
            let reason = match error_of(response).await {
                CliError::Api { code, .. } => code,
                other => other.code().to_owned(),
            };
            notice(&reason, delay);
            tokio::time::sleep(delay).await;
        }
    }
}

/// The `Retry-After` of a response (delay in seconds), within bounds.
fn retry_after(response: &Response) -> Duration {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

/// The API error a refusal carries.
async fn error_of(response: Response) -> CliError {
    let status = response.status();
    let url = response.url().to_string();
    match response.json::<ErrorBody>().await {
        Ok(body) => CliError::Api {
            status: status.as_u16(),
            code: body.code,
            message: body.message,
        },
        Err(_) => CliError::Unexpected {
            url,
            detail: format!("status {status} without an imagepipe error body"),
        },
    }
}

/// The reason of a failed job, from its `422`.
async fn failure_of(response: Response) -> CliError {
    let url = response.url().to_string();
    match response.json::<FailedBody>().await {
        Ok(body) => match body.job.and_then(|job| job.error) {
            Some(error) => CliError::JobFailed {
                code: error.code,
                message: error.message,
            },
            None => CliError::JobFailed {
                code: "job_failed".into(),
                message: body.message,
            },
        },
        Err(error) => CliError::Unexpected {
            url,
            detail: error.to_string(),
        },
    }
}

async fn json_of<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, CliError> {
    let url = response.url().to_string();
    response.json().await.map_err(|error| CliError::Unexpected {
        url,
        detail: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_servers_are_accepted() {
        assert_eq!(
            ApiClient::new("http://127.0.0.1:8080/").unwrap().base(),
            "http://127.0.0.1:8080"
        );
        for bad in ["127.0.0.1:8080", "ftp://host", "not a url", ""] {
            let error = ApiClient::new(bad).unwrap_err();
            assert_eq!(error.code(), "bad_server", "{bad}");
        }
    }

    /// A one-request-per-connection HTTP server answering `answers` in turn; returns its base URL.
    fn fake_gateway(answers: Vec<(&'static str, &'static str)>) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (head, body) in answers {
                let (mut socket, _) = listener.accept().unwrap();
                // Read the whole request (headers, then Content-Length bytes) before answering.
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                loop {
                    let read = socket.read(&mut buffer).unwrap();
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .map_or(0, |value| value.trim().parse::<usize>().unwrap());
                        if request.len() >= end + 4 + length || read == 0 {
                            break;
                        }
                    }
                }
                let answer = format!(
                    "{head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).unwrap();
            }
        });
        base
    }

    #[tokio::test]
    async fn a_503_is_retried_after_its_retry_after() {
        let base = fake_gateway(vec![
            (
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1",
                r#"{"code":"queue_full","message":"the job queue is full; retry later"}"#,
            ),
            (
                "HTTP/1.1 202 Accepted",
                r#"{"id":"job-1","status":"queued"}"#,
            ),
            (
                "HTTP/1.1 413 Payload Too Large",
                r#"{"code":"payload_too_large","message":"too big"}"#,
            ),
        ]);
        let client = ApiClient::new(&base).unwrap();
        let notices = std::sync::Mutex::new(Vec::new());
        let notice = |reason: &str, delay: Duration| {
            notices.lock().unwrap().push((reason.to_owned(), delay));
        };
        let submission = Submission {
            bytes: Bytes::from_static(b"png bytes"),
            filename: "a.png",
            content_type: "image/png",
            query: &[("width".into(), "10".into())],
        };
        let started = Instant::now();
        let id = client.submit(&submission, &notice).await.unwrap();
        assert_eq!(id, "job-1");
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "waited as told"
        );
        assert_eq!(
            *notices.lock().unwrap(),
            [("queue_full".to_owned(), Duration::from_secs(1))]
        );
        // Other refusals are not retried, and carry the gateway's code and message.
        let error = client.submit(&submission, &notice).await.unwrap_err();
        assert_eq!(
            (error.code(), error.message().as_str()),
            ("payload_too_large", "too big")
        );
        assert_eq!(notices.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_api_key_goes_with_every_request() {
        use std::io::{Read as _, Write as _};
        // A server answering three requests with an empty listing, handing their heads to the test.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (heads, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..3 {
                let (mut socket, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
                    let read = socket.read(&mut buffer).unwrap();
                    request.extend_from_slice(&buffer[..read]);
                }
                heads
                    .send(String::from_utf8_lossy(&request).to_ascii_lowercase())
                    .unwrap();
                let body = r#"{"items":[],"next":null}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).unwrap();
            }
        });
        let keyed = ApiClient::with_api_key(&base, Some("ipk_secret")).unwrap();
        keyed.list(None, 5, None).await.unwrap();
        keyed.list(Some("done"), 5, None).await.unwrap();
        ApiClient::new(&base)
            .unwrap()
            .list(None, 5, None)
            .await
            .unwrap();
        let heads: Vec<String> = received.iter().take(3).collect();
        assert!(
            heads[0].contains("\r\nauthorization: bearer ipk_secret\r\n"),
            "{}",
            heads[0]
        );
        assert!(
            heads[1].contains("\r\nauthorization: bearer ipk_secret\r\n"),
            "{}",
            heads[1]
        );
        assert!(
            !heads[2].contains("authorization"),
            "no key, no header: {}",
            heads[2]
        );
        let error = ApiClient::with_api_key(&base, Some("bad\nkey")).unwrap_err();
        assert_eq!(error.code(), "bad_api_key");
    }

    #[tokio::test]
    async fn a_deletion_waits_while_the_job_is_being_stored() {
        let base = fake_gateway(vec![
            (
                "HTTP/1.1 409 Conflict\r\nretry-after: 1",
                r#"{"code":"job_in_progress","message":"still being stored"}"#,
            ),
            ("HTTP/1.1 204 No Content", ""),
            (
                "HTTP/1.1 404 Not Found",
                r#"{"code":"job_not_found","message":"no job with id `j`"}"#,
            ),
        ]);
        let client = ApiClient::new(&base).unwrap();
        let notices = std::sync::Mutex::new(Vec::new());
        let notice = |reason: &str, _: Duration| notices.lock().unwrap().push(reason.to_owned());
        client.delete("j", &notice).await.unwrap();
        assert_eq!(*notices.lock().unwrap(), ["job_in_progress"]);
        let error = client.delete("j", &notice).await.unwrap_err();
        assert_eq!(error.code(), "job_not_found");
    }
}
