//! One contract for the intent bus, run against both adapters: the in-process bus and SQS
//! FIFO in moto's server.

use std::collections::BTreeMap;
use std::time::Duration;

use timmybot_bus::{BusError, IntentBus};
use timmybot_domain::{
    GuildId, IntentError, IntentId, IntentKind, InteractionToken, PlaybackIntent, ReplyTo,
};
use timmybot_tests::backends::BusUnderTest;

/// Short, so redelivery tests wait seconds, not minutes. SQS counts visibility in seconds.
const VISIBILITY: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_secs(1);

fn intent(guild: u64, id: &str, kind: IntentKind) -> PlaybackIntent {
    PlaybackIntent::new(
        IntentId::parse(id).unwrap(),
        GuildId::new(guild).unwrap(),
        1,
        kind,
    )
}

fn seek(guild: u64, id: &str, ms: u64) -> PlaybackIntent {
    intent(guild, id, IntentKind::Seek { position_ms: ms })
}

/// Receives and acks until `want` intents arrived or `deadline` passes.
async fn drain(bus: &dyn IntentBus, want: usize, deadline: Duration) -> Vec<PlaybackIntent> {
    let until = tokio::time::Instant::now() + deadline;
    let mut got = Vec::new();
    while got.len() < want && tokio::time::Instant::now() < until {
        for d in bus.receive(10, POLL).await.unwrap() {
            bus.ack(&d.receipt).await.unwrap();
            got.push(d.intent.unwrap());
        }
    }
    got
}

