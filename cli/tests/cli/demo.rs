//! `timmybot demo` on its own: it runs offline, prints the session and the call's end-to-end
//! encryption, and the WAV it writes holds the first tone, then the second.

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

#[test]
fn the_demo_plays_its_session_and_writes_the_tones_it_heard() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("heard.wav");
    // No network settings at all: the demo brings its own Discord.
    let out = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", dir.path())
        .current_dir(dir.path())
        .args(["demo", "--out"])
        .arg(&wav)
        .output()
        .expect("run timmybot demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");

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
