//! End to end, offline: a signed `/play` reaches the interactions router (DynamoDB and SQS on
//! moto), becomes an intent, the voice worker takes it, joins through the fake gateway,
//! connects to the fake voice server over TLS, completes the DAVE handshake with the member
//! in the channel, and that member decrypts and hears the tone. `hears` and `stop_worker`
//! fail any test in which a frame came without DAVE after the group was ready.

use std::time::{Duration, Instant};

use timmybot_fake_discord::audio::{dominant_frequency, rms};
use timmybot_tests::chain::{guild, member, spawn_chain, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_play_is_heard_at_the_voice_server() {
    let g = guild(1);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    chain.join(&g);
    let (res, token) = chain.play(&g, 440.0).await;
    assert_eq!(res["type"], 5, "deferred while the worker works: {res}");

    let heard = chain.hears(&g, 440.0, "the 440 Hz tone").await;
    let session = &heard.sessions[0];
    assert!(session.mode.is_some(), "a mode was selected");
    assert!(session.first_rtp_at.is_some());
    // DAVE v1, with the member who asked already in the channel: their commit won, and the
    // bot was welcomed into the group (op 30) before it played a frame.
    assert_eq!(session.dave_protocol_version, Some(1));
    assert_eq!(heard.dave.to_bot, [11, 25, 27, 30, 22], "{heard:?}");
    assert_eq!(
        heard.dave.members,
        [member(&g), timmybot_fake_discord::FakeDiscord::BOT]
    );
    assert_eq!(heard.e2ee_frames(), heard.audio_frames(), "{heard:?}");
    assert_eq!(
        heard.plaintext, 0,
        "the worker waited for the keys: {heard:?}"
    );
    assert_eq!(
        chain.discord.gateway.bot_channel(g.id),
        Some(g.voice_channels[0]),
        "the bot joined the requester's channel"
    );
    let reply = chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    assert!(
        reply.content.contains("Now playing") && reply.content.contains("440"),
        "the worker edits the deferred reply: {reply:?}"
    );
    // Draining (SIGTERM) leaves the call through the gateway, which outlives the drain.
    assert_eq!(chain.discord.gateway.voice_updates(g.id).len(), 1);
    chain.stop_worker().await;
    let updates = chain.discord.gateway.voice_updates(g.id);
    assert_eq!(
        updates.last().map(|(_, channel)| *channel),
        Some(None),
        "the drain leaves the voice channel: {updates:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guilds_each_hear_their_own_tone() {
    let (a, b) = (guild(2), guild(3));
    let mut chain = spawn_chain(&[a.clone(), b.clone()], "2m").await;
    chain.join(&a);
    chain.join(&b);
    chain.play(&a, 440.0).await;
    chain.play(&b, 660.0).await;
    chain.hears(&a, 440.0, "guild A's 440 Hz").await;
    chain.hears(&b, 660.0, "guild B's 660 Hz").await;
    // A second of each, counted in frames rather than waited for.
    for g in [&a, &b] {
        chain
            .discord
            .voice
            .wait_for(g.id, WAIT, "a second of audio", |h| h.audio_frames() >= 60)
            .await;
    }
    // Every window of what each guild heard is its own tone: no audio crossed over.
    for (g, freq) in [(&a, 440.0), (&b, 660.0)] {
        let pcm = chain.discord.voice.heard(g.id).audio();
        for window in pcm.chunks(9_600).filter(|w| w.len() == 9_600) {
            let f = dominant_frequency(window);
            assert!((f - freq).abs() <= 10.0, "guild {} heard {f} Hz", g.name);
        }
    }
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_pause_resume_and_volume_change_what_is_heard() {
    let g = guild(4);
    // A second guild plays throughout, on the same worker and mixer: its frames are the
    // clock. Were the mixer stalled, this guild would stall too, and not look paused.
    let clock = guild(6);
    let mut chain = spawn_chain(&[g.clone(), clock.clone()], "2m").await;
    chain.join(&g);
    chain.join(&clock);
    chain.play(&clock, 880.0).await;
    chain.play(&g, 440.0).await;
    chain.play(&g, 660.0).await;
    chain.hears(&g, 440.0, "the first track").await;
    chain.hears(&clock, 880.0, "the clock guild's tone").await;

    chain.command(&g, "skip", &[], None).await;
    chain.hears(&g, 660.0, "the next track after /skip").await;

    let (_, token) = chain.command(&g, "pause", &[], None).await;
    chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.content.contains("Paused"))
        .await;
    let voice = chain.discord.voice.clone();
    let at_pause = voice.heard(g.id).frames.len();
    let clock_frames = voice.heard(clock.id).audio_frames();
    // A second of the mixer's time later (50 frames of the clock guild)…
    voice
        .wait_for(clock.id, WAIT, "a second of the clock guild", |h| {
            h.audio_frames() >= clock_frames + 50
        })
        .await;
    // …the paused guild got at most a frame in flight and songbird's five of silence.
    let heard = voice.heard(g.id);
    let after = &heard.frames[at_pause..];
    let audio = after.iter().filter(|f| !f.silent).count();
    let silence = after.iter().filter(|f| f.silent).count();
    assert!(
        audio <= 2 && silence <= 5,
        "while paused: {audio} audio and {silence} silence frames in a second"
    );
    let paused_at = Instant::now();

    chain.command(&g, "resume", &[], None).await;
    voice
        .wait_for(g.id, WAIT, "audio after /resume", |h| {
            h.pcm_since(paused_at).len() >= 20 * 1_920
        })
        .await;
    let loud = rms(&voice.heard(g.id).last_ms(400));

    chain
        .command(&g, "volume", &[], Some(("percent", 50)))
        .await;
    let changed_at = Instant::now();
    let quieter = voice
        .wait_for(g.id, WAIT, "audio at 50% volume", |h| {
            let after = h.pcm_since(changed_at);
            after.len() >= 50 * 1_920 && rms(&after[after.len() - 20 * 1_920..]) < loud * 0.7
        })
        .await;
    let after = quieter.pcm_since(changed_at);
    let soft = rms(&after[after.len() - 20 * 1_920..]);
    let ratio = soft / loud;
    assert!(
        (0.4..0.6).contains(&ratio),
        "50% volume should halve the level: {loud:.3} → {soft:.3} ({ratio:.2})"
    );
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_leaves_an_empty_channel_after_idle_leave() {
    let g = guild(5);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2s").await;
    chain.join(&g);
    chain.play(&g, 440.0).await;
    chain.hears(&g, 440.0, "the tone").await;
    assert!(chain.discord.voice.connected(g.id));

    // Everyone leaves; the bot stays for IDLE_LEAVE, then goes.
    chain.discord.set_voice(g.id, member(&g), None);
    let left_at = Instant::now();
    chain
        .discord
        .gateway
        .wait_for(WAIT, "the bot to leave (op 4 with no channel)", |seen| {
            seen.iter().any(|(_, s)| {
                *s == timmybot_fake_discord::gateway::Seen::VoiceUpdate {
                    guild: g.id,
                    channel: None,
                    shard: [0, 1],
                }
            })
        })
        .await;
    let waited = left_at.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "left after {waited:?}, before IDLE_LEAVE"
    );
    assert_eq!(chain.discord.gateway.bot_channel(g.id), None);
    chain
        .discord
        .voice
        .wait_for(g.id, WAIT, "the voice connection to close", |h| {
            h.sessions.iter().all(|s| s.closed_at.is_some())
        })
        .await;
    chain.stop_worker().await;
}

/// A metric's value in Prometheus text, or 0 when the series is absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_when_a_track_plays_and_when_one_fails() {
    let g = guild(7);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    let before = chain.metrics().await;
    assert_eq!(metric(&before, "timmybot_guilds_in_call"), 0.0, "{before}");
    chain.join(&g);
    chain.play(&g, 440.0).await;
    chain.hears(&g, 440.0, "the tone").await;
    let playing = chain.metrics().await;
    assert_eq!(
        metric(&playing, "timmybot_guilds_in_call"),
        1.0,
        "{playing}"
    );
    assert_eq!(
        metric(&playing, "timmybot_streams_playing"),
        1.0,
        "{playing}"
    );
    assert_eq!(
        metric(&playing, "timmybot_intents_consumed_total{kind=\"play\"}"),
        1.0,
        "{playing}"
    );
    assert!(
        metric(&playing, "timmybot_mixer_tick_seconds") > 0.0,
        "the mixer's tick is measured: {playing}"
    );

    // A file that is not audio fails to open: counted by its source.
    std::fs::write(chain.music.join("corrupt.wav"), b"not a wav file at all").unwrap();
    let (_, token) = chain
        .command(&g, "play", &[("query", "local:corrupt.wav")], None)
        .await;
    chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    chain.command(&g, "skip", &[], None).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let text = chain.metrics().await;
        if metric(&text, "timmybot_track_failures_total{source=\"local\"}") >= 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no track failure counted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    chain.stop_worker().await;
}
