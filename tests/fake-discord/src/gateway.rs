//! Discord's gateway (v10, JSON, no compression), as much as TimmyBot uses: Hello, Identify →
//! READY → GUILD_CREATE (with voice states), heartbeats and their ACKs, Resume, and op 4 voice
//! state updates answered with VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE. It can dispatch
//! INTERACTION_CREATE. twilight-gateway reaches it through `ConfigBuilder::proxy_url`.
//!
//! It is sharded as Discord is: Identify carries `shard: [id, count]`, and each connection
//! gets only the guilds of its shard (`(guild_id >> 22) % count`), with their voice states and
//! interactions. An op 4 for a guild on another shard is not answered, and an Identify for a
//! shard that is already connected is refused. Every identify is recorded with its time, and
//! every op 4 with the shard of the connection that sent it.
//!
//! Every payload it sends is a twilight-model type, so what it sends is what twilight parses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Notify};
use tokio_websockets::{CloseCode, Message, ServerBuilder};
use twilight_model::application::interaction::Interaction;
use twilight_model::gateway::event::{DispatchEvent, GatewayEvent};
use twilight_model::gateway::payload::incoming::{
    GuildCreate, Hello, InteractionCreate, Ready, VoiceServerUpdate, VoiceStateUpdate,
};
use twilight_model::gateway::payload::outgoing::{Identify, Resume, UpdateVoiceState};
use twilight_model::guild::Guild;
use twilight_model::id::Id;
use twilight_model::voice::VoiceState;

/// Where VOICE_SERVER_UPDATE sends the bot, and who may connect there.
pub trait VoiceHost: Send + Sync + 'static {
    /// `host:port`, as Discord puts it in VOICE_SERVER_UPDATE.
    fn endpoint(&self) -> String;
    /// Lets this (guild, user, session, token) identify on the voice server, for the call in
    /// `channel`.
    fn authorize(&self, guild: u64, channel: u64, user: u64, session_id: &str, token: &str);
    /// `user` left the guild's voice channel (op 4 with no channel).
    fn left(&self, guild: u64, user: u64);
}

/// A guild the bot is in: one text channel and some voice channels.
#[derive(Debug, Clone)]
pub struct FakeGuild {
    pub id: u64,
    pub name: String,
    pub text_channel: u64,
    pub voice_channels: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The bot token the client must identify with (without `Bot `).
    pub token: String,
    pub bot_user: u64,
    pub application_id: u64,
    pub guilds: Vec<FakeGuild>,
    pub heartbeat_interval: Duration,
}

/// What a client did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Identify {
        shard: [u32; 2],
    },
    /// An Identify for a shard another connection holds: refused.
    ShardTaken {
        shard: [u32; 2],
    },
    /// An Identify whose shard id is not below its count: refused.
    InvalidShard,
    BadToken,
    Resume {
        ok: bool,
    },
    Heartbeat,
    /// Op 4: the bot asks to join (`Some`) or leave (`None`) a voice channel, through the
    /// connection of `shard`.
    VoiceUpdate {
        guild: u64,
        channel: Option<u64>,
        shard: [u32; 2],
    },
}

struct Session {
    shard: [u32; 2],
    /// Order of creation: a newer session of a shard replaces an older, dead one.
    born: u64,
    /// Every dispatch sent in this session, for Resume to replay.
    sent: Vec<(u64, String)>,
    seq: u64,
    conn: Option<mpsc::UnboundedSender<Outgoing>>,
}

enum Outgoing {
    Text(String),
    /// Drop the connection without a close frame: the session stays resumable.
    Drop,
}

struct State {
    config: GatewayConfig,
    url: String,
    sessions: HashMap<String, Session>,
    sessions_made: u64,
    seen: Vec<(Instant, Seen)>,
    /// (guild, user) → voice channel, the bot included.
    voice: HashMap<(u64, u64), u64>,
    voice_host: Arc<dyn VoiceHost>,
}

