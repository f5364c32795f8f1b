//! The fake's DAVE side against davey directly, no network: `DaveServer` (the voice server's
//! MLS external sender), a davey session driven exactly as songbird 0.6.1's voice task drives
//! it (`SongbirdBot`, frames parsed and serialised with the same serenity-voice-model 0.3.0
//! functions songbird uses), and `Listener`s. Key packages, proposals, commits, welcomes and
//! encrypted frames: a failure here points at the fake, one in the voice tests at the bot.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::num::NonZeroU16;

use davey::{DaveSession, SessionStatus};
use serenity_voice_model::id::UserId;
use serenity_voice_model::payload::{
    DaveMlsCommitWelcome, DaveMlsInvalidCommitWelcome, DaveMlsKeyPackage,
    DaveMlsProposalsOperationType, DaveTransitionReady,
};
use serenity_voice_model::{deserialize_binary_event, serialize_binary_event, Event};
use timmybot_fake_discord::dave::{
    self, opcode, BinaryFrame, DaveError, DaveServer, GatewayMessage, Listener, Outbound,
};

const CHANNEL: u64 = 1_234_567_890_123_456_789;
const BOT: u64 = 900_000_000_000_000_001;
const ALICE: u64 = 100_000_000_000_000_002;
const BOB: u64 = 100_000_000_000_000_003;
const CAROL: u64 = 100_000_000_000_000_004;

/// An Opus frame as songbird's mixer would hand to DAVE (content is irrelevant to DAVE).
const OPUS: &[u8] = &[
    0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xec, 0xc5, 0x80, 0x1a, 0x42, 0x99, 0x10,
];
const SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

// ---------------------------------------------------------------------------------------------
// The bot: a transcription of songbird 0.6.1 src/driver/connection/mod.rs (init_cipher) and
// src/driver/tasks/ws.rs (process_ws, reinit_dave_session, execute_dave_transition) and the DAVE
// step of src/driver/tasks/mixer/mod.rs, minus tokio.

/// A WebSocket message on the wire.
#[derive(Debug, Clone)]
enum Wire {
    Text(String),
    Binary(Vec<u8>),
}

struct SongbirdBot {
    user_id: u64,
    channel_id: u64,
    session: Option<DaveSession>,
    dave_protocol_version: u16,
    pending_transitions: HashMap<u16, u16>,
    recognized_user_ids: HashSet<UserId>,
    /// songbird's `warn!`s about DAVE, and frames its parser dropped.
    warnings: Vec<String>,
    /// Opcodes of every frame received, in order.
    received: Vec<u8>,
}

/// ws.rs `convert_ws_message`: parse failures are swallowed (`.ok()`), like songbird does.
fn convert_ws_message(wire: &Wire) -> Option<Event> {
    match wire {
        Wire::Text(text) => serde_json::from_str(text).ok(),
        Wire::Binary(bytes) => deserialize_binary_event(bytes).ok(),
    }
}

fn send_json(event: Event) -> Wire {
    Wire::Text(serde_json::to_string(&event).expect("songbird serialises its events"))
}

fn send_binary(event: Event) -> Wire {
    Wire::Binary(serialize_binary_event(&event).expect("songbird serialises its binary events"))
}

impl SongbirdBot {
    fn new(user_id: u64, channel_id: u64) -> Self {
        let mut recognized_user_ids = HashSet::new();
        recognized_user_ids.insert(UserId(user_id));
        Self {
            user_id,
            channel_id,
            session: None,
            dave_protocol_version: 0,
            pending_transitions: HashMap::new(),
            recognized_user_ids,
            warnings: Vec::new(),
            received: Vec::new(),
        }
    }

    fn receive(&mut self, wire: &Wire) -> Vec<Wire> {
        let Some(event) = convert_ws_message(wire) else {
            self.warnings
                .push(format!("dropped unparseable frame {wire:?}"));
            return Vec::new();
        };
        self.received.push(event.kind() as u8);
        match event {
            // connection/mod.rs init_cipher
            Event::SessionDescription(desc) => {
                self.dave_protocol_version = desc.dave_protocol_version;
                let Some(version) = NonZeroU16::new(desc.dave_protocol_version) else {
                    return Vec::new();
                };
                let mut session = DaveSession::new(version, self.user_id, self.channel_id, None)
                    .expect("DaveInitializationError would abort the connection");
                let key_package = session.create_key_package().expect("key package");
                self.session = Some(session);
                vec![send_binary(Event::DaveMlsKeyPackage(DaveMlsKeyPackage {
                    key_package,
                }))]
            }
            other => self.process_ws(other),
        }
    }

