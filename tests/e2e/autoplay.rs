//! Autoplay, end to end through the fake Discord with MusicBrainz, ListenBrainz and yt-dlp
//! stood in locally: when the last queued track ends, the worker plays a suggestion, then
//! (with the services down) a track from the guild's older history, never one of the last
//! 50 plays; a `/play` replaces autoplay's track at once, and `/stop` ends it.

use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_tests::chain::{guild, WAIT};
use timmybot_tests::library::{seed_older_history, spawn_library, LibraryChain};

const WATCH: &str = "https://www.youtube.com/watch?v=";

async fn autoplay_on(lib: &mut LibraryChain, g: &FakeGuild) {
    let res = lib.chain.setting(g, "autoplay", true).await;
    let text = res["data"]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("Autoplay when the queue runs out: on"),
        "{res}"
    );
}

/// The now-playing cards posted in `g`'s text channel, newest last.
fn cards(lib: &LibraryChain, g: &FakeGuild) -> Vec<String> {
    lib.chain
        .discord
        .rest
        .fake
        .channel_messages(g.text_channel)
        .into_iter()
        .map(|m| m.render())
        .collect()
}

async fn wait_card(lib: &LibraryChain, g: &FakeGuild, what: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while !cards(lib, g).iter().any(|c| c.contains(what)) {
        assert!(
            std::time::Instant::now() < deadline,
            "no card with {what:?}: {:?}",
            cards(lib, g)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoplay_follows_the_last_track_from_the_services_then_from_history() {
    let g = guild(43);
    let mut lib = spawn_library(std::slice::from_ref(&g)).await;
    lib.s.musicbrainz.add_artist("Tones");
    lib.s
        .listenbrainz
        .set_radio("Tones", vec![("Other Song", "Someone Else", Some(200_000))]);
    seed_older_history(&lib.chain, &g).await;
    autoplay_on(&mut lib, &g).await;
    lib.chain.join(&g);

    // The one queued track, near its end.
    lib.command(&g, "play", &[("query", &format!("{WATCH}t440"))])
        .await;
    lib.chain.hears(&g, 440.0, "the queued track").await;
    lib.command(&g, "seek", &[("position", "0:19")]).await;

    // It ends: LB Radio's suggestion, found by a yt-dlp search (660 Hz), plays.
    lib.chain
        .hears(&g, 660.0, "autoplay's suggestion after the queue ran dry")
        .await;
    wait_card(&lib, &g, "📻 Autoplay — because you played Tone 440").await;
    assert!(
        lib.ytdlp
            .runs()
            .iter()
            .any(|r| r.contains("Someone Else - Other Song")),
        "{:?}",
        lib.ytdlp.runs()
    );
    assert!(lib.s.listenbrainz.requests() > 0);

    // The services go down. When the suggestion ends, autoplay falls back on the guild's own
    // history: the 880 Hz tone, older than the last 50 plays, by the artist just played.
    lib.s.listenbrainz.down(true);
    lib.s.musicbrainz.down(true);
    lib.command(&g, "seek", &[("position", "0:19")]).await;
    lib.chain
        .hears(&g, 880.0, "autoplay from history with the services down")
        .await;
    wait_card(&lib, &g, "📻 Autoplay — because you played Tone 660").await;

    // A /play replaces autoplay's track at once, and is no autoplay.
    let (_, token) = lib
        .command(&g, "play", &[("query", &format!("{WATCH}t440"))])
        .await;
    lib.chain
        .hears(&g, 440.0, "the /play, in place of autoplay's track")
        .await;
    let reply = lib.chain.reply(&token, |r| r.edits > 0).await;
    assert!(reply.content.contains("Now playing"), "{reply:?}");
    let state = lib.chain.state(&g).await;
    assert_eq!(state.marks.autoplay_because, None);
    assert!(
        state.queue.upcoming().is_empty(),
        "autoplay's track is not kept"
    );

    // /stop ends it: nothing plays after.
    let (_, token) = lib.command(&g, "stop", &[]).await;
    lib.chain
        .reply(&token, |r| r.content.contains("Stopped"))
        .await;
    let state = lib.chain.state(&g).await;
    assert!(state.queue.now_playing().is_none());
    lib.chain.stop_worker().await;
    let state = lib.chain.state(&g).await;
    assert!(
        state.queue.now_playing().is_none(),
        "autoplay started nothing after /stop"
    );
}
