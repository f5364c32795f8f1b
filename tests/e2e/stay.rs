//! 24/7 (`/settings stay:on`), end to end: the bot stays in a channel everyone left, past
//! `IDLE_LEAVE`, and its call holds off the worker's scale-to-zero; turned off, the bot
//! leaves and the worker asks ECS for zero tasks.

use std::time::Duration;

use timmybot_fake_discord::gateway::{FakeGuild, Seen};
use timmybot_tests::chain::{guild, member, spawn_sharded, Chain, Layout, WAIT};

/// `/settings stay:<on>`, by a member with Manage Server.
async fn set_stay(chain: &mut Chain, g: &FakeGuild, on: bool) {
    let res = chain.setting(g, "stay", on).await;
    let text = res["data"]["content"].as_str().unwrap_or_default();
    let expected = format!(
        "Stay in the channel (24/7): {}",
        if on { "on" } else { "off" }
    );
    assert!(text.contains(&expected), "{res}");
}

fn left(seen: &[(std::time::Instant, Seen)], g: &FakeGuild) -> bool {
    seen.iter().any(|(_, s)| {
        *s == Seen::VoiceUpdate {
            guild: g.id,
            channel: None,
            shard: [0, 1],
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stay_keeps_the_bot_in_an_empty_channel_and_holds_the_scale_down() {
    let g = guild(42);
    // A second guild on the same worker plays throughout, its member listening: its frames
    // are the clock (a channel no one listens in records nothing).
    let clock = guild(44);
    let layout = Layout {
        services: true,
        ..Layout::single("2s")
    }
    .with_env([("IDLE_SHUTDOWN".to_owned(), "1s".to_owned())]);
    let mut chain = spawn_sharded(&[g.clone(), clock.clone()], layout).await;
    // ECS runs the worker's one task.
    let (ecs, cluster) = chain.ecs.clone().expect("services");
    let service = chain.workers[0]
        .service
        .clone()
        .expect("the worker's service");
    ecs.update_service()
        .cluster(&cluster)
        .service(&service)
        .desired_count(1)
        .send()
        .await
        .expect("set the desired count");

    set_stay(&mut chain, &g, true).await;
    chain.join(&g);
    chain.play(&g, 440.0).await;
    chain.hears(&g, 440.0, "the tone").await;
    chain.join(&clock);
    chain.play(&clock, 880.0).await;
    chain.hears(&clock, 880.0, "the clock guild's tone").await;

    // Everyone leaves. Twelve seconds of the clock guild's audio later (two idle checks past
    // IDLE_LEAVE and IDLE_SHUTDOWN, at one every 5 s), the bot is still there.
    chain.discord.set_voice(g.id, member(&g), None);
    let frames = chain.discord.voice.heard(clock.id).audio_frames();
    chain
        .discord
        .voice
        .wait_for(clock.id, WAIT, "12 s of the clock guild", |h| {
            h.audio_frames() >= frames + 12 * 50
        })
        .await;
    assert!(
        !left(&chain.discord.gateway.seen(), &g),
        "the bot left a 24/7 channel"
    );
    assert!(chain.discord.voice.connected(g.id));
    assert_eq!(
        chain.desired(0).await,
        1,
        "the call held off the scale-down"
    );

    // 24/7 off: the bot leaves the empty channel; the clock guild's DJ sends it away too,
    // and the idle worker scales to zero.
    set_stay(&mut chain, &g, false).await;
    chain
        .discord
        .gateway
        .wait_for(WAIT, "the bot to leave (op 4 with no channel)", |seen| {
            left(seen, &g)
        })
        .await;
    chain.command(&clock, "leave", &[], None).await;
    let deadline = std::time::Instant::now() + WAIT;
    while chain.desired(0).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle worker never asked for zero tasks"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chain.stop_worker().await;
}
