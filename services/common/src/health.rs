//! `/healthz` (the process is alive), `/readyz` (its broker and database answer; its load, where it sheds load)
//! and `/metrics` (Prometheus), for every service.

use std::{
    convert::Infallible, fmt::Display, future::Future, net::SocketAddr, sync::Arc, time::Duration,
};

use futures_util::{FutureExt as _, future::BoxFuture};
use serde::Serialize;
use warp::{Filter, http::StatusCode};

use crate::{Error, amqp::Broker, amqp::ConsumerState};

/// How long one readiness probe may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the database whether it answers: `Ok`, or why not.
type Ping = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;
/// Says whether the service is overloaded, and its load as shown in the report.
type LoadProbe = Arc<dyn Fn() -> (bool, serde_json::Value) + Send + Sync>;

/// What `/readyz` checks: the broker, the database, and its consumers' attachment, each where the service has
/// one.
#[derive(Clone, Default)]
pub struct Readiness {
    broker: Option<Broker>,
    database: Option<Ping>,
    consumers: Vec<Arc<ConsumerState>>,
    load: Option<LoadProbe>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness").finish_non_exhaustive()
    }
}

/// The body of `/readyz`.
#[derive(Debug, Serialize, PartialEq)]
pub struct ReadyReport {
    /// `ready`, `overloaded` (every check passed, but the service refuses new work for now: still `200`, as
    /// taking it out of a load balancer would turn its `503`s with `Retry-After` into connection errors while
    /// its peers share the same backlog), or `unavailable` (`503`).
    pub status: &'static str,
    /// `ok` or why the broker check failed; absent when the service has no broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// `ok` or why the database check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// `ok` or `not consuming`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The service's load, where it sheds load (the gateway: jobs waiting and the limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<serde_json::Value>,
}

impl ReadyReport {
    /// Whether every check passed (the service may still be overloaded: see [`ReadyReport::status`]).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.status != "unavailable"
    }
}

impl Readiness {
    /// Checks the broker too.
    #[must_use]
    pub fn with_broker(mut self, broker: Broker) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Checks the database too: `ping(database)` says whether it answers (the service knows its database; this
    /// crate does not).
    #[must_use]
    pub fn with_database<D, F, Fut, E>(mut self, database: D, ping: F) -> Self
    where
        D: Clone + Send + Sync + 'static,
        F: Fn(D) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        self.database = Some(Arc::new(move || {
            ping(database.clone())
                .map(|answer| answer.map_err(|error| error.to_string()))
                .boxed()
        }));
        self
    }

    /// Checks that this consumer is attached too (call once per consumer the service runs: all must be).
    #[must_use]
    pub fn with_consumer(mut self, consumer: Arc<ConsumerState>) -> Self {
        self.consumers.push(consumer);
        self
    }

    /// Reports the service's load too: `probe` says whether it is overloaded and what to show.
    #[must_use]
    pub fn with_load(
        mut self,
        probe: impl Fn() -> (bool, serde_json::Value) + Send + Sync + 'static,
    ) -> Self {
        self.load = Some(Arc::new(probe));
        self
    }

    /// Runs every check, concurrently, each under a short timeout.
    pub async fn check(&self) -> ReadyReport {
        let broker = async {
            match &self.broker {
                Some(broker) => Some(outcome(
                    tokio::time::timeout(
                        CHECK_TIMEOUT,
                        broker
                            .check()
                            .map(|answer| answer.map_err(|error| error.to_string())),
                    )
                    .await,
                )),
                None => None,
            }
        };
        let database = async {
            match &self.database {
                Some(ping) => Some(outcome(tokio::time::timeout(CHECK_TIMEOUT, ping()).await)),
                None => None,
            }
        };
        let (broker, database) = tokio::join!(broker, database);
        let consumer = (!self.consumers.is_empty()).then(|| {
            if self.consumers.iter().all(|state| state.is_consuming()) {
                "ok"
            } else {
                "not consuming"
            }
            .to_owned()
        });
        let ready = [&broker, &database, &consumer]
            .iter()
            .all(|check| check.as_deref().is_none_or(|value| value == "ok"));
        let (overloaded, load) = match &self.load {
            Some(probe) => {
                let (overloaded, load) = probe();
                (overloaded, Some(load))
            }
            None => (false, None),
        };
        ReadyReport {
            status: match (ready, overloaded) {
                (false, _) => "unavailable",
                (true, true) => "overloaded",
                (true, false) => "ready",
            },
            broker,
            database,
            consumer,
            load,
        }
    }
}

