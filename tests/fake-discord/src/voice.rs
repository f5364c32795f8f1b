//! Discord's voice server, as songbird speaks to it: a TLS WebSocket for signalling and a UDP
//! socket for the encrypted RTP, both on loopback. It hears what a voice connection plays:
//! every RTP packet is mapped to its guild by SSRC, decrypted with that session's key and
//! mode, and decoded from Opus, so tests can check what a listener in the channel would hear.
//!
//! The gateway speaks the version the client asks for (`?v=`): songbird 0.6.1 asks for v4,
//! whose server messages carry no `seq` (its parser drops any message with extra fields)
//! and whose heartbeats are a bare nonce; v8 clients get `seq` and `{t}` acks. DAVE (the
//! end-to-end layer real Discord negotiates) is always declined: Session Description says
//! `dave_protocol_version: 0`, so the RTP payload is plain Opus under the transport cipher.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_websockets::{CloseCode, Message, ServerBuilder, WebSocketStream};

use super::tls;
use crate::audio::{
    decrypt_rtp, dominant_frequency, rms, wav_from_pcm, OpusDecoder, VoiceCipher, SAMPLE_RATE,
    SILENT_FRAME,
};

/// Short enough that a test lasting a few seconds sees heartbeats and their acks.
const HEARTBEAT_INTERVAL_MS: f64 = 1000.0;
/// Decoded audio is always stereo (see [`OpusDecoder`]).
const CHANNELS: usize = 2;

/// Voice gateway close codes this server uses.
mod close {
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const SESSION_NO_LONGER_VALID: u16 = 4006;
    pub const UNKNOWN_PROTOCOL: u16 = 4012;
    pub const UNKNOWN_ENCRYPTION_MODE: u16 = 4016;
}

/// One decoded RTP packet.
#[derive(Clone)]
pub struct HeardFrame {
    pub at: Instant,
    pub ssrc: u32,
    pub sequence: u16,
    /// The payload was Discord's silence frame (`f8 ff fe`).
    pub silent: bool,
    /// Interleaved stereo samples as [`OpusDecoder`] gives them; empty if Opus refused it.
    pub pcm: Vec<f32>,
}

impl fmt::Debug for HeardFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeardFrame")
            .field("at", &self.at)
            .field("ssrc", &self.ssrc)
            .field("sequence", &self.sequence)
            .field("silent", &self.silent)
            .field("samples", &self.pcm.len())
            .finish()
    }
}

/// One voice WebSocket session (an accepted Identify), resumed or not.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: u64,
    pub session_id: String,
    pub ssrc: u32,
    /// The `v` the client dialled with.
    pub gateway_version: u8,
    pub max_dave_protocol_version: Option<u64>,
    pub identified_at: Instant,
    /// Set by Select Protocol.
    pub mode: Option<VoiceCipher>,
    pub first_rtp_at: Option<Instant>,
    pub closed_at: Option<Instant>,
    /// The last Speaking (op 5) said the microphone flag was on.
    pub speaking: bool,
    pub heartbeats: u32,
    pub resumes: u32,
}

/// Everything heard for one guild.
#[derive(Clone, Default)]
pub struct Heard {
    /// In arrival order, across that guild's sessions.
    pub frames: Vec<HeardFrame>,
    pub sessions: Vec<SessionInfo>,
    /// Identify or Resume attempts closed with 4004/4006 (credentials not authorized).
    pub refused: usize,
    /// RTP packets for a keyed session that failed to decrypt.
    pub undecryptable: usize,
}

impl Heard {
    pub fn audio_frames(&self) -> usize {
        self.frames.iter().filter(|f| !f.silent).count()
    }

    pub fn silent_frames(&self) -> usize {
        self.frames.iter().filter(|f| f.silent).count()
    }

    pub fn first_audio_at(&self) -> Option<Instant> {
        self.frames.iter().find(|f| !f.silent).map(|f| f.at)
    }

    pub fn last_frame_at(&self) -> Option<Instant> {
        self.frames.last().map(|f| f.at)
    }

