//! One voice call's DAVE side, as Discord's voice server runs it: the MLS external sender and
//! delivery service ([`DaveServer`]), the simulated people in the channel ([`Listener`]s, real
//! davey sessions), the route between them and the bot's WebSocket, and the judgement of every
//! frame the bot sends: who could decrypt it, and whether it should have been encrypted.

use std::collections::VecDeque;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use crate::dave::{
    opcode, DaveError, DaveServer, GatewayMessage, Listener, Outbound, DAVE_PROTOCOL_VERSION,
};

/// What the voice server says about DAVE in Session Description (op 4), and how it runs the
/// call's group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaveMode {
    /// `dave_protocol_version: 0`: transport encryption only, the path before Discord required
    /// DAVE (March 2026). Every frame is plain Opus and is heard as such.
    Off,
    /// DAVE protocol version 1, as Discord runs it: the handshake, then every frame is
    /// end-to-end encrypted. `committer` says who wins the commit races.
    V1 { committer: Committer },
    /// Session Description offers this version, which no client here speaks (songbird 0.6.1
    /// speaks only 1).
    Unsupported(u16),
    /// Session Description says version 1, then the server never goes on: no op 25, no
    /// proposals, so the handshake never completes.
    Stalled,
}

impl Default for DaveMode {
    fn default() -> Self {
        Self::V1 {
            committer: Committer::Members,
        }
    }
}

impl DaveMode {
    /// The `dave_protocol_version` op 4 carries for a client that can speak up to `max`.
    pub(super) fn session_version(self, max: Option<u16>) -> u16 {
        match self {
            Self::Off => 0,
            Self::V1 { .. } | Self::Stalled => crate::dave::negotiate_protocol_version(max),
            Self::Unsupported(v) => v,
        }
    }
}

/// Who commits when both the bot and the simulated members could.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committer {
    /// The members answer proposals at once, so they win: the bot is welcomed (op 30) and
    /// learns later epochs from their commits (op 29). What happens when people were in the
    /// channel before the bot, as they are when someone asks it to play.
    Members,
    /// The members' commits are lost whenever the bot is in the call too, so the bot's own
    /// commit wins: it adds and welcomes the others and removes those who leave.
    Bot,
}

/// One simulated member's view of the bot's frames.
#[derive(Debug, Clone)]
pub struct ListenerRecord {
    pub user: u64,
    pub joined_at: Instant,
    /// When it left the call; it keeps trying to decrypt what the bot sends, as a removed
    /// member who kept its keys would.
    pub left_at: Option<Instant>,
    /// Frames from the bot it decrypted, and DAVE frames it could not.
    pub decrypted: usize,
    pub failed: usize,
    /// Once it has left: whether it decrypted each frame the bot sent, in arrival order.
    pub after_leaving: Vec<bool>,
    /// Its MLS epoch and the voice privacy code its client would show.
    pub epoch: Option<u64>,
    pub privacy_code: Option<String>,
}

/// The call's DAVE state as a person in it would see it, and the bot's side of the exchange.
#[derive(Debug, Clone, Default)]
pub struct DaveView {
    /// What op 4 said to the bot's last session.
    pub protocol_version: u16,
    /// The group's epoch as the server sees it (0 while it has no group).
    pub epoch: u64,
    /// Users in the group, by leaf.
    pub members: Vec<u64>,
    /// Everyone simulated in the call, present or gone, in the order they joined.
    pub listeners: Vec<ListenerRecord>,
    /// Opcodes the server sent to the bot and received from it, in order.
    pub to_bot: Vec<u8>,
    pub from_bot: Vec<u8>,
    /// Messages the server refused (a commit that lost its race, a malformed frame).
    pub refused: usize,
    /// When the bot's handshake began (op 4 with version 1 sent) and when the group was ready
    /// for it (its op 23): how long DAVE adds to a join.
    pub handshake_started_at: Option<Instant>,
    pub ready_at: Option<Instant>,
}

impl DaveView {
    /// The first member still in the call: whose client the demo describes.
    pub fn present(&self) -> Option<&ListenerRecord> {
        self.listeners.iter().find(|l| l.left_at.is_none())
    }

    pub fn listener(&self, user: u64) -> Option<&ListenerRecord> {
        self.listeners.iter().rev().find(|l| l.user == user)
    }
}

/// What one frame from the bot turned out to be.
#[derive(Debug)]
pub(super) enum Judged {
    /// Opus a member can play: decrypted from DAVE, or plain when DAVE is off.
    Heard { opus: Vec<u8>, e2ee: bool },
    /// The silence frame, which DAVE passes through by design.
    Silence,
    /// Opus without DAVE protection in a DAVE call: members' clients drop it.
    Plaintext { after_ready: bool },
    /// A DAVE frame no member could decrypt.
    Undecryptable,
}

