//! The player's life with fake voice: advancing on track end with the next track already
//! loaded, failures, idle leave, the SIGTERM drain, and resume after a crash or a drain.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{eventually, music, Cmd, Logs, NoCardIds, TestWorker, WorkerParts};
use timmybot_bus::local::LocalBus;
use timmybot_domain::{
    ApplicationId, ChannelId, GuildId, IntentId, IntentKind, InteractionToken, LoopMode,
    PlaybackIntent, Position, ReplyTo, UserId, Volume,
};
use timmybot_domain::{Clock, ManualClock};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::Store;
use voice_worker::player::Job;
use voice_worker::ports::TrackEnd;

const T0: u64 = 1_800_000_000_000;

fn g() -> GuildId {
    GuildId::new(77).unwrap()
}

fn voice_channel() -> ChannelId {
    ChannelId::new(700).unwrap()
}

fn intent(kind: IntentKind) -> PlaybackIntent {
    PlaybackIntent::new(IntentId::generate(), g(), T0, kind)
        .with_reply(ReplyTo {
            application_id: ApplicationId::new(1).unwrap(),
            token: InteractionToken::new("tok"),
        })
        .with_channel(Some(ChannelId::new(900).unwrap()))
}

fn play(name: &str) -> PlaybackIntent {
    intent(IntentKind::Play {
        query: format!("local:{name}"),
        requester_id: UserId::new(5).unwrap(),
        voice_channel_id: voice_channel(),
        position: Position::End,
    })
}

struct Fx {
    parts: WorkerParts,
    _dir: tempfile::TempDir,
}

async fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    music(dir.path(), &["a", "b", "c"]);
    let clock = Arc::new(ManualClock::new(T0));
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("bot.db"), clock.clone())
            .await
            .unwrap(),
    );
    Fx {
        parts: WorkerParts {
            store,
            clock,
            bus: Arc::new(LocalBus::new(Duration::from_secs(30))),
            music_dir: dir.path().canonicalize().unwrap(),
            service: None,
            idle_leave: Duration::from_secs(120),
            idle_shutdown: Duration::from_secs(300),
            worker: timmybot_domain::WorkerIndex::FIRST,
            shards: timmybot_domain::ShardSpan::WHOLE,
        },
        _dir: dir,
    }
}

async fn send(f: &Fx, i: PlaybackIntent) {
    f.parts.bus.publish(&i).await.unwrap();
}

/// `/loop` is a fast command: the Lambda writes the state, then sends `queue_changed`.
async fn set_loop(f: &Fx, mode: LoopMode) {
    timmybot_store::update_guild(
        f.parts.store.as_ref(),
        f.parts.clock.as_ref(),
        Default::default(),
        g(),
        |st| {
            st.queue.set_loop(mode);
            Ok::<_, timmybot_store::StoreError>(())
        },
    )
    .await
    .unwrap();
}

async fn state(f: &Fx) -> timmybot_domain::GuildState {
    f.parts.store.load_guild(g()).await.unwrap().value
}