/// A running fake gateway. Its task stops when this is dropped.
pub struct FakeGateway {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGateway {
    pub async fn start(config: GatewayConfig, voice_host: Arc<dyn VoiceHost>) -> Self {
        // Clients built next to it (twilight's TLS config) need the process's provider.
        timmybot_config::tls::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake gateway");
        let addr = listener.local_addr().expect("fake gateway addr");
        let state = Arc::new(Mutex::new(State {
            config,
            url: format!("ws://{addr}"),
            sessions: HashMap::new(),
            sessions_made: 0,
            seen: Vec::new(),
            voice: HashMap::new(),
            voice_host,
        }));
        let changed = Arc::new(Notify::new());
        let (st, ch) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Back-to-back dispatches go out at once, not after the peer's delayed ACK.
                let _ = stream.set_nodelay(true);
                let (st, ch) = (st.clone(), ch.clone());
                tokio::spawn(async move {
                    if let Ok((_, ws)) = ServerBuilder::new().accept(stream).await {
                        connection(ws, st, ch).await;
                    }
                });
            }
        });
        Self {
            addr,
            state,
            changed,
            task,
        }
    }

    /// For `ConfigBuilder::proxy_url` (and `DISCORD_GATEWAY_PROXY`).
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake gateway lock")
    }

    pub fn seen(&self) -> Vec<(Instant, Seen)> {
        self.lock().seen.clone()
    }

    /// The op 4 updates for `guild`, with when each arrived.
    pub fn voice_updates(&self, guild: u64) -> Vec<(Instant, Option<u64>)> {
        self.voice_updates_by_shard(guild)
            .into_iter()
            .map(|(at, channel, _)| (at, channel))
            .collect()
    }

    /// The op 4 updates for `guild`, each with the shard of the connection that sent it.
    pub fn voice_updates_by_shard(&self, guild: u64) -> Vec<(Instant, Option<u64>, [u32; 2])> {
        self.seen()
            .into_iter()
            .filter_map(|(at, s)| match s {
                Seen::VoiceUpdate {
                    guild: g,
                    channel,
                    shard,
                } if g == guild => Some((at, channel, shard)),
                _ => None,
            })
            .collect()
    }

    /// Every accepted Identify: when it arrived, and its `[shard, count]`.
    pub fn identifies(&self) -> Vec<(Instant, [u32; 2])> {
        self.seen()
            .into_iter()
            .filter_map(|(at, s)| match s {
                Seen::Identify { shard } => Some((at, shard)),
                _ => None,
            })
            .collect()
    }

    /// Waits until exactly `shards` are connected, or panics after `timeout`.
    pub async fn wait_connected(&self, shards: &[[u32; 2]], timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if self.connected_shards() == shards {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "waited {timeout:?} for shards {shards:?} to be connected; they are {:?}",
                    self.connected_shards()
                );
            }
        }
    }

    /// The shards connected now.
    pub fn connected_shards(&self) -> Vec<[u32; 2]> {
        let mut shards: Vec<_> = self
            .lock()
            .sessions
            .values()
            .filter(|s| s.conn.is_some())
            .map(|s| s.shard)
            .collect();
        shards.sort_unstable();
        shards
    }

    /// Waits until `pred` holds over what the clients did, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[(Instant, Seen)]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if pred(&self.seen()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "the fake gateway waited {timeout:?} for {what}; it saw {:?}",
                    self.seen().iter().map(|(_, s)| s).collect::<Vec<_>>()
                );
            }
        }
    }

    /// Waits until a client has identified.
    pub async fn wait_ready(&self, timeout: Duration) {
        self.wait_identified(1, timeout).await;
    }

    /// Waits until `n` identifies have been accepted.
    pub async fn wait_identified(&self, n: usize, timeout: Duration) {
        self.wait_for(timeout, &format!("{n} identifies"), |seen| {
            seen.iter()
                .filter(|(_, s)| matches!(s, Seen::Identify { .. }))
                .count()
                >= n
        })
        .await;
    }

    /// Where the bot's voice is in `guild`, as the gateway last heard.
    pub fn bot_channel(&self, guild: u64) -> Option<u64> {
        let st = self.lock();
        st.voice.get(&(guild, st.config.bot_user)).copied()
    }

    /// A member joins (`Some`) or leaves (`None`) a voice channel: VOICE_STATE_UPDATE.
    pub fn set_voice(&self, guild: u64, user: u64, channel: Option<u64>) {
        let mut st = self.lock();
        match channel {
            Some(c) => st.voice.insert((guild, user), c),
            None => st.voice.remove(&(guild, user)),
        };
        let state = voice_state(guild, user, false, channel, &format!("member-{user}"));
        st.dispatch_to_guild(
            guild,
            DispatchEvent::VoiceStateUpdate(Box::new(VoiceStateUpdate(state))),
        );
    }

    /// Sends INTERACTION_CREATE to the shard that holds the interaction's guild.
    pub fn dispatch_interaction(&self, interaction: Interaction) {
        let guild = interaction.guild_id.map_or(0, |g| g.get());
        self.lock().dispatch_to_guild(
            guild,
            DispatchEvent::InteractionCreate(Box::new(InteractionCreate(interaction))),
        );
    }

    /// Cuts every connection without a close frame, as a network fault would; the client
    /// should reconnect and Resume.
    pub fn drop_connections(&self) {
        for s in self.lock().sessions.values_mut() {
            if let Some(conn) = s.conn.take() {
                let _ = conn.send(Outgoing::Drop);
            }
        }
    }
}