    /// Decoded samples of the non-silent frames that arrived at or after `at`.
    pub fn pcm_since(&self, at: Instant) -> Vec<f32> {
        self.frames
            .iter()
            .filter(|f| !f.silent && f.at >= at)
            .flat_map(|f| f.pcm.iter().copied())
            .collect()
    }

    /// All decoded non-silent audio, in arrival order.
    pub fn audio(&self) -> Vec<f32> {
        self.frames
            .iter()
            .filter(|f| !f.silent)
            .flat_map(|f| f.pcm.iter().copied())
            .collect()
    }

    /// The last `ms` milliseconds of decoded non-silent audio (less if less was heard).
    pub fn last_ms(&self, ms: u64) -> Vec<f32> {
        let all = self.audio();
        let want = (ms as usize * SAMPLE_RATE as usize / 1000) * CHANNELS;
        all[all.len().saturating_sub(want)..].to_vec()
    }

    /// Every decoded frame, silence included, as a 16-bit stereo 48 kHz WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let pcm: Vec<f32> = self
            .frames
            .iter()
            .flat_map(|f| f.pcm.iter().copied())
            .collect();
        wav_from_pcm(&pcm, CHANNELS as u16, SAMPLE_RATE)
    }

    /// One line for failure messages: sessions, frame counts, and the pitch and level of the
    /// audio heard.
    pub fn summary(&self) -> String {
        let audio = self.audio();
        let sessions: Vec<String> = self
            .sessions
            .iter()
            .map(|s| {
                format!(
                    "ssrc {} v{} mode {:?} rtp {} {}",
                    s.ssrc,
                    s.gateway_version,
                    s.mode,
                    if s.first_rtp_at.is_some() {
                        "yes"
                    } else {
                        "no"
                    },
                    if s.closed_at.is_some() {
                        "closed"
                    } else {
                        "open"
                    },
                )
            })
            .collect();
        let pitch = if audio.is_empty() {
            "-".to_string()
        } else {
            format!("{} Hz rms {:.3}", dominant_frequency(&audio), rms(&audio))
        };
        format!(
            "{} sessions [{}], {} audio frames, {} silent, {} refused, {} undecryptable, audio {}",
            self.sessions.len(),
            sessions.join("; "),
            self.audio_frames(),
            self.silent_frames(),
            self.refused,
            self.undecryptable,
            pitch,
        )
    }
}

impl fmt::Debug for Heard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

#[derive(Hash, PartialEq, Eq)]
struct Credentials {
    guild: u64,
    user: u64,
    session_id: String,
    token: String,
}

/// What the UDP side needs to open one SSRC's packets.
struct Stream {
    guild: u64,
    session: usize,
    /// Set by Select Protocol; packets before it cannot be opened.
    key: Option<([u8; 32], VoiceCipher)>,
}

#[derive(Default)]
struct State {
    authorized: HashSet<Credentials>,
    guilds: HashMap<u64, Heard>,
    streams: HashMap<u32, Stream>,
    /// (guild, session index) -> the WebSocket connection that holds it, so a connection
    /// superseded by a Resume does not mark the session closed when it goes.
    owners: HashMap<(u64, usize), u64>,
    next_ssrc: u32,
    next_conn: u64,
}

struct Shared {
    modes: Vec<VoiceCipher>,
    udp_port: u16,
    state: Mutex<State>,
    /// Bumped on every change, to wake `wait_for`.
    changed: watch::Sender<()>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn notify(&self) {
        self.changed.send_replace(());
    }
}

/// Aborts the server's tasks when the last handle goes. Connection tasks live in JoinSets
/// owned by the accept tasks, so they go with them.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

pub struct FakeVoiceServer;