async fn now_title(f: &Fx) -> Option<String> {
    state(f)
        .await
        .queue
        .now_playing()
        .map(|np| np.track.title.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_track_is_preloaded_and_starts_when_the_current_ends() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("a.wav")).await;
    send(&f, play("b.wav")).await;
    eventually(10, "a plays and b is prepared", || w.voice.armed(g()) == 2).await;
    let a = w.voice.playing(g()).unwrap();
    assert_eq!(w.voice.tracks(g()).len(), 1, "b waits outside the call");

    f.parts.clock.advance(200);
    a.end(TrackEnd::Finished);
    // The handoff starts b at once, in the end handler, before the store is written.
    let b = w.voice.tracks(g())[1].clone();
    assert!(b.playing(), "b started in the end handler");
    eventually(10, "the queue advanced to b", || {
        futures_now(now_title(&f)) == Some("b".into())
    })
    .await;
    // The play is recorded after the queue's write: wait for it rather than race it.
    eventually(10, "a is in the history", || {
        let history = futures_now(f.parts.store.recent_plays(g(), 10)).unwrap();
        history.len() == 1 && history[0].title == "a"
    })
    .await;
    eventually(10, "the card shows b", || {
        w.notifier.cards.lock().unwrap().last().map(|c| c.2.clone()) == Some("b".into())
    })
    .await;
    assert_eq!(w.voice.armed(g()), 2, "b was not opened a second time");
    assert_eq!(w.voice.tracks(g()).len(), 2);

    // b ends with an empty queue: nothing more plays.
    b.end(TrackEnd::Finished);
    eventually(10, "the queue is empty", || {
        futures_now(now_title(&f)).is_none()
    })
    .await;
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_end_is_never_lost_even_when_the_mailbox_is_full() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("a.wav")).await;
    send(&f, play("b.wav")).await;
    eventually(10, "a plays and b is prepared", || w.voice.armed(g()) == 2).await;
    let a = w.voice.playing(g()).unwrap();

    // Keep the player busy: it applies the volume change, then waits to edit the reply.
    let gate = w.notifier.reply_gate.write().await;
    send(
        &f,
        intent(IntentKind::Volume {
            percent: Volume::parse(80).unwrap(),
        }),
    )
    .await;
    eventually(10, "the volume change is stored", || {
        futures_now(state(&f)).queue.volume().percent() == 80
    })
    .await;
    // Fill its mailbox behind that job.
    let player = w.players.get(g()).await;
    while !player.is_full() {
        player.send(Job::Tick { done: None }).await.unwrap();
    }

    // The track ends now, with no room in the mailbox.
    a.end(TrackEnd::Finished);
    drop(gate);
    eventually(10, "the queue advanced to b", || {
        futures_now(now_title(&f)) == Some("b".into())
    })
    .await;
    let history = f.parts.store.recent_plays(g(), 10).await.unwrap();
    assert_eq!(history.len(), 1, "a's play is recorded");
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_join_is_told_in_plain_words() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.voice
        .refuse_joins
        .store(true, std::sync::atomic::Ordering::SeqCst);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "the reply says why", || {
        !w.notifier.replies().is_empty()
    })
    .await;
    let replies = w.notifier.replies();
    let said = &replies[0].1;
    assert!(
        said.contains("I couldn't join") && said.contains("Connect and Speak"),
        "{said}"
    );
    assert!(
        !said.contains("4006"),
        "songbird's own words reached users: {said}"
    );
    assert!(
        replies.iter().all(|(_, r)| !r.contains("Now playing")),
        "no \"now playing\" over a call it is not in: {replies:?}"
    );
    w.stop_consuming().await;
}

/// A join whose audio is not end-to-end encrypted within the bound, with someone listening:
/// the bot leaves rather than play to people whose clients drop its audio, and the reply says
/// why in plain words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_that_never_becomes_end_to_end_encrypted_is_left_and_told() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.presence.set(g(), voice_channel(), &[5]);
    w.voice
        .never_encrypted
        .store(true, std::sync::atomic::Ordering::SeqCst);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "the reply says why", || {
        !w.notifier.replies().is_empty()
    })
    .await;
    let reply = w.notifier.replies()[0].1.clone();
    assert_eq!(
        reply,
        "⚠ I couldn't join <#700>: Discord's voice encryption (DAVE) handshake did not \
         complete. Try again in a moment."
    );
    let waits = w.voice.protection_waits.lock().unwrap().clone();
    assert_eq!(waits, [(g(), voice_worker::worker::DAVE_WITHIN)]);
    assert_eq!(*w.voice.leaves.lock().unwrap(), [g()], "it left the call");
    assert!(w.voice.tracks(g()).is_empty(), "nothing was started");
    assert!(
        w.notifier.cards.lock().unwrap().is_empty(),
        "no now-playing card"
    );
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dave_version_the_bot_cannot_speak_is_told() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.presence.set(g(), voice_channel(), &[5]);
    *w.voice.dave_version_refused.lock().unwrap() = Some(2);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "the reply says why", || {
        !w.notifier.replies().is_empty()
    })
    .await;
    let reply = w.notifier.replies()[0].1.clone();
    assert_eq!(
        reply,
        "⚠ I couldn't join <#700>: Discord asked for voice encryption (DAVE) version 2, which \
         this version of TimmyBot can't speak. Whoever runs me needs to update me."
    );
    assert!(w.voice.tracks(g()).is_empty(), "nothing was started");
    w.stop_consuming().await;
}

