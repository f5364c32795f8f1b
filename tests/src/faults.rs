//! Network faults on loopback, for tests of what clients do when the wire misbehaves.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy that can lose responses. It forwards a request whose bytes contain `marker`,
/// lets the server act on it, then closes the client's connection instead of passing the
/// answer back: what a client sees when a timeout or reset follows a write that landed.
///
/// It also records each AWS request's operation (its `X-Amz-Target`), so a test can count
/// what actually went over the wire.
pub struct LossyProxy {
    addr: SocketAddr,
    armed: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    operations: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyProxy {
    pub async fn start(upstream: SocketAddr, marker: &'static [u8]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let armed = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let operations = Arc::new(Mutex::new(Vec::new()));
        let (a, d, o) = (armed.clone(), dropped.clone(), operations.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let relay = Relay {
                    upstream,
                    marker,
                    armed: a.clone(),
                    dropped: d.clone(),
                    operations: o.clone(),
                };
                tokio::spawn(relay.run(client));
            }
        });
        Self {
            addr,
            armed,
            dropped,
            operations,
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Loses the responses to the next `n` requests that carry the marker.
    pub fn drop_next(&self, n: usize) {
        self.armed.store(n, Ordering::SeqCst);
    }

    /// How many responses were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// The AWS operations requested so far, in order, such as `DynamoDB_20120810.PutItem`.
    pub fn operations(&self) -> Vec<String> {
        self.operations
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Relay {
    upstream: SocketAddr,
    marker: &'static [u8],
    armed: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    operations: Arc<Mutex<Vec<String>>>,
}

/// The value of the `X-Amz-Target` header in a request head, if the chunk holds one.
fn amz_target(chunk: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(chunk);
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("x-amz-target")
            .then(|| value.trim().to_owned())
    })
}

impl Relay {
    async fn run(self, client: TcpStream) {
        let Ok(server) = TcpStream::connect(self.upstream).await else {
            return;
        };
        let (mut client_rx, mut client_tx) = client.into_split();
        let (mut server_rx, mut server_tx) = server.into_split();
        let lose_this = Arc::new(AtomicBool::new(false));
        let flag = lose_this.clone();
        let (marker, armed, operations) = (self.marker, self.armed, self.operations);
        let upward = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match client_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                if let (Some(op), Ok(mut ops)) = (amz_target(chunk), operations.lock()) {
                    ops.push(op);
                }
                let hit = chunk.windows(marker.len()).any(|w| w == marker);
                if hit
                    && armed
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| a.checked_sub(1))
                        .is_ok()
                {
                    flag.store(true, Ordering::SeqCst);
                }
                if server_tx.write_all(chunk).await.is_err() {
                    return;
                }
            }
        });
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if lose_this.load(Ordering::SeqCst) {
                // The server has answered, so the write happened; the client never hears of it.
                self.dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            if client_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        upward.abort();
    }
}