impl FakeVoiceServer {
    /// Binds the voice WebSocket (TLS) and the RTP socket on loopback, offering `modes` in
    /// Ready, and makes this process trust the test CA.
    pub async fn start(modes: &[VoiceCipher]) -> RunningVoice {
        tls::trust_test_ca();
        let acceptor = TlsAcceptor::from(tls::server_config());

        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("binding the voice UDP socket on loopback");
        let udp_port = udp
            .local_addr()
            .expect("a bound socket has an address")
            .port();
        let listeners = bind_ws().await;
        let ws_port = listeners[0]
            .local_addr()
            .expect("a bound listener has an address")
            .port();

        let (changed, _) = watch::channel(());
        let shared = Arc::new(Shared {
            modes: modes.to_vec(),
            udp_port,
            state: Mutex::new(State {
                next_ssrc: 1000,
                ..State::default()
            }),
            changed,
        });

        let mut tasks = vec![tokio::spawn(serve_udp(shared.clone(), udp))];
        for listener in listeners {
            tasks.push(tokio::spawn(accept_ws(
                shared.clone(),
                acceptor.clone(),
                listener,
            )));
        }
        RunningVoice {
            shared,
            ws_port,
            _tasks: Arc::new(Tasks(tasks)),
        }
    }
}

/// Binds 127.0.0.1, and ::1 on the same port where the host has IPv6 loopback: the endpoint
/// says `localhost`, and the client connects to whichever address that resolves to first.
async fn bind_ws() -> Vec<TcpListener> {
    for _ in 0..20 {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("binding the voice WebSocket on loopback");
        let port = v4
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        match TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
            Ok(v6) => return vec![v4, v6],
            // Taken on ::1 only: try another port.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            // No IPv6 loopback here, so `localhost` cannot resolve to it.
            Err(_) => return vec![v4],
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1 after 20 tries");
}

/// A running fake voice server; clones share it, and the last one dropped stops it.
#[derive(Clone)]
pub struct RunningVoice {
    shared: Arc<Shared>,
    ws_port: u16,
    _tasks: Arc<Tasks>,
}

impl RunningVoice {
    /// `localhost:PORT`, as Discord puts it in VOICE_SERVER_UPDATE.
    pub fn endpoint(&self) -> String {
        format!("localhost:{}", self.ws_port)
    }

    pub fn udp_port(&self) -> u16 {
        self.shared.udp_port
    }

    /// Accepts Identify (and Resume) with exactly these credentials; anything else is closed
    /// with 4004.
    pub fn authorize(&self, guild: u64, user: u64, session_id: &str, token: &str) {
        self.shared.state().authorized.insert(Credentials {
            guild,
            user,
            session_id: session_id.to_string(),
            token: token.to_string(),
        });
    }

    /// A snapshot of everything heard for `guild` so far.
    pub fn heard(&self, guild: u64) -> Heard {
        self.shared
            .state()
            .guilds
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `pred` holds for what was heard for `guild`, and returns that snapshot.
    /// Panics with `what` and a summary of what was heard if `timeout` passes first.
    pub async fn wait_for(
        &self,
        guild: u64,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Heard) -> bool,
    ) -> Heard {
        // Subscribed before the first check, so a change between check and wait still wakes.
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let heard = self.heard(guild);
            if pred(&heard) {
                return heard;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; heard for guild {guild}: {}",
                    heard.summary()
                );
            }
            // Also re-check on a short tick: a predicate may be about time passing (a gap
            // with no packets), which no change announces.
            let tick = (now + Duration::from_millis(50)).min(deadline);
            let _ = tokio::time::timeout_at(tick, changes.changed()).await;
        }
    }

    /// A voice WebSocket session for `guild` is open.
    pub fn connected(&self, guild: u64) -> bool {
        self.shared
            .state()
            .guilds
            .get(&guild)
            .is_some_and(|h| h.sessions.iter().any(|s| s.closed_at.is_none()))
    }
}

async fn accept_ws(shared: Arc<Shared>, acceptor: TlsAcceptor, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        // Small signalling messages go out at once, not after the peer's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            if let Err(e) = serve_ws(shared, acceptor, tcp).await {
                tracing::debug!(%peer, error = %e, "fake voice: connection ended with an error");
            }
        });
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The session a connection identified (or resumed) as.
#[derive(Clone, Copy)]
struct Bound {
    guild: u64,
    index: usize,
    ssrc: u32,
}

struct Conn {
    id: u64,
    version: u8,
    seq: u64,
    bound: Option<Bound>,
}

