//! One contract for every store port, run against both adapters: SQLite in a temp file and
//! DynamoDB in moto's server.

use std::collections::BTreeSet;

use timmybot_domain::queue::QUEUE_CAP;
use timmybot_domain::records::ITEM_MAX_BYTES;
use timmybot_domain::Clock;
use timmybot_domain::RetryPolicy;
use timmybot_domain::{
    AllowEntry, CachedTrack, ChannelId, GuildId, Heartbeat, HistoryEntry, LoopMode, MessageId,
    PendingAuth, Platform, Position, QueueError, SealedBlob, Track, TrackKey, UserId, Volume,
    WorkerIndex,
};
use timmybot_store::{update_guild, update_user, Claim, StoreError};
use timmybot_tests::backends::{StoreUnderTest, T0_MS};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

fn guild(n: u64) -> GuildId {
    GuildId::new(n).unwrap()
}

fn user(n: u64) -> UserId {
    UserId::new(n).unwrap()
}

fn track(tag: &str) -> Track {
    let key = TrackKey::new(Platform::Youtube, tag).unwrap();
    Track::new(
        key,
        &format!("Song {tag}"),
        &format!("https://youtu.be/{tag}"),
        user(5),
    )
    .unwrap()
    .with_artist("Artist")
    .with_duration_ms(200_000)
}

fn add(t: Track) -> impl FnMut(&mut timmybot_domain::GuildState) -> Result<usize, StoreError> {
    move |s| Ok(s.queue.add(t.clone(), Position::End)?)
}

/// 200 writers on one item settle only when the back-off ceiling can grow to about
/// writers × service time. moto serves a 200-track item at roughly 6 updates a second, so
/// the ceiling here is far above the interactive default's; what this proves is that
/// conditional writes with fresh-read retries never lose or duplicate an update.
const HERD: RetryPolicy = RetryPolicy {
    max_attempts: 400,
    base_delay: std::time::Duration::from_millis(20),
    max_delay: std::time::Duration::from_secs(20),
};

