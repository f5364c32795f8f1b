//! `GET /health` and `GET /stats` on a small local port, for the container health check and
//! for operators. Nothing here is secret.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use timmybot_config::names::routes;

use crate::adapters::presence::VoiceStates;
use crate::consumer::ConsumerStats;
use crate::players::Players;

#[derive(Clone)]
pub struct HealthState {
    pub players: Arc<Players>,
    pub stats: Arc<ConsumerStats>,
    pub started_at_ms: u64,
    /// The gateway's guilds, from its voice-state cache.
    pub states: Arc<VoiceStates>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Guilds the gateway has sent this worker (GUILD_CREATE), on its shards.
    #[serde(default)]
    pub guilds: usize,
    pub active_calls: usize,
    pub queued_intents: usize,
    pub intents_received: u64,
    pub intents_malformed: u64,
    /// Intents for another worker's guilds (a shard-plan mismatch), left for the DLQ.
    #[serde(default)]
    pub intents_misrouted: u64,
    pub uptime_secs: u64,
    /// Resident memory, from /proc; 0 where that is not available.
    pub rss_bytes: u64,
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route(routes::HEALTH, get(|| async { "ok" }))
        .route(routes::STATS, get(stats))
        .with_state(state)
}

async fn stats(State(s): State<HealthState>) -> Json<Stats> {
    let deps = s.players.deps();
    let now = deps.clock.now_ms();
    Json(Stats {
        guilds: s.states.guilds(),
        active_calls: deps.active_guilds().len(),
        queued_intents: s.stats.in_flight.load(Ordering::Relaxed),
        intents_received: s.stats.received.load(Ordering::Relaxed),
        intents_malformed: s.stats.malformed.load(Ordering::Relaxed),
        intents_misrouted: s.stats.misrouted.load(Ordering::Relaxed),
        uptime_secs: now.saturating_sub(s.started_at_ms) / 1000,
        rss_bytes: rss_bytes(),
    })
}

/// Resident set size in bytes (Linux), or 0.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
