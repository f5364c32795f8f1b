//! `GET /health`, `GET /stats` and `GET /metrics` over HTTP.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{TestWorker, WorkerParts};
use timmybot_bus::local::LocalBus;
use timmybot_domain::ManualClock;
use timmybot_store::sqlite::SqliteStore;
use voice_worker::health::{router, HealthState, Stats};

#[tokio::test]
async fn health_answers_and_stats_report_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let parts = WorkerParts {
        store: Arc::new(SqliteStore::open(":memory:", clock.clone()).await.unwrap()),
        clock: clock.clone(),
        bus: Arc::new(LocalBus::new(Duration::from_secs(30))),
        music_dir: dir.path().to_path_buf(),
        service: None,
        idle_leave: Duration::from_secs(120),
        idle_shutdown: Duration::from_secs(300),
        worker: timmybot_domain::WorkerIndex::FIRST,
        shards: timmybot_domain::ShardSpan::WHOLE,
    };
    let w = TestWorker::build(&parts);
    w.stats
        .received
        .store(3, std::sync::atomic::Ordering::SeqCst);
    let app = router(HealthState {
        players: w.players.clone(),
        stats: w.stats.clone(),
        started_at_ms: 1_000_000,
        scheduler: None,
        states: Arc::new(voice_worker::adapters::presence::VoiceStates::default()),
    });
    clock.advance(90_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert!(health.status().is_success());
    assert_eq!(health.text().await.unwrap(), "ok");
    let stats: Stats = reqwest::get(format!("http://{addr}/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.uptime_secs, 90);
    assert_eq!(stats.intents_received, 3);
    assert_eq!(stats.active_calls, 0);
    assert_eq!(stats.guilds, 0);
    assert!(
        stats.rss_bytes > 1_000_000,
        "RSS is read from /proc: {}",
        stats.rss_bytes
    );
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert!(metrics.status().is_success());
    let text = metrics.text().await.unwrap();
    assert!(text.contains("timmybot_guilds_in_call 0"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}
