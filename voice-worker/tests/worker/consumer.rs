//! The intent consumer against moto's SQS FIFO (and moto's ECS for scaling): order per
//! guild, duplicates, poison messages and the scale-to-zero race.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{eventually, music, TestWorker, WorkerParts};
use timmybot_bus::ecs::EcsService;
use timmybot_bus::sqs::SqsBus;
use timmybot_bus::IntentBus;
use timmybot_bus::WorkerService;
use timmybot_domain::ManualClock;
use timmybot_domain::{
    ChannelId, GuildId, IntentId, IntentKind, InteractionToken, PlaybackIntent, Position, ReplyTo,
    UserId,
};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::Store;
use timmybot_tests::aws;
use voice_worker::lifecycle::ScaleState;

const T0: u64 = 1_800_000_000_000;

fn guild(n: u64) -> GuildId {
    GuildId::new(n).unwrap()
}

fn play(g: GuildId, name: &str, token: &str) -> PlaybackIntent {
    PlaybackIntent::new(
        IntentId::generate(),
        g,
        T0,
        IntentKind::Play {
            query: format!("local:{name}.wav"),
            requester_id: UserId::new(7).unwrap(),
            voice_channel_id: ChannelId::new(500 + g.get()).unwrap(),
            position: Position::End,
        },
    )
    .with_reply(ReplyTo {
        application_id: timmybot_domain::ApplicationId::new(1).unwrap(),
        token: InteractionToken::new(token),
    })
    .with_channel(Some(ChannelId::new(900).unwrap()))
}

struct Fixture {
    parts: WorkerParts,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    dlq: String,
    _dir: tempfile::TempDir,
}

async fn fixture(visibility: Duration, max_receives: u32) -> Fixture {
    let config = aws::shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue, dlq) =
        aws::create_fifo_queue_with_dlq(&sqs, &aws::unique("intents"), visibility, max_receives)
            .await;
    let dir = tempfile::tempdir().unwrap();
    music(dir.path(), &["a", "b", "c", "d"]);
    let clock = Arc::new(ManualClock::new(T0));
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("bot.db"), clock.clone())
            .await
            .unwrap(),
    );
    let bus: Arc<dyn IntentBus> = Arc::new(SqsBus::new(sqs.clone(), queue.clone()));
    Fixture {
        parts: WorkerParts {
            store,
            clock,
            bus,
            music_dir: dir.path().canonicalize().unwrap(),
            service: None,
            idle_leave: Duration::from_secs(120),
            idle_shutdown: Duration::from_secs(300),
            worker: timmybot_domain::WorkerIndex::FIRST,
            shards: timmybot_domain::ShardSpan::WHOLE,
        },
        sqs,
        queue,
        dlq,
        _dir: dir,
    }
}

async fn queued(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    let n = |k: A| attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesNotVisible),
    )
}