    fn process_ws(&mut self, event: Event) -> Vec<Wire> {
        let mut out = Vec::new();
        match event {
            Event::ClientDisconnect(ev) => {
                self.recognized_user_ids.remove(&ev.user_id);
            }
            Event::ClientsConnect(ev) => {
                self.recognized_user_ids.extend(&ev.user_ids);
            }
            Event::DavePrepareTransition(ev) => {
                self.pending_transitions
                    .insert(ev.transition_id, ev.protocol_version);
                if ev.transition_id == 0 {
                    self.execute_dave_transition(ev.transition_id);
                } else if ev.protocol_version == 0 {
                    if let Some(s) = self.session.as_mut() {
                        s.set_passthrough_mode(true, Some(120));
                    }
                    out.push(send_json(Event::DaveTransitionReady(DaveTransitionReady {
                        transition_id: ev.transition_id,
                        protocol_version: ev.protocol_version,
                    })));
                }
            }
            Event::DaveExecuteTransition(ev) => self.execute_dave_transition(ev.transition_id),
            Event::DavePrepareEpoch(ev) if ev.epoch == 1 => {
                self.dave_protocol_version = ev.protocol_version;
                out.extend(self.reinit_dave_session());
            }
            Event::DaveMlsExternalSender(ev) => {
                if let Some(s) = self.session.as_mut() {
                    if let Err(e) = s.set_external_sender(&ev.external_sender) {
                        self.warnings
                            .push(format!("error setting MLS external sender: {e:?}"));
                    }
                }
            }
            Event::DaveMlsProposals(ev) => {
                let operation_type = match ev.operation_type {
                    DaveMlsProposalsOperationType::Append => davey::ProposalsOperationType::APPEND,
                    DaveMlsProposalsOperationType::Revoke => davey::ProposalsOperationType::REVOKE,
                };
                let recognized: Vec<u64> = self.recognized_user_ids.iter().map(|u| u.0).collect();
                let result = match self.session.as_mut() {
                    Some(s) => {
                        match s.process_proposals(operation_type, &ev.proposals, Some(&recognized))
                        {
                            Ok(r) => r,
                            Err(e) => {
                                self.warnings
                                    .push(format!("error processing MLS proposals: {e:?}"));
                                None
                            }
                        }
                    }
                    None => None,
                };
                if let Some(cw) = result {
                    out.push(send_binary(Event::DaveMlsCommitWelcome(
                        DaveMlsCommitWelcome {
                            commit: cw.commit,
                            welcome: cw.welcome,
                        },
                    )));
                }
            }
            Event::DaveMlsAnnounceCommitTransition(ev) => {
                let result = self.session.as_mut().map(|s| {
                    s.process_commit(&ev.commit_message)
                        .map_err(|e| format!("{e:?}"))
                });
                out.extend(self.after_commit_or_welcome("commit", ev.transition_id, result));
            }
            Event::DaveMlsWelcome(ev) => {
                let result = self
                    .session
                    .as_mut()
                    .map(|s| s.process_welcome(&ev.welcome).map_err(|e| format!("{e:?}")));
                out.extend(self.after_commit_or_welcome("welcome", ev.transition_id, result));
            }
            _ => {}
        }
        out
    }

    fn after_commit_or_welcome(
        &mut self,
        what: &str,
        transition_id: u16,
        result: Option<Result<(), String>>,
    ) -> Vec<Wire> {
        match result {
            Some(Ok(())) if transition_id != 0 => {
                let protocol_version = self.dave_protocol_version;
                self.pending_transitions
                    .insert(transition_id, protocol_version);
                vec![send_json(Event::DaveTransitionReady(DaveTransitionReady {
                    transition_id,
                    protocol_version,
                }))]
            }
            Some(Err(e)) => {
                self.warnings.push(format!("MLS {what} errored: {e}"));
                let mut out = vec![send_json(Event::DaveMlsInvalidCommitWelcome(
                    DaveMlsInvalidCommitWelcome { transition_id },
                ))];
                out.extend(self.reinit_dave_session());
                out
            }
            Some(Ok(())) | None => Vec::new(),
        }
    }

    fn reinit_dave_session(&mut self) -> Vec<Wire> {
        if let Some(version) = NonZeroU16::new(self.dave_protocol_version) {
            let key_package = match self.session.as_mut() {
                Some(s) => {
                    s.reinit(version, self.user_id, self.channel_id, None)
                        .expect("reinit");
                    s.create_key_package().expect("key package")
                }
                None => {
                    let mut s = DaveSession::new(version, self.user_id, self.channel_id, None)
                        .expect("session");
                    let kp = s.create_key_package().expect("key package");
                    self.session = Some(s);
                    kp
                }
            };
            vec![send_binary(Event::DaveMlsKeyPackage(DaveMlsKeyPackage {
                key_package,
            }))]
        } else {
            if let Some(s) = self.session.as_mut() {
                s.reset().expect("reset");
                s.set_passthrough_mode(true, Some(10));
            }
            Vec::new()
        }
    }

    fn execute_dave_transition(&mut self, transition_id: u16) {
        let Some(new_version) = self.pending_transitions.get(&transition_id).copied() else {
            self.warnings.push(format!(
                "Received DaveExecuteTransition for unknown transition ID {transition_id}"
            ));
            return;
        };
        let old_version = self.dave_protocol_version;
        self.dave_protocol_version = new_version;
        if transition_id > 0 && old_version == 0 && new_version != 0 {
            if let Some(s) = self.session.as_mut() {
                s.set_passthrough_mode(true, Some(10));
            }
        }
        self.pending_transitions.remove(&transition_id);
    }

    /// mixer/mod.rs: DAVE-encrypt the Opus payload iff the protocol version is non-zero and the
    /// session is ready; otherwise send it as is (transport encryption only).
    fn mixer_payload(&mut self, opus: &[u8]) -> Vec<u8> {
        if self.dave_protocol_version != 0 {
            if let Some(s) = self.session.as_mut() {
                if s.is_ready() {
                    return s.encrypt_opus(opus).expect("DaveEncrypt").into_owned();
                }
            }
        }
        opus.to_vec()
    }

