//! Discord's voice server, as songbird speaks to it: a TLS WebSocket for signalling and a UDP
//! socket for the encrypted RTP, both on loopback. It hears what a voice connection plays:
//! every RTP packet is mapped to its guild by SSRC, decrypted with that session's key and
//! mode, and decoded from Opus, so tests can check what a listener in the channel would hear.
//!
//! The gateway speaks the version the client asks for (`?v=`): songbird 0.6.1 asks for v4,
//! whose server messages carry no `seq` (its parser drops any message with extra fields)
//! and whose heartbeats are a bare nonce; v8 clients get `seq` and `{t}` acks.
//!
//! DAVE, the end-to-end encryption Discord requires on voice, is on by default
//! ([`DaveMode`]): Session Description says `dave_protocol_version: 1`, and each call runs
//! the MLS handshake (ops 11, 21–31) between the bot and the simulated people in the channel
//! ([`call`]). Each RTP payload is then a DAVE frame: the receiver removes the transport
//! encryption, has the members decrypt the frame with their own davey sessions, and only
//! then decodes the Opus. A frame without DAVE after the group is ready is counted as a
//! fault ([`Heard::plaintext_after_ready`]), and no member can hear it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_websockets::{CloseCode, Message, ServerBuilder, WebSocketStream};

use super::tls;
use crate::audio::{
    decrypt_rtp, dominant_frequency, rms, wav_from_pcm, OpusDecoder, VoiceCipher, SAMPLE_RATE,
    SILENT_FRAME,
};
use crate::dave::GatewayMessage;

mod call;

use call::{Call, Judged};
pub use call::{Committer, DaveMode, DaveView, ListenerRecord};

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
    /// The frame came end-to-end encrypted (DAVE) and a member decrypted it.
    pub e2ee: bool,
    /// The UDP datagram's size: what the bot paid to send it (without IP and UDP headers).
    pub wire_bytes: usize,
    /// The Opus frame's size, once decrypted.
    pub opus_bytes: usize,
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
            .field("e2ee", &self.e2ee)
            .field("samples", &self.pcm.len())
            .finish()
    }
}

/// One voice WebSocket session (an accepted Identify), resumed or not.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: u64,
    /// The voice channel the gateway sent the bot to.
    pub channel: u64,
    pub session_id: String,
    pub ssrc: u32,
    /// The `v` the client dialled with.
    pub gateway_version: u8,
    pub max_dave_protocol_version: Option<u64>,
    /// What Session Description (op 4) said, once sent.
    pub dave_protocol_version: Option<u16>,
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
    /// Non-silent frames without DAVE in a DAVE call; members' clients drop them.
    pub plaintext: usize,
    /// Of those, the ones sent after the group was ready for the bot: each is a fault.
    pub plaintext_after_ready: usize,
    /// DAVE frames no member could decrypt.
    pub dave_undecryptable: usize,
    /// The DAVE side of the call the bot is (or was last) in.
    pub dave: DaveView,
}

impl Heard {
    pub fn audio_frames(&self) -> usize {
        self.frames.iter().filter(|f| !f.silent).count()
    }

    pub fn silent_frames(&self) -> usize {
        self.frames.iter().filter(|f| f.silent).count()
    }

    /// What the audio frames since `from` cost on the wire and in Opus, in bits per second
    /// of audio (20 ms a frame): `(wire, opus)`.
    pub fn bitrates_since(&self, from: Instant) -> (f64, f64) {
        let frames: Vec<&HeardFrame> = self
            .frames
            .iter()
            .filter(|f| f.at >= from && !f.silent)
            .collect();
        if frames.is_empty() {
            return (0.0, 0.0);
        }
        let secs = frames.len() as f64 * 0.020;
        let bits = |n: usize| n as f64 * 8.0 / secs;
        (
            bits(frames.iter().map(|f| f.wire_bytes).sum()),
            bits(frames.iter().map(|f| f.opus_bytes).sum()),
        )
    }

    /// Frames heard through DAVE decryption.
    pub fn e2ee_frames(&self) -> usize {
        self.frames.iter().filter(|f| f.e2ee).count()
    }

