//! Queue operation cost on a full (500-track) queue: `cargo bench -p timmybot-shared --bench queue`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use timmybot_domain::queue::QUEUE_CAP;
use timmybot_domain::{GuildQueue, LoopMode, Platform, Position, Track, TrackKey, UserId};

fn track(n: usize) -> Track {
    let key = TrackKey::new(Platform::Youtube, &format!("video{n:06}")).unwrap();
    Track::new(
        key,
        &format!("Some Song Title {n}"),
        &format!("https://youtu.be/video{n:06}"),
        UserId::new(1).unwrap(),
    )
    .unwrap()
    .with_artist("Some Artist")
    .with_duration_ms(215_000)
}

/// A queue holding `n` tracks, the first of them playing.
fn queue(n: usize, mode: LoopMode) -> GuildQueue {
    let mut q = GuildQueue::new();
    q.add_many((0..n).map(track).collect(), Position::End)
        .unwrap();
    q.start(0);
    q.set_loop(mode);
    q
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_500");
    let almost_full = queue(QUEUE_CAP - 1, LoopMode::Off);
    let full_off = queue(QUEUE_CAP, LoopMode::Off);
    let full_loop = queue(QUEUE_CAP, LoopMode::Queue);
    let extra = track(999_999);

    g.bench_function("add_end", |b| {
        b.iter_batched_ref(
            || almost_full.clone(),
            |q| q.add(black_box(extra.clone()), Position::End),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("add_next", |b| {
        b.iter_batched_ref(
            || almost_full.clone(),
            |q| q.add(black_box(extra.clone()), Position::Next),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("add_refused_when_full", |b| {
        b.iter_batched_ref(
            || full_off.clone(),
            |q| q.add(black_box(extra.clone()), Position::End),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("advance_loop_off", |b| {
        b.iter_batched_ref(
            || full_off.clone(),
            |q| q.advance(black_box(1)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("advance_loop_queue", |b| {
        b.iter_batched_ref(
            || full_loop.clone(),
            |q| q.advance(black_box(1)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("shuffle", |b| {
        let mut rng = StdRng::seed_from_u64(1);
        b.iter_batched_ref(
            || full_off.clone(),
            |q| q.shuffle(&mut rng),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("clone_baseline", |b| {
        b.iter(|| black_box(&full_off).clone())
    });
    // Every command loads, changes and saves the queue: the round trip is its real cost.
    let json = serde_json::to_vec(&full_off).unwrap();
    g.bench_function("encode_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&full_off)))
    });
    g.bench_function("decode_json", |b| {
        b.iter(|| serde_json::from_slice::<GuildQueue>(black_box(&json)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