    fn session(&self) -> &DaveSession {
        self.session.as_ref().expect("bot has a DAVE session")
    }
}

// ---------------------------------------------------------------------------------------------
// A call: the server, the bot, listeners, and one FIFO of WebSocket messages between them.

#[derive(Debug, Clone)]
enum Envelope {
    ToClient(u64, Wire),
    ToServer(u64, Wire),
}

struct Call {
    server: DaveServer,
    bot: SongbirdBot,
    listeners: BTreeMap<u64, Listener>,
    queue: VecDeque<Envelope>,
    /// Messages the server rejected (a real gateway drops them): (from, error).
    server_errors: Vec<(u64, String)>,
    /// Errors a listener returned.
    listener_errors: Vec<(u64, String)>,
}

fn to_wire(message: &GatewayMessage) -> Wire {
    match message {
        GatewayMessage::Binary(frame) => Wire::Binary(frame.to_ws_bytes()),
        GatewayMessage::Json(value) => Wire::Text(value.to_string()),
    }
}

fn from_wire(wire: &Wire) -> GatewayMessage {
    match wire {
        Wire::Binary(bytes) => {
            GatewayMessage::Binary(BinaryFrame::from_ws_bytes(bytes).expect("non-empty frame"))
        }
        Wire::Text(text) => GatewayMessage::Json(serde_json::from_str(text).expect("JSON")),
    }
}

/// Op 4 as the fake gateway sends it: `dave_protocol_version` is mandatory for songbird.
fn session_description(dave_protocol_version: u16) -> Wire {
    Wire::Text(
        serde_json::json!({
            "op": 4,
            "d": {
                "mode": "aead_xchacha20_poly1305_rtpsize",
                "secret_key": vec![7u8; 32],
                "dave_protocol_version": dave_protocol_version,
            }
        })
        .to_string(),
    )
}

impl Call {
    fn new() -> Self {
        Self {
            server: DaveServer::new(CHANNEL).expect("server"),
            bot: SongbirdBot::new(BOT, CHANNEL),
            listeners: BTreeMap::new(),
            queue: VecDeque::new(),
            server_errors: Vec::new(),
            listener_errors: Vec::new(),
        }
    }

    fn push_outbound(&mut self, out: Vec<Outbound>) {
        for o in out {
            self.queue
                .push_back(Envelope::ToClient(o.to, to_wire(&o.message)));
        }
    }

    /// The bot's voice connection: op 4 (it answers with op 26), then op 11 / op 25.
    fn connect_bot(&mut self) {
        let out = self.server.client_connected(BOT).expect("connect bot");
        self.queue
            .push_back(Envelope::ToClient(BOT, session_description(1)));
        self.push_outbound(out);
    }

    fn connect_listener(&mut self, user_id: u64) {
        let mut listener = Listener::new(user_id, CHANNEL).expect("listener");
        let out = self.server.client_connected(user_id).expect("connect");
        self.push_outbound(out);
        let kp = listener.key_package().expect("key package");
        self.queue
            .push_back(Envelope::ToServer(user_id, to_wire(&kp)));
        self.listeners.insert(user_id, listener);
    }

    /// The listener hangs up; its session is handed back (it keeps its old keys).
    fn disconnect_listener(&mut self, user_id: u64) -> Listener {
        let listener = self.listeners.remove(&user_id).expect("connected");
        let out = self
            .server
            .client_disconnected(user_id)
            .expect("disconnect");
        self.push_outbound(out);
        listener
    }

    fn step(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::ToClient(to, wire) => {
                let replies = if to == BOT {
                    self.bot.receive(&wire)
                } else if let Some(l) = self.listeners.get_mut(&to) {
                    match l.handle(&from_wire(&wire)) {
                        Ok(replies) => replies.iter().map(to_wire).collect(),
                        Err(e) => {
                            self.listener_errors.push((to, e.to_string()));
                            Vec::new()
                        }
                    }
                } else {
                    Vec::new() // gone
                };
                for r in replies {
                    self.queue.push_back(Envelope::ToServer(to, r));
                }
            }
            Envelope::ToServer(from, wire) => {
                let result = match &wire {
                    Wire::Binary(bytes) => self.server.handle_binary(from, bytes),
                    Wire::Text(text) => {
                        let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
                        self.server.handle_json(from, &value)
                    }
                };
                match result {
                    Ok(out) => self.push_outbound(out),
                    Err(e) => self.server_errors.push((from, e.to_string())),
                }
            }
        }
    }

    /// Delivers everything until the call is quiet.
    fn pump(&mut self) {
        self.pump_until(|_| false);
    }

    /// Delivers messages until the next one matches `stop`, which is taken off and returned.
    fn pump_until(&mut self, stop: impl Fn(&Envelope) -> bool) -> Option<Envelope> {
        for _ in 0..10_000 {
            let envelope = self.queue.pop_front()?;
            if stop(&envelope) {
                return Some(envelope);
            }
            self.step(envelope);
        }
        panic!("the call never went quiet");
    }

    fn listener(&mut self, user_id: u64) -> &mut Listener {
        self.listeners.get_mut(&user_id).expect("listener")
    }

    fn assert_clean(&self) {
        assert!(
            self.bot.warnings.is_empty(),
            "bot warnings: {:?}",
            self.bot.warnings
        );
        assert!(
            self.listener_errors.is_empty(),
            "listener errors: {:?}",
            self.listener_errors
        );
    }
}