/// A guild member as Discord sends it inside voice states and GUILD_CREATE.
fn member(user: u64, bot: bool) -> twilight_model::guild::Member {
    serde_json::from_value(serde_json::json!({
        "user": {
            "id": user.to_string(), "username": format!("user{user}"), "discriminator": "0000",
            "avatar": null, "bot": bot,
        },
        "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
        "deaf": false, "mute": false, "flags": 0,
    }))
    .expect("a valid twilight-model Member")
}

fn voice_state(
    guild: u64,
    user: u64,
    bot: bool,
    channel: Option<u64>,
    session_id: &str,
) -> VoiceState {
    VoiceState {
        channel_id: channel.map(Id::new),
        deaf: false,
        guild_id: Some(Id::new(guild)),
        member: Some(member(user, bot)),
        mute: false,
        self_deaf: false,
        self_mute: false,
        self_stream: false,
        self_video: false,
        session_id: session_id.to_owned(),
        suppress: false,
        user_id: Id::new(user),
        request_to_speak_timestamp: None,
    }
}

fn shard_of(guild: u64, count: u32) -> u32 {
    ((guild >> 22) % u64::from(count.max(1))) as u32
}

impl State {
    fn record(&mut self, seen: Seen) {
        self.seen.push((Instant::now(), seen));
    }

