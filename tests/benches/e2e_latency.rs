//! End-to-end latency through the whole chain on loopback: a signed `/play` to the
//! interactions router (moto's DynamoDB and SQS), the worker, the fake gateway and the TLS
//! voice server. Each run is a fresh guild, so every run includes joining voice.
//!
//! `cargo bench -p timmybot-tests --bench e2e_latency` (needs moto: `scripts/dev-setup`).

use std::time::{Duration, Instant};

use timmybot_tests::chain::{guild, spawn_chain, WAIT};
use timmybot_tests::latency::{print_table, PlayTiming};

const RUNS: u64 = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let guilds: Vec<_> = (1..=RUNS).map(|n| guild(100 + n)).collect();
    let mut chain = spawn_chain(&guilds, "2m").await;
    let mut runs = Vec::new();
    for g in &guilds {
        chain.join(g);
        let sent = Instant::now();
        chain.play(g, 440.0).await;
        runs.push(PlayTiming::measure(&chain.discord, g.id, sent, WAIT).await);
        eprint!(".");
        // One call at a time: the next run measures an otherwise idle worker.
        chain.command(g, "leave", &[], None).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!();
    println!("End to end on loopback, {RUNS} runs, each a fresh guild (release build):\n");
    print_table(&runs);
    chain.stop_worker().await;
}