fn is_commit(envelope: &Envelope) -> bool {
    matches!(envelope, Envelope::ToServer(_, Wire::Binary(b))
        if b.first() == Some(&opcode::MLS_COMMIT_WELCOME))
}

/// (leaf index, user id) of a davey session's group, by leaf.
fn davey_members(session: &DaveSession) -> Vec<(u32, u64)> {
    let mut members: Vec<(u32, u64)> = session
        .group()
        .expect("group")
        .members()
        .map(|m| {
            let id: [u8; 8] = m
                .credential
                .serialized_content()
                .try_into()
                .expect("8 bytes");
            (m.index.u32(), u64::from_be_bytes(id))
        })
        .collect();
    members.sort();
    members
}

/// Everyone agrees with the server on epoch, leaves and privacy code, and is ready.
fn assert_in_sync(call: &Call, expected_users: &[u64]) {
    let server_members = call.server.members();
    let mut users: Vec<u64> = server_members.iter().map(|&(_, u)| u).collect();
    users.sort();
    let mut expected = expected_users.to_vec();
    expected.sort();
    assert_eq!(users, expected, "server's member list");
    let bot = call.bot.session();
    assert!(bot.is_ready());
    assert_eq!(bot.status(), SessionStatus::ACTIVE);
    assert_eq!(bot.epoch().map(|e| e.as_u64()), Some(call.server.epoch()));
    assert_eq!(davey_members(bot), server_members, "bot's tree vs server's");
    let code = bot.voice_privacy_code().expect("privacy code").to_owned();
    assert_eq!(code.len(), 30);
    for (id, l) in &call.listeners {
        if !expected_users.contains(id) {
            continue;
        }
        assert!(l.is_ready(), "listener {id} ready");
        assert_eq!(l.epoch(), Some(call.server.epoch()), "listener {id} epoch");
        assert_eq!(
            davey_members(l.session()),
            server_members,
            "listener {id} tree"
        );
        assert_eq!(
            l.privacy_code().as_deref(),
            Some(code.as_str()),
            "listener {id} code"
        );
    }
    assert!(
        call.server.pending_transitions().is_empty(),
        "all transitions executed"
    );
    assert_eq!(call.bot.dave_protocol_version, 1);
}

/// The bot sends one frame through its mixer path; it is DAVE-protected and `listener` gets
/// the original Opus back.
fn assert_listener_hears_bot(call: &mut Call, listener: u64, opus: &[u8]) {
    let frame = call.bot.mixer_payload(opus);
    assert_ne!(frame, opus, "the bot encrypted");
    assert_eq!(
        &frame[frame.len() - 2..],
        &[0xFA, 0xFA],
        "DAVE magic marker"
    );
    let plain = call
        .listener(listener)
        .decrypt_opus(BOT, &frame)
        .expect("listener decrypts the bot");
    assert_eq!(plain, opus);
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn bot_commits_and_welcomes_the_listener() {
    let mut call = Call::new();
    call.connect_bot();
    call.pump();
    // Alone: pending group, nothing to commit, the mixer sends plain Opus.
    assert_eq!(call.bot.session().status(), SessionStatus::PENDING);
    assert!(!call.server.is_established());
    assert_eq!(call.bot.mixer_payload(OPUS), OPUS);

    call.connect_listener(ALICE);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 1);
    // The bot was pending first, got Alice's Add first and won the commit race; Alice's own
    // commit for epoch 0 arrived second and was dropped.
    assert_eq!(call.server.members(), vec![(0, BOT), (1, ALICE)]);
    assert_eq!(call.server_errors.len(), 1, "{:?}", call.server_errors);
    assert_eq!(call.server_errors[0].0, ALICE);
    // What the bot saw, in order: session description, clients_connect, external sender,
    // Alice's Add, its own commit announced, execute.
    assert_eq!(call.bot.received, vec![4, 25, 11, 27, 29, 22]);
    assert_in_sync(&call, &[BOT, ALICE]);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
}

#[test]
fn listener_commits_and_the_bot_is_welcomed() {
    let mut call = Call::new();
    call.connect_listener(ALICE);
    call.pump();
    call.connect_bot();
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.members(), vec![(0, ALICE), (1, BOT)]);
    // The bot's op 28 lost the race; it was welcomed with op 30 instead.
    assert_eq!(call.bot.received, vec![4, 11, 25, 27, 30, 22]);
    assert_eq!(call.server_errors.len(), 1, "{:?}", call.server_errors);
    assert_eq!(call.server_errors[0].0, BOT);
    assert_in_sync(&call, &[BOT, ALICE]);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
    // And the other way round: the bot decrypts Alice.
    let from_alice = call.listener(ALICE).encrypt_opus(OPUS).expect("encrypt");
    let heard = call
        .bot
        .session
        .as_mut()
        .expect("session")
        .decrypt(ALICE, davey::MediaType::AUDIO, &from_alice)
        .expect("bot decrypts Alice");
    assert_eq!(heard, OPUS);
}

