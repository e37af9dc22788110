//! The cluster run's load balancer: HAProxy in front of the gateways, as an operator would put it there. The
//! harness writes its configuration into the run's log folder and runs `haproxy -db -f` on it:
//!
//! - a frontend on a free 127.0.0.1 port, round robin over the gateways, each checked with `GET /readyz` every
//!   second (down after 2 failures, up after 2 successes), so a killed gateway leaves the rotation within about
//!   2 s and a restarted one comes back once it is ready;
//! - `retries 3` with `option redispatch 1` and `retry-on conn-failure empty-response`: a connection a gateway
//!   refuses (the request was not sent) is retried on the other one. HAProxy 2.6's documentation says only
//!   `conn-failure` (and `none`) is safe without replay protection; `empty-response` (the gateway closed after
//!   part of the request and said nothing) replays the request, which for `POST /image` may queue a job the
//!   client never hears of (the report counts those as unacknowledged extras, stored once like any job). HAProxy
//!   only replays requests that fit its buffer (16 kB), so most uploads are never replayed;
//! - when it cannot retry (the upload was bigger than its buffer) or no gateway is up, HAProxy's own `502`,
//!   `503` and `504` are answered as `503` with `Retry-After: 1` and the [`BALANCER_ERROR_HEADER`]
//!   (`gateway-lost`, `no-gateway`), so the client knows it may try again and the report can tell them from
//!   the gateways' own `503`s;
//! - long client and server timeouts (10 min) for `GET /image/{id}?wait=` and the live status stream;
//! - a stats page on another free port, whose CSV says when a restarted gateway is back in the rotation.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{Error, clock::human, process::Process, submit::BALANCER_ERROR_HEADER};

/// The backend's name in the configuration and in the stats.
const BACKEND: &str = "gateways";
/// How long the balancer gets to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The HAProxy process of a run and where it listens.
#[derive(Debug)]
pub struct Balancer {
    /// The process.
    pub process: Process,
    /// Where clients connect.
    pub frontend: SocketAddr,
    /// Where its stats page listens.
    pub stats: SocketAddr,
    /// Its configuration file.
    pub config_file: PathBuf,
    /// The gateways behind it: `(server name, address)`.
    pub gateways: Vec<(String, SocketAddr)>,
}

impl Balancer {
    /// A balancer running `haproxy` with its configuration, error files and log in `out`. Not started, and
    /// nothing written yet.
    #[must_use]
    pub fn new(
        haproxy: &Path,
        out: &Path,
        frontend: SocketAddr,
        stats: SocketAddr,
        gateways: Vec<(String, SocketAddr)>,
    ) -> Self {
        let config_file = out.join("haproxy.cfg");
        let process = Process::new("haproxy", haproxy, out.join("haproxy.log"))
            .arg("-db")
            .arg("-f")
            .arg(config_file.display().to_string());
        Self {
            process,
            frontend,
            stats,
            config_file,
            gateways,
        }
    }

