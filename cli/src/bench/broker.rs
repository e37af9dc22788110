//! RabbitMQ's management API during a run (`--broker-api`): once every [`PERIOD`], from the start of the load to
//! the end of the drain, the depth of the namespace's queues (`GET /api/queues/<vhost>`, the queues named
//! `<namespace>.…`) and the state of the nodes (`GET /api/nodes`: memory, disk, alarms). The API refreshes its
//! figures every 5 s by default, so the series moves in steps. Sampling never fails a run: a sample that cannot
//! be taken records why, and [`super::broker_report`] says what they add up to.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::{sync::oneshot, task::JoinHandle, time::MissedTickBehavior};

use super::broker_report::BrokerReport;

/// How often the broker is sampled.
pub const PERIOD: Duration = Duration::from_secs(1);
/// How long one request to the API may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The queues' fields asked for.
const QUEUE_COLUMNS: &str =
    "name,messages,messages_ready,messages_unacknowledged,message_bytes,arguments";
/// The nodes' fields asked for.
const NODE_COLUMNS: &str =
    "name,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,disk_free_alarm";

/// What was sampled: the API (without its credentials), the vhost and the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The API's base URL, without user or password.
    pub api: String,
    /// The virtual host whose queues were read.
    pub vhost: String,
    /// The namespace whose queues were kept.
    pub namespace: String,
}

/// One sample: the queues and nodes at `at_secs`, or why they could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BrokerSample {
    /// Seconds from the start of the load.
    pub at_secs: f64,
    /// The namespace's queues, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueDepth>,
    /// Every node of the cluster.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeState>,
    /// Why this sample could not be taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A queue as the API shows it (a field it has no figure for yet is missing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// Its name.
    pub name: String,
    /// Messages in it, ready or delivered and not acknowledged.
    pub messages: Option<u64>,
    /// Messages ready for delivery.
    pub messages_ready: Option<u64>,
    /// Messages delivered and not yet acknowledged.
    pub messages_unacknowledged: Option<u64>,
    /// The bodies' bytes.
    pub message_bytes: Option<u64>,
    /// Its arguments (`x-max-length`, …), read for its bounds; not repeated in every sample of the JSON.
    #[serde(default, skip_serializing)]
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

impl QueueDepth {
    /// The queue's bound `argument` (`x-max-length`, `x-max-length-bytes`), if it has one.
    #[must_use]
    pub fn bound(&self, argument: &str) -> Option<u64> {
        self.arguments
            .get(argument)
            .and_then(serde_json::Value::as_u64)
    }
}

/// A node as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    /// Its name (`rabbit@host`).
    pub name: String,
    /// Memory used, bytes.
    pub mem_used: Option<u64>,
    /// The memory high watermark, bytes.
    pub mem_limit: Option<u64>,
    /// Whether the memory alarm is raised (publishers blocked).
    pub mem_alarm: Option<bool>,
    /// Free disk space, bytes.
    pub disk_free: Option<u64>,
    /// The free disk space below which the disk alarm is raised, bytes.
    pub disk_free_limit: Option<u64>,
    /// Whether the disk alarm is raised.
    pub disk_free_alarm: Option<bool>,
}

/// The management API of one broker, for one vhost and namespace.
#[derive(Debug, Clone)]
pub struct BrokerApi {
    http: reqwest::Client,
    queues: Url,
    nodes: Url,
    prefix: String,
    source: Source,
}

impl BrokerApi {
    /// The API at `base` (`http://user:password@host:15672`, credentials as basic authentication), reading the
    /// queues of `vhost` named `<namespace>.…`.
    ///
    /// # Errors
    /// Why `base` cannot be used, in words.
    pub fn new(base: &str, vhost: &str, namespace: &str) -> Result<Self, String> {
        let url = Url::parse(base.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                "the management API's URL is not http(s)://[user:password@]host:port".to_owned()
            })?;
        let endpoint = |segments: &[&str], columns: &str| {
            let mut endpoint = url.clone();
            endpoint
                .path_segments_mut()
                .map_err(|()| "the management API's URL cannot have a path".to_owned())?
                .pop_if_empty()
                .extend(segments);
            endpoint.set_query(Some(&format!("columns={columns}")));
            Ok::<_, String>(endpoint)
        };
        let queues = endpoint(&["api", "queues", vhost], QUEUE_COLUMNS)?;
        let nodes = endpoint(&["api", "nodes"], NODE_COLUMNS)?;
        let mut shown = url.clone();
        // Neither fails on an http(s) URL with a host.
        let _ = (shown.set_username(""), shown.set_password(None));
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| explain(&error))?;
        Ok(Self {
            http,
            queues,
            nodes,
            prefix: format!("{namespace}."),
            source: Source {
                api: shown.to_string(),
                vhost: vhost.to_owned(),
                namespace: namespace.to_owned(),
            },
        })
    }

    /// What it samples.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The namespace's queues (by name) and the nodes, now.
    ///
    /// # Errors
    /// Why the API did not answer them, in words.
    pub async fn sample(&self) -> Result<(Vec<QueueDepth>, Vec<NodeState>), String> {
        let (queues, nodes) = tokio::join!(
            self.get::<Vec<QueueDepth>>(&self.queues),
            self.get::<Vec<NodeState>>(&self.nodes)
        );
        let mut queues = queues?;
        queues.retain(|queue| queue.name.starts_with(&self.prefix));
        queues.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((queues, nodes?))
    }

    async fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<T, String> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|error| explain(&error))?;
        match response.status() {
            StatusCode::OK => response.json().await.map_err(|error| {
                format!(
                    "{} is not the management API's JSON: {}",
                    url.path(),
                    explain(&error)
                )
            }),
            StatusCode::UNAUTHORIZED => {
                Err("401 Unauthorized: check the user and password in the URL".to_owned())
            }
            status => Err(format!("{status} for {}", url.path())),
        }
    }
}