async fn concurrent_adds_lose_nothing(b: StoreUnderTest) {
    let g = guild(1001);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = b.store.clone();
            let clock = b.clock.clone();
            tokio::spawn(async move {
                update_guild::<_, StoreError, _>(
                    store.as_ref(),
                    clock.as_ref(),
                    HERD,
                    g,
                    add(track(&format!("c{i}"))),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("every add lands");
    }
    let loaded = b.store.load_guild(g).await.unwrap();
    let keys: BTreeSet<String> = loaded
        .value
        .queue
        .upcoming()
        .iter()
        .map(|t| t.key.to_string())
        .collect();
    let len = loaded.value.queue.upcoming().len();
    assert_eq!((len, keys.len()), (200, 200), "(tracks, distinct tracks)");
    assert_eq!(loaded.version, 200);
}

async fn guilds_are_isolated(b: StoreUnderTest) {
    let (a, c) = (guild(2001), guild(2002));
    let policy = RetryPolicy::default();
    let (s, k) = (b.store.as_ref(), b.clock.as_ref());
    for i in 0..10 {
        update_guild::<_, StoreError, _>(s, k, policy, a, add(track(&format!("a{i}"))))
            .await
            .unwrap();
        update_guild::<_, StoreError, _>(s, k, policy, c, add(track(&format!("b{i}"))))
            .await
            .unwrap();
    }
    update_guild::<_, StoreError, _>(s, k, policy, a, |st| {
        st.queue.set_loop(LoopMode::Queue);
        st.queue.set_volume(Volume::parse(40).unwrap());
        st.queue.start(T0_MS);
        st.voice_channel_id = Some(ChannelId::new(77).unwrap());
        Ok(())
    })
    .await
    .unwrap();
    update_guild::<_, StoreError, _>(s, k, policy, c, |st| Ok(st.queue.clear()))
        .await
        .unwrap();

    let ga = s.load_guild(a).await.unwrap();
    let gc = s.load_guild(c).await.unwrap();
    assert_eq!((ga.version, gc.version), (11, 11));
    assert!(ga
        .value
        .queue
        .upcoming()
        .iter()
        .all(|t| t.key.id().starts_with('a')));
    assert_eq!(ga.value.queue.now_playing().unwrap().track.key.id(), "a0");
    assert_eq!(ga.value.queue.upcoming().len(), 9);
    assert_eq!(ga.value.queue.loop_mode(), LoopMode::Queue);
    assert_eq!(ga.value.voice_channel_id, Some(ChannelId::new(77).unwrap()));
    assert!(gc.value.queue.is_empty());
    assert_eq!(gc.value.queue.loop_mode(), LoopMode::Off);
    assert_eq!(gc.value.queue.volume(), Volume::default());
    assert_eq!(gc.value.voice_channel_id, None);
    assert_eq!(s.load_guild(guild(2003)).await.unwrap().version, 0);
}

async fn state_round_trips_every_field(b: StoreUnderTest) {
    let g = guild(3001);
    let updated = update_guild::<_, StoreError, _>(
        b.store.as_ref(),
        b.clock.as_ref(),
        RetryPolicy::default(),
        g,
        |st| {
            st.queue
                .add_many(vec![track("r1"), track("r2"), track("r3")], Position::End)?;
            st.queue.start(T0_MS - 5_000);
            // r1 goes to the tracks `/previous` returns to.
            st.queue.skip(T0_MS - 5_000)?;
            st.queue.seek(42_000, T0_MS - 1_000)?;
            st.queue.pause(T0_MS)?;
            st.queue.set_loop(LoopMode::Track);
            st.queue.set_volume(Volume::parse(175).unwrap());
            st.voice_channel_id = Some(ChannelId::new(11).unwrap());
            st.text_channel_id = Some(ChannelId::new(12).unwrap());
            st.np_message_id = Some(MessageId::new(13).unwrap());
            st.marks.record("intent-1");
            st.marks.vote_skip(UserId::new(14).unwrap());
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(updated.version, 1);
    assert_eq!(updated.record.last_active_ms, T0_MS);
    let loaded = b.store.load_guild(g).await.unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.value, updated.record);
    assert!(loaded.value.marks.has_applied("intent-1"));
    assert_eq!(loaded.value.marks.skip_votes().len(), 1);
    assert_eq!(loaded.value.queue.played(), [track("r1")]);
    assert_eq!(
        loaded
            .value
            .queue
            .now_playing()
            .unwrap()
            .position_ms(T0_MS + 60_000),
        43_000
    );
}

async fn a_stale_version_is_a_conflict(b: StoreUnderTest) {
    let g = guild(4001);
    let fresh = b.store.load_guild(g).await.unwrap();
    assert_eq!(b.store.save_guild(&fresh.value, 0).await.unwrap(), 1);
    assert!(matches!(
        b.store.save_guild(&fresh.value, 0).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        b.store.save_guild(&fresh.value, 5).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(b.store.save_guild(&fresh.value, 1).await.unwrap(), 2);
    assert_eq!(b.store.load_guild(g).await.unwrap().version, 2);
}

async fn a_queue_over_the_cap_is_a_typed_error_and_writes_nothing(b: StoreUnderTest) {
    let g = guild(5001);
    let (s, k, p) = (b.store.as_ref(), b.clock.as_ref(), RetryPolicy::default());
    let full: Vec<Track> = (0..QUEUE_CAP).map(|i| track(&format!("f{i}"))).collect();
    update_guild::<_, StoreError, _>(s, k, p, g, |st| {
        Ok(st.queue.add_many(full.clone(), Position::End)?)
    })
    .await
    .unwrap();
    let err = update_guild::<_, StoreError, _>(s, k, p, g, add(track("one-more")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Queue(QueueError::Full { cap: 500 })),
        "{err:?}"
    );
    assert!(err.to_string().contains("queue is full"), "{err}");
    let loaded = s.load_guild(g).await.unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.value.queue.len(), QUEUE_CAP);
}

async fn an_item_over_400kb_is_a_typed_error_and_writes_nothing(b: StoreUnderTest) {
    let g = guild(6001);
    // 250 tracks with 2 KB sources: legal tracks, far over DynamoDB's 400 KB item limit.
    let padding = "p".repeat(1900);
    let tracks: Vec<Track> = (0..250)
        .map(|i| {
            let key = TrackKey::new(Platform::Http, &format!("big{i}")).unwrap();
            Track::new(
                key,
                "Big",
                &format!("https://a.example/{i}/{padding}"),
                user(5),
            )
            .unwrap()
        })
        .collect();
    let err = update_guild::<_, StoreError, _>(
        b.store.as_ref(),
        b.clock.as_ref(),
        RetryPolicy::default(),
        g,
        |st| Ok(st.queue.add_many(tracks.clone(), Position::End)?),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::ItemTooLarge { limit } if limit == ITEM_MAX_BYTES),
        "{err:?}"
    );
    assert!(err.to_string().contains("too large"), "{err}");
    assert_eq!(b.store.load_guild(g).await.unwrap().version, 0);
}

async fn guild_state_expires_and_the_allowlist_does_not(b: StoreUnderTest) {
    let g = guild(7001);
    let s = b.store.as_ref();
    s.allow(&AllowEntry {
        guild_id: g,
        approved_by: user(1),
        approved_at_ms: T0_MS,
        note: "friends".into(),
    })
    .await
    .unwrap();
    update_guild::<_, StoreError, _>(
        s,
        b.clock.as_ref(),
        RetryPolicy::default(),
        g,
        add(track("e1")),
    )
    .await
    .unwrap();

    b.clock.set(T0_MS + 23 * HOUR_MS);
    assert_eq!(
        s.load_guild(g).await.unwrap().value.queue.len(),
        1,
        "alive within 24 h"
    );

    b.clock.set(T0_MS + 25 * HOUR_MS);
    let expired = s.load_guild(g).await.unwrap();
    assert!(
        expired.value.queue.is_empty(),
        "expired state reads as fresh"
    );
    assert_eq!(
        expired.version, 1,
        "but keeps its version, so the next write still conditions on it"
    );
    assert_eq!(
        s.save_guild(&expired.value, expired.version).await.unwrap(),
        2
    );
    assert!(s.is_allowed(g).await.unwrap());

    b.clock.set(T0_MS + 1_000 * DAY_MS);
    assert!(
        s.is_allowed(g).await.unwrap(),
        "the allowlist never expires"
    );
}

async fn allowlist_add_list_revoke(b: StoreUnderTest) {
    let s = b.store.as_ref();
    assert!(s.list_allowed().await.unwrap().is_empty());
    for (id, note) in [(9_000_000_000_000_000_002u64, "b"), (8_002, "a")] {
        s.allow(&AllowEntry {
            guild_id: guild(id),
            approved_by: user(1),
            approved_at_ms: T0_MS,
            note: note.into(),
        })
        .await
        .unwrap();
    }
    // Re-approving updates the entry rather than adding another.
    s.allow(&AllowEntry {
        guild_id: guild(8_002),
        approved_by: user(2),
        approved_at_ms: T0_MS + 1,
        note: "again".into(),
    })
    .await
    .unwrap();
    let listed = s.list_allowed().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].guild_id, guild(8_002), "ordered numerically");
    assert_eq!(
        (listed[0].approved_by, listed[0].note.as_str()),
        (user(2), "again")
    );
    assert!(s.is_allowed(guild(8_002)).await.unwrap());
    assert!(!s.is_allowed(guild(8_003)).await.unwrap());
    assert!(s.revoke(guild(8_002)).await.unwrap());
    assert!(
        !s.revoke(guild(8_002)).await.unwrap(),
        "second revoke finds nothing"
    );
    assert!(!s.is_allowed(guild(8_002)).await.unwrap());
    assert_eq!(s.list_allowed().await.unwrap().len(), 1);
}

async fn user_profiles_round_trip_and_expire(b: StoreUnderTest) {
    let u = user(9001);
    let (s, k, p) = (b.store.as_ref(), b.clock.as_ref(), RetryPolicy::default());
    assert_eq!(s.load_user(u).await.unwrap().version, 0);
    let updated = update_user::<_, StoreError, _>(s, k, p, u, |prof| {
        prof.preferred_platform = Some(Platform::Spotify);
        prof.linked
            .insert(Platform::Spotify, SealedBlob(vec![1, 2, 3, 0, 255]));
        prof.linked
            .insert(Platform::Youtube, SealedBlob(vec![9; 64]));
        prof.pending_auth = Some(PendingAuth {
            platform: Platform::Youtube,
            sealed: SealedBlob(vec![7; 40]),
            expires_at_ms: T0_MS + 900_000,
        });
        Ok(())
    })
    .await
    .unwrap();
    let loaded = s.load_user(u).await.unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.value, updated.record);

    // Unlinking one account removes just that one.
    update_user::<_, StoreError, _>(s, k, p, u, |prof| {
        prof.linked.remove(&Platform::Youtube);
        prof.pending_auth = None;
        Ok(())
    })
    .await
    .unwrap();
    let loaded = s.load_user(u).await.unwrap();
    assert_eq!(loaded.version, 2);
    assert_eq!(
        loaded.value.linked.keys().copied().collect::<Vec<_>>(),
        [Platform::Spotify]
    );
    assert_eq!(loaded.value.pending_auth, None);

    b.clock.set(T0_MS + 31 * DAY_MS);
    let expired = s.load_user(u).await.unwrap();
    assert!(
        expired.value.linked.is_empty(),
        "a profile idle 30 days is gone"
    );
    assert_eq!(expired.version, 2);
}