    fn dispatch(&mut self, session_id: &str, event: DispatchEvent) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        session.seq += 1;
        let text = serde_json::to_string(&GatewayEvent::Dispatch(session.seq, event))
            .expect("twilight-model events serialize");
        session.sent.push((session.seq, text.clone()));
        if let Some(conn) = &session.conn {
            let _ = conn.send(Outgoing::Text(text));
        }
    }

    /// Sends `event` to the session of the guild's shard: the connected one, else the
    /// newest (a dropped connection gets it when it resumes).
    fn dispatch_to_guild(&mut self, guild: u64, event: DispatchEvent) {
        let target = self
            .sessions
            .iter()
            .filter(|(_, s)| shard_of(guild, s.shard[1]) == s.shard[0])
            .max_by_key(|(_, s)| (s.conn.is_some(), s.born))
            .map(|(id, _)| id.clone());
        if let Some(id) = target {
            self.dispatch(&id, event);
        }
    }

    fn guild_create(&self, g: &FakeGuild) -> Guild {
        let voice_states: Vec<_> = self
            .voice
            .iter()
            .filter(|((guild, _), _)| *guild == g.id)
            .map(|((guild, user), channel)| {
                let bot = *user == self.config.bot_user;
                voice_state(
                    *guild,
                    *user,
                    bot,
                    Some(*channel),
                    &format!("member-{user}"),
                )
            })
            .collect();
        let members: Vec<_> = voice_states
            .iter()
            .filter_map(|vs| vs.member.clone())
            .collect();
        let mut channels = vec![serde_json::json!({
            "id": g.text_channel.to_string(), "type": 0, "name": "general",
            "guild_id": g.id.to_string(), "position": 0,
        })];
        for (i, v) in g.voice_channels.iter().enumerate() {
            channels.push(serde_json::json!({
                "id": v.to_string(), "type": 2, "name": format!("Voice {}", i + 1),
                "guild_id": g.id.to_string(), "position": i + 1, "bitrate": 64000,
            }));
        }
        // Built as JSON and parsed by twilight-model, so a field Discord requires and this
        // leaves out fails here rather than in the client.
        serde_json::from_value(serde_json::json!({
            "id": g.id.to_string(),
            "name": g.name,
            "owner_id": "1",
            "afk_channel_id": null,
            "afk_timeout": 300,
            "channels": channels,
            "default_message_notifications": 1,
            "emojis": [],
            "explicit_content_filter": 0,
            "features": [],
            "icon": null,
            "large": false,
            "member_count": 2,
            "members": members,
            "mfa_level": 0,
            "nsfw_level": 0,
            "preferred_locale": "en-US",
            "premium_progress_bar_enabled": false,
            "premium_tier": 0,
            "roles": [],
            "system_channel_flags": 0,
            "unavailable": false,
            "verification_level": 0,
            "voice_states": voice_states,
            "threads": [],
            "stage_instances": [],
            "stickers": [],
            "presences": [],
            "guild_scheduled_events": [],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
        }))
        .expect("the fake guild is a valid twilight-model Guild")
    }

    fn ready(&self, session_id: &str, shard: [u32; 2]) -> Ready {
        let c = &self.config;
        let guilds: Vec<_> = c
            .guilds
            .iter()
            .filter(|g| shard_of(g.id, shard[1]) == shard[0])
            .map(|g| serde_json::json!({ "id": g.id.to_string(), "unavailable": true }))
            .collect();
        serde_json::from_value(serde_json::json!({
            "v": 10,
            "user": {
                "id": c.bot_user.to_string(), "username": "TimmyBot", "discriminator": "0000",
                "avatar": null, "bot": true, "mfa_enabled": false, "global_name": null,
            },
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": self.url,
            "shard": shard,
            "application": { "id": c.application_id.to_string(), "flags": 0 },
        }))
        .expect("the fake READY is a valid twilight-model Ready")
    }

    /// Identify: a new session, READY, then a GUILD_CREATE for each guild on the shard.
    fn identify(
        &mut self,
        identify: Identify,
        conn: mpsc::UnboundedSender<Outgoing>,
    ) -> Result<(), Reply> {
        let token = identify.d.token.trim_start_matches("Bot ");
        if token != self.config.token {
            self.record(Seen::BadToken);
            return Err(close(4004, "Authentication failed."));
        }
        let shard = identify.d.shard.map_or([0, 1], |s| [s.number(), s.total()]);
        if shard[1] == 0 || shard[0] >= shard[1] {
            self.record(Seen::InvalidShard);
            return Err(close(4010, "Invalid shard."));
        }
        // One connection per shard. Discord's close codes have none for this; 4005 ("already
        // authenticated") is the nearest, and twilight reconnects after it, through its
        // identify queue, as a task replacing a lingering one should.
        if self
            .sessions
            .values()
            .any(|s| s.shard == shard && s.conn.is_some())
        {
            self.record(Seen::ShardTaken { shard });
            return Err(close(4005, "Shard already connected."));
        }
        self.record(Seen::Identify { shard });
        let session_id = format!("{:032x}", rand::random::<u128>());
        self.sessions_made += 1;
        self.sessions.insert(
            session_id.clone(),
            Session {
                shard,
                born: self.sessions_made,
                sent: Vec::new(),
                seq: 0,
                conn: Some(conn),
            },
        );
        let ready = self.ready(&session_id, shard);
        self.dispatch(&session_id, DispatchEvent::Ready(ready));
        let guilds: Vec<_> = self
            .config
            .guilds
            .iter()
            .filter(|g| shard_of(g.id, shard[1]) == shard[0])
            .map(|g| self.guild_create(g))
            .collect();
        for guild in guilds {
            self.dispatch(
                &session_id,
                DispatchEvent::GuildCreate(Box::new(GuildCreate::Available(guild))),
            );
        }
        Ok(())
    }

    /// Resume: replays what the client missed, then RESUMED. Unknown sessions are invalid.
    fn resume(&mut self, resume: Resume, conn: mpsc::UnboundedSender<Outgoing>) -> bool {
        let ok = resume.d.token.trim_start_matches("Bot ") == self.config.token
            && self.sessions.contains_key(&resume.d.session_id);
        self.record(Seen::Resume { ok });
        if !ok {
            let text =
                serde_json::to_string(&GatewayEvent::InvalidateSession(false)).expect("serializes");
            let _ = conn.send(Outgoing::Text(text));
            return false;
        }
        let Some(session) = self.sessions.get_mut(&resume.d.session_id) else {
            return false;
        };
        for (seq, text) in &session.sent {
            if *seq > resume.d.seq {
                let _ = conn.send(Outgoing::Text(text.clone()));
            }
        }
        session.conn = Some(conn);
        self.dispatch(&resume.d.session_id, DispatchEvent::Resumed);
        true
    }

    /// Op 4: the bot's own VOICE_STATE_UPDATE, then (joining) VOICE_SERVER_UPDATE with a
    /// fresh token the voice server will accept.
    fn voice_update(&mut self, session_id: &str, update: UpdateVoiceState) {
        let guild = update.d.guild_id.get();
        let channel = update.d.channel_id.map(|c| c.get());
        let Some(shard) = self.sessions.get(session_id).map(|s| s.shard) else {
            return;
        };
        self.record(Seen::VoiceUpdate {
            guild,
            channel,
            shard,
        });
        // The guild is not on this connection: nothing answers, and a join would time out.
        if shard_of(guild, shard[1]) != shard[0] {
            return;
        }
        let bot = self.config.bot_user;
        match channel {
            Some(c) => self.voice.insert((guild, bot), c),
            None => self.voice.remove(&(guild, bot)),
        };
        let state = voice_state(guild, bot, true, channel, session_id);
        self.dispatch(
            session_id,
            DispatchEvent::VoiceStateUpdate(Box::new(VoiceStateUpdate(state))),
        );
        if let Some(channel) = channel {
            let token = format!("{:016x}", rand::random::<u64>());
            self.voice_host
                .authorize(guild, channel, bot, session_id, &token);
            let endpoint = self.voice_host.endpoint();
            self.dispatch(
                session_id,
                DispatchEvent::VoiceServerUpdate(VoiceServerUpdate {
                    endpoint: Some(endpoint),
                    guild_id: Id::new(guild),
                    token,
                }),
            );
        } else {
            self.voice_host.left(guild, bot);
        }
    }
}

