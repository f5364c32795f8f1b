//! The fake gateway against twilight-gateway itself: what twilight sends and parses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot_fake_discord::gateway::{FakeGateway, FakeGuild, GatewayConfig, Seen, VoiceHost};
use timmybot_fake_discord::interactions::slash;
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt};
use twilight_model::gateway::payload::outgoing::UpdateVoiceState;
use twilight_model::id::Id;

const GUILD: u64 = 300_000_000_000_000_001;
const VOICE: u64 = 400_000_000_000_000_001;
const BOT: u64 = 111;

#[derive(Default)]
struct Host(Mutex<Vec<(u64, u64, String, String)>>);

impl VoiceHost for Host {
    fn endpoint(&self) -> String {
        "localhost:4433".into()
    }
    fn authorize(&self, guild: u64, _channel: u64, user: u64, session_id: &str, token: &str) {
        self.0
            .lock()
            .unwrap()
            .push((guild, user, session_id.into(), token.into()));
    }
    fn left(&self, _guild: u64, _user: u64) {}
}

async fn gateway(host: Arc<Host>) -> FakeGateway {
    FakeGateway::start(
        GatewayConfig {
            token: "secret-token".into(),
            bot_user: BOT,
            application_id: BOT,
            guilds: vec![FakeGuild {
                id: GUILD,
                name: "Test".into(),
                text_channel: 500,
                voice_channels: vec![VOICE],
            }],
            heartbeat_interval: Duration::from_millis(200),
        },
        host,
    )
    .await
}

fn shard(gw: &FakeGateway, token: &str) -> Shard {
    let config = ConfigBuilder::new(token.into(), Intents::GUILDS | Intents::GUILD_VOICE_STATES)
        .proxy_url(gw.url())
        .build();
    Shard::with_config(ShardId::ONE, config)
}

async fn next(shard: &mut Shard) -> Event {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(
                    Event::GatewayHello(_) | Event::GatewayHeartbeatAck | Event::GatewayHeartbeat,
                )) => continue,
                Some(Ok(e)) => return e,
                Some(Err(e)) => panic!("gateway error: {e}"),
                None => panic!("the shard stopped"),
            }
        }
    })
    .await
    .expect("an event within 10 s")
}

#[tokio::test]
async fn identify_gets_ready_and_the_guild_with_its_voice_states() {
    let host = Arc::new(Host::default());
    let gw = gateway(host.clone()).await;
    gw.set_voice(GUILD, 42, Some(VOICE));
    let mut shard = shard(&gw, "secret-token");
    let Event::Ready(ready) = next(&mut shard).await else {
        panic!("READY first")
    };
    assert_eq!(ready.user.id.get(), BOT);
    assert_eq!(ready.guilds.len(), 1);
    let Event::GuildCreate(guild) = next(&mut shard).await else {
        panic!("then GUILD_CREATE")
    };
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = *guild else {
        panic!("an available guild")
    };
    assert_eq!(guild.id.get(), GUILD);
    assert_eq!(guild.voice_states.len(), 1);
    assert_eq!(guild.voice_states[0].user_id.get(), 42);

    // Heartbeats at the fake's 200 ms interval are answered (twilight heartbeats while polled).
    tokio::time::timeout(Duration::from_secs(5), async {
        while shard.latency().recent().is_empty() {
            let _ = shard.next_event(EventTypeFlags::all()).await;
        }
    })
    .await
    .expect("a heartbeat ACK within 5 s");
    assert!(gw.seen().iter().any(|(_, s)| *s == Seen::Heartbeat));
}

#[tokio::test]
async fn op4_is_answered_with_voice_state_and_voice_server_updates() {
    let host = Arc::new(Host::default());
    let gw = gateway(host.clone()).await;
    let mut shard = shard(&gw, "secret-token");
    let Event::Ready(ready) = next(&mut shard).await else {
        panic!("READY first")
    };
    let _guild_create = next(&mut shard).await;
    shard.command(&UpdateVoiceState::new(
        Id::new(GUILD),
        Some(Id::new(VOICE)),
        true,
        false,
    ));
    let Event::VoiceStateUpdate(vs) = next(&mut shard).await else {
        panic!("VOICE_STATE_UPDATE")
    };
    assert_eq!(vs.user_id.get(), BOT);
    assert_eq!(vs.channel_id.map(|c| c.get()), Some(VOICE));
    assert_eq!(vs.session_id, ready.session_id);
    let Event::VoiceServerUpdate(server) = next(&mut shard).await else {
        panic!("VOICE_SERVER_UPDATE")
    };
    assert_eq!(server.endpoint.as_deref(), Some("localhost:4433"));
    let authorized = host.0.lock().unwrap().clone();
    assert_eq!(
        authorized,
        vec![(GUILD, BOT, ready.session_id.clone(), server.token.clone())],
        "the voice server is told whom to accept"
    );
    assert_eq!(gw.bot_channel(GUILD), Some(VOICE));

    // Leaving: a state update with no channel, and no server update.
    shard.command(&UpdateVoiceState::new(Id::new(GUILD), None, true, false));
    let Event::VoiceStateUpdate(vs) = next(&mut shard).await else {
        panic!("VOICE_STATE_UPDATE")
    };
    assert_eq!(vs.channel_id, None);
    assert_eq!(gw.voice_updates(GUILD).len(), 2);
    assert_eq!(gw.bot_channel(GUILD), None);
}