/// Packets of slack after the bot says it is ready (op 23) before a plaintext frame counts as
/// a fault even with no encrypted frame seen yet: frames mixed just before the keys arrived
/// may still be in flight.
const READY_SLACK_PACKETS: usize = 25;

struct Member {
    listener: Listener,
    record: ListenerRecord,
}

struct BotLink {
    user: u64,
    /// The WebSocket connection that holds the bot's session now; messages wait in
    /// `backlog` while none does (between a drop and a Resume).
    tx: Option<UnboundedSender<GatewayMessage>>,
    backlog: Vec<GatewayMessage>,
}

/// The group is ready for the bot: it processed its welcome or commit and said so (op 23).
/// From then on every non-silent frame it sends must be end-to-end encrypted.
struct Ready {
    /// RTP sequence of the first DAVE frame since then: the mixer encrypts in order, so any
    /// plaintext frame after it is a fault.
    first_e2ee: Option<u16>,
    packets: usize,
}

pub(super) struct Call {
    pub(super) guild: u64,
    pub(super) channel: u64,
    mode: DaveMode,
    server: Option<DaveServer>,
    members: Vec<Member>,
    departed: Vec<Member>,
    bot: Option<BotLink>,
    ready: Option<Ready>,
    view: DaveView,
}

/// `a` comes after `b` in RTP sequence order (which wraps).
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl Call {
    pub(super) fn new(guild: u64, channel: u64, mode: DaveMode) -> Self {
        let server = match mode {
            DaveMode::V1 { .. } => match DaveServer::new(channel) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "fake voice: no DAVE external sender key");
                    None
                }
            },
            _ => None,
        };
        Self {
            guild,
            channel,
            mode,
            server,
            members: Vec::new(),
            departed: Vec::new(),
            bot: None,
            ready: None,
            view: DaveView::default(),
        }
    }

    pub(super) fn view(&self) -> DaveView {
        let mut view = self.view.clone();
        if let Some(server) = &self.server {
            view.epoch = server.epoch();
            view.members = server.members().into_iter().map(|(_, u)| u).collect();
        }
        view.listeners = self
            .departed
            .iter()
            .chain(&self.members)
            .map(|m| {
                let mut r = m.record.clone();
                r.epoch = m.listener.epoch();
                r.privacy_code = m.listener.privacy_code();
                r
            })
            .collect();
        view.listeners.sort_by_key(|r| r.joined_at);
        view
    }

    pub(super) fn has_member(&self, user: u64) -> bool {
        self.members.iter().any(|m| m.listener.user_id() == user)
    }

    /// A simulated person joins: a DAVE client that announces itself with a key package.
    pub(super) fn member_joined(&mut self, user: u64) {
        if self.has_member(user) {
            return;
        }
        let mut listener = match Listener::new(user, self.channel) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, user, "fake voice: no DAVE session for a member");
                return;
            }
        };
        let mut out = Vec::new();
        if let Some(server) = self.server.as_mut() {
            match server.client_connected(user) {
                Ok(o) => out.extend(o),
                Err(e) => tracing::warn!(error = %e, user, "fake voice: member not connected"),
            }
        }
        let key_package = self.server.is_some().then(|| listener.key_package());
        self.members.push(Member {
            listener,
            record: ListenerRecord {
                user,
                joined_at: Instant::now(),
                left_at: None,
                decrypted: 0,
                failed: 0,
                after_leaving: Vec::new(),
                epoch: None,
                privacy_code: None,
            },
        });
        // Its connection's messages first (op 25 creates its pending group), then its op 26.
        self.route(out);
        if let Some(key_package) = key_package {
            match key_package {
                Ok(kp) => self.member_sent(user, kp),
                Err(e) => tracing::warn!(error = %e, user, "fake voice: no key package"),
            }
        }
    }

    /// A simulated person leaves. It keeps its session, and keeps trying to decrypt.
    pub(super) fn member_left(&mut self, user: u64) {
        let Some(i) = self
            .members
            .iter()
            .position(|m| m.listener.user_id() == user)
        else {
            return;
        };
        let mut member = self.members.remove(i);
        member.record.left_at = Some(Instant::now());
        self.departed.push(member);
        if let Some(server) = self.server.as_mut() {
            match server.client_disconnected(user) {
                Ok(out) => self.route(out),
                Err(e) => tracing::debug!(error = %e, user, "fake voice: member was not a client"),
            }
        }
    }

    /// The bot's voice connection got op 4 with `version`: it joins the group (op 11, op 25).
    pub(super) fn bot_connected(
        &mut self,
        user: u64,
        version: u16,
        tx: UnboundedSender<GatewayMessage>,
    ) {
        // A new session replaces any earlier one of the same user in this call.
        self.bot_gone();
        self.view.protocol_version = version;
        self.view.to_bot.clear();
        self.view.from_bot.clear();
        self.view.handshake_started_at = (version == DAVE_PROTOCOL_VERSION).then(Instant::now);
        self.view.ready_at = None;
        self.bot = Some(BotLink {
            user,
            tx: Some(tx),
            backlog: Vec::new(),
        });
        if version != DAVE_PROTOCOL_VERSION {
            return;
        }
        if let Some(server) = self.server.as_mut() {
            match server.client_connected(user) {
                Ok(out) => self.route(out),
                Err(e) => tracing::warn!(error = %e, user, "fake voice: bot not connected"),
            }
        }
    }

    /// The bot's session carries on over a new WebSocket (Resume): what waited goes now.
    pub(super) fn bot_resumed(&mut self, tx: UnboundedSender<GatewayMessage>) {
        if let Some(bot) = self.bot.as_mut() {
            for message in bot.backlog.drain(..) {
                let _ = tx.send(message);
            }
            bot.tx = Some(tx);
        }
    }

    /// The bot's WebSocket closed; its session may still be resumed.
    pub(super) fn bot_dropped(&mut self) {
        if let Some(bot) = self.bot.as_mut() {
            bot.tx = None;
        }
    }

    /// The bot left the channel: it leaves the group.
    pub(super) fn bot_gone(&mut self) {
        let Some(bot) = self.bot.take() else {
            return;
        };
        self.ready = None;
        if let Some(server) = self.server.as_mut() {
            if server.clients().contains(&bot.user) {
                match server.client_disconnected(bot.user) {
                    Ok(out) => self.route(out),
                    Err(e) => tracing::debug!(error = %e, "fake voice: bot was not a client"),
                }
            }
        }
    }

    pub(super) fn bot_user(&self) -> Option<u64> {
        self.bot.as_ref().map(|b| b.user)
    }

    /// A binary DAVE message from the bot (op 26 key package, op 28 commit and welcome).
    pub(super) fn bot_sent_binary(&mut self, bytes: &[u8]) {
        let Some(user) = self.bot_user() else {
            return;
        };
        if let Some(&op) = bytes.first() {
            self.view.from_bot.push(op);
        }
        let Some(server) = self.server.as_mut() else {
            return;
        };
        match server.handle_binary(user, bytes) {
            Ok(out) => self.route(out),
            Err(e) => self.refused(user, &e),
        }
    }

    /// A JSON DAVE message from the bot (op 23 ready, op 31 invalid commit or welcome).
    pub(super) fn bot_sent_json(&mut self, op: u8, message: &serde_json::Value) {
        let Some(user) = self.bot_user() else {
            return;
        };
        self.view.from_bot.push(op);
        match op {
            // The bot processed its welcome or commit: its keys are the group's.
            opcode::READY_FOR_TRANSITION => {
                let member = self
                    .server
                    .as_ref()
                    .is_some_and(|s| s.members().iter().any(|&(_, u)| u == user));
                if member && self.ready.is_none() {
                    self.ready = Some(Ready {
                        first_e2ee: None,
                        packets: 0,
                    });
                    self.view.ready_at.get_or_insert_with(Instant::now);
                }
            }
            // It threw its group away and starts again.
            opcode::MLS_INVALID_COMMIT_WELCOME => self.ready = None,
            _ => {}
        }
        let Some(server) = self.server.as_mut() else {
            return;
        };
        match server.handle_json(user, message) {
            Ok(out) => self.route(out),
            Err(e) => self.refused(user, &e),
        }
    }

    fn refused(&mut self, from: u64, e: &DaveError) {
        // A commit that lost its race is refused as a matter of course; the winner's op 29
        // or op 30 brings the loser along.
        tracing::debug!(from, error = %e, "fake voice: DAVE message refused");
        self.view.refused += 1;
    }

    fn member_sent(&mut self, user: u64, message: GatewayMessage) {
        let mut queue = VecDeque::new();
        self.member_sent_into(user, message, &mut queue);
        self.route(queue);
    }

    /// Delivers the server's messages in order, breadth first, as one FIFO connection per
    /// client would; members answer at once, and their answers join the queue.
    fn route(&mut self, out: impl Into<VecDeque<Outbound>>) {
        let mut queue: VecDeque<Outbound> = out.into();
        // A bound, not a timer: a handshake is a few dozen messages.
        for _ in 0..10_000 {
            let Some(Outbound { to, message }) = queue.pop_front() else {
                return;
            };
            if self.bot_user() == Some(to) {
                self.send_to_bot(message);
                continue;
            }
            let Some(member) = self.members.iter_mut().find(|m| m.listener.user_id() == to) else {
                continue;
            };
            let replies = match member.listener.handle(&message) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(user = to, error = %e, "fake voice: a member failed a DAVE message");
                    continue;
                }
            };
            for reply in replies {
                self.member_sent_into(to, reply, &mut queue);
            }
        }
        tracing::warn!("fake voice: DAVE messages kept coming; stopped routing");
    }

    fn member_sent_into(
        &mut self,
        user: u64,
        message: GatewayMessage,
        queue: &mut VecDeque<Outbound>,
    ) {
        let bot_in_call = self
            .bot
            .as_ref()
            .zip(self.server.as_ref())
            .is_some_and(|(b, s)| s.clients().contains(&b.user));
        // Under `Committer::Bot` the members' commits are lost on the way, so the bot's wins.
        let bot_commits = self.mode
            == DaveMode::V1 {
                committer: Committer::Bot,
            };
        if bot_commits && bot_in_call && message.opcode() == Some(opcode::MLS_COMMIT_WELCOME) {
            return;
        }
        let Some(server) = self.server.as_mut() else {
            return;
        };
        let result = match &message {
            GatewayMessage::Binary(frame) => server.handle_binary(user, &frame.to_ws_bytes()),
            GatewayMessage::Json(value) => server.handle_json(user, value),
        };
        match result {
            Ok(out) => queue.extend(out),
            Err(e) => self.refused(user, &e),
        }
    }

    fn send_to_bot(&mut self, message: GatewayMessage) {
        let op = message.opcode();
        if let Some(op) = op {
            self.view.to_bot.push(op);
        }
        // A sole-member reset: the bot drops its group and is alone, so plain Opus is right
        // again until someone joins.
        if op == Some(opcode::PREPARE_EPOCH) {
            self.ready = None;
        }
        if let Some(bot) = self.bot.as_mut() {
            match &bot.tx {
                Some(tx) if tx.send(message.clone()).is_ok() => {}
                _ => bot.backlog.push(message),
            }
        }
    }

    /// Judges one frame the bot sent (the RTP payload, transport encryption removed).
    pub(super) fn judge(&mut self, sequence: u16, payload: &[u8]) -> Judged {
        let Some(bot) = self.bot_user() else {
            return Judged::Undecryptable;
        };
        if self.view.protocol_version == 0 {
            return Judged::Heard {
                opus: payload.to_vec(),
                e2ee: false,
            };
        }
        if let Some(ready) = self.ready.as_mut() {
            ready.packets += 1;
        }
        if payload == crate::audio::SILENT_FRAME {
            return Judged::Silence;
        }
        if payload.ends_with(&crate::dave::DAVE_MAGIC_MARKER) {
            let mut heard = None;
            for member in self.members.iter_mut() {
                match member.listener.decrypt_opus(bot, payload) {
                    Ok(opus) => {
                        member.record.decrypted += 1;
                        heard.get_or_insert(opus);
                    }
                    Err(_) => member.record.failed += 1,
                }
            }
            for member in self.departed.iter_mut() {
                let ok = member.listener.decrypt_opus(bot, payload).is_ok();
                member.record.after_leaving.push(ok);
                if ok {
                    member.record.decrypted += 1;
                } else {
                    member.record.failed += 1;
                }
            }
            return match heard {
                Some(opus) => {
                    if let Some(ready) = self.ready.as_mut() {
                        ready.first_e2ee.get_or_insert(sequence);
                    }
                    Judged::Heard { opus, e2ee: true }
                }
                None => Judged::Undecryptable,
            };
        }
        let after_ready = self.ready.as_ref().is_some_and(|r| {
            r.first_e2ee.is_some_and(|s| seq_after(sequence, s)) || r.packets > READY_SLACK_PACKETS
        });
        Judged::Plaintext { after_ready }
    }
}

#[cfg(test)]
mod tests {
    use super::seq_after;

    #[test]
    fn sequence_order_wraps() {
        assert!(seq_after(2, 1));
        assert!(!seq_after(1, 2));
        assert!(!seq_after(5, 5));
        assert!(seq_after(3, 65_530));
        assert!(!seq_after(65_530, 3));
    }
}
