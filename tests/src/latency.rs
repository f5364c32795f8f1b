//! Timing a `/play` through the fake Discord, and the benches' latency table.

use std::time::{Duration, Instant};

use timmybot_fake_discord::FakeDiscord;

/// Where the time went from a `/play` sent at `sent` to the first audio in a guild whose bot
/// was not yet in voice.
#[derive(Debug, Clone, Copy)]
pub struct PlayTiming {
    pub to_audio: Duration,
    pub to_op4: Duration,
    pub op4_to_rtp: Duration,
    pub op4_to_identify: Duration,
    pub identify_to_rtp: Duration,
}

impl PlayTiming {
    /// Waits for `guild`'s first audio packet, then reads the gateway's and the voice
    /// server's timestamps for that join.
    pub async fn measure(discord: &FakeDiscord, guild: u64, sent: Instant, wait: Duration) -> Self {
        let heard = discord
            .voice
            .wait_for(guild, wait, "the first audio packet", |h| {
                h.first_audio_at().is_some()
            })
            .await;
        let first_audio = heard.first_audio_at().expect("waited for it");
        let session = heard.sessions.first().expect("a voice session");
        let first_rtp = session.first_rtp_at.expect("RTP before audio");
        let (op4, _) = *discord
            .gateway
            .voice_updates(guild)
            .first()
            .expect("the bot asked to join");
        Self {
            to_audio: first_audio - sent,
            to_op4: op4 - sent,
            op4_to_rtp: first_rtp - op4,
            op4_to_identify: session.identified_at - op4,
            identify_to_rtp: first_rtp - session.identified_at,
        }
    }
}

/// Picks one measure out of a run.
type Measure = fn(&PlayTiming) -> Duration;

/// Prints min, p50, p90 and max of each measure, in milliseconds, as a Markdown table.
pub fn print_table(runs: &[PlayTiming]) {
    let rows: [(&str, Measure); 5] = [
        (
            "/play sent → first audio packet at the voice server",
            |t| t.to_audio,
        ),
        ("/play sent → op 4 (voice join) at the gateway", |t| {
            t.to_op4
        }),
        ("voice join: op 4 → first RTP packet", |t| t.op4_to_rtp),
        (
            "of which op 4 → voice Identify (gateway events, TLS WebSocket)",
            |t| t.op4_to_identify,
        ),
        (
            "of which voice Identify → first RTP (handshake, IP discovery, track start)",
            |t| t.identify_to_rtp,
        ),
    ];
    println!("| measure | min ms | p50 ms | p90 ms | max ms |");
    println!("|---|---|---|---|---|");
    if runs.is_empty() {
        return;
    }
    for (name, pick) in rows {
        let mut samples: Vec<Duration> = runs.iter().map(pick).collect();
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(samples[0]),
            ms(at(0.5)),
            ms(at(0.9)),
            ms(samples[samples.len() - 1]),
        );
    }
}
