//! What a Prometheus scrape of `/metrics` costs the worker at 100 guilds in a call: the
//! gauges read at the scrape (the guilds in a call and playing, sorted), and the text
//! encoding of every series, with each intent kind and source already counted.
//!
//! Run: `cargo bench -p voice-worker --bench metrics`

use std::collections::HashSet;
use std::hint::black_box;
use std::sync::Mutex;

use criterion::{criterion_group, criterion_main, Criterion};
use timmybot_domain::{GuildId, IntentKind, Platform};
use voice_worker::metrics::{ShardLabel, WorkerMetrics};

fn scrape(c: &mut Criterion) {
    let metrics = WorkerMetrics::default();
    for kind in IntentKind::NAMES {
        for _ in 0..1_000 {
            metrics.intent(kind);
        }
        metrics.intent_failed(kind);
    }
    for p in Platform::ALL {
        metrics.track_failed(p);
    }
    for shard in 0..4 {
        metrics
            .gateway_latency_seconds
            .get_or_create(&ShardLabel { shard })
            .set(0.042);
    }
    let active: Mutex<HashSet<GuildId>> = Mutex::new(
        (1..=100)
            .map(|n| GuildId::new(1_000_000 + n).expect("an id"))
            .collect(),
    );
    let text = metrics.render();
    println!(
        "one scrape at 100 guilds: {} bytes, {} lines",
        text.len(),
        text.lines().count()
    );
    c.bench_function("metrics scrape, 100 guilds", |b| {
        b.iter(|| {
            let guilds = active.lock().map(|s| {
                let mut v: Vec<_> = s.iter().copied().collect();
                v.sort();
                v.len()
            });
            metrics
                .guilds_in_call
                .set(i64::try_from(guilds.unwrap_or(0)).unwrap_or(0));
            black_box(metrics.render())
        })
    });
}

criterion_group!(benches, scrape);
criterion_main!(benches);