    /// When the first frame heard through DAVE decryption arrived.
    pub fn first_e2ee_at(&self) -> Option<Instant> {
        self.frames.iter().find(|f| f.e2ee).map(|f| f.at)
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
        let listeners: Vec<String> = self
            .dave
            .listeners
            .iter()
            .map(|l| {
                format!(
                    "{} {}/{}{}",
                    l.user,
                    l.decrypted,
                    l.decrypted + l.failed,
                    if l.left_at.is_some() { " left" } else { "" }
                )
            })
            .collect();
        format!(
            "{} sessions [{}], {} audio frames ({} e2ee), {} silent, {} refused, {} undecryptable; \
             DAVE v{} epoch {} members {:?}, to bot {:?}, from bot {:?}, listeners [{}], \
             {} plaintext ({} after ready), {} DAVE undecryptable; audio {}",
            self.sessions.len(),
            sessions.join("; "),
            self.audio_frames(),
            self.e2ee_frames(),
            self.silent_frames(),
            self.refused,
            self.undecryptable,
            self.dave.protocol_version,
            self.dave.epoch,
            self.dave.members,
            self.dave.to_bot,
            self.dave.from_bot,
            listeners.join(", "),
            self.plaintext,
            self.plaintext_after_ready,
            self.dave_undecryptable,
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
    channel: u64,
    user: u64,
    session_id: String,
    token: String,
}

/// What the UDP side needs to open one SSRC's packets.
struct Stream {
    guild: u64,
    channel: u64,
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
    /// Each voice channel's call, by channel id.
    calls: HashMap<u64, Arc<Mutex<Call>>>,
    /// Where each simulated member sits: (guild, user) → channel.
    members: HashMap<(u64, u64), u64>,
    next_ssrc: u32,
    next_conn: u64,
}

struct Shared {
    modes: Vec<VoiceCipher>,
    dave: DaveMode,
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

    /// The call in `channel`, made on first use.
    fn call(&self, guild: u64, channel: u64) -> Arc<Mutex<Call>> {
        self.state()
            .calls
            .entry(channel)
            .or_insert_with(|| Arc::new(Mutex::new(Call::new(guild, channel, self.dave))))
            .clone()
    }
}

/// A call's lock; a panic elsewhere leaves its data usable, as for the state.
fn lock(call: &Mutex<Call>) -> MutexGuard<'_, Call> {
    call.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    /// Ready and DAVE v1, and makes this process trust the test CA.
    pub async fn start(modes: &[VoiceCipher]) -> RunningVoice {
        Self::start_with(modes, DaveMode::default()).await
    }

    /// As [`start`](Self::start), with DAVE as `dave` says.
    pub async fn start_with(modes: &[VoiceCipher], dave: DaveMode) -> RunningVoice {
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
            dave,
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

    /// Accepts Identify (and Resume) with exactly these credentials, for a session in the
    /// call on `channel`; anything else is closed with 4004.
    pub fn authorize(&self, guild: u64, channel: u64, user: u64, session_id: &str, token: &str) {
        self.shared.state().authorized.insert(Credentials {
            guild,
            channel,
            user,
            session_id: session_id.to_string(),
            token: token.to_string(),
        });
    }

    /// A person (not the bot) joins `channel` (`Some`) or leaves (`None`): a simulated member
    /// with its own DAVE session joins or leaves that channel's call.
    pub fn set_member(&self, guild: u64, user: u64, channel: Option<u64>) {
        let previous = {
            let mut state = self.shared.state();
            match channel {
                Some(c) => state.members.insert((guild, user), c),
                None => state.members.remove(&(guild, user)),
            }
        };
        if let Some(old) = previous.filter(|old| Some(*old) != channel) {
            let call = self.shared.state().calls.get(&old).cloned();
            if let Some(call) = call {
                lock(&call).member_left(user);
            }
        }
        if let Some(c) = channel {
            lock(&self.shared.call(guild, c)).member_joined(user);
        }
        self.shared.notify();
    }

    /// The gateway saw `user` (the bot) leave the guild's voice channel: it leaves the call's
    /// group, as Discord's voice server learns from its gateway.
    pub fn left(&self, guild: u64, user: u64) {
        let calls: Vec<_> = self.shared.state().calls.values().cloned().collect();
        for call in calls {
            let mut call = lock(&call);
            if call.guild == guild && call.bot_user() == Some(user) {
                call.bot_gone();
            }
        }
        self.shared.notify();
    }

    /// A snapshot of everything heard for `guild` so far, with the DAVE side of the call its
    /// last session is in.
    pub fn heard(&self, guild: u64) -> Heard {
        let (mut heard, call) = {
            let state = self.shared.state();
            let heard = state.guilds.get(&guild).cloned().unwrap_or_default();
            let call = heard
                .sessions
                .last()
                .and_then(|s| state.calls.get(&s.channel).cloned());
            (heard, call)
        };
        if let Some(call) = call {
            heard.dave = lock(&call).view();
        }
        heard
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
    channel: u64,
    user: u64,
    index: usize,
    ssrc: u32,
}

struct Conn {
    id: u64,
    version: u8,
    seq: u64,
    bound: Option<Bound>,
    /// Where the call's DAVE messages for this connection's user arrive.
    dave_tx: mpsc::UnboundedSender<GatewayMessage>,
}

impl Conn {
    fn call(&self, shared: &Shared) -> Option<Arc<Mutex<Call>>> {
        let bound = self.bound?;
        shared.state().calls.get(&bound.channel).cloned()
    }
}

enum Next {
    Continue,
    Close(u16, &'static str),
}

type Ws<S> = WebSocketStream<S>;

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
    let (dave_tx, mut dave_rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        id,
        version,
        seq: 0,
        bound: None,
        dave_tx,
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
        let message = tokio::select! {
            message = ws.next() => message,
            Some(dave) = dave_rx.recv() => {
                send_dave(&mut ws, &mut conn, dave).await?;
                continue;
            }
        };
        let Some(message) = message else {
            break Ok(());
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => break Err(e.into()),
        };
        if message.is_close() {
            break Ok(());
        }
        let next = if let Some(text) = message.as_text() {
            match serde_json::from_str::<Value>(text) {
                Ok(payload) => handle(&shared, &mut ws, &mut conn, payload).await?,
                Err(_) => Next::Close(close::DECODE_ERROR, "Failed to decode payload"),
            }
        } else if message.is_binary() {
            // DAVE's MLS messages (op 26 key package, op 28 commit and welcome).
            let bytes = message.into_payload();
            match conn.call(&shared) {
                Some(call) => {
                    lock(&call).bot_sent_binary(&bytes);
                    shared.notify();
                    Next::Continue
                }
                None => Next::Close(close::NOT_AUTHENTICATED, "Not authenticated"),
            }
        } else {
            Next::Continue
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
        let owned = {
            let mut state = shared.state();
            let owned = state.owners.get(&(bound.guild, bound.index)) == Some(&conn.id);
            if owned {
                if let Some(session) = state
                    .guilds
                    .get_mut(&bound.guild)
                    .and_then(|h| h.sessions.get_mut(bound.index))
                {
                    session.closed_at = Some(Instant::now());
                }
            }
            owned
        };
        // The session may still be resumed; the bot leaves the group when the gateway says
        // it left the channel, or when a new session replaces this one.
        if owned {
            if let Some(call) = conn.call(&shared) {
                lock(&call).bot_dropped();
            }
        }
        shared.notify();
    }
    result
}

async fn send<S>(ws: &mut Ws<S>, conn: &mut Conn, op: u8, d: Value) -> Result<(), BoxError>
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

/// A DAVE message from the call: JSON as any other, binary as `[opcode][payload]` (v4) or
/// `[seq u16][opcode][payload]` (v8).
async fn send_dave<S>(
    ws: &mut Ws<S>,
    conn: &mut Conn,
    message: GatewayMessage,
) -> Result<(), BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match message {
        GatewayMessage::Json(value) => {
            let op = value
                .get("op")
                .and_then(Value::as_u64)
                .and_then(|op| u8::try_from(op).ok());
            let d = value.get("d").cloned().unwrap_or(Value::Null);
            match op {
                Some(op) => send(ws, conn, op, d).await,
                None => Ok(()),
            }
        }
        GatewayMessage::Binary(frame) => {
            let bytes = if conn.version >= 8 {
                conn.seq += 1;
                // The wire carries the low 16 bits, as Discord's binary frames do.
                frame.to_ws_bytes_v8(conn.seq as u16)
            } else {
                frame.to_ws_bytes()
            };
            ws.send(Message::binary(bytes)).await?;
            Ok(())
        }
    }
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
    ws: &mut Ws<S>,
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
            let (ssrc, channel) = {
                let mut state = shared.state();
                let channel = state
                    .authorized
                    .iter()
                    .find(|c| {
                        c.guild == guild
                            && c.user == user
                            && c.session_id == session_id
                            && c.token == token
                    })
                    .map(|c| c.channel);
                let Some(channel) = channel else {
                    state.guilds.entry(guild).or_default().refused += 1;
                    drop(state);
                    shared.notify();
                    return Ok(Next::Close(
                        close::AUTHENTICATION_FAILED,
                        "Authentication failed",
                    ));
                };
                let ssrc = state.next_ssrc;
                state.next_ssrc += 1;
                let heard = state.guilds.entry(guild).or_default();
                let index = heard.sessions.len();
                heard.sessions.push(SessionInfo {
                    user,
                    channel,
                    session_id: session_id.to_string(),
                    ssrc,
                    gateway_version: conn.version,
                    max_dave_protocol_version: d
                        .get("max_dave_protocol_version")
                        .and_then(Value::as_u64),
                    dave_protocol_version: None,
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
                        channel,
                        session: index,
                        key: None,
                    },
                );
                state.owners.insert((guild, index), conn.id);
                conn.bound = Some(Bound {
                    guild,
                    channel,
                    user,
                    index,
                    ssrc,
                });
                (ssrc, channel)
            };
            // A fresh session replaces the user's earlier one in whatever call it was in.
            let calls: Vec<_> = shared.state().calls.values().cloned().collect();
            for call in calls {
                let mut call = lock(&call);
                if call.guild == guild && call.bot_user() == Some(user) {
                    call.bot_gone();
                }
            }
            shared.call(guild, channel);
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
            let dave_version = {
                let mut state = shared.state();
                if let Some(stream) = state.streams.get_mut(&bound.ssrc) {
                    stream.key = Some((key, mode));
                }
                let session = state
                    .guilds
                    .get_mut(&bound.guild)
                    .and_then(|h| h.sessions.get_mut(bound.index));
                let max = session
                    .as_ref()
                    .and_then(|s| s.max_dave_protocol_version)
                    .and_then(|v| u16::try_from(v).ok());
                let version = shared.dave.session_version(max);
                if let Some(session) = session {
                    session.mode = Some(mode);
                    session.dave_protocol_version = Some(version);
                }
                version
            };
            shared.notify();
            send(
                ws,
                conn,
                4,
                json!({
                    "mode": mode.mode_name(),
                    "secret_key": key,
                    "dave_protocol_version": dave_version,
                }),
            )
            .await?;
            // After op 4, so the client has its DAVE session when op 11 and op 25 arrive.
            let call = shared.call(bound.guild, bound.channel);
            lock(&call).bot_connected(bound.user, dave_version, conn.dave_tx.clone());
            shared.notify();
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
        // Resume: the same session (SSRC, key, DAVE group) carries on over a new WebSocket.
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
                        let (ssrc, user, channel) = (session.ssrc, session.user, session.channel);
                        state.owners.insert((guild, index), conn.id);
                        conn.bound = Some(Bound {
                            guild,
                            channel,
                            user,
                            index,
                            ssrc,
                        });
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
            if let Some(call) = conn.call(shared) {
                lock(&call).bot_resumed(conn.dave_tx.clone());
            }
        }
        // DAVE: ready for a transition, or a commit or welcome it could not process.
        23 | 31 => {
            let Some(call) = conn.call(shared) else {
                return Ok(Next::Close(close::NOT_AUTHENTICATED, "Not authenticated"));
            };
            lock(&call).bot_sent_json(op as u8, &payload);
            shared.notify();
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
        let Some((guild, session, key, mode, call)) = ({
            let state = shared.state();
            state.streams.get(&ssrc).and_then(|s| {
                s.key.map(|(key, mode)| {
                    let call = state.calls.get(&s.channel).cloned();
                    (s.guild, s.session, key, mode, call)
                })
            })
        }) else {
            continue;
        };
        let at = Instant::now();
        // The transport layer first, then DAVE: what a member's client does.
        let judged = decrypt_rtp(mode, &key, packet).map(|payload| match &call {
            Some(call) => lock(call).judge(sequence, &payload),
            None => Judged::Heard {
                opus: payload,
                e2ee: false,
            },
        });
        let frame = match &judged {
            Some(Judged::Heard { opus, e2ee }) => Some((opus.as_slice(), *e2ee)),
            Some(Judged::Silence) => Some((&SILENT_FRAME[..], false)),
            _ => None,
        }
        .map(|(opus, e2ee)| HeardFrame {
            at,
            ssrc,
            sequence,
            silent: opus == SILENT_FRAME,
            e2ee,
            wire_bytes: n,
            opus_bytes: opus.len(),
            pcm: decoders
                .entry(ssrc)
                .or_default()
                .decode(opus)
                .unwrap_or_default(),
        });
        {
            let mut state = shared.state();
            let heard = state.guilds.entry(guild).or_default();
            if judged.is_some() {
                if let Some(s) = heard.sessions.get_mut(session) {
                    s.first_rtp_at.get_or_insert(at);
                }
            }
            match judged {
                None => heard.undecryptable += 1,
                Some(Judged::Plaintext { after_ready }) => {
                    heard.plaintext += 1;
                    if after_ready {
                        heard.plaintext_after_ready += 1;
                        tracing::warn!(
                            guild,
                            sequence,
                            "fake voice: a plaintext frame after the DAVE group was ready"
                        );
                    }
                }
                Some(Judged::Undecryptable) => heard.dave_undecryptable += 1,
                Some(Judged::Heard { .. } | Judged::Silence) => {}
            }
            if let Some(frame) = frame {
                heard.frames.push(frame);
            }
        }
        shared.notify();
    }
}