enum Next {
    Continue,
    Close(u16, &'static str),
}

async fn serve_ws(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
) -> Result<(), BoxError> {
    let tls = acceptor.accept(tcp).await?;
    let (request, mut ws) = ServerBuilder::new().accept(tls).await?;
    let version = request
        .uri()
        .query()
        .and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("v="))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(4);
    let id = {
        let mut state = shared.state();
        state.next_conn += 1;
        state.next_conn
    };
    let mut conn = Conn {
        id,
        version,
        seq: 0,
        bound: None,
    };

    // Discord greets first; songbird sends Identify without waiting, and takes both orders.
    send(
        &mut ws,
        &mut conn,
        8,
        json!({ "heartbeat_interval": HEARTBEAT_INTERVAL_MS }),
    )
    .await?;

    let result = loop {
        let Some(message) = ws.next().await else {
            break Ok(());
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => break Err(e.into()),
        };
        if message.is_close() {
            break Ok(());
        }
        // Binary frames are DAVE's MLS opcodes; declined DAVE means none are expected.
        let Some(text) = message.as_text() else {
            continue;
        };
        let next = match serde_json::from_str::<Value>(text) {
            Ok(payload) => handle(&shared, &mut ws, &mut conn, payload).await?,
            Err(_) => Next::Close(close::DECODE_ERROR, "Failed to decode payload"),
        };
        if let Next::Close(code, reason) = next {
            tracing::debug!(code, reason, "fake voice: closing a connection");
            let code = CloseCode::try_from(code).expect("4000-range codes are valid close codes");
            ws.send(Message::close(Some(code), reason)).await?;
            // Let the client's close reply arrive, so it sees our code rather than a reset.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
            break Ok(());
        }
    };

    if let Some(bound) = conn.bound {
        let mut state = shared.state();
        if state.owners.get(&(bound.guild, bound.index)) == Some(&conn.id) {
            if let Some(session) = state
                .guilds
                .get_mut(&bound.guild)
                .and_then(|h| h.sessions.get_mut(bound.index))
            {
                session.closed_at = Some(Instant::now());
            }
        }
        drop(state);
        shared.notify();
    }
    result
}

async fn send<S>(
    ws: &mut WebSocketStream<S>,
    conn: &mut Conn,
    op: u8,
    d: Value,
) -> Result<(), BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // v8 numbers server messages and the client acks them in heartbeats; earlier versions'
    // clients (songbird's v4 parser) reject the extra field.
    let payload = if conn.version >= 8 {
        conn.seq += 1;
        json!({ "op": op, "d": d, "seq": conn.seq })
    } else {
        json!({ "op": op, "d": d })
    };
    ws.send(Message::text(payload.to_string())).await?;
    Ok(())
}