async fn history_is_newest_first_per_guild_and_expires(b: StoreUnderTest) {
    let s = b.store.as_ref();
    let entry = |g: u64, at: u64, tag: &str| HistoryEntry {
        guild_id: guild(g),
        played_at_ms: at,
        track_key: TrackKey::new(Platform::Youtube, tag).unwrap(),
        requester: user(3),
        title: format!("Song {tag}"),
        artist: Some("Artist".into()),
        source: format!("https://youtu.be/{tag}"),
    };
    for i in 0..5u64 {
        s.record_play(&entry(10_001, T0_MS + i * 1000, &format!("h{i}")))
            .await
            .unwrap();
    }
    s.record_play(&entry(10_002, T0_MS, "other")).await.unwrap();
    // Playing the same track again at a later time is a second entry.
    s.record_play(&entry(10_001, T0_MS + 9_000, "h0"))
        .await
        .unwrap();

    let recent = s.recent_plays(guild(10_001), 3).await.unwrap();
    let tags: Vec<&str> = recent.iter().map(|h| h.track_key.id()).collect();
    assert_eq!(tags, ["h0", "h4", "h3"]);
    assert_eq!(recent[0], entry(10_001, T0_MS + 9_000, "h0"));
    assert_eq!(s.recent_plays(guild(10_001), 100).await.unwrap().len(), 6);
    assert_eq!(s.recent_plays(guild(10_002), 100).await.unwrap().len(), 1);
    assert!(s.recent_plays(guild(10_003), 100).await.unwrap().is_empty());
    assert!(s.recent_plays(guild(10_001), 0).await.unwrap().is_empty());

    b.clock.set(T0_MS + 90 * DAY_MS + 4_500);
    let left: Vec<String> = s
        .recent_plays(guild(10_001), 100)
        .await
        .unwrap()
        .iter()
        .map(|h| h.track_key.id().to_owned())
        .collect();
    assert_eq!(left, ["h0"], "plays older than 90 days are gone");
}