#[test]
fn second_listener_joins_then_one_is_removed() {
    let mut call = Call::new();
    call.connect_bot();
    call.pump();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);
    let code_epoch_1 = call.listener(ALICE).privacy_code();

    call.connect_listener(BOB);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 2);
    assert_eq!(call.server.members(), vec![(0, BOT), (1, ALICE), (2, BOB)]);
    assert_in_sync(&call, &[BOT, ALICE, BOB]);
    assert_ne!(
        call.listener(ALICE).privacy_code(),
        code_epoch_1,
        "new epoch, new code"
    );
    for n in 0..3u8 {
        let opus = [OPUS, &[n]].concat();
        assert_listener_hears_bot(&mut call, ALICE, &opus);
        assert_listener_hears_bot(&mut call, BOB, &opus);
    }

    // Alice hangs up: op 13 + Remove to the others, a commit, epoch 3.
    let mut alice = call.disconnect_listener(ALICE);
    // Still at epoch 2, Alice could read a frame sent now...
    let before = call.bot.mixer_payload(OPUS);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 3);
    assert_eq!(call.server.members(), vec![(0, BOT), (2, BOB)]);
    assert_in_sync(&call, &[BOT, BOB]);
    assert_eq!(
        alice.decrypt_opus(BOT, &before).expect("pre-removal frame"),
        OPUS
    );
    // ...but nothing the bot sends after the removal commit.
    let after = call.bot.mixer_payload(OPUS);
    assert!(
        alice.decrypt_opus(BOT, &after).is_err(),
        "removed member must not decrypt"
    );
    assert_eq!(
        call.listener(BOB).decrypt_opus(BOT, &after).expect("Bob"),
        OPUS
    );

    // Carol takes Alice's blank leaf (leftmost blank), as openmls places her.
    call.connect_listener(CAROL);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.members(), vec![(0, BOT), (1, CAROL), (2, BOB)]);
    assert_in_sync(&call, &[BOT, BOB, CAROL]);
    assert_listener_hears_bot(&mut call, CAROL, OPUS);
    assert_listener_hears_bot(&mut call, BOB, OPUS);
    let late = call.bot.mixer_payload(OPUS);
    assert!(alice.decrypt_opus(BOT, &late).is_err());
}

#[test]
fn silence_passes_through_and_tampering_fails() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);

    // davey returns the Opus silence frame unencrypted, and accepts it unencrypted.
    let silence = call.bot.mixer_payload(&SILENCE);
    assert_eq!(silence, SILENCE);
    assert_eq!(
        call.listener(ALICE)
            .decrypt_opus(BOT, &silence)
            .expect("silence"),
        SILENCE
    );

    let frame = call.bot.mixer_payload(OPUS);
    // Flip a ciphertext bit, a tag bit, and the magic marker.
    for index in [0, OPUS.len() + 1, frame.len() - 1] {
        let mut tampered = frame.clone();
        tampered[index] ^= 0x01;
        assert!(
            call.listener(ALICE).decrypt_opus(BOT, &tampered).is_err(),
            "tampered byte {index} must not decrypt"
        );
    }
    // The untouched frame still decrypts; a non-DAVE frame is refused (no passthrough).
    assert_eq!(
        call.listener(ALICE)
            .decrypt_opus(BOT, &frame)
            .expect("frame"),
        OPUS
    );
    assert!(call.listener(ALICE).decrypt_opus(BOT, OPUS).is_err());
    // davey refuses a nonce it has already used: the same frame decrypts once only.
    assert!(
        call.listener(ALICE).decrypt_opus(BOT, &frame).is_err(),
        "replay"
    );
    // Only members' keys exist: a frame "from" an unknown user has no decryptor.
    assert!(call.listener(ALICE).decrypt_opus(CAROL, &frame).is_err());
}

#[test]
fn pending_add_is_revoked_when_the_joiner_leaves() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);

    // Bob's key package is proposed, but Bob leaves before anyone's commit is in.
    call.connect_listener(BOB);
    // The first member's commit is lost in flight; the second one will reach the server only
    // after Bob is gone (and be rejected: it references the revoked Add).
    let commit = call
        .pump_until(is_commit)
        .expect("a member commits Add(Bob)");
    drop(commit);
    let _ = call.disconnect_listener(BOB);
    call.pump();
    // The revoke (our ProposalRef computation) matched what davey stored: no proposal is
    // left, the bot dropped its pending commit and is back to ACTIVE at the same epoch.
    assert!(call.bot.warnings.is_empty(), "{:?}", call.bot.warnings);
    assert_eq!(call.bot.session().status(), SessionStatus::ACTIVE);
    assert_eq!(
        call.bot
            .session()
            .group()
            .expect("group")
            .pending_proposals()
            .count(),
        0
    );
    assert_eq!(call.server.epoch(), 1);
    call.assert_clean();
    assert_in_sync(&call, &[BOT, ALICE]);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
}

