//! What sealing and opening one OAuth token costs.
//!
//! Run: `cargo bench -p timmybot-accounts --bench vault`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use secrecy::SecretString;
use timmybot_accounts::Vault;
use timmybot_domain::{Platform, UserId};

fn seal_open(c: &mut Criterion) {
    let key = SecretString::from("42".repeat(32));
    let vault = Vault::new(&key, None).expect("a key");
    let user = UserId::new(81_384_788_765_712_384).expect("an id");
    // A Google token response is a few hundred bytes: both tokens, expiry, scopes.
    let token = vec![b'x'; 512];
    let blob = vault.seal(user, Platform::Youtube, &token);
    c.bench_function("seal a 512-byte token", |b| {
        b.iter(|| vault.seal(user, Platform::Youtube, black_box(&token)))
    });
    c.bench_function("open a 512-byte token", |b| {
        b.iter(|| vault.open(user, Platform::Youtube, black_box(&blob)))
    });
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
