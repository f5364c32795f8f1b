//! The README's first command, `scripts/run`, on this machine: its install step (satisfied,
//! so it does nothing), then the offline demo, which prints the session and the call's
//! end-to-end encryption and writes a WAV holding the first tone, then the second. With a
//! token in `./.env` it runs `serve`.

use std::process::Command;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use timmybot_fake_discord::audio::dominant_frequency;

/// Reads a WAV file with symphonia (not with the writer's own code): interleaved samples and
/// the channel count.
fn read_wav(path: &std::path::Path) -> (Vec<f32>, usize) {
    let file = std::fs::File::open(path).unwrap();
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap();
    assert_eq!(track.codec_params.sample_rate, Some(48_000));
    let channels = track.codec_params.channels.unwrap().count();
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .unwrap();
    let mut samples = Vec::new();
    while let Ok(packet) = format.next_packet() {
        let decoded = decoder.decode(&packet).unwrap();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
        buf.copy_interleaved_ref(decoded);
        samples.extend_from_slice(buf.samples());
    }
    (samples, channels)
}

/// `scripts/run` in `dir`, on the binary this test run built (`TIMMYBOT_BIN`, tests only).
fn run_script(dir: &std::path::Path) -> std::process::Output {
    Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/run"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", dir)
        .env("TIMMYBOT_BIN", env!("CARGO_BIN_EXE_timmybot"))
        .current_dir(dir)
        .output()
        .expect("run scripts/run")
}

#[test]
fn the_first_command_plays_the_demo_and_writes_the_tones_it_heard() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("timmybot-demo.wav");
    // No settings at all: the demo brings its own Discord.
    let out = run_script(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("no DISCORD_TOKEN") && stdout.contains("the offline demo"),
        "{stdout}"
    );

    // Each command, then the bot's reply as a person reads it (no markdown escapes).
    for expected in [
        "you      › /play query:local:first-tone-440hz.wav",
        "TimmyBot │ ▶ Now playing first-tone-440hz",
        "TimmyBot │ Queued second-tone-660hz",
        "you      › /queue",
        "TimmyBot │ ⏭ Skipped first-tone-440hz. Now playing second-tone-660hz.",
        "TimmyBot │ ⏸ Paused.",
        "🔇 voice channel: silent",
        "TimmyBot │ ▶ Resumed.",
        "TimmyBot │ ⏹ Stopped",
        // The call as a person's Discord client shows it: DAVE, through the fake's listener.
        "  🔒 end-to-end encrypted (DAVE v1, epoch 1)",
        "every frame end-to-end encrypted and decrypted by you",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Slow down"),
        "paced like a person:\n{stdout}"
    );
    // Discord's voice privacy code: 30 digits in six groups of five.
    let code = stdout
        .lines()
        .find_map(|l| l.strip_prefix("     voice privacy code: "))
        .unwrap_or_else(|| panic!("no privacy code in:\n{stdout}"));
    let groups: Vec<&str> = code.split(' ').collect();
    assert!(
        groups.len() == 6
            && groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit())),
        "{code:?}"
    );

    let (samples, channels) = read_wav(&wav);
    assert_eq!(channels, 2);
    let second = 48_000 * channels;
    assert!(
        samples.len() >= 6 * second,
        "at least 6 s heard, got {:.1} s",
        samples.len() as f32 / second as f32
    );
    let pitch = |at: usize| dominant_frequency(&samples[at..at + second / 2]);
    let first = pitch(second / 2);
    let last = pitch(samples.len() - second);
    assert!(
        (first - 440.0).abs() <= 10.0,
        "the WAV opens with {first} Hz"
    );
    assert!((last - 660.0).abs() <= 10.0, "the WAV ends with {last} Hz");
}

#[test]
fn with_a_token_in_dot_env_the_first_command_runs_serve() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DISCORD_TOKEN=not-a-real-token\nDISCORD_APPLICATION_ID=1100000000000000001\nBOT_OWNER_IDS=42\n",
    )
    .unwrap();
    // There is no Discord here: serve starts, says so, and stops on the network.
    let out = run_script(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TimmyBot: connecting to Discord as application 1100000000000000001"),
        "{stderr}"
    );
    assert!(!out.status.success());
    assert!(
        !stderr.contains("not-a-real-token"),
        "the token is shown: {stderr}"
    );
}