async fn track_cache_round_trips_and_expires(b: StoreUnderTest) {
    let s = b.store.as_ref();
    let key = TrackKey::new(Platform::Spotify, "4uLU6hMCjMI75M1A2tKUQC").unwrap();
    assert_eq!(s.cached_track(&key).await.unwrap(), None);
    let cached = CachedTrack {
        key: key.clone(),
        title: "Never Gonna Give You Up".into(),
        artist: Some("Rick Astley".into()),
        duration_ms: Some(213_573),
        thumbnail: None,
        isrc: Some("GBARL9300135".into()),
        resolved_source: "https://youtu.be/dQw4w9WgXcQ".into(),
        cached_at_ms: T0_MS,
    };
    s.cache_track(&cached).await.unwrap();
    assert_eq!(s.cached_track(&key).await.unwrap(), Some(cached));
    b.clock.set(T0_MS + 7 * DAY_MS + 1_000);
    assert_eq!(
        s.cached_track(&key).await.unwrap(),
        None,
        "a resolution is cached 7 days"
    );
}

async fn each_worker_has_one_heartbeat_item_overwritten(b: StoreUnderTest) {
    let s = b.store.as_ref();
    let (w0, w1) = (WorkerIndex::FIRST, WorkerIndex::new(1));
    assert_eq!(s.last_beat(w0).await.unwrap(), None);
    let mut hb = Heartbeat {
        task_id: "task-1".into(),
        started_at_ms: T0_MS,
        last_beat_ms: T0_MS,
        active_guilds: vec![guild(1), guild(2)],
        identifies: vec![T0_MS - 1_000, T0_MS],
    };
    s.beat(w0, &hb).await.unwrap();
    hb.last_beat_ms += 15_000;
    hb.active_guilds.pop();
    s.beat(w0, &hb).await.unwrap();
    assert_eq!(s.last_beat(w0).await.unwrap(), Some(hb.clone()));
    assert_eq!(
        s.last_beat(w1).await.unwrap(),
        None,
        "worker 1 has its own item, not worker 0's"
    );
    let other = Heartbeat {
        task_id: "task-2".into(),
        active_guilds: vec![guild(3)],
        identifies: vec![],
        ..hb.clone()
    };
    s.beat(w1, &other).await.unwrap();
    assert_eq!(s.last_beat(w1).await.unwrap(), Some(other));
    assert_eq!(s.last_beat(w0).await.unwrap(), Some(hb.clone()));
    b.clock.set(T0_MS + 365 * DAY_MS);
    let last = s.last_beat(w0).await.unwrap().unwrap();
    assert!(
        !last.is_fresh(b.clock.now_ms(), 45_000),
        "an old beat is kept, and reads as stale"
    );
}

async fn an_identify_bucket_admits_one_claim_per_lease(b: StoreUnderTest) {
    let s = b.store.as_ref();
    let t = T0_MS;
    assert_eq!(s.claim_identify(0, t, 5_000).await.unwrap(), Claim::Granted);
    assert_eq!(
        s.claim_identify(0, t + 100, 5_000).await.unwrap(),
        Claim::HeldUntil(t + 5_000)
    );
    assert_eq!(
        s.claim_identify(1, t + 100, 5_000).await.unwrap(),
        Claim::Granted,
        "another bucket is free"
    );
    assert_eq!(
        s.claim_identify(0, t + 5_000, 5_000).await.unwrap(),
        Claim::Granted,
        "free again when the lease ends"
    );
    // Twenty workers claim bucket 2 at the same moment: exactly one wins.
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let store = b.store.clone();
            tokio::spawn(async move { store.claim_identify(2, t + 10_000, 5_000).await })
        })
        .collect();
    let mut claims = Vec::new();
    for r in racers {
        claims.push(r.await.unwrap());
    }
    let granted = claims
        .iter()
        .filter(|c| matches!(c, Ok(Claim::Granted)))
        .count();
    assert_eq!(granted, 1, "{claims:?}");
    assert!(claims
        .iter()
        .all(|c| matches!(c, Ok(Claim::Granted | Claim::HeldUntil(_)))));
}

