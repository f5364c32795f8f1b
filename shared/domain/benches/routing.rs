//! How evenly the shard/worker routing spreads guilds, and what it costs:
//! `cargo bench -p timmybot-domain --bench routing`.
//!
//! A guild id is a snowflake: milliseconds since Discord's epoch (2015-01-01) above 22 bits of
//! worker, process and increment. Discord's rule shards on the milliseconds, so a sample must
//! draw them as guild creation does. Two draws, 1,000,000 ids each (seeded, so a rerun prints
//! the same table): creation times uniform from 2015-05 to 2026-01, and skewed towards recent
//! years (density growing linearly with time, as a growing platform's would).

use std::hint::black_box;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use timmybot_domain::{GuildId, ShardPlan};

const SAMPLES: usize = 1_000_000;
const SEED: u64 = 0x5eed_0015;
/// 2015-05-13 (Discord's launch) and 2026-01-01, in ms since Discord's epoch.
const FROM_MS: u64 = 11_318_400_000;
const TO_MS: u64 = 347_155_200_000;

#[derive(Clone, Copy)]
enum Draw {
    Uniform,
    Recent,
}

fn snowflakes(draw: Draw) -> Vec<GuildId> {
    let mut rng = StdRng::seed_from_u64(SEED);
    (0..SAMPLES)
        .map(|_| {
            let u: f64 = rng.random();
            // Linear density on [0, 1]: the inverse CDF of 2x is sqrt(u).
            let at = match draw {
                Draw::Uniform => u,
                Draw::Recent => u.sqrt(),
            };
            let ms = FROM_MS + ((TO_MS - FROM_MS) as f64 * at) as u64;
            let low: u64 = rng.random_range(0..1 << 22);
            GuildId::new((ms << 22) | low).expect("a timestamp above zero")
        })
        .collect()
}

fn main() {
    println!(
        "Routing balance over {SAMPLES} random snowflakes (seed {SEED:#x}); share = a shard's or \
         worker's part of all guilds, 'vs even' = largest/smallest divided by the even share.\n"
    );
    println!(
        "| draw | shards | workers | largest shard | smallest shard | vs even | largest worker | smallest worker | vs even |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, draw) in [("uniform", Draw::Uniform), ("recent-heavy", Draw::Recent)] {
        let ids = snowflakes(draw);
        for (shards, workers) in [(2, 2), (4, 2), (16, 4), (20, 8), (64, 8), (256, 16)] {
            let plan = ShardPlan::new(shards, workers).expect("a valid plan");
            let mut per_shard = vec![0u64; shards as usize];
            let mut per_worker = vec![0u64; workers as usize];
            for g in &ids {
                per_shard[plan.shard_of(*g) as usize] += 1;
                per_worker[plan.worker_of(*g).get() as usize] += 1;
            }
            let share = |n: u64| n as f64 / SAMPLES as f64;
            let (smax, smin) = extremes(&per_shard);
            let (wmax, wmin) = extremes(&per_worker);
            let even_shard = 1.0 / f64::from(shards);
            let even_worker = 1.0 / f64::from(workers);
            println!(
                "| {name} | {shards} | {workers} | {:.4}% | {:.4}% | {:.4} / {:.4} | {:.4}% | {:.4}% | {:.4} / {:.4} |",
                share(smax) * 100.0,
                share(smin) * 100.0,
                share(smax) / even_shard,
                share(smin) / even_shard,
                share(wmax) * 100.0,
                share(wmin) * 100.0,
                share(wmax) / even_worker,
                share(wmin) / even_worker,
            );
        }
    }
    // The cost of one routing decision (shard and worker), over the same million ids.
    let ids = snowflakes(Draw::Uniform);
    let plan = ShardPlan::new(64, 8).expect("a valid plan");
    let started = Instant::now();
    let mut acc = 0u64;
    for g in &ids {
        acc += u64::from(black_box(plan).worker_of(black_box(*g)).get());
    }
    let per_call = started.elapsed().as_nanos() as f64 / SAMPLES as f64;
    black_box(acc);
    println!(
        "\nOne routing decision (ShardPlan::worker_of, 64 shards over 8 workers), over the same \
         million ids: {per_call:.1} ns."
    );
}

fn extremes(counts: &[u64]) -> (u64, u64) {
    let max = counts.iter().copied().max().unwrap_or(0);
    let min = counts.iter().copied().min().unwrap_or(0);
    (max, min)
}