fn outcome(result: Result<Result<(), String>, tokio::time::error::Elapsed>) -> String {
    match result {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(error)) => error,
        Err(_) => format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
    }
}

/// `GET /healthz`, `GET /readyz` and `GET /metrics`.
pub fn routes(
    readiness: Readiness,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(warp::any().map(move || readiness.clone()))
        .and_then(|readiness: Readiness| async move {
            let report = readiness.check().await;
            let status = if report.is_ready() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Ok::<_, Infallible>(warp::reply::with_status(warp::reply::json(&report), status))
        });
    healthz.or(readyz).or(crate::metrics::route())
}

/// Serves the health routes on `listener` until `shutdown` completes (workers' small HTTP port).
pub async fn serve(
    listener: tokio::net::TcpListener,
    readiness: Readiness,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(readiness))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Binds `addr` for [`serve`], reporting a clear error when the port is taken.
///
/// # Errors
/// [`Error::Config`] when the address cannot be bound.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| Error::Config(format!("cannot listen on {addr}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn healthz_is_always_ok() {
        let response = warp::test::request()
            .path("/healthz")
            .reply(&routes(Readiness::default()))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), br#"{"status":"ok"}"#);
    }

    #[tokio::test]
    async fn metrics_are_served_beside_the_probes() {
        let response = warp::test::request()
            .path("/metrics")
            .reply(&routes(Readiness::default()))
            .await;
        assert_eq!(response.status(), 200);
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(body.ends_with("# EOF\n"), "{body}");
    }

    #[tokio::test]
    async fn readyz_reports_a_detached_consumer() {
        let readiness = Readiness::default().with_consumer(Arc::new(ConsumerState::default()));
        let response = warp::test::request()
            .path("/readyz")
            .reply(&routes(readiness))
            .await;
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["consumer"], "not consuming");
    }

    #[tokio::test]
    async fn readyz_says_why_the_database_is_not_ready() {
        let down = Readiness::default()
            .with_database((), |()| async { Err::<(), _>("connection refused") });
        let response = warp::test::request()
            .path("/readyz")
            .reply(&routes(down))
            .await;
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["database"], "connection refused");
        let up = Readiness::default().with_database((), |()| async { Ok::<(), String>(()) });
        let report = up.check().await;
        assert!(report.is_ready(), "{report:?}");
        assert_eq!(report.database.as_deref(), Some("ok"));
    }

    #[tokio::test]
    async fn readyz_needs_every_consumer_attached() {
        let attached = Arc::new(ConsumerState::attached());
        let both = Readiness::default().with_consumer(Arc::clone(&attached));
        let one_detached = both
            .clone()
            .with_consumer(Arc::new(ConsumerState::default()));
        let both = both.with_consumer(Arc::new(ConsumerState::attached()));
        let ready = both.check().await;
        assert!(ready.is_ready(), "{ready:?}");
        assert_eq!(ready.consumer.as_deref(), Some("ok"));
        let unready = one_detached.check().await;
        assert!(!unready.is_ready());
        assert_eq!(unready.consumer.as_deref(), Some("not consuming"));
    }

    #[tokio::test]
    async fn an_overloaded_service_says_so_and_stays_in_rotation() {
        let overloaded = Readiness::default()
            .with_load(|| (true, serde_json::json!({ "status": "overloaded" })));
        let response = warp::test::request()
            .path("/readyz")
            .reply(&routes(overloaded))
            .await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["status"], "overloaded");
        assert_eq!(body["load"]["status"], "overloaded");
        let down = Readiness::default()
            .with_consumer(Arc::new(ConsumerState::default()))
            .with_load(|| (true, serde_json::json!({})));
        assert_eq!(down.check().await.status, "unavailable");
        let calm = Readiness::default().with_load(|| (false, serde_json::json!({})));
        assert_eq!(calm.check().await.status, "ready");
    }
}