#[test]
fn commit_validation_rejects_bad_commits_without_changing_state() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    call.connect_listener(BOB);
    // The first op 28 for Add(Bob) (Alice's: she got the Add first).
    let Some(Envelope::ToServer(committer, Wire::Binary(frame))) = call.pump_until(is_commit)
    else {
        panic!("expected an op 28");
    };
    let other = if committer == BOT { ALICE } else { BOT };
    let payload = &frame[1..];
    let epoch = call.server.epoch();

    // The welcome stripped off.
    let commit_len = {
        let (_, rest) = <openmls::prelude::MlsMessageIn as openmls::prelude::tls_codec::DeserializeBytes>::tls_deserialize_bytes(payload)
            .expect("commit");
        payload.len() - rest.len()
    };
    let err = call
        .server
        .handle_commit_welcome(committer, &payload[..commit_len]);
    assert!(matches!(err, Err(DaveError::MissingWelcome)), "{err:?}");
    // Sent on someone else's connection.
    let err = call.server.handle_commit_welcome(other, payload);
    assert!(
        matches!(err, Err(DaveError::CommitSender { .. })),
        "{err:?}"
    );
    // Another group (last group-id byte; MLSMessage: version 2, wire format 2, length 1, id 8).
    let mut other_group = payload.to_vec();
    other_group[12] ^= 0xFF;
    let err = call.server.handle_commit_welcome(committer, &other_group);
    assert!(matches!(err, Err(DaveError::WrongGroup { .. })), "{err:?}");
    // Another epoch (the u64 after the group id).
    let mut other_epoch = payload.to_vec();
    other_epoch[20] ^= 0x40;
    let err = call.server.handle_commit_welcome(committer, &other_epoch);
    assert!(matches!(err, Err(DaveError::WrongEpoch { .. })), "{err:?}");
    // Truncated.
    let err = call.server.handle_commit_welcome(committer, &payload[..40]);
    assert!(matches!(err, Err(DaveError::Malformed { .. })), "{err:?}");
    // A stranger.
    let err = call.server.handle_commit_welcome(CAROL, payload);
    assert!(
        matches!(err, Err(DaveError::UnknownClient(CAROL))),
        "{err:?}"
    );
    assert_eq!(call.server.epoch(), epoch, "rejections change nothing");

    // The genuine one is accepted; replaying it is stale.
    let out = call
        .server
        .handle_binary(committer, &frame)
        .expect("valid commit");
    let ops: Vec<(u64, Option<u8>)> = out.iter().map(|o| (o.to, o.message.opcode())).collect();
    assert_eq!(
        ops,
        vec![(ALICE, Some(29)), (BOT, Some(29)), (BOB, Some(30))]
    );
    let err = call.server.handle_binary(committer, &frame);
    assert!(matches!(err, Err(DaveError::WrongEpoch { .. })), "{err:?}");
    call.push_outbound(out);
    call.pump();
    call.assert_clean();
    assert_in_sync(&call, &[BOT, ALICE, BOB]);
}

#[test]
fn invalid_welcome_is_reported_and_the_member_is_re_added() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    call.connect_listener(BOB);
    // Corrupt the welcome on its way to Bob.
    let Some(Envelope::ToClient(to, Wire::Binary(mut welcome))) = call.pump_until(
        |e| matches!(e, Envelope::ToClient(BOB, Wire::Binary(b)) if b[0] == opcode::MLS_WELCOME),
    ) else {
        panic!("expected Bob's op 30");
    };
    let last = welcome.len() - 1;
    welcome[last] ^= 0x01;
    call.step(Envelope::ToClient(to, Wire::Binary(welcome)));
    // Bob's replies: op 31 for the transition, then a fresh op 26.
    let replies: Vec<String> = call
        .queue
        .iter()
        .filter_map(|e| match e {
            Envelope::ToServer(BOB, Wire::Text(t)) => Some(t.clone()),
            Envelope::ToServer(BOB, Wire::Binary(b)) => Some(format!("binary op {}", b[0])),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].contains("\"op\":31"), "{replies:?}");
    assert_eq!(replies[1], "binary op 26");
    // Bob answered op 31 and a fresh key package; the server proposed Remove(Bob) + Add(Bob).
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 3);
    assert_in_sync(&call, &[BOT, ALICE, BOB]);
    assert_listener_hears_bot(&mut call, BOB, OPUS);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
}

#[test]
fn sole_member_reset_then_a_new_group() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);
    call.bot.received.clear();

    let _ = call.disconnect_listener(ALICE);
    call.pump();
    call.assert_clean();
    // op 13, op 24 {epoch 1}, op 21 {transition 0}: the bot reset itself and sent a new key
    // package; the server has no group until someone else arrives.
    assert_eq!(call.bot.received, vec![13, 24, 21]);
    assert!(!call.server.is_established());
    assert_eq!(call.bot.session().status(), SessionStatus::PENDING);
    assert!(!call.bot.session().is_ready());
    assert_eq!(
        call.bot.mixer_payload(OPUS),
        OPUS,
        "alone again: plain Opus"
    );

    call.connect_listener(BOB);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 1);
    assert_in_sync(&call, &[BOT, BOB]);
    assert_listener_hears_bot(&mut call, BOB, OPUS);
}

#[test]
fn three_pending_members_form_one_group() {
    let mut call = Call::new();
    call.connect_listener(ALICE);
    call.connect_listener(BOB);
    call.connect_bot();
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 1);
    assert_in_sync(&call, &[BOT, ALICE, BOB]);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
    assert_listener_hears_bot(&mut call, BOB, OPUS);
}