/// Checks the TTL attributes under the adapter: present on guild state, absent on the
/// allowlist entry.
async fn ttl_is_on_state_and_not_on_the_allowlist(b: StoreUnderTest) {
    let g = guild(12_001);
    b.store
        .allow(&AllowEntry {
            guild_id: g,
            approved_by: user(1),
            approved_at_ms: T0_MS,
            note: String::new(),
        })
        .await
        .unwrap();
    update_guild::<_, StoreError, _>(
        b.store.as_ref(),
        b.clock.as_ref(),
        RetryPolicy::default(),
        g,
        add(track("ttl")),
    )
    .await
    .unwrap();
    let expected_ttl_ms = T0_MS + DAY_MS;
    match &b.raw {
        timmybot_tests::backends::RawStore::Dynamo { client, table } => {
            use aws_sdk_dynamodb::types::AttributeValue;
            let get = |sk: &'static str| {
                client
                    .get_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S(format!("GUILD#{g}")))
                    .key("sk", AttributeValue::S(sk.into()))
                    .send()
            };
            let allow = get("ALLOW").await.unwrap().item.unwrap();
            assert!(
                !allow.contains_key("ttl"),
                "allowlist item has a ttl: {allow:?}"
            );
            let state = get("STATE").await.unwrap().item.unwrap();
            let ttl: u64 = state["ttl"].as_n().unwrap().parse().unwrap();
            assert_eq!(
                ttl,
                expected_ttl_ms / 1000,
                "ttl is epoch seconds, last_active + 24 h"
            );
            assert_eq!(state["version"].as_n().unwrap(), "1");
        }
        timmybot_tests::backends::RawStore::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let cols: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info('allowlist')")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                !cols.iter().any(|c| c.contains("expires")),
                "allowlist has an expiry column: {cols:?}"
            );
            let expires: i64 = conn
                .query_row(
                    "SELECT expires_at_ms FROM guild_state WHERE guild_id = ?1",
                    [g.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(expires as u64, expected_ttl_ms);
        }
    }
}

async fn guild_settings_default_round_trip_and_never_expire(b: StoreUnderTest) {
    use timmybot_domain::{GuildSettings, RoleId};
    let s = b.store.as_ref();
    let g = guild(13_001);
    assert_eq!(s.guild_settings(g).await.unwrap(), GuildSettings::new(g));
    let set = GuildSettings {
        guild_id: g,
        dj_role: Some(RoleId::new(44).unwrap()),
        idle_timeout_secs: Some(300),
        announce_channel: Some(ChannelId::new(45).unwrap()),
        stay: true,
        autoplay: true,
    };
    s.save_guild_settings(&set).await.unwrap();
    assert_eq!(s.guild_settings(g).await.unwrap(), set);
    let cleared = GuildSettings {
        dj_role: None,
        stay: false,
        ..set.clone()
    };
    s.save_guild_settings(&cleared).await.unwrap();
    assert_eq!(
        s.guild_settings(g).await.unwrap(),
        cleared,
        "a cleared field stays cleared"
    );
    assert_eq!(
        s.guild_settings(guild(13_002)).await.unwrap(),
        GuildSettings::new(guild(13_002))
    );
    b.clock.set(T0_MS + 1_000 * DAY_MS);
    assert_eq!(
        s.guild_settings(g).await.unwrap(),
        cleared,
        "settings never expire"
    );
}

async fn access_requests_are_one_pending_per_guild_and_lapse_after_a_week(b: StoreUnderTest) {
    use timmybot_domain::AccessRequest;
    let s = b.store.as_ref();
    let (g, other) = (guild(14_001), guild(14_002));
    let request = |g: GuildId, use_case: &str, at: u64| {
        AccessRequest::new(g, "Club", user(9), None, use_case, "5", at).unwrap()
    };
    assert!(s.request_access(&request(g, "first", T0_MS)).await.unwrap());
    assert!(
        !s.request_access(&request(g, "second", T0_MS + 1))
            .await
            .unwrap(),
        "a pending request is not replaced"
    );
    assert_eq!(
        s.access_request(g).await.unwrap().unwrap().use_case,
        "first"
    );
    b.clock.set(T0_MS + 10);
    assert!(s
        .request_access(&request(other, "other", T0_MS + 10))
        .await
        .unwrap());
    let pending: Vec<_> = s
        .pending_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.guild_id)
        .collect();
    assert_eq!(pending, [g, other], "oldest first");

    let closed = s.close_request(g).await.unwrap().unwrap();
    assert_eq!(closed.use_case, "first");
    assert!(s.access_request(g).await.unwrap().is_none());
    assert!(s.close_request(g).await.unwrap().is_none(), "closed once");

    // A week later (DynamoDB's TTL is in whole seconds) the other request has lapsed: it
    // reads as absent and may be made again.
    b.clock.set(T0_MS + 10 + 7 * DAY_MS + 1_000);
    assert!(s.access_request(other).await.unwrap().is_none());
    assert!(s.pending_requests().await.unwrap().is_empty());
    assert!(s
        .request_access(&request(other, "again", T0_MS + 10 + 7 * DAY_MS + 1_000))
        .await
        .unwrap());
    assert_eq!(
        s.access_request(other).await.unwrap().unwrap().use_case,
        "again"
    );
}