/// An ID sent as a string (as Discord's snowflakes are) or a number.
fn snowflake(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

async fn handle<S>(
    shared: &Shared,
    ws: &mut WebSocketStream<S>,
    conn: &mut Conn,
    payload: Value,
) -> Result<Next, BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(op) = payload.get("op").and_then(Value::as_u64) else {
        return Ok(Next::Close(close::DECODE_ERROR, "Failed to decode payload"));
    };
    let d = payload.get("d").cloned().unwrap_or(Value::Null);
    match op {
        // Identify
        0 => {
            if conn.bound.is_some() {
                return Ok(Next::Close(
                    close::ALREADY_AUTHENTICATED,
                    "Already authenticated",
                ));
            }
            let (Some(guild), Some(user), Some(session_id), Some(token)) = (
                d.get("server_id").and_then(snowflake),
                d.get("user_id").and_then(snowflake),
                d.get("session_id").and_then(Value::as_str),
                d.get("token").and_then(Value::as_str),
            ) else {
                return Ok(Next::Close(close::DECODE_ERROR, "Failed to decode payload"));
            };
            let credentials = Credentials {
                guild,
                user,
                session_id: session_id.to_string(),
                token: token.to_string(),
            };
            let ssrc = {
                let mut state = shared.state();
                if !state.authorized.contains(&credentials) {
                    state.guilds.entry(guild).or_default().refused += 1;
                    drop(state);
                    shared.notify();
                    return Ok(Next::Close(
                        close::AUTHENTICATION_FAILED,
                        "Authentication failed",
                    ));
                }
                let ssrc = state.next_ssrc;
                state.next_ssrc += 1;
                let heard = state.guilds.entry(guild).or_default();
                let index = heard.sessions.len();
                heard.sessions.push(SessionInfo {
                    user,
                    session_id: session_id.to_string(),
                    ssrc,
                    gateway_version: conn.version,
                    max_dave_protocol_version: d
                        .get("max_dave_protocol_version")
                        .and_then(Value::as_u64),
                    identified_at: Instant::now(),
                    mode: None,
                    first_rtp_at: None,
                    closed_at: None,
                    speaking: false,
                    heartbeats: 0,
                    resumes: 0,
                });
                state.streams.insert(
                    ssrc,
                    Stream {
                        guild,
                        session: index,
                        key: None,
                    },
                );
                state.owners.insert((guild, index), conn.id);
                conn.bound = Some(Bound { guild, index, ssrc });
                ssrc
            };
            shared.notify();
            let modes: Vec<&str> = shared.modes.iter().map(|m| m.mode_name()).collect();
            send(
                ws,
                conn,
                2,
                json!({
                    "ssrc": ssrc,
                    "ip": "127.0.0.1",
                    "port": shared.udp_port,
                    "modes": modes,
                }),
            )
            .await?;
        }
        // Select Protocol
        1 => {
            let Some(bound) = conn.bound else {
                return Ok(Next::Close(close::NOT_AUTHENTICATED, "Not authenticated"));
            };
            if d.get("protocol").and_then(Value::as_str) != Some("udp") {
                return Ok(Next::Close(close::UNKNOWN_PROTOCOL, "Unknown protocol"));
            }
            let mode = d
                .pointer("/data/mode")
                .and_then(Value::as_str)
                .and_then(VoiceCipher::from_mode_name)
                .filter(|m| shared.modes.contains(m));
            let Some(mode) = mode else {
                return Ok(Next::Close(
                    close::UNKNOWN_ENCRYPTION_MODE,
                    "Unknown encryption mode",
                ));
            };
            let key: [u8; 32] = rand::random();
            {
                let mut state = shared.state();
                if let Some(stream) = state.streams.get_mut(&bound.ssrc) {
                    stream.key = Some((key, mode));
                }
                if let Some(session) = state
                    .guilds
                    .get_mut(&bound.guild)
                    .and_then(|h| h.sessions.get_mut(bound.index))
                {
                    session.mode = Some(mode);
                }
            }
            shared.notify();
            send(
                ws,
                conn,
                4,
                json!({
                    "mode": mode.mode_name(),
                    "secret_key": key,
                    "dave_protocol_version": 0,
                }),
            )
            .await?;
        }
        // Heartbeat: v8 sends {t, seq_ack} and expects {t} back; earlier versions a bare nonce.
        3 => {
            let ack = match d.get("t") {
                Some(t) => json!({ "t": t }),
                None => d,
            };
            if let Some(bound) = conn.bound {
                if let Some(session) = shared
                    .state()
                    .guilds
                    .get_mut(&bound.guild)
                    .and_then(|h| h.sessions.get_mut(bound.index))
                {
                    session.heartbeats += 1;
                }
            }
            send(ws, conn, 6, ack).await?;
        }
        // Speaking
        5 => {
            let Some(bound) = conn.bound else {
                return Ok(Next::Close(close::NOT_AUTHENTICATED, "Not authenticated"));
            };
            let microphone = d
                .get("speaking")
                .and_then(Value::as_u64)
                .is_some_and(|flags| flags & 1 != 0);
            if let Some(session) = shared
                .state()
                .guilds
                .get_mut(&bound.guild)
                .and_then(|h| h.sessions.get_mut(bound.index))
            {
                session.speaking = microphone;
            }
            shared.notify();
        }
        // Resume: the same session (SSRC, key) carries on over a new WebSocket.
        7 => {
            if conn.bound.is_some() {
                return Ok(Next::Close(
                    close::ALREADY_AUTHENTICATED,
                    "Already authenticated",
                ));
            }
            let (Some(guild), Some(session_id), Some(token)) = (
                d.get("server_id").and_then(snowflake),
                d.get("session_id").and_then(Value::as_str),
                d.get("token").and_then(Value::as_str),
            ) else {
                return Ok(Next::Close(close::DECODE_ERROR, "Failed to decode payload"));
            };
            let resumed = {
                let mut state = shared.state();
                let authorized = state
                    .authorized
                    .iter()
                    .any(|c| c.guild == guild && c.session_id == session_id && c.token == token);
                let heard = state.guilds.entry(guild).or_default();
                let found = heard
                    .sessions
                    .iter()
                    .rposition(|s| s.session_id == session_id)
                    .filter(|_| authorized);
                match found {
                    Some(index) => {
                        let session = &mut heard.sessions[index];
                        session.closed_at = None;
                        session.resumes += 1;
                        let ssrc = session.ssrc;
                        state.owners.insert((guild, index), conn.id);
                        conn.bound = Some(Bound { guild, index, ssrc });
                        true
                    }
                    None => {
                        heard.refused += 1;
                        false
                    }
                }
            };
            shared.notify();
            if !resumed {
                return Ok(Next::Close(
                    close::SESSION_NO_LONGER_VALID,
                    "Session no longer valid",
                ));
            }
            send(ws, conn, 9, Value::Null).await?;
        }
        other => {
            tracing::warn!(op = other, "fake voice: unexpected opcode from the client");
            return Ok(Next::Close(close::UNKNOWN_OPCODE, "Unknown opcode"));
        }
    }
    Ok(Next::Continue)
}

