//! The DynamoDB store when the network loses a response after a write landed.

use std::sync::Arc;

use timmybot_domain::ManualClock;
use timmybot_domain::RetryPolicy;
use timmybot_domain::{GuildId, Platform, Position, Track, TrackKey, UserId};
use timmybot_store::dynamo::DynamoStore;
use timmybot_store::{update_guild, GuildStore, StoreError};
use timmybot_tests::aws;
use timmybot_tests::backends::T0_MS;
use timmybot_tests::faults::LossyProxy;

/// The SDK retries a put whose response it never got. The retry fails its version condition
/// against the write that did land; the store must see that it was its own write, or the
/// update helper re-applies the change and the track is queued twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_retried_after_a_lost_response_is_applied_once() {
    let moto = aws::shared();
    let direct = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = aws::unique("faults");
    aws::create_table(&direct, &table).await;

    let proxy = LossyProxy::start(moto.addr(), b"DynamoDB_20120810.PutItem").await;
    let client = aws_sdk_dynamodb::Client::new(&aws::sdk_config_for(&proxy.endpoint()).await);
    let clock = Arc::new(ManualClock::new(T0_MS));
    let store = DynamoStore::new(client, table, clock.clone());
    let g = GuildId::new(1).unwrap();
    let track = |id: &str| {
        Track::new(
            TrackKey::new(Platform::Youtube, id).unwrap(),
            id,
            "ytsearch1:x",
            UserId::new(2).unwrap(),
        )
        .unwrap()
    };

    for (n, id) in ["first", "second"].into_iter().enumerate() {
        proxy.drop_next(1);
        update_guild::<_, StoreError, _>(&store, clock.as_ref(), RetryPolicy::default(), g, |s| {
            Ok(s.queue.add(track(id), Position::End)?)
        })
        .await
        .expect("the update succeeds despite the lost response");
        assert_eq!(proxy.dropped(), n + 1, "the proxy lost a response");
    }

    let loaded = store.load_guild(g).await.unwrap();
    let ids: Vec<&str> = loaded
        .value
        .queue
        .upcoming()
        .iter()
        .map(|t| t.key.id())
        .collect();
    assert_eq!(ids, ["first", "second"], "each change applied exactly once");
    assert_eq!(loaded.version, 2);
}
