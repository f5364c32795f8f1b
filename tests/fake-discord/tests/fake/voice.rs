//! The fake Discord voice server against songbird's real driver (no gateway): the handshake,
//! both transport ciphers, DAVE end-to-end encryption with people coming and going (the old
//! path without DAVE is tested once, through the whole chain, in tests/e2e/dave.rs), the
//! silence-then-stop rule on pause, refusing unknown credentials, and keeping guilds apart.
//! What the server hears is what a simulated member decrypted and decoded, so a broken
//! handshake, cipher, DAVE group or SSRC mapping shows up as the wrong (or no) tone.

use std::num::{NonZeroU64, NonZeroU8};
use std::time::{Duration, Instant};

use songbird::driver::retry::{Retry, Strategy};
use songbird::driver::{Driver, Scheduler, SchedulerConfig};
use songbird::id::{ChannelId, GuildId, UserId};
use songbird::input::Input;
use songbird::{Config, ConnectionInfo};
use timmybot_fake_discord::audio::{dominant_frequency, rms, wav_tone, VoiceCipher};
use timmybot_fake_discord::voice::{Committer, DaveMode, FakeVoiceServer, Heard, RunningVoice};

const USER: u64 = 4242;
/// The person in the channel who listens (a simulated DAVE member).
const LISTENER: u64 = 7001;
const WAIT: Duration = Duration::from_secs(15);

/// songbird's default scheduler is a process-wide static whose tasks run on the runtime that
/// first used it; each #[tokio::test] has its own runtime, so the first test to finish would
/// take the others' mixers with it. A scheduler per test lives and dies with its runtime.
fn config() -> Config {
    Config::default().scheduler(Scheduler::new(SchedulerConfig::default()))
}

fn id(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).expect("test IDs are nonzero")
}

fn session_id(guild: u64) -> String {
    format!("voice-session-{guild}")
}

fn token(guild: u64) -> String {
    format!("voice-token-{guild}")
}

/// Each test guild's one voice channel.
fn channel(guild: u64) -> u64 {
    guild + 1
}

fn info(server: &RunningVoice, guild: u64, token: &str) -> ConnectionInfo {
    ConnectionInfo {
        channel_id: ChannelId::from(id(channel(guild))),
        endpoint: server.endpoint(),
        guild_id: GuildId::from(id(guild)),
        session_id: session_id(guild),
        token: token.to_string(),
        user_id: UserId::from(id(USER)),
    }
}

/// A driver connected to `server` for `guild` with credentials the server was told about,
/// in a channel where [`LISTENER`] already sits.
async fn connected_driver(server: &RunningVoice, guild: u64) -> Driver {
    server.set_member(guild, LISTENER, Some(channel(guild)));
    server.authorize(
        guild,
        channel(guild),
        USER,
        &session_id(guild),
        &token(guild),
    );
    let mut driver = Driver::new(config());
    tokio::time::timeout(WAIT, driver.connect(info(server, guild, &token(guild))))
        .await
        .expect("songbird connects within the timeout")
        .expect("songbird connects to the fake voice server");
    driver
}

/// The tone's pitch over the audio heard, checked against `freq` to within the analysis's
/// 5 Hz step.
fn assert_tone(heard: &Heard, freq: f32) {
    let start = heard.first_audio_at().expect("audio was heard");
    let pcm = heard.pcm_since(start);
    let found = dominant_frequency(&pcm);
    assert!(
        (found - freq).abs() <= 5.0,
        "expected {freq} Hz, heard {found} Hz: {heard:?}"
    );
    // A 0.5-amplitude sine has an RMS of ~0.35; well above noise, and below that if mangled.
    let level = rms(&pcm);
    assert!(level > 0.2, "tone too quiet (rms {level}): {heard:?}");
}