/// IP discovery: a 74-byte request (type 1, length 70, SSRC, 64-byte address, port) is
/// answered in kind (type 2) with the address and port the request came from.
fn discovery_reply(packet: &[u8], peer: SocketAddr) -> Option<[u8; 74]> {
    if packet.len() != 74 || packet[..2] != [0, 1] || packet[2..4] != [0, 70] {
        return None;
    }
    let mut reply = [0u8; 74];
    reply[..2].copy_from_slice(&2u16.to_be_bytes());
    reply[2..4].copy_from_slice(&70u16.to_be_bytes());
    reply[4..8].copy_from_slice(&packet[4..8]);
    let address = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
    .to_string();
    reply[8..8 + address.len()].copy_from_slice(address.as_bytes());
    reply[72..74].copy_from_slice(&peer.port().to_be_bytes());
    Some(reply)
}

async fn serve_udp(shared: Arc<Shared>, socket: UdpSocket) {
    // One decoder per SSRC, i.e. per session: Opus decoding carries state between frames.
    let mut decoders: HashMap<u32, OpusDecoder> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        // Errors here are ICMP reports about earlier replies (a client gone); keep serving.
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let packet = &buf[..n];

        if let Some(reply) = discovery_reply(packet, peer) {
            let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
            // Discord answers only SSRCs it handed out in Ready.
            if shared.state().streams.contains_key(&ssrc) {
                let _ = socket.send_to(&reply, peer).await;
            }
            continue;
        }
        // RTP is at least a 12-byte version-2 header; songbird's 4-byte keepalives are not.
        // Payload types 72-76 with the marker bit are RTCP (200-204), which we do not use.
        if n < 12 || packet[0] >> 6 != 2 || (72..=76).contains(&(packet[1] & 0x7f)) {
            continue;
        }
        let sequence = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let Some((guild, session, key, mode)) = shared
            .state()
            .streams
            .get(&ssrc)
            .and_then(|s| s.key.map(|(key, mode)| (s.guild, s.session, key, mode)))
        else {
            continue;
        };
        let at = Instant::now();
        let frame = decrypt_rtp(mode, &key, packet).map(|opus| {
            let pcm = decoders
                .entry(ssrc)
                .or_default()
                .decode(&opus)
                .unwrap_or_default();
            HeardFrame {
                at,
                ssrc,
                sequence,
                silent: opus == SILENT_FRAME,
                pcm,
            }
        });
        {
            let mut state = shared.state();
            let heard = state.guilds.entry(guild).or_default();
            match frame {
                Some(frame) => {
                    if let Some(s) = heard.sessions.get_mut(session) {
                        s.first_rtp_at.get_or_insert(at);
                    }
                    heard.frames.push(frame);
                }
                None => heard.undecryptable += 1,
            }
        }
        shared.notify();
    }
}