async fn the_audit_log_is_newest_first_per_scope_and_kept_a_year(b: StoreUnderTest) {
    use timmybot_domain::{AuditAction, AuditEntry, AuditOrigin, AuditScope};
    let s = b.store.as_ref();
    let g = guild(15_001);
    let entry = |scope, at, action| {
        AuditEntry::new(scope, at, Some(user(1)), action, AuditOrigin::Cli)
            .on(g)
            .with_detail("a note")
    };
    let first = entry(AuditScope::Bot, T0_MS, AuditAction::AllowlistAdd);
    let second = entry(AuditScope::Bot, T0_MS + 5, AuditAction::AllowlistRemove);
    let same_ms = entry(AuditScope::Bot, T0_MS + 5, AuditAction::AccessApproved);
    let guilds = entry(
        AuditScope::Guild(g),
        T0_MS + 1,
        AuditAction::SettingsChanged,
    );
    for e in [&first, &second, &same_ms, &guilds] {
        s.audit(e).await.unwrap();
    }
    let bot = s.audit_log(AuditScope::Bot, 10).await.unwrap();
    assert_eq!(bot.len(), 3, "scopes are apart");
    assert_eq!(bot[2], first, "newest first, every field kept");
    assert!(bot[..2].contains(&second) && bot[..2].contains(&same_ms));
    assert_eq!(s.audit_log(AuditScope::Bot, 1).await.unwrap().len(), 1);
    assert_eq!(
        s.audit_log(AuditScope::Guild(g), 10).await.unwrap(),
        [guilds]
    );
    b.clock.set(T0_MS + 366 * DAY_MS);
    assert!(s.audit_log(AuditScope::Bot, 10).await.unwrap().is_empty());
}

async fn saved_playlists_round_trip_list_by_name_and_never_expire(b: StoreUnderTest) {
    use timmybot_domain::{PlaylistName, SavedPlaylist};
    let s = b.store.as_ref();
    let (g, other) = (guild(3201), guild(3202));
    let name = |n: &str| PlaylistName::parse(n).unwrap();
    let tracks: Vec<Track> = (0..3).map(|i| track(&format!("p{i}"))).collect();
    let friday = SavedPlaylist::new(g, name("Friday Mix"), user(7), T0_MS, tracks.clone()).unwrap();
    s.save_playlist(&friday).await.unwrap();
    let chill = SavedPlaylist::new(g, name("chill"), user(8), T0_MS, tracks[..1].to_vec()).unwrap();
    s.save_playlist(&chill).await.unwrap();
    let elsewhere = SavedPlaylist::new(
        other,
        name("Friday Mix"),
        user(9),
        T0_MS,
        tracks[..2].to_vec(),
    )
    .unwrap();
    s.save_playlist(&elsewhere).await.unwrap();

    // Found by name whatever its case; the tracks in their order.
    let got = s.playlist(g, &name("friday  MIX")).await.unwrap().unwrap();
    assert_eq!(got, friday);
    assert_eq!(got.tracks(), &tracks[..]);
    assert_eq!(got.name.as_str(), "Friday Mix");
    assert!(s.playlist(g, &name("nope")).await.unwrap().is_none());

    // Listed by name, per guild, with counts and lengths and without tracks.
    let list = s.playlists(g).await.unwrap();
    assert_eq!(list, vec![chill.summary(), friday.summary()]);
    assert_eq!(list[1].track_count, 3);
    assert_eq!(list[1].duration_ms, 600_000);
    assert_eq!(s.playlists(other).await.unwrap(), vec![elsewhere.summary()]);

    // Saving over one replaces it, under the same key.
    let replaced = SavedPlaylist::new(
        g,
        name("FRIDAY MIX"),
        user(8),
        T0_MS + 1,
        tracks[..1].to_vec(),
    )
    .unwrap();
    s.save_playlist(&replaced).await.unwrap();
    assert_eq!(s.playlists(g).await.unwrap().len(), 2);
    assert_eq!(
        s.playlist(g, &name("friday mix")).await.unwrap().unwrap(),
        replaced
    );

    // No expiry: a year on, still there.
    b.clock.set(T0_MS + 400 * DAY_MS);
    assert_eq!(s.playlists(g).await.unwrap().len(), 2);

    assert!(s.delete_playlist(g, &name("Friday mix")).await.unwrap());
    assert!(!s.delete_playlist(g, &name("Friday mix")).await.unwrap());
    assert_eq!(s.playlists(g).await.unwrap(), vec![chill.summary()]);
    assert_eq!(
        s.playlists(other).await.unwrap().len(),
        1,
        "the other guild's stays"
    );
}