#[test]
fn key_package_validation() {
    let mut bot =
        DaveSession::new(NonZeroU16::new(1).expect("1"), BOT, CHANNEL, None).expect("session");
    let kp = bot.create_key_package().expect("kp");
    let valid = dave::validate_key_package(BOT, &kp).expect("davey's key package is valid");
    assert_eq!(valid.key_package.ciphersuite(), dave::CIPHERSUITE);

    // Someone else's key package on this connection.
    let err = dave::validate_key_package(ALICE, &kp);
    assert!(
        matches!(
            err,
            Err(DaveError::CredentialMismatch {
                expected: ALICE,
                ..
            })
        ),
        "{err:?}"
    );
    // Garbage and truncation.
    assert!(dave::validate_key_package(BOT, &kp[..kp.len() - 1]).is_err());
    assert!(dave::validate_key_package(BOT, b"\x00\x01\x00\x02").is_err());
    // A flipped signature bit.
    let mut forged = kp.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(dave::validate_key_package(BOT, &forged).is_err());
    // The spec's MLSMessage-wrapped form is accepted too.
    {
        use openmls::prelude::tls_codec::Serialize as _;
        use openmls::prelude::MlsMessageOut;
        let wrapped = MlsMessageOut::from(valid.key_package.clone())
            .tls_serialize_detached()
            .expect("wrap");
        assert_eq!(&wrapped[2..4], &[0x00, 0x05]);
        dave::validate_key_package(BOT, &wrapped).expect("wrapped key package");
    }

    // Key packages built with openmls directly: wrong ciphersuite; default (short) lifetime.
    use openmls::prelude::{
        tls_codec::Serialize as _, BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage,
    };
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_rust_crypto::OpenMlsRustCrypto;
    let build = |suite: Ciphersuite| -> Vec<u8> {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(suite.signature_algorithm()).expect("keys");
        let cred = CredentialWithKey {
            credential: BasicCredential::new(BOT.to_be_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        KeyPackage::builder()
            .build(suite, &provider, &signer, cred)
            .expect("kp")
            .key_package()
            .tls_serialize_detached()
            .expect("bytes")
    };
    let err = dave::validate_key_package(
        BOT,
        &build(Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519),
    );
    assert!(
        matches!(err, Err(DaveError::WrongCiphersuite(_))),
        "{err:?}"
    );
    let err = dave::validate_key_package(BOT, &build(dave::CIPHERSUITE));
    assert!(matches!(err, Err(DaveError::Lifetime { .. })), "{err:?}");

    // Through the server: only connected users, and a bad package proposes nothing.
    let mut server = DaveServer::new(CHANNEL).expect("server");
    let err = server.handle_key_package(BOT, &kp);
    assert!(matches!(err, Err(DaveError::UnknownClient(BOT))), "{err:?}");
    server.client_connected(BOT).expect("connect");
    assert!(server.handle_key_package(BOT, &forged).is_err());
    assert_eq!(server.handle_key_package(BOT, &kp).expect("ok"), Vec::new());
}

#[test]
fn wire_formats_match_songbird() {
    let server = DaveServer::new(CHANNEL).expect("server");
    assert_eq!(server.group_id(), CHANNEL.to_be_bytes());
    assert_eq!(dave::negotiate_protocol_version(Some(1)), 1);
    assert_eq!(dave::negotiate_protocol_version(Some(7)), 1);
    assert_eq!(dave::negotiate_protocol_version(None), 0);

    // v4: [opcode][payload]; serenity-voice-model (songbird) parses it.
    let op25 = server.external_sender_package();
    let bytes = op25.to_ws_bytes();
    assert_eq!(bytes[0], 25);
    match deserialize_binary_event(&bytes) {
        Ok(Event::DaveMlsExternalSender(p)) => {
            assert_eq!(p.external_sender, server.external_sender_bytes())
        }
        other => panic!("{other:?}"),
    }
    // The v8 form (u16 sequence number first) is NOT what songbird 0.6.1 reads.
    assert!(deserialize_binary_event(&op25.to_ws_bytes_v8(1)).is_err());

    // JSON ops parse as songbird's Event.
    let parse = |m: GatewayMessage| -> Event {
        match m {
            GatewayMessage::Json(v) => serde_json::from_str(&v.to_string()).expect("Event"),
            GatewayMessage::Binary(_) => panic!("binary"),
        }
    };
    match parse(dave::clients_connect(&[ALICE, BOB])) {
        Event::ClientsConnect(c) => assert_eq!(c.user_ids, vec![UserId(ALICE), UserId(BOB)]),
        other => panic!("{other:?}"),
    }
    match parse(dave::client_disconnect(ALICE)) {
        Event::ClientDisconnect(c) => assert_eq!(c.user_id, UserId(ALICE)),
        other => panic!("{other:?}"),
    }
    match parse(dave::prepare_transition(0, 1)) {
        Event::DavePrepareTransition(t) => {
            assert_eq!((t.transition_id, t.protocol_version), (0, 1))
        }
        other => panic!("{other:?}"),
    }
    match parse(dave::execute_transition(9)) {
        Event::DaveExecuteTransition(t) => assert_eq!(t.transition_id, 9),
        other => panic!("{other:?}"),
    }
    match parse(dave::prepare_epoch(1, 1)) {
        Event::DavePrepareEpoch(e) => assert_eq!((e.epoch, e.protocol_version), (1, 1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        dave::execute_transition(9),
        GatewayMessage::Json(serde_json::json!({"op": 22, "d": {"transition_id": 9}}))
    );
    // songbird's op 23 is {"op":23,"d":{"transition_id":..,"protocol_version":..}}.
    let ready = send_json(Event::DaveTransitionReady(DaveTransitionReady {
        transition_id: 5,
        protocol_version: 1,
    }));
    let Wire::Text(text) = ready else { panic!() };
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        value,
        serde_json::json!({"op": 23, "d": {"transition_id": 5, "protocol_version": 1}})
    );
    // A session description without dave_protocol_version is dropped by songbird's parser.
    let no_dave = Wire::Text(
        serde_json::json!({"op": 4, "d": {"mode": "aead_xchacha20_poly1305_rtpsize", "secret_key": [0]}})
            .to_string(),
    );
    assert!(convert_ws_message(&no_dave).is_none());
    assert!(matches!(
        convert_ws_message(&session_description(1)),
        Some(Event::SessionDescription(_))
    ));
}

#[test]
fn member_with_a_new_key_package_is_removed_and_re_added_in_one_commit() {
    let mut call = Call::new();
    call.connect_bot();
    call.pump();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);
    // Alice resets herself (as songbird does on op 24 epoch 1) and sends a new key package.
    let alice = call.listener(ALICE);
    alice
        .session_mut()
        .reinit(NonZeroU16::new(1).expect("1"), ALICE, CHANNEL, None)
        .expect("reinit");
    let kp = alice.key_package().expect("kp");
    let GatewayMessage::Binary(frame) = &kp else {
        panic!("binary")
    };
    let out = call
        .server
        .handle_binary(ALICE, &frame.to_ws_bytes())
        .expect("key package");
    // One op 27 to the bot carrying Remove(Alice's old leaf) and Add(Alice).
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].to, out[0].message.opcode()), (BOT, Some(27)));
    call.push_outbound(out);
    call.pump();
    call.assert_clean();
    assert_eq!(call.server.epoch(), 2);
    assert_eq!(call.server.members(), vec![(0, BOT), (1, ALICE)]);
    assert_in_sync(&call, &[BOT, ALICE]);
    assert_listener_hears_bot(&mut call, ALICE, OPUS);
}

