//! The RabbitMQ cluster's management API, from the harness's side: it lists the queues of the run's namespace
//! (the durable ones, and the gateways' reply queues, which only the gateways name), whose messages are then
//! counted over AMQP (a passive declaration answers at once, while the management API's figures lag by its
//! statistics interval), waited for, and deleted at the end.

use std::time::Duration;

use imagepipe_common::amqp::{Broker, ready_count};
use serde::Deserialize;

use crate::{
    Error,
    clock::{Clock, human},
};

/// One node's management API: its base URL (without credentials) and the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementApi {
    /// `http://host:port`.
    pub base: String,
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
}

/// Parses `http://user:password@host:port,…` (one URL per node; `guest`/`guest` when a URL has none).
///
/// # Errors
/// A message naming the URL that does not parse.
pub fn management_apis(urls: &str) -> Result<Vec<ManagementApi>, String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|text| {
            let mut url = reqwest::Url::parse(text)
                .map_err(|error| format!("{text}: not a URL ({error})"))?;
            let user = match url.username() {
                "" => "guest".to_owned(),
                user => user.to_owned(),
            };
            let password = url.password().unwrap_or("guest").to_owned();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Ok(ManagementApi {
                base: url.as_str().trim_end_matches('/').to_owned(),
                user,
                password,
            })
        })
        .collect()
}

/// One queue as the management API lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListedQueue {
    /// Its name.
    pub name: String,
    /// Its virtual host.
    pub vhost: String,
}

/// The cluster's management API: the first of its nodes that answers.
#[derive(Debug, Clone)]
pub struct Management {
    apis: Vec<ManagementApi>,
}

impl Management {
    /// The API of every node in `apis`, asked in turn.
    #[must_use]
    pub fn new(apis: Vec<ManagementApi>) -> Self {
        Self { apis }
    }

    /// Every queue whose name starts with `namespace.`, from the first node whose management API answers.
    ///
    /// # Errors
    /// [`Error::Management`] when no node's API answers with a list.
    pub async fn namespace_queues(
        &self,
        http: &reqwest::Client,
        namespace: &str,
    ) -> Result<Vec<ListedQueue>, Error> {
        let mut problems = Vec::new();
        for api in &self.apis {
            let answer = http
                .get(format!("{}/api/queues?columns=name,vhost", api.base))
                .basic_auth(&api.user, Some(&api.password))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            match answer {
                Ok(response) => match response.json::<Vec<ListedQueue>>().await {
                    Ok(queues) => return Ok(in_namespace(queues, namespace)),
                    Err(error) => problems.push(format!("{}: {error}", api.base)),
                },
                Err(error) => problems.push(format!("{}: {error}", api.base)),
            }
        }
        Err(Error::Management(problems.join("; ")))
    }

    /// The messages in every queue of `namespace`: listed by the management API, counted over AMQP.
    ///
    /// # Errors
    /// [`Error::Management`] when the queues cannot be listed, [`Error::Connection`] when they cannot be
    /// counted.
    pub async fn namespace_depths(
        &self,
        http: &reqwest::Client,
        broker: &Broker,
        namespace: &str,
    ) -> Result<Vec<(String, u32)>, Error> {
        let queues = self.namespace_queues(http, namespace).await?;
        count_messages(broker, &queues).await
    }

