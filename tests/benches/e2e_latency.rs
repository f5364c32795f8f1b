//! End-to-end latency through the whole chain on loopback: a signed `/play` to the
//! interactions router (moto's DynamoDB and SQS), the worker, the fake gateway and the TLS
//! voice server. Each run is a fresh guild, so every run includes joining voice.
//!
//! `cargo bench -p timmybot-tests --bench e2e_latency` (needs moto: `scripts/dev-setup`).

use std::time::{Duration, Instant};

use timmybot_tests::chain::{guild, spawn_chain, WAIT};
use timmybot_tests::latency::print_table;

const RUNS: u64 = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let guilds: Vec<_> = (1..=RUNS).map(|n| guild(100 + n)).collect();
    let mut chain = spawn_chain(&guilds, "2m").await;
    let (mut to_audio, mut to_op4, mut join) = (Vec::new(), Vec::new(), Vec::new());
    let (mut to_identify, mut to_rtp) = (Vec::new(), Vec::new());
    for g in &guilds {
        chain.join(g);
        let sent = Instant::now();
        chain.play(g, 440.0).await;
        let heard = chain
            .discord
            .voice
            .wait_for(g.id, WAIT, "the first audio packet", |h| {
                h.first_audio_at().is_some()
            })
            .await;
        let first_audio = heard.first_audio_at().expect("waited for it");
        let first_rtp = heard.sessions[0].first_rtp_at.expect("RTP before audio");
        let (op4, _) = chain.discord.gateway.voice_updates(g.id)[0];
        to_audio.push(first_audio - sent);
        to_op4.push(op4 - sent);
        join.push(first_rtp - op4);
        let identified = heard.sessions[0].identified_at;
        to_identify.push(identified - op4);
        to_rtp.push(first_rtp - identified);
        eprint!(".");
        // One call at a time: the next run measures an otherwise idle worker.
        chain.command(g, "leave", &[], None).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!();
    println!("End to end on loopback, {RUNS} runs, each a fresh guild (release build):\n");
    print_table(vec![
        (
            "/play sent → first audio packet at the voice server",
            to_audio,
        ),
        ("/play sent → op 4 (voice join) at the gateway", to_op4),
        ("voice join: op 4 → first RTP packet", join),
        (
            "of which op 4 → voice Identify (gateway events, TLS WebSocket)",
            to_identify,
        ),
        (
            "of which voice Identify → first RTP (handshake, IP discovery, track start)",
            to_rtp,
        ),
    ]);
    chain.shutdown().await;
}