/// Makes `name` with Debian's ffmpeg: `secs` of a `freq` Hz sine in the container and codec
/// its extension names. Fails, saying how to fix it, when ffmpeg is missing.
fn ffmpeg_tone(dir: &std::path::Path, name: &str, freq: u32, codec: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={freq}:duration=2:sample_rate=48000"
        ))
        .args(["-ac", "2", "-c:a", codec, "-y"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("ffmpeg makes the test media and could not run ({e}): run scripts/dev-setup")
        });
    assert!(
        out.status.success(),
        "ffmpeg could not make {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// `timmybot demo --play` with the user's own files in every format the worker plays, a
/// corrupt file and a link the SSRF guard refuses: each file is heard at its own pitch, the
/// two others are told as a Discord user would see them, and the session carries on.
#[test]
fn demo_play_plays_real_files_and_tells_what_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let media = [
        ("tone-wav.wav", 300, "pcm_s16le"),
        ("tone-flac.flac", 350, "flac"),
        ("tone-mp3.mp3", 400, "libmp3lame"),
        ("tone-m4a.m4a", 450, "aac"),
        ("tone-vorbis.ogg", 500, "libvorbis"),
        ("tone-opus.opus", 550, "libopus"),
    ];
    let mut items: Vec<String> = Vec::new();
    for (name, freq, codec) in media {
        let path = ffmpeg_tone(dir.path(), name, freq, codec);
        items.push(path.display().to_string());
        // The corrupt one sits in the middle: the demo goes on past it.
        if name == "tone-mp3.mp3" {
            let bad = dir.path().join("broken.mp3");
            std::fs::write(&bad, b"ID3 this is not audio at all, only words").unwrap();
            items.push(bad.display().to_string());
        }
    }
    items.push("http://127.0.0.1:9/private.mp3".into());
    let wav = dir.path().join("heard.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .arg("demo")
        .arg("--out")
        .arg(&wav)
        .arg("--play")
        .args(&items)
        .env("TMPDIR", dir.path())
        .output()
        .expect("run timmybot demo --play");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");

    for (name, freq, _) in media {
        let stem = name.split('.').next().unwrap();
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("🔊 heard {stem}:")))
            .unwrap_or_else(|| panic!("{name} was not heard:\n{stdout}"));
        let pitch: f32 = line
            .rsplit("strongest at ")
            .next()
            .and_then(|t| t.trim_end_matches(" Hz").parse().ok())
            .unwrap_or_else(|| panic!("no pitch in {line:?}"));
        assert!(
            (pitch - freq as f32).abs() <= 10.0,
            "{name}: heard {pitch} Hz, made {freq} Hz"
        );
    }
    assert!(
        stdout.contains("⚠ Couldn't play broken"),
        "the corrupt file is told:\n{stdout}"
    );
    assert!(
        stdout.contains(
            "127.0.0.1 points at a private or reserved address (127.0.0.1), which is not allowed"
        ),
        "the private address is refused:\n{stdout}"
    );
    assert!(!stdout.contains("Slow down"), "{stdout}");
    let (samples, channels) = read_wav(&wav);
    assert!(
        samples.len() >= 6 * 48_000 * channels,
        "six files of 2 s heard, got {:.1} s",
        samples.len() as f32 / (48_000 * channels) as f32
    );
}

/// `timmybot demo --dashboard`: after the session, the dashboard is served on loopback, its
/// login goes to the fake Discord's authorize page with "you" on it, and SIGTERM ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_the_dashboard_open_until_stopped() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", dir.path())
        .current_dir(dir.path())
        .args(["demo", "--dashboard"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    // Killed however the test ends.
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    let _kill = Kill(child.id());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Read to the end: a closed pipe would fail the demo's later lines.
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if let (Some(at), true) = (line.find("http://"), line.contains("/dashboard")) {
                let _ = tx.send(Ok(line[at..].trim().to_owned()));
            }
        }
        let _ = tx.send(Err(seen));
    });
    let url =
        tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(120)))
            .await
            .unwrap()
            .expect("the demo prints the dashboard's address within 2 min")
            .unwrap_or_else(|out| panic!("no dashboard address in:\n{out}"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let front = http.get(&url).send().await.unwrap();
    assert_eq!(front.status(), 200);
    assert!(front.text().await.unwrap().contains("Log in with Discord"));
    let login = http.get(format!("{url}/login")).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let authorize = login.headers()["location"].to_str().unwrap().to_owned();
    let page = http.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), 200, "{authorize}");
    assert!(page.text().await.unwrap().contains("Authorize as you"));

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "the demo ends cleanly: {status:?}");
}
