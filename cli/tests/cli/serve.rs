//! `timmybot serve`, the real binary, against the fake Discord: commands are registered, a
//! slash command arrives over the gateway, is answered through the REST callback, and the
//! voice server hears the tone. SIGTERM drains and leaves the channel.

use std::process::{Command, Stdio};

use crate::support::{free_port, now_ms, serve, Running};
use std::time::Duration;

use timmybot_fake_discord::audio::{dominant_frequency, wav_tone};
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions::{self as di, slash};
use timmybot_fake_discord::rest::CALLBACK_DEFERRED;
use timmybot_fake_discord::FakeDiscord;

fn now_secs() -> u64 {
    now_ms() / 1000
}

const GUILD: u64 = 1_800_000_000_000_000_001;
const TEXT: u64 = 1_800_000_000_000_000_010;
const VOICE: u64 = 1_800_000_000_000_000_020;
const USER: u64 = 1_800_000_000_000_000_100;
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_over_the_gateway_plays_the_tone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tone.wav"), wav_tone(440.0, 20.0, 0.4)).unwrap();
    let discord = FakeDiscord::start(vec![FakeGuild {
        id: GUILD,
        name: "Home".into(),
        text_channel: TEXT,
        voice_channels: vec![VOICE],
    }])
    .await;
    discord.set_voice(GUILD, USER, Some(VOICE));
    let mut vars = discord.env();
    vars.extend([
        (
            "STORE".to_owned(),
            format!("sqlite:{}", dir.path().join("bot.db").display()),
        ),
        ("MUSIC_DIR".to_owned(), dir.path().display().to_string()),
        ("WORKER_HEALTH_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("DISCORD_PUBLIC_KEY".to_owned(), di::public_key_hex()),
    ]);
    let listen = free_port();
    let mut child = Running(
        serve(&vars, &["--allow-all", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start timmybot serve"),
    );

    discord.gateway.wait_ready(WAIT).await;
    let calls = discord.rest.fake.calls();
    assert!(
        calls.iter().any(|c| c.path
            == format!("/api/v10/applications/{}/commands", FakeDiscord::BOT)
            && c.method == "PUT"),
        "the commands are registered on start: {calls:?}"
    );

    // --listen also answers Discord's signed HTTP interactions, and refuses unsigned ones.
    let url = format!("http://{listen}/interactions");
    let ping = serde_json::to_vec(&di::ping(1_900_000_000_000_000_000)).unwrap();
    let (sig, ts) = di::sign(&ping, now_secs());
    let http = reqwest::Client::new();
    let signed = http
        .post(&url)
        .header("x-signature-ed25519", sig)
        .header("x-signature-timestamp", ts)
        .header("content-type", "application/json")
        .body(ping.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    assert_eq!(
        signed.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"type": 1})
    );
    let unsigned = http.post(&url).body(ping).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    // With no vault key configured, the first start made one beside the database, private.
    let key = dir.path().join("timmybot-vault.key");
    let text = std::fs::read_to_string(&key).expect("the vault key file");
    assert_eq!(text.trim().len(), 64, "32 bytes as hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The Spotify callback is served by the same router; this bot has no Spotify app.
    let callback = http
        .get(format!(
            "http://{listen}/oauth/spotify/callback?code=c&state=1.x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 501);
    assert!(callback
        .text()
        .await
        .unwrap()
        .contains("set up on this bot"));

    let play = slash(
        1_900_000_000_000_000_001,
        GUILD,
        USER,
        TEXT,
        "play",
        &[("query", "local:tone.wav")],
    );
    let token = play.token.clone();
    discord.gateway.dispatch_interaction(play);
    let heard = discord
        .voice
        .wait_for(GUILD, WAIT, "the tone from `timmybot serve`", |h| {
            h.e2ee_frames() >= 10 && (dominant_frequency(&h.last_ms(200)) - 440.0).abs() <= 10.0
        })
        .await;
    assert!(heard.sessions[0].first_rtp_at.is_some());
    // Heard through the DAVE decryption of the member in the channel, and never in the clear.
    assert_eq!(heard.sessions[0].dave_protocol_version, Some(1));
    assert_eq!(heard.e2ee_frames(), heard.audio_frames(), "{heard:?}");
    assert_eq!(heard.plaintext, 0, "{heard:?}");
    assert_eq!(
        discord.rest.fake.callback_type(&token),
        Some(CALLBACK_DEFERRED),
        "answered through the interaction callback"
    );
    let reply = discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    assert!(reply.content.contains("Now playing"), "{reply:?}");

    // SIGTERM: the bot drains, leaves the channel, and exits cleanly.
    let pid = child.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let status = child.0.wait().unwrap();
        let mut stderr = String::new();
        use std::io::Read;
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    });
    let (status, stderr) = tokio::time::timeout(WAIT, exit).await.unwrap().unwrap();
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM:\n{stderr}"
    );
    assert_eq!(
        discord.gateway.bot_channel(GUILD),
        None,
        "it left the channel"
    );
    assert!(
        !stderr.contains(timmybot_fake_discord::TOKEN) && !stderr.contains(&token),
        "no token in the log:\n{stderr}"
    );
}

#[test]
fn a_missing_setting_is_named_with_where_to_find_it() {
    let out = serve(&[], &[]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DISCORD_APPLICATION_ID is not set"),
        "{stderr}"
    );
    assert!(stderr.contains("Get a bot token"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let vars = [
        ("DISCORD_APPLICATION_ID".to_owned(), "123".to_owned()),
        ("DISCORD_TOKEN".to_owned(), "t".to_owned()),
    ];
    let out = serve(&vars, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("BOT_OWNER_IDS") && stderr.contains("--allow-all"),
        "{stderr}"
    );
}