async fn drained(f: &Fixture, w: &TestWorker) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (visible, hidden) = queued(&f.sqs, &f.queue).await;
        let in_flight = w.stats.in_flight.load(std::sync::atomic::Ordering::SeqCst);
        if visible + hidden == 0 && in_flight == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue never drained: {visible} visible, {hidden} in flight"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn titles(state: &timmybot_domain::GuildState) -> Vec<String> {
    state
        .queue
        .now_playing()
        .map(|np| np.track.title.clone())
        .into_iter()
        .chain(state.queue.upcoming().iter().map(|t| t.title.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_apply_in_order_per_guild_and_are_acked() {
    let f = fixture(Duration::from_secs(30), 5).await;
    let (g1, g2) = (guild(1_001), guild(1_002));
    // Interleave two guilds' intents; each guild's must apply in its own order.
    for (g, name, token) in [
        (g1, "a", "t1"),
        (g2, "d", "u1"),
        (g1, "b", "t2"),
        (g1, "c", "t3"),
        (g2, "a", "u2"),
    ] {
        f.parts.bus.publish(&play(g, name, token)).await.unwrap();
    }
    let mut w = TestWorker::build(&f.parts);
    w.start();
    drained(&f, &w).await;

    let s1 = f.parts.store.load_guild(g1).await.unwrap().value;
    let s2 = f.parts.store.load_guild(g2).await.unwrap().value;
    assert_eq!(titles(&s1), ["a", "b", "c"]);
    assert_eq!(titles(&s2), ["d", "a"]);
    let replies = w.notifier.replies();
    let for_g1: Vec<&str> = replies
        .iter()
        .filter(|(t, _)| t.starts_with('t'))
        .map(|(_, r)| r.as_str())
        .collect();
    assert_eq!(
        for_g1,
        [
            "▶ Now playing **a** (1:00)",
            "Queued **b** (1:00) — #1",
            "Queued **c** (1:00) — #2"
        ]
    );
    // Each guild joined its requester's channel and plays exactly one track.
    assert!(w.voice.playing(g1).is_some());
    assert!(w.voice.playing(g2).is_some());
    let joins = w.voice.joins.lock().unwrap().clone();
    assert!(joins.contains(&(g1, ChannelId::new(500 + g1.get()).unwrap())));
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_changes_nothing_twice() {
    let f = fixture(Duration::from_secs(30), 5).await;
    let g = guild(2_001);
    let intent = play(g, "a", "dup");
    let body = intent.encode();
    // The same intent twice, as two distinct messages (a retried publish after SQS's
    // five-minute dedup window, or a redrive): only the intent id can tell them apart.
    for dedup in ["first", "second"] {
        f.sqs
            .send_message()
            .queue_url(&f.queue)
            .message_group_id(g.to_string())
            .message_deduplication_id(dedup)
            .message_body(&body)
            .send()
            .await
            .unwrap();
    }
    let mut w = TestWorker::build(&f.parts);
    w.start();
    drained(&f, &w).await;

    let state = f.parts.store.load_guild(g).await.unwrap().value;
    assert_eq!(titles(&state), ["a"], "queued once");
    assert_eq!(w.notifier.replies().len(), 1, "replied once");
    assert_eq!(w.voice.tracks(g).len(), 1, "loaded once");
    assert_eq!(
        w.stats.received.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "both copies were delivered"
    );
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_reaches_the_dlq_and_the_worker_carries_on() {
    // One-second visibility and two receives, so the redrive happens within the test.
    let f = fixture(Duration::from_secs(1), 2).await;
    let g = guild(3_001);
    for (dedup, body) in [
        ("bad-json", "this is not json"),
        (
            "bad-version",
            r#"{"v":99,"id":"1","guild_id":"3001","issued_at_ms":0,"kind":{"type":"play"}}"#,
        ),
    ] {
        f.sqs
            .send_message()
            .queue_url(&f.queue)
            .message_group_id("3999")
            .message_deduplication_id(dedup)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let mut w = TestWorker::build(&f.parts);
    w.start();
    // A good intent in another guild is not held up by the poison.
    f.parts.bus.publish(&play(g, "b", "good")).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let in_dlq = loop {
        let (dlq_visible, _) = queued(&f.sqs, &f.dlq).await;
        if dlq_visible == 2 {
            break dlq_visible;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison never reached the DLQ (it holds {dlq_visible})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(in_dlq, 2);
    drained(&f, &w).await;
    let state = f.parts.store.load_guild(g).await.unwrap().value;
    assert_eq!(titles(&state), ["b"], "the good intent was applied");
    assert!(w.stats.malformed.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    // Still consuming after the poison.
    f.parts.bus.publish(&play(g, "c", "after")).await.unwrap();
    drained(&f, &w).await;
    let state = f.parts.store.load_guild(g).await.unwrap().value;
    assert_eq!(titles(&state), ["b", "c"]);
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_during_scale_down_scales_back_up_and_is_played() {
    let mut f = fixture(Duration::from_secs(30), 5).await;
    let config = aws::shared().sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    let (cluster, service) = (aws::unique("cluster"), aws::unique("worker"));
    aws::create_worker_service(&ecs, &cluster, &service).await;
    let scaler = Arc::new(EcsService::new(
        ecs.clone(),
        cluster.clone(),
        service.clone(),
    ));
    scaler.set_desired(1).await.unwrap();
    f.parts.service = Some(scaler);
    let mut w = TestWorker::build(&f.parts);
    w.start();

    // Not idle long enough yet: nothing changes.
    f.parts.clock.advance(299_000);
    let s = w.lifecycle.watch_idle(ScaleState::Up).await;
    assert_eq!(s, ScaleState::Up);
    assert_eq!(aws::desired_count(&ecs, &cluster, &service).await, 1);

    // Five minutes with no call and no intent: desiredCount 0, but keep polling.
    f.parts.clock.advance(1_000);
    let s = w.lifecycle.watch_idle(s).await;
    assert!(matches!(s, ScaleState::Draining { .. }), "{s:?}");
    assert_eq!(aws::desired_count(&ecs, &cluster, &service).await, 0);

    // The race: a command arrives before ECS stops the task.
    let g = guild(4_001);
    f.parts.bus.publish(&play(g, "a", "late")).await.unwrap();
    drained(&f, &w).await;
    let s = w.lifecycle.watch_idle(s).await;
    assert_eq!(s, ScaleState::Up);
    assert_eq!(
        aws::desired_count(&ecs, &cluster, &service).await,
        1,
        "the late intent scaled the service back up"
    );
    let state = f.parts.store.load_guild(g).await.unwrap().value;
    assert_eq!(titles(&state), ["a"], "and it was played, not lost");
    eventually(5, "the late intent's reply", || {
        w.notifier.replies().iter().any(|(t, _)| t == "late")
    })
    .await;
    w.stop_consuming().await;
}