#[test]
fn bot_refuses_adds_for_users_missing_from_op_11() {
    let mut call = Call::new();
    call.connect_bot();
    call.pump();
    call.connect_listener(ALICE);
    // Lose the op 11 that tells the bot about Alice.
    let lost = call.pump_until(
        |e| matches!(e, Envelope::ToClient(BOT, Wire::Text(t)) if t.contains("\"op\":11")),
    );
    assert!(lost.is_some());
    call.pump();
    // davey (via songbird's recognized_user_ids) refused Alice's Add: the bot never committed.
    assert!(
        call.bot
            .warnings
            .iter()
            .any(|w| w.contains("UnexpectedUser")),
        "{:?}",
        call.bot.warnings
    );
    // Here the group still forms because Alice commits the bot's Add and welcomes it; a bot
    // that is the only possible committer would stay alone, sending plain Opus.
    assert_eq!(call.server.members(), vec![(0, ALICE), (1, BOT)]);
    assert!(call.bot.session().is_ready());
}

#[test]
fn songbird_drops_json_with_any_key_besides_op_and_d() {
    // serenity-voice-model's Event visitor never consumes the value of an unknown key, so
    // serde_json fails and songbird drops the frame silently: send exactly {"op","d"}.
    for ok in [
        r#"{"op":22,"d":{"transition_id":9}}"#,
        r#"{"d":{"transition_id":9},"op":22}"#,
    ] {
        assert!(serde_json::from_str::<Event>(ok).is_ok(), "{ok}");
    }
    for dropped in [
        r#"{"op":22,"d":{"transition_id":9},"seq":3}"#,
        r#"{"seq":3,"op":22,"d":{"transition_id":9}}"#,
        r#"{"op":22,"d":{"transition_id":9},"t":null}"#,
    ] {
        assert!(serde_json::from_str::<Event>(dropped).is_err(), "{dropped}");
    }
    // Every JSON message DaveServer builds has exactly those two keys.
    for m in [
        dave::clients_connect(&[ALICE]),
        dave::client_disconnect(ALICE),
        dave::prepare_transition(0, 1),
        dave::execute_transition(1),
        dave::prepare_epoch(1, 1),
    ] {
        let GatewayMessage::Json(serde_json::Value::Object(map)) = m else {
            panic!("JSON object")
        };
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, vec!["d", "op"]);
    }
}

#[test]
fn the_privacy_code_is_the_epoch_authenticator_as_discord_displays_it() {
    let mut call = Call::new();
    call.connect_bot();
    call.connect_listener(ALICE);
    call.pump();
    assert_in_sync(&call, &[BOT, ALICE]);
    let alice = call.listener(ALICE);
    let authenticator = alice.epoch_authenticator().expect("a group");
    // Computed here from the spec, independently of davey.
    let code = dave::displayable_code(&authenticator, 30, 5).expect("30 digits");
    assert_eq!(code.len(), 30);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(alice.privacy_code().as_deref(), Some(code.as_str()));
    assert_eq!(call.bot.session().voice_privacy_code(), Some(code.as_str()));

    // The algorithm on known bytes: 5 bytes big-endian, modulo 10^5, zero-padded.
    let bytes = [0u8, 0, 0, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(
        dave::displayable_code(&bytes, 10, 5).as_deref(),
        Some("0025627775")
    );
    assert_eq!(dave::displayable_code(&bytes, 12, 6), None, "too short");
    assert_eq!(
        dave::displayable_code(&bytes, 10, 3),
        None,
        "groups must divide"
    );
}
