//! Serving a router with the limits a public edge needs: a connection that has not sent a
//! whole request head within `header_read_timeout_ms` (a silent one, a slow one sending
//! half a request line, or an idle keep-alive one) is closed, and a listener holds at most
//! `max_connections` HTTP connections at once (beyond, new ones wait in the kernel's
//! backlog), so a crowd of idle sockets can't exhaust the process's file descriptors. A
//! WebSocket stops counting once upgraded: the gateway's own limits (login deadline,
//! heartbeats) take over.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// `[listeners]`: the limits of every HTTP listener (the API and the admin one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerSettings {
    /// How long a connection may take to send a request's head, counted from when it
    /// opened or its previous answer went out (so it is the keep-alive idle timeout too).
    #[serde(rename = "header_read_timeout_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub header_read_timeout: Duration,
    /// HTTP connections one listener holds at once.
    pub max_connections: usize,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(10), max_connections: 4096 }
    }
}

impl ListenerSettings {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.header_read_timeout.is_zero() {
            return Err(FieldError::new("header_read_timeout_ms", "must be positive"));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(FieldError::new("max_connections", "must be from 1 to 1,000,000"));
        }
        Ok(())
    }
}

/// Serves `router` on `listener` until `shutdown`, then lets the open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    settings: &ListenerSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    // HTTP/1 only, as the API is: a protocol-sniffing server would wait for a silent
    // connection's first bytes before any timeout started.
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop.cancelled() => {
                    // Finish the request in flight, then close; an idle connection closes now.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                debug!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // Every connection's slot back: they have all finished.
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(300);

    async fn serving(max_connections: usize) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let settings = ListenerSettings { header_read_timeout: TIMEOUT, max_connections };
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        tokio::spawn(async move { serve(listener, router, &settings, shutdown).await });
        (address, stop)
    }

    /// Reads until the server closes the connection; what it sent.
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        tokio::time::timeout(TIMEOUT * 10, stream.read_to_end(&mut answer))
            .await
            .expect("the server closed the connection in time")
            .expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn silent_slow_and_idle_connections_are_closed() {
        let (address, stop) = serving(16).await;
        let mut silent = TcpStream::connect(address).await.expect("connect");
        let mut half = TcpStream::connect(address).await.expect("connect");
        half.write_all(b"GET / HT").await.expect("write");
        let mut idle = TcpStream::connect(address).await.expect("connect");
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        for stream in [&mut silent, &mut half] {
            assert!(!until_closed(stream).await.contains("hello"), "closed without an answer");
        }
        let answered = until_closed(&mut idle).await;
        assert!(answered.starts_with("HTTP/1.1 200") && answered.contains("hello"), "answered, then closed when idle");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_listener_holds_at_most_max_connections() {
        let (address, stop) = serving(1).await;
        let _holder = TcpStream::connect(address).await.expect("connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut waiting = TcpStream::connect(address).await.expect("the kernel's backlog takes it");
        waiting.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
        let mut early = [0u8; 1];
        let before = tokio::time::timeout(TIMEOUT / 2, waiting.read(&mut early)).await;
        assert!(before.is_err(), "not served while the one slot is taken");
        // The holder's slot frees when its header-read timeout closes it.
        assert!(until_closed(&mut waiting).await.contains("hello"));
        stop.cancel();
    }
}