/// One client connection: Hello, then its opcodes until it goes.
async fn connection(
    mut ws: tokio_websockets::WebSocketStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
) {
    let interval = state
        .lock()
        .expect("fake gateway lock")
        .config
        .heartbeat_interval;
    let hello = GatewayEvent::Hello(Hello {
        heartbeat_interval: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
    });
    let hello = serde_json::to_string(&hello).expect("serializes");
    if ws.send(Message::text(hello)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut session: Option<String> = None;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                // Dropping the socket without a close frame, as a network fault would.
                Some(Outgoing::Drop) | None => return,
            },
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { break };
                let Some(text) = msg.as_text() else {
                    if msg.is_close() { break }
                    continue;
                };
                let reply = handle(text, &state, &tx, &mut session);
                changed.notify_waiters();
                match reply {
                    Reply::None => {}
                    Reply::Send(text) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Reply::Close(code, reason) => {
                        let _ = ws.send(Message::close(Some(code), reason)).await;
                        break;
                    }
                }
            }
        }
    }
    if let Some(id) = session {
        if let Some(s) = state
            .lock()
            .expect("fake gateway lock")
            .sessions
            .get_mut(&id)
        {
            s.conn = None;
        }
    }
    changed.notify_waiters();
}

enum Reply {
    None,
    Send(String),
    Close(CloseCode, &'static str),
}

/// Gateway close codes (Discord's docs): 4001 unknown opcode, 4002 decode error,
/// 4003 not authenticated, 4004 authentication failed.
fn close(code: u16, reason: &'static str) -> Reply {
    Reply::Close(
        CloseCode::try_from(code).expect("a valid application close code"),
        reason,
    )
}

fn handle(
    text: &str,
    state: &Mutex<State>,
    tx: &mpsc::UnboundedSender<Outgoing>,
    session: &mut Option<String>,
) -> Reply {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return close(4002, "Decode error");
    };
    let mut st = state.lock().expect("fake gateway lock");
    match value.get("op").and_then(|o| o.as_u64()) {
        Some(1) => {
            st.record(Seen::Heartbeat);
            Reply::Send(serde_json::to_string(&GatewayEvent::HeartbeatAck).expect("serializes"))
        }
        Some(2) => {
            let Ok(identify) = serde_json::from_value::<Identify>(value) else {
                return close(4002, "Decode error");
            };
            if let Err(refusal) = st.identify(identify, tx.clone()) {
                return refusal;
            }
            *session = st
                .sessions
                .iter()
                .find(|(_, s)| s.conn.as_ref().is_some_and(|c| c.same_channel(tx)))
                .map(|(id, _)| id.clone());
            Reply::None
        }
        Some(4) => {
            let (Some(id), Ok(update)) = (
                session.as_ref(),
                serde_json::from_value::<UpdateVoiceState>(value),
            ) else {
                return close(4003, "Not authenticated.");
            };
            st.voice_update(&id.clone(), update);
            Reply::None
        }
        Some(6) => {
            let Ok(resume) = serde_json::from_value::<Resume>(value) else {
                return close(4002, "Decode error");
            };
            let id = resume.d.session_id.clone();
            if st.resume(resume, tx.clone()) {
                *session = Some(id);
            }
            Reply::None
        }
        _ => close(4001, "Unknown opcode."),
    }
}
