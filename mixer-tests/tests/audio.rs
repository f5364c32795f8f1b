//! The player's real inputs, mixed by songbird into encrypted Opus RTP, decrypted, decoded
//! and measured: a tone as a local file, over HTTP, and through (a stand-in for) yt-dlp.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use songbird::tracks::Track;
use timmybot_domain::{Clock, SystemClock};
use timmybot_domain::{Platform, UserId};
use timmybot_fake_discord::audio::{dominant_frequency, rms, wav_tone};
use timmybot_mixer_tests::MockCall;
use timmybot_sources::{Guard, Sources, SourcesConfig};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::TrackCache;
use timmybot_tests::http_files::FileServer;

const AMPLITUDE: f32 = 0.5;
/// A full-scale sine's RMS is amplitude / √2.
const EXPECTED_RMS: f32 = AMPLITUDE * std::f32::consts::FRAC_1_SQRT_2;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sources(rt: &tokio::runtime::Runtime, music: Option<&Path>, ytdl: &str) -> Sources {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = rt
        .block_on(SqliteStore::open(":memory:", clock.clone()))
        .unwrap();
    let cache: Arc<dyn TrackCache> = Arc::new(store);
    Sources::new(
        SourcesConfig {
            ytdl_program: ytdl.to_owned(),
            ytdl_args: vec![],
            // The loopback file server stands in for a public host.
            guard: Guard::default().trusting(["127.0.0.1".parse().unwrap()]),
            spotify: None,
            linked: None,
            music_dir: music.map(Path::to_path_buf),
        },
        cache,
        clock,
    )
    .unwrap()
}

fn user() -> UserId {
    UserId::new(42).unwrap()
}

/// Plays `input` on a mock call and returns ~1 s of what was sent.
fn hear(rt: &tokio::runtime::Runtime, input: songbird::input::Input, gain: f32) -> Vec<f32> {
    let mut call = MockCall::new(rt.handle().clone());
    call.play(Track::new(input).volume(gain));
    // Pace the ticks a little so the input can be readied in the background.
    call.collect_audio(50, Duration::from_millis(2), 3_000)
}

fn assert_tone(pcm: &[f32], freq: f32, expected_rms: f32) {
    assert!(
        pcm.len() >= 40 * 960 * 2,
        "expected at least 40 frames of audio, got {} samples",
        pcm.len()
    );
    let f = dominant_frequency(pcm);
    assert!((f - freq).abs() <= 5.0, "heard {f} Hz, expected {freq} Hz");
    let r = rms(pcm);
    assert!(
        (r - expected_rms).abs() <= expected_rms * 0.15,
        "RMS {r}, expected about {expected_rms}"
    );
}

#[test]
fn a_local_file_tone_is_heard() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tone.wav"), wav_tone(440.0, 3.0, AMPLITUDE)).unwrap();
    let src = sources(&rt, Some(dir.path()), "yt-dlp");
    let tracks = rt.block_on(src.resolve("local:tone.wav", user())).unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].key.platform(), Platform::Local);
    assert_eq!(tracks[0].title, "tone");
    let input = rt.block_on(src.open(&tracks[0])).unwrap();
    assert_tone(&hear(&rt, input, 1.0), 440.0, EXPECTED_RMS);
}

#[test]
fn volume_scales_what_is_heard() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tone.wav"), wav_tone(440.0, 3.0, AMPLITUDE)).unwrap();
    let src = sources(&rt, Some(dir.path()), "yt-dlp");
    let track = rt
        .block_on(src.resolve("local:tone.wav", user()))
        .unwrap()
        .remove(0);
    let input = rt.block_on(src.open(&track)).unwrap();
    assert_tone(&hear(&rt, input, 0.5), 440.0, EXPECTED_RMS * 0.5);
}

#[test]
fn a_tone_over_http_is_heard() {
    let rt = runtime();
    let server = rt.block_on(
        FileServer::builder()
            .file("tone.wav", wav_tone(660.0, 3.0, AMPLITUDE), "audio/wav")
            .serve(),
    );
    let src = sources(&rt, None, "yt-dlp");
    let url = server.url("tone.wav");
    let tracks = rt.block_on(src.resolve(&url, user())).unwrap();
    assert_eq!(tracks[0].key.platform(), Platform::Http);
    assert_eq!(tracks[0].title, "tone.wav");
    let input = rt.block_on(src.open(&tracks[0])).unwrap();
    assert_tone(&hear(&rt, input, 1.0), 660.0, EXPECTED_RMS);
    assert!(server.hits() >= 1, "the audio came from the server");
}

/// A stand-in for yt-dlp that answers `-j URL` the way yt-dlp does: one JSON line per
/// result, whose `url` is the stream to fetch. It logs its arguments for the test.
fn fake_ytdl(dir: &Path, stream_url: &str) -> String {
    let script = dir.join("yt-dlp");
    let log = dir.join("args.log");
    let body = format!(
        "#!/bin/sh\necho \"$@\" >> '{log}'\n\
         printf '%s\\n' '{{\"url\":\"{stream_url}\",\"title\":\"Fake Tone\",\"uploader\":\"Test Channel\",\"duration\":3.0,\"webpage_url\":\"https://www.youtube.com/watch?v=fake\",\"protocol\":\"https\"}}'\n",
        log = log.display()
    );
    std::fs::write(&script, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script.to_string_lossy().into_owned()
}

#[test]
fn a_tone_through_ytdlp_is_heard() {
    let rt = runtime();
    let server = rt.block_on(
        FileServer::builder()
            .file("stream.wav", wav_tone(880.0, 3.0, AMPLITUDE), "audio/wav")
            .serve(),
    );
    let dir = tempfile::tempdir().unwrap();
    let ytdl = fake_ytdl(dir.path(), &server.url("stream.wav"));
    let src = sources(&rt, None, &ytdl);
    let tracks = rt
        .block_on(src.resolve("https://www.youtube.com/watch?v=fake", user()))
        .unwrap();
    let t = &tracks[0];
    assert_eq!(t.key.platform(), Platform::Youtube);
    assert_eq!(t.title, "Fake Tone");
    assert_eq!(t.artist.as_deref(), Some("Test Channel"));
    assert_eq!(t.duration_ms, Some(3_000));
    let input = rt.block_on(src.open(t)).unwrap();
    assert_tone(&hear(&rt, input, 1.0), 880.0, EXPECTED_RMS);
    let args = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    assert!(
        args.lines()
            .all(|l| l.starts_with("-j https://www.youtube.com/watch?v=fake")),
        "yt-dlp was asked for the page: {args}"
    );
}

#[test]
fn a_search_goes_to_ytdlp_as_ytsearch1() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let ytdl = fake_ytdl(dir.path(), "http://127.0.0.1:9/none.wav");
    let src = sources(&rt, None, &ytdl);
    let tracks = rt.block_on(src.resolve("never gonna", user())).unwrap();
    assert_eq!(tracks[0].title, "Fake Tone");
    assert_eq!(
        tracks[0].source, "https://www.youtube.com/watch?v=fake",
        "the queue keeps the found page, not the search"
    );
    let args = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    assert!(args.starts_with("-j ytsearch1:never gonna"), "{args}");
}
