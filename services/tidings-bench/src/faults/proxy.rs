//! A TCP fault proxy between the projectors and the CQL store: each connection is
//! forwarded to the upstream with an added latency, and in an outage every connection is
//! cut and new ones are closed as soon as they are accepted.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What the proxy does to traffic right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Added to every chunk, each way.
    pub latency: Duration,
    /// Connections are cut and refused.
    pub outage: bool,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub address: String,
    conditions: watch::Sender<Conditions>,
    accepting: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port, forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (conditions, watching) = watch::channel(Conditions::default());
        let upstream = upstream.to_owned();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if watching.borrow().outage {
                    continue; // dropped: the connection is closed at once
                }
                tokio::spawn(forward(client, upstream.clone(), watching.clone()));
            }
        });
        Ok(Self { address, conditions, accepting })
    }

    pub fn set(&self, conditions: Conditions) {
        self.conditions.send_replace(conditions);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Forwards one connection both ways until either side closes or an outage begins.
async fn forward(client: TcpStream, upstream: String, mut conditions: watch::Receiver<Conditions>) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (upward, downward) = (conditions.clone(), conditions.clone());
    tokio::select! {
        () = pipe(client_read, server_write, upward) => {}
        () = pipe(server_read, client_write, downward) => {}
        _ = conditions.wait_for(|now| now.outage) => {}
    }
}

/// Copies `from` to `to`, each chunk held back by the latency in force when it was read;
/// chunks queue in between, so the latency adds to each chunk without capping throughput.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, conditions: watch::Receiver<Conditions>) {
    let (queue, mut queued) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reading = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(read @ 1..) = from.read(&mut buffer).await {
            let due = Instant::now() + conditions.borrow().latency;
            if queue.send((due, buffer[..read].to_vec())).is_err() {
                break;
            }
        }
    };
    let writing = async move {
        while let Some((due, chunk)) = queued.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reading, writing);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that echoes what it reads.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        address
    }

    async fn round_trip(address: &str) -> std::io::Result<Duration> {
        let mut socket = TcpStream::connect(address).await?;
        let started = Instant::now();
        socket.write_all(b"ping").await?;
        let mut answer = [0u8; 4];
        socket.read_exact(&mut answer).await?;
        assert_eq!(&answer, b"ping");
        Ok(started.elapsed())
    }

    #[tokio::test]
    async fn forwards_with_added_latency_and_cuts_connections_in_an_outage() {
        let proxy = FaultProxy::start(&echo_server().await).await.unwrap();
        assert!(round_trip(&proxy.address).await.unwrap() < Duration::from_millis(100));

        proxy.set(Conditions { latency: Duration::from_millis(150), outage: false });
        assert!(round_trip(&proxy.address).await.unwrap() >= Duration::from_millis(300), "150 ms each way");

        let mut open = TcpStream::connect(&proxy.address).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        proxy.set(Conditions { latency: Duration::ZERO, outage: true });
        let mut byte = [0u8; 1];
        let cut = tokio::time::timeout(Duration::from_secs(2), open.read(&mut byte)).await.unwrap();
        assert!(matches!(cut, Ok(0) | Err(_)), "the open connection is cut");
        assert!(round_trip(&proxy.address).await.is_err(), "new connections are refused");

        proxy.set(Conditions::default());
        assert!(round_trip(&proxy.address).await.is_ok());
    }
}