/// Alone in the channel there is nobody to encrypt for, and no group can form until someone
/// comes: the bot plays without waiting for DAVE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alone_the_bot_does_not_wait_for_end_to_end_encryption() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.voice
        .never_encrypted
        .store(true, std::sync::atomic::Ordering::SeqCst);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || w.voice.playing(g()).is_some()).await;
    assert!(w.voice.protection_waits.lock().unwrap().is_empty());
    w.stop_consuming().await;
}

/// On one thread, so the log capture sees the player's tasks.
#[tokio::test]
async fn a_failed_write_of_the_now_playing_id_is_logged_and_playback_goes_on() {
    let logs = Logs::default();
    let _capture = logs.capture();
    let mut f = fx().await;
    f.parts.store = Arc::new(NoCardIds(f.parts.store.clone()));
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || w.voice.playing(g()).is_some()).await;
    eventually(10, "the reply is edited", || {
        !w.notifier.replies().is_empty()
    })
    .await;
    let text = logs.text();
    assert!(
        text.contains("saving the now-playing message id failed"),
        "not logged: {text}"
    );
    assert_eq!(state(&f).await.np_message_id, None);
    w.stop_consuming().await;
}

/// Runs a store read inside a synchronous wait condition (multi-threaded runtime only).
fn futures_now<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fut))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_track_replays_and_a_failing_source_is_reported_and_skipped() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || w.voice.playing(g()).is_some()).await;
    // /loop is a fast command: the Lambda writes the state and sends queue_changed.
    set_loop(&f, LoopMode::Track).await;
    send(&f, intent(IntentKind::QueueChanged)).await;
    eventually(10, "a second copy of a is prepared", || {
        w.voice.armed(g()) == 2
    })
    .await;
    let first = w.voice.tracks(g())[0].clone();
    first.end(TrackEnd::Finished);
    eventually(10, "a plays again", || w.voice.tracks(g())[1].playing()).await;
    assert_eq!(futures_now(now_title(&f)).as_deref(), Some("a"));

    // A source that fails mid-play is reported in the channel, and the queue moves on.
    send(&f, play("b.wav")).await;
    eventually(10, "queued b", || {
        futures_now(state(&f)).queue.upcoming().len() == 1
    })
    .await;
    set_loop(&f, LoopMode::Off).await;
    send(&f, intent(IntentKind::QueueChanged)).await;
    eventually(10, "b is prepared", || w.voice.armed(g()) == 3).await;
    let current = w.voice.playing(g()).unwrap();
    current.end(TrackEnd::Failed("the stream ended early".into()));
    eventually(10, "b plays", || {
        futures_now(now_title(&f)) == Some("b".into())
    })
    .await;
    assert!(
        w.notifier
            .said()
            .iter()
            .any(|s| s == "⚠ Couldn't play **a**: the stream ended early. Skipping it."),
        "{:?}",
        w.notifier.said()
    );
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_reported_and_skipped() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("nope.wav")).await;
    eventually(10, "the reply", || !w.notifier.replies().is_empty()).await;
    assert_eq!(
        w.notifier.replies()[0].1,
        "❌ there is no such file in the music folder"
    );
    assert!(futures_now(state(&f)).queue.is_empty());
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_reach_the_playing_track() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || w.voice.playing(g()).is_some()).await;
    let a = w.voice.playing(g()).unwrap();
    send(&f, intent(IntentKind::Pause)).await;
    eventually(10, "paused", || !a.playing()).await;
    send(&f, intent(IntentKind::Seek { position_ms: 1_500 })).await;
    send(
        &f,
        intent(IntentKind::Volume {
            percent: timmybot_domain::Volume::parse(50).unwrap(),
        }),
    )
    .await;
    send(&f, intent(IntentKind::Resume)).await;
    eventually(10, "resumed", || a.playing()).await;
    let cmds = a.cmds();
    assert!(
        cmds.contains(&Cmd::Seek(Duration::from_millis(1_500))),
        "{cmds:?}"
    );
    assert!(cmds.contains(&Cmd::Volume(0.5)), "{cmds:?}");
    let positions = w.notifier.card_positions.lock().unwrap().clone();
    assert!(
        positions.contains(&(true, 1_500)),
        "a paused card shows where the track stands: {positions:?}"
    );
    send(&f, intent(IntentKind::Stop)).await;
    eventually(10, "stopped", || a.cmds().last() == Some(&Cmd::Stop)).await;
    assert!(futures_now(state(&f)).queue.is_empty());
    w.stop_consuming().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_channel_is_left_after_idle_leave() {
    let f = fx().await;
    let mut w = TestWorker::build(&f.parts);
    w.start();
    w.presence.set(g(), voice_channel(), &[5]);
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || w.voice.playing(g()).is_some()).await;
    let tick = || async {
        for p in w.players.all().await {
            let (done, checked) = tokio::sync::oneshot::channel();
            p.send(voice_worker::player::Job::Tick { done: Some(done) })
                .await
                .unwrap();
            checked.await.unwrap();
        }
    };
    tick().await;
    f.parts.clock.advance(300_000);
    tick().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        w.voice.leaves.lock().unwrap().is_empty(),
        "someone listens: stay"
    );

    w.presence.set(g(), voice_channel(), &[]);
    tick().await; // alone from now
    f.parts.clock.advance(119_000);
    tick().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        w.voice.leaves.lock().unwrap().is_empty(),
        "not yet two minutes"
    );
    f.parts.clock.advance(1_000);
    tick().await;
    eventually(10, "left the channel", || {
        !w.voice.leaves.lock().unwrap().is_empty()
    })
    .await;
    assert!(w
        .notifier
        .said()
        .iter()
        .any(|s| s.starts_with("👋 Left <#700>: nobody was listening for 2 min")));
    assert_eq!(futures_now(state(&f)).voice_channel_id, None);
    w.stop_consuming().await;
}