/// A reqwest error in a few words: a timeout, or the innermost cause (`Connection refused (os error 111)`).
fn explain(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", REQUEST_TIMEOUT.as_secs());
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if error.is_connect() {
        format!("cannot connect: {cause}")
    } else {
        cause.to_string()
    }
}

/// Sampling under way, or the reason it could not start.
#[derive(Debug)]
pub enum Sampling {
    /// Samples are being taken.
    Running {
        /// What is sampled.
        source: Source,
        /// Tells the sampler to stop.
        stop: oneshot::Sender<()>,
        /// The sampler, which returns its samples.
        task: JoinHandle<Vec<BrokerSample>>,
    },
    /// The API cannot be asked (a malformed URL).
    Unusable {
        /// What was to be sampled.
        source: Source,
        /// Why not.
        why: String,
    },
}

impl Sampling {
    /// Starts sampling the API at `base` every [`PERIOD`] (the first sample at once), times counted from now.
    #[must_use]
    pub fn start(base: &str, vhost: &str, namespace: &str) -> Self {
        let api = match BrokerApi::new(base, vhost, namespace) {
            Ok(api) => api,
            Err(why) => {
                let source = Source {
                    api: "(unusable URL)".to_owned(),
                    vhost: vhost.to_owned(),
                    namespace: namespace.to_owned(),
                };
                return Self::Unusable { source, why };
            }
        };
        let (stop, mut stopped) = oneshot::channel();
        let source = api.source().clone();
        let origin = Instant::now();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticks = tokio::time::interval(PERIOD);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticks.tick() => {}
                }
                let at_secs = origin.elapsed().as_secs_f64();
                samples.push(match api.sample().await {
                    Ok((queues, nodes)) => BrokerSample {
                        at_secs,
                        queues,
                        nodes,
                        error: None,
                    },
                    Err(why) => BrokerSample {
                        at_secs,
                        error: Some(why),
                        ..BrokerSample::default()
                    },
                });
            }
            samples
        });
        Self::Running { source, stop, task }
    }

    /// Stops sampling and reports what the samples show.
    pub async fn finish(self) -> BrokerReport {
        match self {
            Self::Running { source, stop, task } => {
                let _ = stop.send(());
                BrokerReport::of(source, task.await.unwrap_or_default())
            }
            Self::Unusable { source, why } => BrokerReport::unavailable(source, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_encode_the_vhost_and_hide_the_password() {
        let api = BrokerApi::new("http://guest:s3cret@127.0.0.1:15672", "/", "t-1").unwrap();
        assert_eq!(
            api.queues.as_str(),
            format!("http://guest:s3cret@127.0.0.1:15672/api/queues/%2F?columns={QUEUE_COLUMNS}")
        );
        assert_eq!(
            api.nodes.as_str(),
            format!("http://guest:s3cret@127.0.0.1:15672/api/nodes?columns={NODE_COLUMNS}")
        );
        assert_eq!(api.source().api, "http://127.0.0.1:15672/");
        assert!(!format!("{:?}", api.source()).contains("s3cret"));
        // Behind a path prefix, on a named vhost.
        let api = BrokerApi::new("https://rabbit.example/mgmt/", "prod", "imagepipe").unwrap();
        assert!(
            api.queues
                .as_str()
                .starts_with("https://rabbit.example/mgmt/api/queues/prod?"),
            "{}",
            api.queues
        );
        for bad in ["", "127.0.0.1:15672", "amqp://guest@host:5672", "not a url"] {
            assert!(BrokerApi::new(bad, "/", "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_apis_answers_parse_and_missing_figures_are_none() {
        let queues: Vec<QueueDepth> = serde_json::from_str(
            r#"[{"name":"imagepipe.transform","messages":12,"messages_ready":10,"messages_unacknowledged":2,
                 "message_bytes":3456,"arguments":{"x-max-length":1000,"x-queue-type":"quorum"}},
                {"name":"imagepipe.archive","arguments":{}}]"#,
        )
        .unwrap();
        assert_eq!(queues[0].bound("x-max-length"), Some(1000));
        assert_eq!(queues[0].bound("x-max-length-bytes"), None);
        assert_eq!((queues[1].messages, queues[1].message_bytes), (None, None));
        let nodes: Vec<NodeState> =
            serde_json::from_str(r#"[{"name":"rabbit@localhost"}]"#).unwrap();
        assert_eq!(nodes[0].mem_alarm, None);
        let json = serde_json::to_value(&queues[0]).unwrap();
        assert!(json.get("arguments").is_none(), "{json}");
    }

    #[tokio::test]
    async fn an_api_that_does_not_answer_is_reported_not_fatal() {
        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sampling = Sampling::start(&format!("http://guest:guest@127.0.0.1:{port}"), "/", "x");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let report = sampling.finish().await;
        let why = report.unavailable.clone().unwrap_or_default();
        assert!(why.contains("cannot connect"), "{report:?}");
        assert!(
            report.render().contains("unavailable: cannot connect"),
            "{}",
            report.render()
        );

        let report = Sampling::start("nonsense", "/", "x").finish().await;
        assert!(
            report
                .unavailable
                .is_some_and(|why| why.contains("not http"))
        );
    }
}
