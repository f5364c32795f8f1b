//! End-to-end latency through the whole chain on loopback: a signed `/play` to the
//! interactions router (moto's DynamoDB and SQS), the worker, the fake gateway and the TLS
//! voice server. Each run is a fresh guild, so every run includes joining voice.
//!
//! Twice: one worker on one shard (today's deployment), then two workers splitting two shards,
//! the runs' guilds alternating between the workers, so the router routes each `/play` to the
//! owning worker's queue.
//!
//! `cargo bench -p timmybot-tests --bench e2e_latency` (needs moto: `scripts/dev-setup`).

use std::time::{Duration, Instant};

use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_tests::chain::{guild, guild_on_shard, spawn_sharded, Layout, WAIT};
use timmybot_tests::latency::{print_table, PlayTiming};

const RUNS: u64 = 20;

async fn measure(guilds: &[FakeGuild], layout: Layout) -> Vec<PlayTiming> {
    let mut chain = spawn_sharded(guilds, layout).await;
    let mut runs = Vec::new();
    for g in guilds {
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
    chain.stop_worker().await;
    runs
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let one: Vec<_> = (1..=RUNS).map(|n| guild(100 + n)).collect();
    let single = measure(&one, Layout::single("2m")).await;
    // Shards 0 and 1 of 2, alternating: worker 0 plays the even runs, worker 1 the odd.
    let two: Vec<_> = (1..=RUNS)
        .map(|n| guild_on_shard(200 + n, (n % 2) as u32, 2))
        .collect();
    let split = measure(&two, Layout::sharded(2, 2)).await;

    println!("End to end on loopback, {RUNS} runs each, each a fresh guild (release build).\n");
    println!("One worker, one shard:\n");
    print_table(&single);
    println!("\nTwo workers, two shards (the runs alternate between the workers):\n");
    print_table(&split);
}