/// A worker that played `a` from t0, beat at 42 s and died without a drain; the next one
/// starts `restart_after_ms` after that beat. Returns where the next one starts `a`.
async fn resume_after_a_crash(restart_after_ms: u64) -> Duration {
    let f = fx().await;
    let mut first = TestWorker::build(&f.parts);
    first.start();
    send(&f, play("a.wav")).await;
    send(&f, play("b.wav")).await;
    eventually(10, "a plays", || first.voice.playing(g()).is_some()).await;
    f.parts.clock.advance(42_000);
    first.lifecycle.beat().await;
    // The process dies: no drain, no goodbye. Its state is simply gone.
    first.stop_consuming().await;
    drop(first);

    f.parts.clock.advance(restart_after_ms);
    let mut second = TestWorker::build(&f.parts);
    second.lifecycle.resume().await;
    second.start();
    let resumed = second.voice.playing(g()).expect("playback resumed");
    assert_eq!(
        futures_now(now_title(&f)).as_deref(),
        Some("a"),
        "the same track"
    );
    assert_eq!(
        second.voice.joins.lock().unwrap().as_slice(),
        [(g(), voice_channel())]
    );
    second.stop_consuming().await;
    resumed.at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_with_a_stale_heartbeat_playback_resumes_where_the_last_beat_saw_it() {
    // A minute after the last beat, the heartbeat is stale (over 2 × 15 s): nobody knows
    // whether the old worker played on after it, so the position freezes at that beat.
    let at = resume_after_a_crash(60_000).await;
    assert_eq!(at, Duration::from_millis(42_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_with_a_fresh_heartbeat_playback_resumes_where_it_would_be_now() {
    // A second after the last beat, the old worker was playing until moments ago.
    let at = resume_after_a_crash(1_000).await;
    assert_eq!(at, Duration::from_millis(43_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_saves_the_position_leaves_and_the_next_worker_resumes_there() {
    let f = fx().await;
    let mut first = TestWorker::build(&f.parts);
    first.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || first.voice.playing(g()).is_some()).await;
    f.parts.clock.advance(30_000);
    first.stop_consuming().await;
    first.lifecycle.drain().await;
    let a = first.voice.tracks(g())[0].clone();
    assert_eq!(a.cmds().last(), Some(&Cmd::Stop));
    assert_eq!(first.voice.leaves.lock().unwrap().as_slice(), [g()]);
    let saved = futures_now(state(&f));
    let np = saved.queue.now_playing().unwrap();
    assert!(np.paused && saved.marks.suspended, "frozen by the shutdown");
    assert_eq!(np.position_ms(f.parts.clock.now_ms()), 30_000);
    let hb = f
        .parts
        .store
        .last_beat(timmybot_domain::WorkerIndex::FIRST)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        hb.active_guilds,
        [g()],
        "the last beat names what to resume"
    );
    assert!(
        !hb.is_fresh(f.parts.clock.now_ms(), 45_000),
        "and reads as asleep"
    );

    // ECS starts a new task ten minutes later; the position does not drift.
    f.parts.clock.advance(600_000);
    let second = TestWorker::build(&f.parts);
    second.lifecycle.resume().await;
    let resumed = second.voice.playing(g()).expect("playing again");
    assert_eq!(resumed.at, Duration::from_millis(30_000));
    let after = futures_now(state(&f));
    assert!(!after.queue.now_playing().unwrap().paused);
    assert!(!after.marks.suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_task_keeps_the_guilds_to_resume_in_its_beats_until_it_has_resumed() {
    let f = fx().await;
    let mut first = TestWorker::build(&f.parts);
    first.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || first.voice.playing(g()).is_some()).await;
    first.stop_consuming().await;
    first.lifecycle.drain().await;

    // The next task reads what to resume, then beats before its gateway is up: that beat
    // must still name the guild, or a crash now would forget it.
    let second = TestWorker::build(&f.parts);
    let last = second
        .lifecycle
        .last_beat()
        .await
        .expect("the drained beat");
    second.lifecycle.beat().await;
    let w0 = timmybot_domain::WorkerIndex::FIRST;
    let beat = f.parts.store.last_beat(w0).await.unwrap().unwrap();
    assert_eq!(beat.active_guilds, [g()], "carried forward");
    assert!(second.voice.playing(g()).is_none(), "not resumed yet");
    second.lifecycle.resume_from(last).await;
    assert!(second.voice.playing(g()).is_some(), "resumed");
    second.lifecycle.beat().await;
    let beat = f.parts.store.last_beat(w0).await.unwrap().unwrap();
    assert_eq!(beat.active_guilds, [g()], "now because it plays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_now_on_another_workers_shard_is_not_resumed() {
    let f = fx().await;
    let mut first = TestWorker::build(&f.parts);
    first.start();
    send(&f, play("a.wav")).await;
    eventually(10, "a plays", || first.voice.playing(g()).is_some()).await;
    first.stop_consuming().await;
    first.lifecycle.drain().await;

    // The deployment now splits two shards over two workers; guild 77 is on shard 0, and
    // this task is worker 0 of the old layout but runs only shard 1.
    let parts = WorkerParts {
        shards: timmybot_domain::ShardSpan::new(2, 1, 1).unwrap(),
        ..f.parts.clone()
    };
    let second = TestWorker::build(&parts);
    second.lifecycle.resume().await;
    assert!(second.voice.joins.lock().unwrap().is_empty(), "no join");
    assert!(second.voice.playing(g()).is_none());
}