async fn a_playlist_over_400kb_is_a_typed_error_and_writes_nothing(b: StoreUnderTest) {
    use timmybot_domain::{PlaylistName, SavedPlaylist};
    let g = guild(3301);
    let long = "x".repeat(900);
    let tracks: Vec<Track> = (0..QUEUE_CAP)
        .map(|i| {
            let key = TrackKey::new(Platform::Http, &format!("big{i}")).unwrap();
            Track::new(
                key,
                "Big",
                &format!("https://example.com/{i}/{long}"),
                user(5),
            )
            .unwrap()
        })
        .collect();
    let name = PlaylistName::parse("huge").unwrap();
    let big = SavedPlaylist::new(g, name.clone(), user(5), T0_MS, tracks).unwrap();
    let err = b.store.save_playlist(&big).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ItemTooLarge { limit } if limit == ITEM_MAX_BYTES),
        "{err:?}"
    );
    assert!(b.store.playlist(g, &name).await.unwrap().is_none());
    assert!(b.store.playlists(g).await.unwrap().is_empty());
}

async fn a_dashboard_login_state_is_taken_once_and_lapses(b: StoreUnderTest) {
    let later = T0_MS + 10 * 60_000;
    b.store.begin_login("aaaa", later).await.unwrap();
    b.store.begin_login("bbbb", later).await.unwrap();
    assert!(!b.store.finish_login("cccc").await.unwrap(), "never begun");
    assert!(b.store.finish_login("aaaa").await.unwrap());
    assert!(!b.store.finish_login("aaaa").await.unwrap(), "a replay");
    b.clock.set(later);
    assert!(!b.store.finish_login("bbbb").await.unwrap(), "expired");
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(timmybot_tests::backends::sqlite_store().await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(timmybot_tests::backends::dynamo_store().await).await;
                }
            )*
        }
    };
}

contract!(
    a_dashboard_login_state_is_taken_once_and_lapses,
    access_requests_are_one_pending_per_guild_and_lapse_after_a_week,
    the_audit_log_is_newest_first_per_scope_and_kept_a_year,
    concurrent_adds_lose_nothing,
    guilds_are_isolated,
    state_round_trips_every_field,
    a_stale_version_is_a_conflict,
    a_queue_over_the_cap_is_a_typed_error_and_writes_nothing,
    an_item_over_400kb_is_a_typed_error_and_writes_nothing,
    guild_state_expires_and_the_allowlist_does_not,
    allowlist_add_list_revoke,
    user_profiles_round_trip_and_expire,
    history_is_newest_first_per_guild_and_expires,
    track_cache_round_trips_and_expires,
    each_worker_has_one_heartbeat_item_overwritten,
    an_identify_bucket_admits_one_claim_per_lease,
    ttl_is_on_state_and_not_on_the_allowlist,
    guild_settings_default_round_trip_and_never_expire,
    saved_playlists_round_trip_list_by_name_and_never_expire,
    a_playlist_over_400kb_is_a_typed_error_and_writes_nothing,
);

/// A table written by the one-worker release keeps its beat under `WORKER`: it reads as
/// worker 0's, so the first task after the upgrade resumes its guilds and keeps its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_reads_the_one_worker_heartbeat_as_worker_0s() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let b = timmybot_tests::backends::dynamo_store().await;
    let timmybot_tests::backends::RawStore::Dynamo { client, table } = &b.raw else {
        unreachable!("a DynamoDB store")
    };
    client
        .put_item()
        .table_name(table)
        .item("pk", A::S("WORKER".into()))
        .item("sk", A::S("HEARTBEAT".into()))
        .item("task_id", A::S("old-task".into()))
        .item("started_at_ms", A::N(T0_MS.to_string()))
        .item("last_beat_ms", A::N(T0_MS.to_string()))
        .item("active_guilds", A::L(vec![A::S("7".into())]))
        .send()
        .await
        .unwrap();
    let s = b.store.as_ref();
    let old = s.last_beat(WorkerIndex::FIRST).await.unwrap().unwrap();
    assert_eq!(
        (old.task_id.as_str(), old.active_guilds),
        ("old-task", vec![guild(7)])
    );
    assert_eq!(s.last_beat(WorkerIndex::new(1)).await.unwrap(), None);
    // Once worker 0 beats under its own key, that item wins.
    let new = Heartbeat {
        task_id: "new-task".into(),
        started_at_ms: T0_MS,
        last_beat_ms: T0_MS + 1,
        active_guilds: vec![],
        identifies: vec![],
    };
    s.beat(WorkerIndex::FIRST, &new).await.unwrap();
    assert_eq!(s.last_beat(WorkerIndex::FIRST).await.unwrap(), Some(new));
}

