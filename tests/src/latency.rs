//! Timing a `/play` through the fake Discord, and the benches' latency table.

use std::time::{Duration, Instant};

use timmybot_fake_discord::FakeDiscord;

/// Where the time went from a `/play` sent at `sent` to the first audio in a guild whose bot
/// was not yet in voice. With DAVE the first audio is the first end-to-end encrypted frame a
/// member decrypted, and the join includes the DAVE handshake.
#[derive(Debug, Clone, Copy)]
pub struct PlayTiming {
    pub to_audio: Duration,
    pub to_op4: Duration,
    pub op4_to_rtp: Duration,
    pub op4_to_identify: Duration,
    pub identify_to_rtp: Duration,
    /// Gateway op 4 → the first frame heard through DAVE decryption.
    pub op4_to_e2ee: Option<Duration>,
    /// Session Description (DAVE v1) → the group ready for the bot (its op 23).
    pub dave_handshake: Option<Duration>,
    /// Voice Identify → Session Description: Ready, IP discovery, Select Protocol.
    pub identify_to_description: Option<Duration>,
    /// The group ready → the first RTP packet: the worker noticing, the track starting.
    pub ready_to_rtp: Option<Duration>,
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
        crate::chain::assert_no_plaintext_after_ready(&heard);
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
            op4_to_e2ee: heard.first_e2ee_at().map(|at| at - op4),
            dave_handshake: heard
                .dave
                .handshake_started_at
                .zip(heard.dave.ready_at)
                .map(|(start, ready)| ready - start),
            identify_to_description: heard
                .dave
                .handshake_started_at
                .map(|start| start.saturating_duration_since(session.identified_at)),
            ready_to_rtp: heard
                .dave
                .ready_at
                .map(|ready| first_rtp.saturating_duration_since(ready)),
        }
    }
}

/// Picks one measure out of a run; `None` where the run has no such measure (no DAVE).
type Measure = fn(&PlayTiming) -> Option<Duration>;

/// Prints min, p50, p90 and max of each measure, in milliseconds, as a Markdown table, then
/// the DAVE handshake's share of the voice join.
pub fn print_table(runs: &[PlayTiming]) {
    let rows: [(&str, Measure); 9] = [
        (
            "/play sent → first audio heard at the voice server",
            |t| Some(t.to_audio),
        ),
        ("/play sent → op 4 (voice join) at the gateway", |t| {
            Some(t.to_op4)
        }),
        ("voice join: op 4 → first RTP packet", |t| {
            Some(t.op4_to_rtp)
        }),
        (
            "voice join: op 4 → first end-to-end encrypted (DAVE) frame",
            |t| t.op4_to_e2ee,
        ),
        (
            "of which op 4 → voice Identify (gateway events, TLS WebSocket)",
            |t| Some(t.op4_to_identify),
        ),
        (
            "of which voice Identify → first RTP (handshakes, IP discovery, track start)",
            |t| Some(t.identify_to_rtp),
        ),
        (
            "of which voice Identify → Session Description (Ready, IP discovery, Select Protocol)",
            |t| t.identify_to_description,
        ),
        (
            "of which the DAVE handshake (Session Description → group ready)",
            |t| t.dave_handshake,
        ),
        (
            "of which the group ready → first RTP (the worker sees it, the track starts)",
            |t| t.ready_to_rtp,
        ),
    ];
    println!("| measure | min ms | p50 ms | p90 ms | max ms |");
    println!("|---|---|---|---|---|");
    if runs.is_empty() {
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (name, pick) in rows {
        let mut samples: Vec<Duration> = runs.iter().filter_map(pick).collect();
        if samples.is_empty() {
            continue;
        }
        samples.sort();
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(samples[0]),
            ms(at(0.5)),
            ms(at(0.9)),
            ms(samples[samples.len() - 1]),
        );
    }
    let mut shares: Vec<f64> = runs
        .iter()
        .filter_map(|t| Some(ms(t.dave_handshake?) / ms(t.op4_to_e2ee?)))
        .collect();
    if !shares.is_empty() {
        shares.sort_by(f64::total_cmp);
        println!(
            "\nThe DAVE handshake is {:.0}% of the voice join (op 4 → first E2EE frame) at the \
             median, {:.0}% at most.",
            100.0 * shares[(shares.len() - 1) / 2],
            100.0 * shares[shares.len() - 1],
        );
    }
}