/// Everything non-silent was heard through DAVE decryption, and nothing came in the clear
/// once the group was ready.
fn assert_end_to_end(heard: &Heard) {
    assert_eq!(
        heard.sessions.last().and_then(|s| s.dave_protocol_version),
        Some(1)
    );
    assert_eq!(heard.plaintext_after_ready, 0, "{heard:?}");
    assert_eq!(heard.e2ee_frames(), heard.audio_frames(), "{heard:?}");
    assert!(heard.e2ee_frames() > 0, "{heard:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tone_played_through_songbird_is_heard() {
    const GUILD: u64 = 1001;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    let mut driver = connected_driver(&server, GUILD).await;
    assert!(server.connected(GUILD));

    driver.play_input(Input::from(wav_tone(440.0, 2.0, 0.5)));
    let heard = server
        .wait_for(GUILD, WAIT, "25 frames of audio", |h| {
            h.audio_frames() >= 25
        })
        .await;

    assert_eq!(heard.sessions.len(), 1, "{heard:?}");
    let session = &heard.sessions[0];
    let first_rtp = session
        .first_rtp_at
        .expect("the first RTP packet is recorded");
    assert!(session.identified_at <= first_rtp);
    // songbird prefers AES-GCM when both are offered (its default crypto_mode).
    assert_eq!(session.mode, Some(VoiceCipher::Aes256Gcm));
    assert_eq!(session.user, USER);
    assert_eq!(heard.undecryptable, 0, "{heard:?}");
    assert!(heard.frames.iter().all(|f| f.ssrc == session.ssrc));
    assert_tone(&heard, 440.0);
    assert_end_to_end(&heard);
    // The listener sat in the channel first, so its commit won and the bot was welcomed.
    assert_eq!(heard.dave.to_bot, [11, 25, 27, 30, 22], "{heard:?}");
    assert_eq!(heard.dave.from_bot, [26, 28, 23], "{heard:?}");
    assert_eq!(heard.dave.members, [LISTENER, USER]);
    assert_eq!(heard.dave.epoch, 1);

    let samples: usize = heard.frames.iter().map(|f| f.pcm.len()).sum();
    assert_eq!(heard.to_wav().len(), 44 + samples * 2);

    // songbird's leave() stops the RTP but keeps the voice WebSocket (and its heartbeats)
    // until the driver goes; dropping it closes the socket, and the server notices.
    driver.leave();
    drop(driver);
    let heard = server
        .wait_for(GUILD, WAIT, "the session to close", |h| {
            h.sessions.iter().all(|s| s.closed_at.is_some())
        })
        .await;
    assert!(!server.connected(GUILD), "{heard:?}");
}

async fn cipher_is_used_and_heard(cipher: VoiceCipher, guild: u64) {
    let server = FakeVoiceServer::start(&[cipher]).await;
    let mut driver = connected_driver(&server, guild).await;
    driver.play_input(Input::from(wav_tone(440.0, 2.0, 0.5)));
    let heard = server
        .wait_for(guild, WAIT, "25 frames of audio", |h| {
            h.audio_frames() >= 25
        })
        .await;
    assert_eq!(heard.sessions[0].mode, Some(cipher), "{heard:?}");
    assert_eq!(heard.undecryptable, 0, "{heard:?}");
    assert_tone(&heard, 440.0);
    assert_end_to_end(&heard);
}

#[tokio::test(flavor = "multi_thread")]
async fn xchacha20_alone_is_negotiated_and_heard() {
    cipher_is_used_and_heard(VoiceCipher::XChaCha20, 2001).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aes_gcm_alone_is_negotiated_and_heard() {
    cipher_is_used_and_heard(VoiceCipher::Aes256Gcm, 2002).await;
}

/// A driver connected to a server running DAVE as `dave`, playing a tone of `secs`.
async fn playing(dave: DaveMode, guild: u64, secs: f32) -> (RunningVoice, Driver) {
    let server = FakeVoiceServer::start_with(&VoiceCipher::ALL, dave).await;
    let mut driver = connected_driver(&server, guild).await;
    driver.play_input(Input::from(wav_tone(440.0, secs, 0.5)));
    (server, driver)
}

#[tokio::test(flavor = "multi_thread")]
async fn when_its_commit_wins_the_bot_adds_and_welcomes_the_listener() {
    const GUILD: u64 = 1102;
    let dave = DaveMode::V1 {
        committer: Committer::Bot,
    };
    let (server, _driver) = playing(dave, GUILD, 2.0).await;
    let heard = server
        .wait_for(GUILD, WAIT, "25 frames heard through DAVE", |h| {
            h.e2ee_frames() >= 25
        })
        .await;
    // Its own commit announced (op 29), not a welcome (op 30).
    assert_eq!(heard.dave.to_bot, [11, 25, 27, 29, 22], "{heard:?}");
    assert_eq!(heard.dave.from_bot, [26, 28, 23], "{heard:?}");
    assert_end_to_end(&heard);
    assert_tone(&heard, 440.0);
}

/// A second listener joins mid-track (an Add, a new epoch) and both decrypt; then the first
/// leaves (a Remove, another epoch) and can no longer decrypt what the bot sends.
async fn people_come_and_go(committer: Committer, guild: u64) {
    const SECOND: u64 = 7002;
    let (server, _driver) = playing(DaveMode::V1 { committer }, guild, 30.0).await;
    let heard = server
        .wait_for(guild, WAIT, "25 frames heard through DAVE", |h| {
            h.e2ee_frames() >= 25
        })
        .await;
    assert_eq!(heard.dave.epoch, 1);
    let first_code = heard.dave.present().and_then(|l| l.privacy_code.clone());
    assert!(first_code.is_some(), "{heard:?}");
    let first_before = heard.dave.listener(LISTENER).map_or(0, |l| l.decrypted);

    server.set_member(guild, SECOND, Some(channel(guild)));
    let heard = server
        .wait_for(
            guild,
            WAIT,
            "the second listener to decrypt 25 frames",
            |h| h.dave.listener(SECOND).is_some_and(|l| l.decrypted >= 25),
        )
        .await;
    let (first, second) = (
        heard.dave.listener(LISTENER).expect("the first listener"),
        heard.dave.listener(SECOND).expect("the second listener"),
    );
    assert_eq!(heard.dave.epoch, 2, "{heard:?}");
    assert_eq!(heard.dave.members.len(), 3, "{heard:?}");
    assert!(
        first.decrypted >= first_before + 25,
        "the first kept decrypting: {heard:?}"
    );
    assert_eq!(first.epoch, Some(2));
    assert_eq!(
        first.privacy_code, second.privacy_code,
        "one group, one code"
    );
    assert_ne!(
        first.privacy_code, first_code,
        "a new epoch shows a new code"
    );

    server.set_member(guild, LISTENER, None);
    let left = server
        .wait_for(guild, WAIT, "the group to drop the first listener", |h| {
            h.dave.epoch == 3
        })
        .await;
    let second_at_removal = left.dave.listener(SECOND).map_or(0, |l| l.decrypted);
    let heard = server
        .wait_for(guild, WAIT, "50 more frames for the second listener", |h| {
            h.dave
                .listener(SECOND)
                .is_some_and(|l| l.decrypted >= second_at_removal + 50)
        })
        .await;
    assert!(!heard.dave.members.contains(&LISTENER), "{heard:?}");
    let gone = heard
        .dave
        .listener(LISTENER)
        .expect("the first listener's record");
    let after = &gone.after_leaving;
    // Frames already in flight when it left were still under the old keys; then nothing.
    let still_read = after.iter().take_while(|ok| **ok).count();
    assert!(
        still_read <= 25 && after.len() >= 50 && after[still_read..].iter().all(|ok| !ok),
        "after leaving it decrypted {} of {} frames: {after:?}",
        after.iter().filter(|ok| **ok).count(),
        after.len()
    );
    assert_end_to_end(&heard);
}

#[tokio::test(flavor = "multi_thread")]
async fn people_come_and_go_while_members_commit() {
    people_come_and_go(Committer::Members, 1103).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn people_come_and_go_while_the_bot_commits() {
    people_come_and_go(Committer::Bot, 1104).await;
}

/// What songbird does when the handshake never completes: it stays in the call and sends
/// plain Opus, which a DAVE member cannot play. The worker has to notice (its own tests).
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_handshake_leaves_songbird_sending_plain_opus_nobody_hears() {
    const GUILD: u64 = 1105;
    let (server, _driver) = playing(DaveMode::Stalled, GUILD, 2.0).await;
    let heard = server
        .wait_for(GUILD, WAIT, "25 plaintext frames", |h| h.plaintext >= 25)
        .await;
    assert_eq!(heard.sessions[0].dave_protocol_version, Some(1));
    assert_eq!(heard.audio_frames(), 0, "nobody can play them: {heard:?}");
    assert_eq!(
        heard.plaintext_after_ready, 0,
        "there never was a group: {heard:?}"
    );
    assert!(heard.dave.to_bot.is_empty(), "{heard:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pausing_sends_a_few_silent_frames_then_nothing_and_play_resumes() {
    const GUILD: u64 = 3001;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    let mut driver = connected_driver(&server, GUILD).await;
    let track = driver.play_input(Input::from(wav_tone(440.0, 10.0, 0.5)));
    server
        .wait_for(GUILD, WAIT, "25 frames of audio", |h| {
            h.audio_frames() >= 25
        })
        .await;

    track.pause().expect("the track is live");
    let quiet = server
        .wait_for(GUILD, WAIT, "500 ms without packets after pause", |h| {
            h.last_frame_at()
                .is_some_and(|t| t.elapsed() >= Duration::from_millis(500))
        })
        .await;
    // Whatever audio was in flight, the stream ends with a short run of silence frames.
    let last_audio = quiet
        .frames
        .iter()
        .rposition(|f| !f.silent)
        .expect("audio was heard before the pause");
    let trailing = &quiet.frames[last_audio + 1..];
    assert!(
        (1..=5).contains(&trailing.len()) && trailing.iter().all(|f| f.silent),
        "expected 1-5 silent frames after the audio stops, got {} frames: {quiet:?}",
        trailing.len()
    );

    let resumed_at = Instant::now();
    let before = quiet.audio_frames();
    track.play().expect("the track is live");
    let heard = server
        .wait_for(GUILD, WAIT, "25 more frames of audio after play", |h| {
            h.audio_frames() >= before + 25
        })
        .await;
    let after = heard.pcm_since(resumed_at);
    let found = dominant_frequency(&after);
    assert!(
        (found - 440.0).abs() <= 5.0,
        "resumed at {found} Hz: {heard:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_credentials_are_refused_and_nothing_is_heard() {
    const GUILD: u64 = 4001;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    server.authorize(
        GUILD,
        channel(GUILD),
        USER,
        &session_id(GUILD),
        &token(GUILD),
    );

    // One quick retry: songbird retries any failed connect, five times by default.
    let config = config().driver_retry(Retry {
        strategy: Strategy::Every(Duration::from_millis(50).into()),
        retry_limit: Some(NonZeroU8::MIN),
    });
    let mut driver = Driver::new(config);
    // Queued before connecting, so it would be sent if the connection were let in.
    driver.play_input(Input::from(wav_tone(440.0, 2.0, 0.5)));
    let result = tokio::time::timeout(WAIT, driver.connect(info(&server, GUILD, "wrong-token")))
        .await
        .expect("songbird gives up within the timeout");

    let error = result.expect_err("a wrong token must not connect");
    let error = format!("{error:?}");
    assert!(
        error.contains("4004"),
        "expected close code 4004, got {error}"
    );
    let heard = server.heard(GUILD);
    assert_eq!(heard.refused, 2, "the attempt and its one retry: {heard:?}");
    assert!(heard.sessions.is_empty(), "{heard:?}");
    assert!(heard.frames.is_empty(), "{heard:?}");
    assert!(!server.connected(GUILD));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_guilds_are_heard_separately() {
    const A: u64 = 5001;
    const B: u64 = 5002;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    let mut a = connected_driver(&server, A).await;
    let mut b = connected_driver(&server, B).await;
    a.play_input(Input::from(wav_tone(440.0, 3.0, 0.5)));
    b.play_input(Input::from(wav_tone(660.0, 3.0, 0.5)));

    let heard_a = server
        .wait_for(A, WAIT, "25 frames of audio in guild A", |h| {
            h.audio_frames() >= 25
        })
        .await;
    let heard_b = server
        .wait_for(B, WAIT, "25 frames of audio in guild B", |h| {
            h.audio_frames() >= 25
        })
        .await;

    let (ssrc_a, ssrc_b) = (heard_a.sessions[0].ssrc, heard_b.sessions[0].ssrc);
    assert_ne!(ssrc_a, ssrc_b);
    assert!(heard_a.frames.iter().all(|f| f.ssrc == ssrc_a));
    assert!(heard_b.frames.iter().all(|f| f.ssrc == ssrc_b));
    assert_tone(&heard_a, 440.0);
    assert_tone(&heard_b, 660.0);
    assert_end_to_end(&heard_a);
    assert_end_to_end(&heard_b);
}

/// Discord's voice gateway v8, spoken by hand (songbird 0.6.1 dials v4): server messages
/// carry `seq`, and a heartbeat `{t, seq_ack}` is acknowledged with `{t}`.
#[tokio::test]
async fn a_v8_client_gets_sequence_numbers_and_heartbeat_acks() {
    use futures_util::SinkExt;
    use serde_json::{json, Value};
    use tokio_websockets::Message;

    const GUILD: u64 = 77;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    server.authorize(
        GUILD,
        channel(GUILD),
        USER,
        &session_id(GUILD),
        &token(GUILD),
    );
    let mut ws = dial(&server, 8).await;
    let hello = recv(&mut ws).await;
    assert_eq!(hello["op"], 8);
    assert!(hello["d"]["heartbeat_interval"].as_f64().unwrap() > 0.0);
    let first_seq = hello["seq"].as_u64().expect("v8 messages carry seq");

    let identify = json!({"op": 0, "d": {
        "server_id": GUILD.to_string(), "user_id": USER.to_string(),
        "session_id": session_id(GUILD), "token": token(GUILD), "max_dave_protocol_version": 0,
    }});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    let ready = recv(&mut ws).await;
    assert_eq!(ready["op"], 2);
    assert!(ready["d"]["ssrc"].as_u64().is_some());
    let modes: Vec<&str> = ready["d"]["modes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(modes.contains(&"aead_aes256_gcm_rtpsize"), "{modes:?}");
    assert!(
        modes.contains(&"aead_xchacha20_poly1305_rtpsize"),
        "{modes:?}"
    );
    assert!(ready["seq"].as_u64().unwrap() > first_seq, "seq increases");

    let heartbeat = json!({"op": 3, "d": {"t": 1234, "seq_ack": ready["seq"]}});
    ws.send(Message::text(heartbeat.to_string())).await.unwrap();
    let ack = recv(&mut ws).await;
    assert_eq!(ack["op"], 6);
    assert_eq!(ack["d"], json!({"t": 1234}));
    assert_eq!(server.heard(GUILD).sessions[0].gateway_version, 8);
}

type HandWs =
    tokio_websockets::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// A hand-driven voice WebSocket to `server`, dialled as gateway version `v`.
async fn dial(server: &RunningVoice, v: u8) -> HandWs {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_file(timmybot_fake_discord::tls::ca_pem_path()).unwrap();
    roots.add(ca).unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ));
    let endpoint = server.endpoint();
    let tcp = tokio::net::TcpStream::connect(&endpoint).await.unwrap();
    let stream = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the test CA's certificate verifies for localhost");
    let (ws, _) = tokio_websockets::ClientBuilder::new()
        .uri(&format!("wss://{endpoint}/?v={v}"))
        .unwrap()
        .connect_on(stream)
        .await
        .unwrap();
    ws
}

/// The fault detector itself: a client that completes the DAVE handshake by hand (a davey
/// session driven as songbird drives it), sends one DAVE frame, then one plain Opus frame
/// and one silence frame. Only the plain frame is a fault.
#[tokio::test]
async fn a_plain_frame_after_the_group_is_ready_is_counted_as_a_fault() {
    use futures_util::{SinkExt, StreamExt};
    use serde_json::json;
    use timmybot_fake_discord::audio::{encrypt_rtp, SILENT_FRAME};
    use timmybot_fake_discord::dave::{BinaryFrame, GatewayMessage, Listener};
    use tokio_websockets::Message;

    const GUILD: u64 = 78;
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    server.set_member(GUILD, LISTENER, Some(channel(GUILD)));
    server.authorize(
        GUILD,
        channel(GUILD),
        USER,
        &session_id(GUILD),
        &token(GUILD),
    );
    let mut ws = dial(&server, 4).await;
    assert_eq!(recv(&mut ws).await["op"], 8);
    let identify = json!({"op": 0, "d": {
        "server_id": GUILD.to_string(), "user_id": USER.to_string(),
        "session_id": session_id(GUILD), "token": token(GUILD), "max_dave_protocol_version": 1,
    }});
    ws.send(Message::text(identify.to_string())).await.unwrap();
    let ready = recv(&mut ws).await;
    let ssrc = u32::try_from(ready["d"]["ssrc"].as_u64().unwrap()).unwrap();
    let select = json!({"op": 1, "d": {"protocol": "udp", "data": {
        "address": "127.0.0.1", "port": 9, "mode": "aead_aes256_gcm_rtpsize"}}});
    ws.send(Message::text(select.to_string())).await.unwrap();
    let description = recv(&mut ws).await;
    assert_eq!(description["d"]["dave_protocol_version"], 1);
    let key: Vec<u8> = description["d"]["secret_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    let key: [u8; 32] = key.try_into().unwrap();

    // The handshake, by hand: send what the session answers until it has the group's keys.
    let mut me = Listener::new(USER, channel(GUILD)).unwrap();
    let mut outbox = vec![me.key_package().unwrap()];
    while !me.is_ready() || !outbox.is_empty() {
        for message in outbox.drain(..) {
            let wire = match message {
                GatewayMessage::Binary(frame) => Message::binary(frame.to_ws_bytes()),
                GatewayMessage::Json(value) => Message::text(value.to_string()),
            };
            ws.send(wire).await.unwrap();
        }
        if me.is_ready() {
            break;
        }
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the handshake goes on")
            .expect("the socket stays open")
            .unwrap();
        let message = if let Some(text) = message.as_text() {
            GatewayMessage::Json(serde_json::from_str(text).unwrap())
        } else {
            GatewayMessage::Binary(BinaryFrame::from_ws_bytes(&message.into_payload()).unwrap())
        };
        outbox = me.handle(&message).unwrap();
    }
    server
        .wait_for(GUILD, WAIT, "the client's op 23", |h| {
            h.dave.from_bot.contains(&23)
        })
        .await;

    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let opus = [0xfc, 0xff, 0xfe];
    let frames = [
        me.encrypt_opus(&opus).unwrap(),
        opus.to_vec(),
        SILENT_FRAME.to_vec(),
    ];
    for (i, payload) in frames.iter().enumerate() {
        let seq = u16::try_from(i + 1).unwrap();
        let mut header = [0x80, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        header[2..4].copy_from_slice(&seq.to_be_bytes());
        header[4..8].copy_from_slice(&(u32::from(seq) * 960).to_be_bytes());
        header[8..12].copy_from_slice(&ssrc.to_be_bytes());
        let packet = encrypt_rtp(
            VoiceCipher::Aes256Gcm,
            &key,
            &header,
            payload,
            u32::from(seq),
        )
        .unwrap();
        udp.send_to(&packet, ("127.0.0.1", server.udp_port()))
            .await
            .unwrap();
    }
    let heard = server
        .wait_for(GUILD, WAIT, "three frames judged", |h| {
            h.e2ee_frames() + h.plaintext + h.silent_frames() >= 3
        })
        .await;
    assert_eq!(heard.e2ee_frames(), 1, "{heard:?}");
    assert_eq!(
        heard.silent_frames(),
        1,
        "silence passes through by design: {heard:?}"
    );
    assert_eq!(heard.plaintext, 1, "{heard:?}");
    assert_eq!(heard.plaintext_after_ready, 1, "{heard:?}");
}

/// The next text message on a hand-driven voice WebSocket, as JSON.
async fn recv<S>(ws: &mut tokio_websockets::WebSocketStream<S>) -> serde_json::Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    let msg = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a message in time")
        .expect("the socket stays open")
        .unwrap();
    serde_json::from_str(msg.as_text().expect("a text frame")).unwrap()
}
