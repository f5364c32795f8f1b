//! DAVE, Discord's voice end-to-end encryption, through the whole chain: people come and go
//! mid-track and only the members of the call's group can decrypt it; the other commit order;
//! a voice server that offers a version the bot cannot speak, or never finishes the
//! handshake, is told to the user in plain words within a bound, and the bot leaves instead
//! of sitting silent in the channel; and the old path without DAVE, once.

use std::time::{Duration, Instant};

use timmybot_fake_discord::gateway::{FakeGuild, Seen};
use timmybot_fake_discord::voice::{Committer, DaveMode};
use timmybot_fake_discord::FakeDiscord;
use timmybot_tests::chain::{guild, member, spawn_chain, spawn_chain_with, Chain, WAIT};
use voice_worker::worker::DAVE_WITHIN;

/// Another person in the guild, who joins the voice channel mid-track.
fn friend(g: &FakeGuild) -> u64 {
    member(g) + 500
}

/// The member who asked decrypts; a friend joins (a new epoch) and both decrypt; the member
/// who asked leaves (a Remove, another epoch) and decrypts nothing the bot sends after.
/// Returns the opcodes the voice server sent the bot.
async fn people_come_and_go(chain: &mut Chain, g: &FakeGuild) -> Vec<u8> {
    chain.join(g);
    chain.play(g, 440.0).await;
    let heard = chain.hears(g, 440.0, "the tone").await;
    assert_eq!(heard.dave.epoch, 1, "{heard:?}");
    let voice = chain.discord.voice.clone();
    let asked = member(g);
    let before = heard.dave.listener(asked).map_or(0, |l| l.decrypted);

    chain
        .discord
        .set_voice(g.id, friend(g), Some(g.voice_channels[0]));
    let heard = voice
        .wait_for(g.id, WAIT, "the friend to decrypt 25 frames", |h| {
            h.dave
                .listener(friend(g))
                .is_some_and(|l| l.decrypted >= 25)
        })
        .await;
    let (first, second) = (
        heard.dave.listener(asked).expect("the member who asked"),
        heard.dave.listener(friend(g)).expect("the friend"),
    );
    assert_eq!(heard.dave.epoch, 2, "{heard:?}");
    assert!(first.decrypted >= before + 25, "both decrypt: {heard:?}");
    assert_eq!(first.privacy_code, second.privacy_code, "{heard:?}");

    chain.discord.set_voice(g.id, asked, None);
    let left = voice
        .wait_for(g.id, WAIT, "a group without the member who left", |h| {
            h.dave.epoch == 3
        })
        .await;
    let at_removal = left.dave.listener(friend(g)).map_or(0, |l| l.decrypted);
    let heard = voice
        .wait_for(g.id, WAIT, "50 more frames for the friend", |h| {
            h.dave
                .listener(friend(g))
                .is_some_and(|l| l.decrypted >= at_removal + 50)
        })
        .await;
    let gone = &heard
        .dave
        .listener(asked)
        .expect("its record")
        .after_leaving;
    let in_flight = gone.iter().take_while(|ok| **ok).count();
    assert!(
        in_flight <= 25 && gone.len() >= 50 && gone[in_flight..].iter().all(|ok| !ok),
        "after leaving it still decrypted {} of {} frames",
        gone.iter().filter(|ok| **ok).count(),
        gone.len()
    );
    chain.stop_worker().await;
    heard.dave.to_bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_come_and_go_mid_track_and_only_members_decrypt() {
    let g = guild(20);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    let to_bot = people_come_and_go(&mut chain, &g).await;
    // Welcomed (op 30) by the member who asked; then the members' commits (op 29) for the
    // friend's Add and for the Remove.
    assert_eq!(
        to_bot,
        [11, 25, 27, 30, 22, 11, 27, 29, 22, 13, 27, 29, 22],
        "{to_bot:?}"
    );
}

/// The other order: the bot's commits win, so it adds and welcomes the member who asked
/// (op 29 for its own commit, not a welcome), then the friend, and removes who leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_bot_commits_it_welcomes_the_others() {
    let g = guild(21);
    let dave = DaveMode::V1 {
        committer: Committer::Bot,
    };
    let mut chain = spawn_chain_with(std::slice::from_ref(&g), "2m", dave).await;
    let to_bot = people_come_and_go(&mut chain, &g).await;
    assert_eq!(
        to_bot,
        [11, 25, 27, 29, 22, 11, 27, 29, 22, 13, 27, 29, 22],
        "{to_bot:?}"
    );
}

/// /play against a voice server that does not let the call become end-to-end encrypted:
/// the reply says why within `bound`, the bot leaves the channel, and nobody heard anything.
async fn told_and_left(dave: DaveMode, n: u64, why: &str, bound: Duration) {
    let g = guild(n);
    let mut chain = spawn_chain_with(std::slice::from_ref(&g), "2m", dave).await;
    chain.join(&g);
    let asked_at = Instant::now();
    let (_, token) = chain.play(&g, 440.0).await;
    let reply = chain
        .discord
        .rest
        .fake
        .wait_reply(&token, bound + Duration::from_secs(5), |r| {
            r.content.contains("couldn't join")
        })
        .await;
    let took = asked_at.elapsed();
    assert!(took <= bound, "told after {took:?}, more than {bound:?}");
    let channel = g.voice_channels[0];
    assert_eq!(
        reply.content,
        format!("⚠ I couldn't join <#{channel}>: {why}"),
        "{reply:?}"
    );
    chain
        .discord
        .gateway
        .wait_for(
            WAIT,
            "the bot to leave the channel (op 4, no channel)",
            |seen| {
                seen.iter().any(|(_, s)| {
                    matches!(s, Seen::VoiceUpdate { guild, channel: None, .. } if *guild == g.id)
                })
            },
        )
        .await;
    assert_eq!(chain.discord.gateway.bot_channel(g.id), None);
    let heard = chain.discord.voice.heard(g.id);
    assert_eq!(heard.audio_frames(), 0, "{heard:?}");
    chain.stop_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dave_version_the_bot_cannot_speak_is_told_and_the_bot_leaves() {
    // songbird retries a failed connection five times, backing off from 0.25 s: about 8 s.
    told_and_left(
        DaveMode::Unsupported(2),
        22,
        "Discord asked for voice encryption (DAVE) version 2, which this version of \
         TimmyBot can't speak. Whoever runs me needs to update me.",
        Duration::from_secs(20),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dave_handshake_that_never_completes_is_told_and_the_bot_leaves() {
    told_and_left(
        DaveMode::Stalled,
        23,
        "Discord's voice encryption (DAVE) handshake did not complete. Try again in a \
         moment.",
        DAVE_WITHIN + Duration::from_secs(5),
    )
    .await;
}

/// The old path, once: a voice server that declines DAVE (version 0) gets transport
/// encryption only, and the bot plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dave_the_old_path_still_plays() {
    let g = guild(24);
    let mut chain = spawn_chain_with(std::slice::from_ref(&g), "2m", DaveMode::Off).await;
    chain.join(&g);
    chain.play(&g, 440.0).await;
    let heard = chain.hears(&g, 440.0, "the tone in the clear").await;
    assert_eq!(heard.sessions[0].dave_protocol_version, Some(0));
    assert_eq!(heard.e2ee_frames(), 0, "{heard:?}");
    assert_eq!(heard.dave.members, Vec::<u64>::new());
    assert_eq!(FakeDiscord::BOT, heard.sessions[0].user);
    chain.stop_worker().await;
}
