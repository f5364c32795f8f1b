//! `GET /health`, `GET /stats` and `GET /metrics` on a small local port, for the container
//! health check, for operators and for Prometheus. Nothing here is secret.

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
    /// The worker's mixers, for their tick time; `None` where there are none (tests).
    pub scheduler: Option<songbird::driver::Scheduler>,
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
        .route(routes::METRICS, get(metrics))
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

/// Prometheus text. The gauges that describe now are read at the scrape.
async fn metrics(
    State(s): State<HealthState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let deps = s.players.deps();
    let m = &deps.metrics;
    m.guilds_in_call
        .set(i64::try_from(deps.active_guilds().len()).unwrap_or(i64::MAX));
    m.streams_playing
        .set(i64::try_from(deps.streams_playing()).unwrap_or(i64::MAX));
    if let Some(scheduler) = &s.scheduler {
        if let Ok(threads) = scheduler.worker_thread_stats().await {
            let worst_ns = threads
                .iter()
                .map(|t| t.last_compute_cost_ns())
                .max()
                .unwrap_or(0);
            m.mixer_tick_seconds.set(worst_ns as f64 / 1e9);
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
}

/// Resident set size in bytes (Linux), or 0.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