/// A database from the one-worker release (schema 1: one heartbeat row) opens as the current
/// schema, its row now worker 0's.
#[tokio::test]
async fn sqlite_migrates_the_one_worker_heartbeat_to_worker_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE heartbeat (
                 id INTEGER PRIMARY KEY CHECK (id = 1), task_id TEXT NOT NULL,
                 started_at_ms INTEGER NOT NULL, last_beat_ms INTEGER NOT NULL,
                 active_guilds TEXT NOT NULL, identifies TEXT NOT NULL DEFAULT '[]');
             INSERT INTO heartbeat VALUES (1, 'old-task', 1, 2, '[\"7\"]', '[5]');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let clock = std::sync::Arc::new(timmybot_domain::ManualClock::new(T0_MS));
    let store = timmybot_store::sqlite::SqliteStore::open(&path, clock)
        .await
        .unwrap();
    use timmybot_store::HeartbeatStore;
    let hb = store.last_beat(WorkerIndex::FIRST).await.unwrap().unwrap();
    assert_eq!(hb.task_id, "old-task");
    assert_eq!(hb.active_guilds, vec![guild(7)]);
    assert_eq!(hb.identifies, vec![5]);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
}

/// `timmybot serve` restarted: the SQLite file opened again keeps the saved playlists.
#[tokio::test]
async fn sqlite_keeps_saved_playlists_across_a_restart() {
    use timmybot_domain::{PlaylistName, SavedPlaylist};
    use timmybot_store::PlaylistStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let clock = std::sync::Arc::new(timmybot_domain::ManualClock::new(T0_MS));
    let name = PlaylistName::parse("Road Trip").unwrap();
    let tracks = vec![track("k1"), track("k2"), track("k3")];
    {
        let store = timmybot_store::sqlite::SqliteStore::open(&path, clock.clone())
            .await
            .unwrap();
        let saved =
            SavedPlaylist::new(guild(3401), name.clone(), user(7), T0_MS, tracks.clone()).unwrap();
        store.save_playlist(&saved).await.unwrap();
    }
    clock.set(T0_MS + 30 * DAY_MS);
    let store = timmybot_store::sqlite::SqliteStore::open(&path, clock)
        .await
        .unwrap();
    let back = store.playlist(guild(3401), &name).await.unwrap().unwrap();
    assert_eq!(back.tracks(), &tracks[..], "in order");
}

/// A schema-2 guild state (before `/previous`) opens with nothing played, keeps its queue,
/// and then keeps what plays; its settings read with 24/7 and autoplay off.
#[tokio::test]
async fn sqlite_adds_the_played_tracks_and_new_settings_to_a_schema_2_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let upcoming = serde_json::to_string(&[track("old")]).unwrap();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE guild_state (
                 guild_id TEXT PRIMARY KEY, version INTEGER NOT NULL, upcoming TEXT NOT NULL,
                 now_playing TEXT, loop_mode TEXT NOT NULL, volume INTEGER NOT NULL,
                 voice_channel_id TEXT, text_channel_id TEXT, np_message_id TEXT,
                 marks TEXT NOT NULL DEFAULT '{}', last_active_ms INTEGER NOT NULL,
                 expires_at_ms INTEGER NOT NULL);
             CREATE TABLE guild_settings (guild_id TEXT PRIMARY KEY, dj_role TEXT,
                 idle_timeout_secs INTEGER, announce_channel TEXT);
             INSERT INTO guild_settings VALUES ('3101', NULL, 600, NULL);
             PRAGMA user_version = 2;",
        )
        .unwrap();
        c.execute(
            "INSERT INTO guild_state VALUES ('3101', 4, ?1, NULL, 'off', 100, NULL, NULL, NULL,
                 '{}', ?2, ?3)",
            rusqlite::params![upcoming, T0_MS as i64, (T0_MS + DAY_MS) as i64],
        )
        .unwrap();
    }
    let clock = std::sync::Arc::new(timmybot_domain::ManualClock::new(T0_MS));
    let store = timmybot_store::sqlite::SqliteStore::open(&path, clock.clone())
        .await
        .unwrap();
    use timmybot_store::{GuildStore, SettingsStore};
    let settings = store.guild_settings(guild(3101)).await.unwrap();
    assert_eq!(settings.idle_timeout_secs, Some(600));
    assert!(!settings.stay && !settings.autoplay);
    let loaded = store.load_guild(guild(3101)).await.unwrap();
    assert_eq!(loaded.version, 4);
    assert_eq!(loaded.value.queue.upcoming(), [track("old")]);
    assert!(loaded.value.queue.played().is_empty());
    let written = update_guild::<_, StoreError, _>(
        &store,
        clock.as_ref(),
        RetryPolicy::default(),
        guild(3101),
        |st| {
            st.queue.start(T0_MS);
            st.queue.skip(T0_MS)?;
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(written.record.queue.played(), [track("old")]);
    let again = store.load_guild(guild(3101)).await.unwrap().value;
    assert_eq!(again.queue.played(), [track("old")]);
}
