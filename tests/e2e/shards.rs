//! More than one worker, end to end offline: guilds spread over the shards, each worker runs
//! only its range, the router sends each intent to the owning worker's queue and wakes only
//! that worker, a restarted worker resumes only its own guilds, and identifies keep Discord's
//! `max_concurrency` across workers.

use std::time::{Duration, Instant};

use timmybot_domain::{identify_bucket, GuildId, WorkerIndex};
use timmybot_tests::chain::{guild_on_shard, spawn_sharded, Chain, Layout, WAIT};

use timmybot_fake_discord::gateway::FakeGuild;

fn owned(chain: &Chain, i: u32) -> Vec<GuildId> {
    chain.workers[i as usize]
        .taken
        .lock()
        .expect("recording lock")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_four_shards_each_guild_is_played_by_the_worker_that_owns_it() {
    let guilds: Vec<FakeGuild> = (0..4)
        .map(|s| guild_on_shard(40 + u64::from(s), s, 4))
        .collect();
    let mut chain = spawn_sharded(&guilds, Layout::sharded(2, 4)).await;
    let tones = [440.0, 660.0, 880.0, 660.0];
    for (g, tone) in guilds.iter().zip(tones) {
        chain.join(g);
        let (res, _) = chain.play(g, tone).await;
        assert_eq!(res["type"], 5, "its worker is awake: deferred ({res})");
    }
    for (g, tone) in guilds.iter().zip(tones) {
        chain.hears(g, tone, &format!("{}'s tone", g.name)).await;
    }
    // Shards 0 and 1 are worker 0's, shards 2 and 3 worker 1's; each guild's voice join went
    // through the connection of its own shard, which its owner runs.
    let owners: Vec<u32> = guilds.iter().map(|g| chain.owner(g).get()).collect();
    assert_eq!(owners, [0, 0, 1, 1]);
    for g in &guilds {
        let by_shard = chain.discord.gateway.voice_updates_by_shard(g.id);
        let shard = GuildId::new(g.id).unwrap().shard(4);
        assert_eq!(
            by_shard.iter().map(|(_, _, s)| *s).collect::<Vec<_>>(),
            [[shard, 4]],
            "{}: one op 4, through its own shard",
            g.name
        );
        assert_eq!(chain.joined_by(g), [chain.owner(g)]);
    }
    // No worker took another's intents from its queue.
    for i in 0..2 {
        let taken = owned(&chain, i);
        assert_eq!(taken.len(), 2, "worker {i} took {taken:?}");
        assert!(
            taken
                .iter()
                .all(|g| chain.plan.worker_of(*g) == WorkerIndex::new(i)),
            "worker {i} took {taken:?}"
        );
    }
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_command_for_a_sleeping_workers_guild_wakes_only_that_worker() {
    let (a, b) = (guild_on_shard(50, 0, 2), guild_on_shard(51, 1, 2));
    let layout = Layout {
        services: true,
        asleep: vec![1],
        ..Layout::sharded(2, 2)
    };
    let mut chain = spawn_sharded(&[a.clone(), b.clone()], layout).await;
    chain.join(&a);
    chain.join(&b);
    let (res, _) = chain.play(&a, 440.0).await;
    assert_eq!(res["type"], 5, "worker 0 is awake: {res}");
    chain.hears(&a, 440.0, "guild a, on worker 0").await;
    assert_eq!((chain.desired(0).await, chain.desired(1).await), (0, 0));

    // Guild b's shard is worker 1's, which sleeps: the reply says so, and only its service
    // is asked for a task.
    let (res, _) = chain.play(&b, 660.0).await;
    assert_eq!(res["type"], 4, "{res}");
    assert_eq!(res["data"]["content"], timmybot_commands::STARTING);
    assert_eq!(chain.desired(1).await, 1, "worker 1 was woken");
    assert_eq!(chain.desired(0).await, 0, "worker 0 was not");
    assert!(owned(&chain, 0).iter().all(|g| g.get() == a.id));

    // ECS starts worker 1's task: it takes the waiting intent and plays guild b.
    chain.start_worker(1).await;
    chain
        .hears(&b, 660.0, "guild b, on worker 1 once woken")
        .await;
    assert_eq!(chain.joined_by(&b), [WorkerIndex::new(1)]);
    assert_eq!(chain.joined_by(&a), [WorkerIndex::FIRST]);
    assert_eq!(owned(&chain, 1), [GuildId::new(b.id).unwrap()]);
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_restarted_mid_track_resumes_only_its_own_guilds() {
    let (a, b) = (guild_on_shard(60, 0, 2), guild_on_shard(61, 1, 2));
    let mut chain = spawn_sharded(&[a.clone(), b.clone()], Layout::sharded(2, 2)).await;
    chain.join(&a);
    chain.join(&b);
    chain.play(&a, 440.0).await;
    chain.play(&b, 660.0).await;
    chain.hears(&a, 440.0, "guild a before the restart").await;
    chain.hears(&b, 660.0, "guild b before the restart").await;

    // Worker 0's task is replaced (a deploy, or a Spot interruption): SIGTERM, then a new one.
    chain.stop_worker_at(0).await;
    let stopped_at = Instant::now();
    let b_frames = chain.discord.voice.heard(b.id).audio_frames();
    let beat = chain
        .store
        .last_beat(WorkerIndex::FIRST)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        beat.active_guilds,
        [GuildId::new(a.id).unwrap()],
        "worker 0's last beat names its guild to resume, and only it"
    );
    chain.start_worker(0).await;
    chain
        .discord
        .voice
        .wait_for(a.id, WAIT, "guild a's tone after the restart", |h| {
            h.pcm_since(stopped_at).len() >= 20 * 1_920
        })
        .await;
    chain
        .hears(&a, 440.0, "guild a resumed on the same track")
        .await;
    // Guild a: joined, left in the drain, joined again, all through worker 0's shard.
    let a_updates = chain.discord.gateway.voice_updates(a.id);
    assert_eq!(
        a_updates
            .iter()
            .map(|(_, c)| c.is_some())
            .collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(chain.joined_by(&a), [WorkerIndex::FIRST; 3]);
    // Guild b never noticed: one join, by worker 1, and its audio ran on throughout.
    assert_eq!(chain.joined_by(&b), [WorkerIndex::new(1)]);
    chain
        .discord
        .voice
        .wait_for(b.id, WAIT, "guild b playing on", |h| {
            h.audio_frames() >= b_frames + 50
        })
        .await;
    assert_eq!(owned(&chain, 0), [GuildId::new(a.id).unwrap()]);
    assert_eq!(owned(&chain, 1), [GuildId::new(b.id).unwrap()]);
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifies_keep_max_concurrency_across_workers() {
    // Four shards over two workers, two identify buckets: shards 0 and 2 share bucket 0 but
    // belong to different workers, as do shards 1 and 3 in bucket 1.
    let guilds: Vec<FakeGuild> = (0..4)
        .map(|s| guild_on_shard(70 + u64::from(s), s, 4))
        .collect();
    let layout = Layout {
        max_concurrency: 2,
        ..Layout::sharded(2, 4)
    };
    let mut chain = spawn_sharded(&guilds, layout).await;
    let ids = chain.discord.gateway.identifies();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let spacing = Duration::from_secs(5);
    for bucket in 0..2 {
        let mut at: Vec<Instant> = ids
            .iter()
            .filter(|(_, [shard, _])| identify_bucket(*shard, 2) == bucket)
            .map(|(t, _)| *t)
            .collect();
        at.sort();
        assert_eq!(at.len(), 2);
        let apart = at[1] - at[0];
        assert!(
            apart >= spacing,
            "bucket {bucket}'s identifies were {apart:?} apart, under Discord's 5 s"
        );
    }
    // The buckets themselves run side by side: the first identify of each came together.
    let firsts: Vec<Instant> = (0..2)
        .filter_map(|bucket| {
            ids.iter()
                .filter(|(_, [s, _])| identify_bucket(*s, 2) == bucket)
                .map(|(t, _)| *t)
                .min()
        })
        .collect();
    let gap = firsts[0].max(firsts[1]) - firsts[0].min(firsts[1]);
    assert!(
        gap < spacing,
        "the two buckets waited on each other: {gap:?}"
    );
    // Each shard identified once, and every guild is on a connected shard.
    let mut shards: Vec<u32> = ids.iter().map(|(_, [s, _])| *s).collect();
    shards.sort_unstable();
    assert_eq!(shards, [0, 1, 2, 3]);
    chain.stop_worker().await;
}
