//! `/lyrics` at the endpoint against an LRCLIB stand-in: the current track's synced lyrics
//! open on the page with the line playing now, marked; a named song is searched; pages turn;
//! a miss, an instrumental and LRCLIB down each get a plain sentence; answers are cached.

use crate::app::*;
use timmybot_tests::standins::{Song, Standins};

async fn app_and_standins() -> (TestApp, Standins) {
    let s = Standins::start().await;
    let app = spawn_app_with_accounts(s.env().into_iter().chain(s.credentials()).collect()).await;
    (app, s)
}

fn synced(lines: usize, every_s: u64) -> String {
    (0..lines)
        .map(|i| {
            let at = i as u64 * every_s;
            format!("[{:02}:{:02}.00] line {i}", at / 60, at % 60)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn description(res: &Value) -> String {
    res["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playing_tracks_synced_lyrics_open_at_the_line_playing_now() {
    let (app, s) = app_and_standins().await;
    app.seed(&["r1"]).await;
    s.lrclib.add(Song {
        id: 42,
        title: "Song r1".into(),
        artist: "Band".into(),
        duration_s: 200,
        plain: Some("plain".into()),
        synced: Some(synced(40, 5)),
    });
    // 102 s in: line 20 (100 s) is being sung, on page 2 of 15-line pages.
    app.clock.advance(102_000);
    let res = app
        .interact(&command(10, Some(GUILD), MEMBER, "lyrics", vec![]))
        .await;
    assert_eq!(res["data"]["flags"], EPHEMERAL, "{res}");
    let text = description(&res);
    assert!(text.starts_with("line 15\n"), "{text}");
    assert!(text.contains("▶ **line 20**"), "{text}");
    assert_eq!(
        res["data"]["components"][0]["components"][1]["custom_id"], "lyrics:42:3",
        "{res}"
    );

    let next = app
        .interact(&di::button(11, Some(GUILD), MEMBER, "lyrics:42:3"))
        .await;
    assert_eq!(next["type"], 7, "the page is replaced: {next}");
    assert!(description(&next).starts_with("line 30\n"));
    // All from the cache: LRCLIB was asked once.
    let before = s.lrclib.paths().len();
    app.interact(&command(12, Some(GUILD), MEMBER, "lyrics", vec![]))
        .await;
    assert_eq!(s.lrclib.paths().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_song_is_searched_and_misses_and_outages_are_said_plainly() {
    let (app, s) = app_and_standins().await;
    app.interact(&allowlist_add(1, Some(GUILD), OWNER)).await;
    s.lrclib.add(Song {
        id: 7,
        title: "Never Gonna Give You Up".into(),
        artist: "Rick Astley".into(),
        duration_s: 213,
        plain: Some("We're no strangers to love\nYou know the rules".into()),
        synced: None,
    });
    s.lrclib.add(Song {
        id: 8,
        title: "Quiet Piece".into(),
        artist: "Pianist".into(),
        duration_s: 100,
        plain: None,
        synced: None,
    });
    let res = app
        .interact(&command(
            20,
            Some(GUILD),
            MEMBER,
            "lyrics",
            vec![text("query", "rick astley never gonna")],
        ))
        .await;
    let shown = description(&res);
    assert!(shown.contains("no strangers to love"), "{res}");
    assert!(!shown.contains('▶'), "plain lyrics mark no line: {shown}");

    let none = app
        .interact(&command(
            21,
            Some(GUILD),
            MEMBER,
            "lyrics",
            vec![text("query", "no such song")],
        ))
        .await;
    assert_ephemeral(&none, "No lyrics found for **no such song** on LRCLIB");
    let quiet = app
        .interact(&command(
            22,
            Some(GUILD),
            MEMBER,
            "lyrics",
            vec![text("query", "quiet piece")],
        ))
        .await;
    assert_ephemeral(&quiet, "is an instrumental");
    let idle = app
        .interact(&command(23, Some(GUILD), MEMBER, "lyrics", vec![]))
        .await;
    assert_ephemeral(&idle, "Nothing is playing");
    s.lrclib.down(true);
    let down = app
        .interact(&command(
            24,
            Some(GUILD),
            MEMBER,
            "lyrics",
            vec![text("query", "other words")],
        ))
        .await;
    assert_ephemeral(&down, "LRCLIB could not be reached");
}
