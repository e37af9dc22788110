//! A TCP proxy that tests put between a service and its broker or database to simulate an outage: `cut()`
//! drops every open connection and refuses new ones until `restore()`.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream` (`host:port`).
    ///
    /// # Panics
    /// When no loopback port can be bound (a broken test machine).
    pub async fn start(upstream: impl Into<String>) -> Self {
        let upstream = upstream.into();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let open = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0_u64);
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            Arc::clone(&open),
            cuts.clone(),
        ));
        Self {
            addr,
            open,
            cuts,
            accept,
        }
    }

    /// Where clients connect.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its `host:port` replaced by the proxy's (for `amqp://user:pass@host:port/vhost` or
    /// `mongodb://host:port/?options` URLs).
    #[must_use]
    pub fn url_for(&self, url: &str) -> String {
        replace_authority(url, &self.addr.to_string())
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|generation| *generation += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    open: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        if !open.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = upstream.clone();
        let mut cut = cuts.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Replaces the `host:port` of a URL, keeping its scheme, credentials, path and query.
fn replace_authority(url: &str, authority: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host_start = rest[..end].rfind('@').map_or(0, |at| at + 1);
    format!(
        "{}{}{}{}",
        &url[..scheme_end],
        &rest[..host_start],
        authority,
        &rest[end..]
    )
}

/// The `host:port` of a URL (`default_port` when it names none).
#[must_use]
pub fn authority_of(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn rewrites_and_reads_authorities() {
        assert_eq!(
            replace_authority("amqp://guest:guest@127.0.0.1:5672/%2f", "127.0.0.1:9"),
            "amqp://guest:guest@127.0.0.1:9/%2f"
        );
        assert_eq!(
            replace_authority("mongodb://127.0.0.1:27017/?directConnection=true", "h:1"),
            "mongodb://h:1/?directConnection=true"
        );
        assert_eq!(
            authority_of("amqp://guest:guest@rabbit:5673/%2f", 5672),
            "rabbit:5673"
        );
        assert_eq!(
            authority_of("mongodb://mongo/?directConnection=true", 27017),
            "mongo:27017"
        );
    }

    #[tokio::test]
    async fn forwards_until_cut_and_again_after_restore() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        let proxy = CutProxy::start(echo_addr.to_string()).await;
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buffer = [0_u8; 4];
        client.read_exact(&mut buffer).await.unwrap();
        assert_eq!(&buffer, b"ping");

        proxy.cut();
        let mut rest = Vec::new();
        let read = client.read_to_end(&mut rest).await;
        assert!(
            read.is_err() || rest.is_empty(),
            "the open connection is dropped"
        );
        let mut refused = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            refused.read(&mut buffer).await.unwrap_or(0),
            0,
            "new ones are closed at once"
        );

        proxy.restore();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        again.write_all(b"pong").await.unwrap();
        again.read_exact(&mut buffer).await.unwrap();
        assert_eq!(&buffer, b"pong");
    }
}