    /// Waits (up to `timeout`) until no queue of `namespace` holds a ready message: the job events of the last
    /// jobs reach the activity log and the gateways before the services are stopped.
    pub async fn wait_queues_empty(
        &self,
        http: &reqwest::Client,
        broker: &Broker,
        namespace: &str,
        timeout: Duration,
        clock: Clock,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let depths = self.namespace_depths(http, broker, namespace).await;
            if let Ok(depths) = &depths
                && depths.iter().all(|(_, messages)| *messages == 0)
            {
                clock.say(format_args!(
                    "Every queue of {namespace} is empty ({} queues)",
                    depths.len()
                ));
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                clock.say(format_args!(
                    "The queues of {namespace} are still not empty after {}: {depths:?}",
                    human(timeout)
                ));
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Deletes what is left of `namespace`'s queues after the topology's own deletion: the gateways' reply
    /// queues.
    pub async fn delete_namespace_queues(
        &self,
        http: &reqwest::Client,
        broker: &Broker,
        namespace: &str,
        clock: Clock,
    ) {
        let deleted = match self.namespace_queues(http, namespace).await {
            Ok(queues) => delete_queues(broker, &queues).await.map(|()| queues.len()),
            Err(error) => Err(error),
        };
        match deleted {
            Ok(0) => {}
            Ok(count) => clock.say(format_args!("Deleted {count} more queues of {namespace}")),
            Err(error) => clock.say(format_args!(
                "Could not delete the other queues of {namespace}: {error}"
            )),
        }
    }
}

/// The queues of `namespace` (named `namespace.…`), sorted by name.
#[must_use]
pub fn in_namespace(queues: Vec<ListedQueue>, namespace: &str) -> Vec<ListedQueue> {
    let prefix = format!("{namespace}.");
    let mut queues: Vec<ListedQueue> = queues
        .into_iter()
        .filter(|queue| queue.name.starts_with(&prefix))
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    queues
}

/// The messages ready in each of `queues` (with every consumer stopped: every message), by passive
/// declarations.
///
/// # Errors
/// [`Error::Connection`] when the broker cannot be reached or a queue does not exist.
pub async fn count_messages(
    broker: &Broker,
    queues: &[ListedQueue],
) -> Result<Vec<(String, u32)>, Error> {
    let mut counts = Vec::with_capacity(queues.len());
    let mut channel = None;
    for queue in queues {
        let open = match channel.take() {
            Some(open) => open,
            None => broker
                .channel()
                .await
                .map_err(Error::connection("opening a channel"))?,
        };
        let count = ready_count(&open, &queue.name)
            .await
            .map_err(Error::connection("counting a queue's messages"))?;
        counts.push((queue.name.clone(), count));
        channel = Some(open);
    }
    if let Some(open) = channel {
        let _ = open.close(200, "done".into()).await;
    }
    Ok(counts)
}

/// Deletes `queues` (the gateways' reply queues, which the topology's own deletion does not know).
///
/// # Errors
/// [`Error::Connection`] when the broker cannot be reached.
pub async fn delete_queues(broker: &Broker, queues: &[ListedQueue]) -> Result<(), Error> {
    let channel = broker
        .channel()
        .await
        .map_err(Error::connection("opening a channel"))?;
    for queue in queues {
        channel
            .queue_delete(queue.name.as_str().into(), Default::default())
            .await
            .map_err(|error| Error::Connection {
                action: "deleting a queue",
                source: error.into(),
            })?;
    }
    let _ = channel.close(200, "done".into()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_urls_carry_their_credentials() {
        let apis = management_apis("http://admin:secret@127.0.0.1:15701, http://127.0.0.1:15702/,")
            .unwrap();
        assert_eq!(
            apis,
            [
                ManagementApi {
                    base: "http://127.0.0.1:15701".into(),
                    user: "admin".into(),
                    password: "secret".into()
                },
                ManagementApi {
                    base: "http://127.0.0.1:15702".into(),
                    user: "guest".into(),
                    password: "guest".into()
                }
            ]
        );
        assert!(management_apis("not a url").is_err());
    }

    #[test]
    fn only_the_namespace_s_queues_count() {
        let queue = |name: &str| ListedQueue {
            name: name.to_owned(),
            vhost: "/".to_owned(),
        };
        let listed: Vec<ListedQueue> = serde_json::from_str(
            r#"[{"name":"chaos-1.transform","vhost":"/"},{"name":"imagepipe.transform","vhost":"/"},
                {"name":"chaos-1.gateway.gateway-2","vhost":"/"},{"name":"chaos-10.archive","vhost":"/"},
                {"name":"chaos-1.archive","vhost":"/"}]"#,
        )
        .unwrap();
        assert_eq!(
            in_namespace(listed, "chaos-1"),
            [
                queue("chaos-1.archive"),
                queue("chaos-1.gateway.gateway-2"),
                queue("chaos-1.transform")
            ]
        );
    }
}