async fn publish_then_receive_round_trips(b: BusUnderTest) {
    let sent = intent(
        1,
        "rt1",
        IntentKind::Play {
            query: "https://youtu.be/dQw4w9WgXcQ".into(),
            requester_id: "22".parse().unwrap(),
            voice_channel_id: "33".parse().unwrap(),
            position: Default::default(),
        },
    )
    .with_reply(ReplyTo {
        application_id: timmybot_domain::ApplicationId::new(44).unwrap(),
        token: InteractionToken::new("tok"),
    });
    b.bus.publish(&sent).await.unwrap();
    let got = b.bus.receive(10, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(got[0].intent.as_ref().unwrap(), &sent);
    b.bus.ack(&got[0].receipt).await.unwrap();
    assert!(
        b.bus.receive(10, POLL).await.unwrap().is_empty(),
        "acked means gone"
    );
}

async fn each_guild_keeps_its_order(b: BusUnderTest) {
    // Interleaved publishes for two guilds; each guild's own order must survive.
    for i in 0..6u64 {
        b.bus
            .publish(&seek(100, &format!("a{i}"), i))
            .await
            .unwrap();
        b.bus
            .publish(&seek(200, &format!("b{i}"), i))
            .await
            .unwrap();
    }
    let got = drain(b.bus.as_ref(), 12, Duration::from_secs(20)).await;
    let mut per_guild: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for i in &got {
        let IntentKind::Seek { position_ms } = i.kind else {
            panic!("unexpected {i:?}");
        };
        per_guild
            .entry(i.guild_id.get())
            .or_default()
            .push(position_ms);
    }
    assert_eq!(per_guild[&100], [0, 1, 2, 3, 4, 5]);
    assert_eq!(per_guild[&200], [0, 1, 2, 3, 4, 5]);
}

async fn a_guild_waits_while_its_message_is_in_flight(b: BusUnderTest) {
    b.bus.publish(&seek(300, "g1", 1)).await.unwrap();
    b.bus.publish(&seek(300, "g2", 2)).await.unwrap();
    b.bus.publish(&seek(400, "h1", 1)).await.unwrap();
    let first = b.bus.receive(1, POLL).await.unwrap();
    assert_eq!(first.len(), 1);
    let held = first[0].intent.as_ref().unwrap().guild_id.get();
    // While that message is unacked, nothing more from its guild may be handed out.
    let others = b.bus.receive(10, POLL).await.unwrap();
    assert!(
        others
            .iter()
            .all(|d| d.intent.as_ref().unwrap().guild_id.get() != held),
        "got a second message of guild {held} while the first was in flight"
    );
    for d in &others {
        b.bus.ack(&d.receipt).await.unwrap();
    }
    b.bus.ack(&first[0].receipt).await.unwrap();
    let rest = drain(
        b.bus.as_ref(),
        3 - 1 - others.len(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(1 + others.len() + rest.len(), 3);
}

async fn a_duplicate_intent_id_is_dropped(b: BusUnderTest) {
    let once = seek(500, "dup-1", 7);
    b.bus.publish(&once).await.unwrap();
    b.bus.publish(&once).await.unwrap();
    // Same id, different body: still the same intent as far as dedup goes.
    b.bus.publish(&seek(500, "dup-1", 8)).await.unwrap();
    b.bus.publish(&seek(500, "dup-2", 9)).await.unwrap();
    let got = drain(b.bus.as_ref(), 3, Duration::from_secs(4)).await;
    let ids: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["dup-1", "dup-2"]);
    assert_eq!(got[0], once);
}

/// Real SQS FIFO drops a repeated dedup id for 5 minutes even after the first copy was
/// deleted; the local bus does too. moto does not model that (its `add_message` compares
/// only with messages still queued), so this runs on the local bus alone.
#[tokio::test]
async fn local_bus_drops_a_duplicate_even_after_ack() {
    let b = timmybot_tests::backends::local_bus(VISIBILITY);
    let once = seek(510, "dup-after-ack", 1);
    b.bus.publish(&once).await.unwrap();
    assert_eq!(
        drain(b.bus.as_ref(), 1, Duration::from_secs(2)).await,
        std::slice::from_ref(&once)
    );
    b.bus.publish(&once).await.unwrap();
    assert!(b.bus.receive(10, POLL).await.unwrap().is_empty());
}

async fn an_unacked_message_comes_back_after_the_visibility_timeout(b: BusUnderTest) {
    b.bus.publish(&seek(600, "vis-1", 1)).await.unwrap();
    let first = b.bus.receive(10, POLL).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    // Not acked: hidden for now...
    assert!(b.bus.receive(10, Duration::ZERO).await.unwrap().is_empty());
    // ...and back once the visibility timeout passes.
    tokio::time::sleep(VISIBILITY + Duration::from_millis(300)).await;
    let again = b.bus.receive(10, Duration::from_secs(3)).await.unwrap();
    assert_eq!(again.len(), 1, "redelivered");
    assert_eq!(again[0].receive_count, 2);
    assert_eq!(again[0].intent.as_ref().unwrap().id.as_str(), "vis-1");
    b.bus.ack(&again[0].receipt).await.unwrap();
    tokio::time::sleep(VISIBILITY + Duration::from_millis(300)).await;
    assert!(
        b.bus.receive(10, POLL).await.unwrap().is_empty(),
        "acked for good"
    );
}

async fn extend_keeps_a_message_hidden(b: BusUnderTest) {
    b.bus.publish(&seek(700, "ext-1", 1)).await.unwrap();
    let got = b.bus.receive(10, POLL).await.unwrap();
    assert_eq!(got.len(), 1);
    b.bus
        .extend(&got[0].receipt, Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(VISIBILITY + Duration::from_millis(500)).await;
    assert!(
        b.bus.receive(10, POLL).await.unwrap().is_empty(),
        "still hidden"
    );
    b.bus.ack(&got[0].receipt).await.unwrap();
}

async fn a_bad_body_is_delivered_as_an_error(b: BusUnderTest) {
    b.raw.send("800", "bad-1", "{not json").await;
    b.raw
        .send(
            "800",
            "bad-2",
            r#"{"v":9,"id":"x","guild_id":"800","issued_at_ms":0,"kind":{"type":"skip"}}"#,
        )
        .await;
    b.bus.publish(&seek(800, "good-1", 3)).await.unwrap();
    let mut errors = Vec::new();
    let mut good = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while good.is_empty() && tokio::time::Instant::now() < until {
        for d in b.bus.receive(10, POLL).await.unwrap() {
            match d.intent {
                Ok(i) => good.push(i),
                Err(e) => errors.push(e),
            }
            b.bus.ack(&d.receipt).await.unwrap();
        }
    }
    assert!(matches!(errors[0], IntentError::NotJson(_)), "{errors:?}");
    assert_eq!(errors[1], IntentError::UnsupportedVersion(9));
    assert_eq!(good.len(), 1, "the bus keeps going after bad messages");
}

async fn a_stale_receipt_is_reported(b: BusUnderTest) {
    b.bus.publish(&seek(900, "stale-1", 1)).await.unwrap();
    let got = b.bus.receive(10, POLL).await.unwrap();
    b.bus.ack(&got[0].receipt).await.unwrap();
    let err = b.bus.extend(&got[0].receipt, Duration::from_secs(5)).await;
    assert!(matches!(err, Err(BusError::StaleReceipt)), "{err:?}");
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(timmybot_tests::backends::local_bus(super::VISIBILITY)).await;
                }
            )*
        }
        mod sqs {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(timmybot_tests::backends::sqs_bus(super::VISIBILITY).await).await;
                }
            )*
        }
    };
}

contract!(
    publish_then_receive_round_trips,
    each_guild_keeps_its_order,
    a_guild_waits_while_its_message_is_in_flight,
    a_duplicate_intent_id_is_dropped,
    an_unacked_message_comes_back_after_the_visibility_timeout,
    extend_keeps_a_message_hidden,
    a_bad_body_is_delivered_as_an_error,
    a_stale_receipt_is_reported,
);