#[tokio::test]
async fn interactions_arrive_as_interaction_create() {
    let gw = gateway(Arc::new(Host::default())).await;
    let mut shard = shard(&gw, "secret-token");
    let _ready = next(&mut shard).await;
    let _guild = next(&mut shard).await;
    let play = slash(900, GUILD, 42, 500, "play", &[("query", "a song")]);
    gw.dispatch_interaction(play);
    let Event::InteractionCreate(i) = next(&mut shard).await else {
        panic!("INTERACTION_CREATE")
    };
    assert_eq!(i.id.get(), 900);
    assert_eq!(i.guild_id.map(|g| g.get()), Some(GUILD));
    assert_eq!(i.channel.as_ref().map(|c| c.id.get()), Some(500));
}

#[tokio::test]
async fn a_dropped_connection_resumes_and_replays_what_was_missed() {
    let gw = gateway(Arc::new(Host::default())).await;
    let mut shard = shard(&gw, "secret-token");
    let _ready = next(&mut shard).await;
    let _guild = next(&mut shard).await;
    gw.drop_connections();
    // Sent while the client is away: it must still arrive, through the resume.
    gw.set_voice(GUILD, 43, Some(VOICE));
    let mut got_state = false;
    loop {
        match next(&mut shard).await {
            Event::VoiceStateUpdate(vs) if vs.user_id.get() == 43 => got_state = true,
            Event::Resumed => break,
            _ => {}
        }
    }
    assert!(got_state, "the missed VOICE_STATE_UPDATE is replayed");
    let seen: Vec<_> = gw.seen().into_iter().map(|(_, s)| s).collect();
    assert!(seen.contains(&Seen::Resume { ok: true }), "{seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|s| matches!(s, Seen::Identify { .. }))
            .count(),
        1,
        "resumed, not identified again"
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_4004() {
    let gw = gateway(Arc::new(Host::default())).await;
    let mut shard = shard(&gw, "not-the-token");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(Event::GatewayClose(frame))) => return frame,
                Some(Err(e)) if e.to_string().contains("4004") => return None,
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await
    .expect("closed within 10 s");
    if let Some(frame) = closed {
        assert_eq!(frame.code, 4004);
    }
    assert!(gw.seen().iter().any(|(_, s)| *s == Seen::BadToken));
}

/// A guild id on `shard` of `count`: Discord shards on `(id >> 22) % count`.
fn on_shard(shard: u32, count: u32, n: u64) -> u64 {
    ((u64::from(count) * (1_000 + n) + u64::from(shard)) << 22) | 7
}

async fn sharded_gateway(guilds: &[u64]) -> FakeGateway {
    FakeGateway::start(
        GatewayConfig {
            token: "secret-token".into(),
            bot_user: BOT,
            application_id: BOT,
            guilds: guilds
                .iter()
                .map(|&id| FakeGuild {
                    id,
                    name: format!("g{id}"),
                    text_channel: id + 1,
                    voice_channels: vec![id + 2],
                })
                .collect(),
            heartbeat_interval: Duration::from_millis(200),
        },
        Arc::new(Host::default()),
    )
    .await
}

fn shard_of(gw: &FakeGateway, id: u32, count: u32) -> Shard {
    let config = ConfigBuilder::new(
        "secret-token".into(),
        Intents::GUILDS | Intents::GUILD_VOICE_STATES,
    )
    .proxy_url(gw.url())
    .build();
    Shard::with_config(ShardId::new(id, count), config)
}

/// The guild ids of the READY and GUILD_CREATE a shard gets.
async fn guilds_of(shard: &mut Shard) -> (Vec<u64>, u64) {
    let Event::Ready(ready) = next(shard).await else {
        panic!("READY first")
    };
    let Event::GuildCreate(created) = next(shard).await else {
        panic!("then GUILD_CREATE")
    };
    let listed = ready.guilds.iter().map(|g| g.id.get()).collect();
    (listed, created.id().get())
}

#[tokio::test]
async fn each_shard_gets_only_its_guilds_voice_states_and_interactions() {
    let (a, b) = (on_shard(0, 2, 1), on_shard(1, 2, 2));
    let gw = sharded_gateway(&[a, b]).await;
    let mut zero = shard_of(&gw, 0, 2);
    let mut one = shard_of(&gw, 1, 2);
    assert_eq!(guilds_of(&mut zero).await, (vec![a], a));
    assert_eq!(guilds_of(&mut one).await, (vec![b], b));

    // A member joins voice in guild b, then uses a command in guild a: each event reaches
    // only the shard holding its guild, so each shard's next event is its own.
    gw.set_voice(b, 42, Some(b + 2));
    gw.dispatch_interaction(slash(900, a, 42, a + 1, "play", &[("query", "x")]));
    let Event::InteractionCreate(i) = next(&mut zero).await else {
        panic!("shard 0 gets guild a's interaction, and nothing of guild b")
    };
    assert_eq!(i.guild_id.map(|g| g.get()), Some(a));
    let Event::VoiceStateUpdate(vs) = next(&mut one).await else {
        panic!("shard 1 gets guild b's voice state, and not guild a's interaction")
    };
    assert_eq!(vs.guild_id.map(|g| g.get()), Some(b));
    assert_eq!(
        gw.identifies().iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [[0, 2], [1, 2]]
    );
}

#[tokio::test]
async fn an_op4_through_another_shard_is_not_answered() {
    let (a, b) = (on_shard(0, 2, 1), on_shard(1, 2, 2));
    let gw = sharded_gateway(&[a, b]).await;
    let mut zero = shard_of(&gw, 0, 2);
    let _ = guilds_of(&mut zero).await;
    // Guild b is on shard 1; shard 0 asks to join it, then its own guild a.
    for guild in [b, a] {
        zero.command(&UpdateVoiceState::new(
            Id::new(guild),
            Some(Id::new(guild + 2)),
            true,
            false,
        ));
    }
    let Event::VoiceStateUpdate(vs) = next(&mut zero).await else {
        panic!("the first answer is for guild a")
    };
    assert_eq!(vs.guild_id.map(|g| g.get()), Some(a));
    let sent = gw.voice_updates_by_shard(b);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].2, [0, 2], "recorded with the shard that sent it");
    assert_eq!(gw.bot_channel(b), None, "the bot did not join guild b");
}

