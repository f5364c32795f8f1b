//! End-to-end latency of `timmybot serve` (embedded mode: SQLite, the in-process bus),
//! the release binary against the fake Discord: a slash command over the gateway → the
//! first audio packet at the voice server. Each run is a fresh guild, so each joins voice.
//!
//! `cargo bench -p timmybot --bench serve_latency`

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use timmybot_tests::audio::wav_tone;
use timmybot_tests::discord::gateway::FakeGuild;
use timmybot_tests::discord::FakeDiscord;
use timmybot_tests::interactions::slash;
use timmybot_tests::latency::print_table;

const RUNS: u64 = 20;
const WAIT: Duration = Duration::from_secs(30);

fn guild(n: u64) -> FakeGuild {
    FakeGuild {
        id: 1_950_000_000_000_000_000 + n,
        name: format!("Guild {n}"),
        text_channel: 1_951_000_000_000_000_000 + n,
        voice_channels: vec![1_952_000_000_000_000_000 + n],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    std::fs::write(dir.path().join("tone.wav"), wav_tone(440.0, 20.0, 0.4)).expect("a tone");
    let guilds: Vec<_> = (1..=RUNS).map(guild).collect();
    let discord = FakeDiscord::start(guilds.clone()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .env_clear()
        .envs(discord.env())
        .env(
            "STORE",
            format!("sqlite:{}", dir.path().join("bot.db").display()),
        )
        .env("MUSIC_DIR", dir.path())
        .env("WORKER_HEALTH_ADDR", "127.0.0.1:0")
        .args(["serve", "--allow-all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start timmybot serve");
    discord.gateway.wait_ready(WAIT).await;
    // Let start-up work (command registration, resume) finish before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (mut to_audio, mut to_op4, mut join) = (Vec::new(), Vec::new(), Vec::new());
    for (i, g) in guilds.iter().enumerate() {
        let user = 1_960_000_000_000_000_000 + i as u64;
        discord.set_voice(g.id, user, Some(g.voice_channels[0]));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let play = slash(
            1_970_000_000_000_000_000 + i as u64,
            g.id,
            user,
            g.text_channel,
            "play",
            &[("query", "local:tone.wav")],
        );
        let sent = Instant::now();
        discord.gateway.dispatch_interaction(play);
        let heard = discord
            .voice
            .wait_for(g.id, WAIT, "the first audio packet", |h| {
                h.first_audio_at().is_some()
            })
            .await;
        let first_audio = heard.first_audio_at().expect("waited for it");
        let first_rtp = heard.sessions[0].first_rtp_at.expect("RTP before audio");
        let (op4, _) = discord.gateway.voice_updates(g.id)[0];
        to_audio.push(first_audio - sent);
        to_op4.push(op4 - sent);
        join.push(first_rtp - op4);
        eprint!(".");
        // One call at a time: the next run measures an otherwise idle bot.
        discord.gateway.dispatch_interaction(slash(
            1_980_000_000_000_000_000 + i as u64,
            g.id,
            user,
            g.text_channel,
            "leave",
            &[],
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!();
    let _ = child.kill();
    let _ = child.wait();
    println!("`timmybot serve` on loopback, {RUNS} runs, each a fresh guild (release build):\n");
    print_table(vec![
        (
            "/play over the gateway → first audio packet at the voice server",
            to_audio,
        ),
        ("/play over the gateway → op 4 (voice join)", to_op4),
        ("voice join: op 4 → first RTP packet", join),
    ]);
}