    /// `http://host:port` of the frontend.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.frontend)
    }

    /// Writes the configuration and its error files, starts HAProxy and waits until the frontend listens.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written; [`Error::NotRunning`] when HAProxy exits or does not listen
    /// in time; the errors of [`Process::start`].
    pub async fn start(&mut self) -> Result<u32, Error> {
        let dir = self
            .config_file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        for (status, reason) in [
            (502, "gateway-lost"),
            (503, "no-gateway"),
            (504, "gateway-lost"),
        ] {
            let path = dir.join(format!("haproxy-{status}.http"));
            std::fs::write(&path, error_response(reason))
                .map_err(Error::io("cannot write", &path))?;
        }
        let text = config(self.frontend, self.stats, &self.gateways, &dir);
        std::fs::write(&self.config_file, text)
            .map_err(Error::io("cannot write", &self.config_file))?;
        let pid = self.process.start()?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.process.exit_status() {
                return Err(self.process.not_running(format!("exited with {status}")));
            }
            if tokio::net::TcpStream::connect(self.frontend).await.is_ok() {
                return Ok(pid);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.process.not_running(format!(
                    "did not listen on {} within {}",
                    self.frontend,
                    human(START_TIMEOUT)
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The state HAProxy's checks give each gateway (`UP`, `DOWN`, `UP 1/2`, …), from its stats page.
    ///
    /// # Errors
    /// [`Error::Http`] when the stats page does not answer.
    pub async fn server_states(
        &self,
        http: &reqwest::Client,
    ) -> Result<Vec<(String, String)>, Error> {
        let csv = http
            .get(format!("http://{}/stats;csv", self.stats))
            .timeout(Duration::from_secs(5))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(server_states(&csv, BACKEND))
    }

    /// Waits until HAProxy routes to the gateway `server` again (its state is `UP`).
    ///
    /// # Errors
    /// [`Error::NotRunning`] when it is not up within `timeout`.
    pub async fn wait_up(
        &mut self,
        http: &reqwest::Client,
        server: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let states = self.server_states(http).await.unwrap_or_default();
            if states
                .iter()
                .any(|(name, state)| name == server && state == "UP")
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.process.not_running(format!(
                    "did not route to {server} again within {} (its states: {states:?})",
                    human(timeout)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The HAProxy configuration: a frontend on `frontend`, the `gateways`, a stats page on `stats`, the error
/// files in `error_dir`.
#[must_use]
pub fn config(
    frontend: SocketAddr,
    stats: SocketAddr,
    gateways: &[(String, SocketAddr)],
    error_dir: &Path,
) -> String {
    let error_file = |status: u16| {
        format!(
            "    errorfile {status} {}\n",
            error_dir.join(format!("haproxy-{status}.http")).display()
        )
    };
    let mut text = format!(
        "# Written by imagepipe-chaos for one cluster run.
global
    log stdout format raw local0 info
    maxconn 512

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 10m
    timeout server 10m
    timeout http-request 30s
    timeout http-keep-alive 10s
    timeout queue 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
{}{}{}
frontend api
    bind {frontend}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
",
        error_file(502),
        error_file(503),
        error_file(504)
    );
    for (name, addr) in gateways {
        text.push_str(&format!("    server {name} {addr} check\n"));
    }
    text.push_str(&format!(
        "
listen stats
    bind {stats}
    stats enable
    stats uri /stats
"
    ));
    text
}

/// The raw answer HAProxy sends for its own errors: `503` with `Retry-After: 1`, the
/// [`BALANCER_ERROR_HEADER`] set to `reason`, and a JSON body in the gateway's error shape.
#[must_use]
pub fn error_response(reason: &str) -> String {
    let body = format!(
        "{{\"code\":\"{}\",\"message\":\"the load balancer could not get an answer from a gateway; retry after `Retry-After` seconds\"}}\n",
        reason.replace('-', "_")
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\n\
         Content-Type: application/json\r\nRetry-After: 1\r\n{BALANCER_ERROR_HEADER}: {reason}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `(server, status)` of every server of `backend` in HAProxy's stats CSV (its first line names the columns,
/// after `# `).
#[must_use]
pub fn server_states(csv: &str, backend: &str) -> Vec<(String, String)> {
    let mut lines = csv.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| columns.iter().position(|column| *column == name);
    let (Some(proxy), Some(server), Some(status)) =
        (column("pxname"), column("svname"), column("status"))
    else {
        return Vec::new();
    };
    lines
        .map(|line| line.split(',').collect::<Vec<&str>>())
        .filter(|fields| {
            fields.get(proxy) == Some(&backend)
                && !matches!(fields.get(server), Some(&"BACKEND" | &"FRONTEND") | None)
        })
        .filter_map(|fields| {
            Some((
                (*fields.get(server)?).to_owned(),
                (*fields.get(status)?).to_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_checks_retries_and_answers_its_own_errors() {
        let gateways = vec![
            ("gateway-1".to_owned(), "127.0.0.1:8001".parse().unwrap()),
            ("gateway-2".to_owned(), "127.0.0.1:8002".parse().unwrap()),
        ];
        let text = config(
            "127.0.0.1:9000".parse().unwrap(),
            "127.0.0.1:9001".parse().unwrap(),
            &gateways,
            Path::new("/run/x"),
        );
        for line in [
            "    bind 127.0.0.1:9000\n",
            "    option httpchk GET /readyz\n",
            "    default-server inter 1s fall 2 rise 2\n",
            "    retry-on conn-failure empty-response\n",
            "    retries 3\n",
            "    option redispatch 1\n",
            "    errorfile 502 /run/x/haproxy-502.http\n",
            "    errorfile 503 /run/x/haproxy-503.http\n",
            "    server gateway-1 127.0.0.1:8001 check\n",
            "    server gateway-2 127.0.0.1:8002 check\n",
            "    bind 127.0.0.1:9001\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }

    #[test]
    fn its_own_errors_are_503s_with_retry_after_and_say_so() {
        let answer = error_response("gateway-lost");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("\r\nRetry-After: 1\r\n"));
        assert!(head.contains("\r\nx-balancer-error: gateway-lost\r\n"));
        assert!(head.ends_with(&format!("Content-Length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["code"], "gateway_lost");
    }

    #[test]
    fn stats_give_each_gateway_s_state() {
        let csv = "# pxname,svname,qcur,status,weight\n\
                   api,FRONTEND,,OPEN,\n\
                   gateways,gateway-1,0,UP,1\n\
                   gateways,gateway-2,0,DOWN 1/2,1\n\
                   gateways,BACKEND,0,UP,1\n\
                   stats,FRONTEND,,OPEN,\n";
        assert_eq!(
            server_states(csv, "gateways"),
            [
                ("gateway-1".to_owned(), "UP".to_owned()),
                ("gateway-2".to_owned(), "DOWN 1/2".to_owned())
            ]
        );
        assert!(server_states("", "gateways").is_empty());
        assert!(server_states("# a,b\n1,2\n", "gateways").is_empty());
    }
}