#[tokio::test]
async fn an_identify_for_a_connected_shard_is_refused_until_it_leaves() {
    let gw = sharded_gateway(&[on_shard(1, 2, 1)]).await;
    let mut first = shard_of(&gw, 1, 2);
    let _ = guilds_of(&mut first).await;
    let mut second = shard_of(&gw, 1, 2);
    // The second connection is closed with 4005 rather than given the shard's events.
    let code = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match second.next_event(EventTypeFlags::all()).await {
                Some(Ok(Event::GatewayClose(Some(frame)))) => return frame.code,
                Some(Ok(Event::Ready(_))) => panic!("a second READY for a connected shard"),
                Some(_) => continue,
                None => panic!("the shard stopped without a close frame"),
            }
        }
    })
    .await
    .expect("refused within 10 s");
    assert_eq!(code, 4005);
    assert!(gw
        .seen()
        .iter()
        .any(|(_, s)| *s == Seen::ShardTaken { shard: [1, 2] }));
    assert_eq!(gw.connected_shards(), [[1, 2]]);

    // Once the holder closes, the shard may identify again.
    // Dropped, as the worker drops its shards when it stops: the connection goes with it.
    drop(first);
    drop(second);
    gw.wait_connected(&[], Duration::from_secs(5)).await;
    let mut third = shard_of(&gw, 1, 2);
    let (listed, _) = guilds_of(&mut third).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(gw.identifies().len(), 2);
}

#[tokio::test]
async fn gateway_bot_answers_the_shards_and_max_concurrency_set() {
    let rest = timmybot_fake_discord::rest::FakeRest::start().await;
    rest.fake.set_gateway_bot(4, 2);
    let http = twilight_http::Client::builder()
        .proxy(rest.addr.to_string(), true)
        .token("Bot secret-token".into())
        .build();
    let info = http
        .gateway()
        .authed()
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(info.shards, 4);
    assert_eq!(info.session_start_limit.max_concurrency, 2);
}
