//! The user's own library through the whole chain, offline: YouTube linked through the
//! device flow (pending, `slow_down`, approved), `/my-playlists`, a playlist picked from the
//! menu and its first video heard at the voice server; Spotify linked through a real HTTP
//! redirect to the callback route, `/liked-songs` heard; `/play-history`, `/recommendations`
//! with ListenBrainz down falling back to this server's history; `/unlink`.

use timmybot_domain::{GuildId, HistoryEntry, Platform, TrackKey, UserId};
use timmybot_tests::chain::{guild, member, WAIT};
use timmybot_tests::library::{components, spawn_library, text};
use timmybot_tests::standins::{DeviceAnswer, SpPlaylist, SpTrack, Video, VideoStatus};
use timmybot_tests::ytdlp::SECS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_youtube_playlist_linked_listed_and_picked_is_heard() {
    let g = guild(1);
    let mut lib = spawn_library(std::slice::from_ref(&g)).await;
    let mut list = vec![Video::new(
        "t440",
        "First tone",
        "Tones - Topic",
        SECS as u64,
    )];
    list.extend(Video::numbered("yt", 3));
    list.push(Video::new("gone0000001", "Private video", "", 0).with_status(VideoStatus::Private));
    lib.s.youtube.set_playlists(vec![
        ("PLmine0001", "Road trip", list),
        ("PLmine0002", "Focus", Video::numbered("fo", 2)),
    ]);
    lib.s.google.script(vec![
        DeviceAnswer::Pending,
        DeviceAnswer::SlowDown,
        DeviceAnswer::Approve,
    ]);

    let (res, _) = lib.command(&g, "auth-youtube", &[]).await;
    assert_eq!(
        res["data"]["flags"], 64,
        "only the user sees their code: {res}"
    );
    let shown = text(&res);
    let (_, user_code) = lib.s.google.devices()[0].clone();
    assert!(shown.contains(&user_code), "{shown}");
    assert!(
        shown.contains("not YouTube Premium") || shown.contains("It is not YouTube Premium"),
        "{shown}"
    );
    let button = &components(&res)[0];
    assert_eq!(button["custom_id"], "acct:yt-check");

    let pending = lib.press(&g, "acct:yt-check").await;
    assert!(text(&pending).contains("Not approved yet"), "{pending}");
    let slow = lib.press(&g, "acct:yt-check").await;
    assert!(text(&slow).contains("wait 10 s"), "{slow}");
    let linked = lib.press(&g, "acct:yt-check").await;
    assert!(text(&linked).contains("YouTube is linked"), "{linked}");
    assert!(
        components(&linked).is_empty(),
        "the button goes once linked"
    );

    let (check, _) = lib.command(&g, "check-auth", &[]).await;
    assert!(text(&check).contains("**YouTube**: linked"), "{check}");
    assert!(text(&check).contains("**Spotify**: not linked"), "{check}");

    let (menu, _) = lib.command(&g, "my-playlists", &[]).await;
    let select = &components(&menu)[0];
    assert_eq!(select["custom_id"], "lib:pick:youtube", "{menu}");
    let options = select["options"].as_array().expect("options");
    assert_eq!(options[0]["label"], "Road trip");
    assert_eq!(options[0]["description"], "5 tracks · YouTube");
    // A second listing within the minute is served from the cache: YouTube's quota.
    let before = lib.s.youtube.total_requests();
    lib.command(&g, "my-playlists", &[]).await;
    assert_eq!(lib.s.youtube.total_requests(), before);

    lib.chain.join(&g);
    let (res, token) = lib.pick(&g, "lib:pick:youtube", "PLmine0001").await;
    assert_eq!(
        res["type"], 5,
        "deferred: the worker expands the playlist: {res}"
    );
    lib.chain
        .hears(&g, 440.0, "the playlist's first video")
        .await;
    let reply = lib
        .chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    assert!(reply.content.contains("Queued 4 tracks"), "{reply:?}");
    assert!(
        reply
            .content
            .contains("1 entry was skipped: it is private, removed or not a song"),
        "the private video is skipped with a message: {reply:?}"
    );
    assert!(
        lib.ytdlp.runs().iter().any(|r| r.contains("watch?v=t440")),
        "played through yt-dlp by video id"
    );

    let (gone, _) = lib.command(&g, "unlink", &[("platform", "youtube")]).await;
    assert!(text(&gone).contains("revoked at Google"), "{gone}");
    assert_eq!(lib.s.google.revoked().len(), 1);
    let (menu, _) = lib.command(&g, "my-playlists", &[]).await;
    assert!(text(&menu).contains("Link an account first"), "{menu}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spotify_links_through_the_callback_and_liked_songs_history_and_suggestions_follow() {
    let g = guild(2);
    let mut lib = spawn_library(std::slice::from_ref(&g)).await;
    let liked = vec![
        SpTrack::new(
            "0000000000000000000001",
            "Tone Song",
            "Tone Artist",
            (SECS * 1000.0) as u64,
            Some("QZES60000001"),
        ),
        SpTrack::new(
            "0000000000000000000002",
            "Second Song",
            "Tone Artist",
            (SECS * 1000.0) as u64,
            Some("QZES60000002"),
        ),
    ];
    lib.s.spotify.set_liked(liked);
    lib.s.spotify.set_recent(vec![SpTrack::new(
        "0000000000000000000009",
        "Heard On Spotify",
        "Elsewhere",
        200_000,
        None,
    )]);
    lib.s.spotify.add_playlist(SpPlaylist {
        id: "37i9dQZF1DXmine000001".into(),
        name: "Mine".into(),
        owner: "standin-user".into(),
        collaborative: false,
        tracks: SpTrack::numbered("mi", 3),
    });
    lib.s.spotify.add_playlist(SpPlaylist {
        id: "37i9dQZF1DXtheirs0001".into(),
        name: "Someone else's".into(),
        owner: "someone-else".into(),
        collaborative: false,
        tracks: SpTrack::numbered("th", 3),
    });

    let (res, _) = lib.command(&g, "auth-spotify", &[]).await;
    let link = components(&res)
        .into_iter()
        .find(|c| c["url"].is_string())
        .expect("an Open Spotify link button");
    assert!(
        components(&res)
            .iter()
            .all(|c| c["custom_id"] != "acct:sp-paste"),
        "with a callback reachable, there is nothing to paste: {res}"
    );
    // The user's browser: Spotify's authorize page redirects to our callback route.
    let page = reqwest::get(link["url"].as_str().expect("a URL"))
        .await
        .expect("the browser follows the redirect");
    assert_eq!(page.status(), 200);
    assert!(page.url().path().ends_with("/oauth/spotify/callback"));
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.expect("a page");
    assert!(html.contains("Spotify is linked"), "{html}");
    // The same link again (the back button): a fresh code with the same state, refused.
    let again = reqwest::get(link["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(again.status(), 400);
    let html = again.text().await.unwrap();
    assert!(html.contains("already used"), "{html}");

    // Only playlists the user owns or collaborates on.
    let (menu, _) = lib
        .command(&g, "my-playlists", &[("platform", "spotify")])
        .await;
    let labels: Vec<String> = components(&menu)[0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels, ["Mine"], "{menu}");
    assert!(text(&menu).contains("own or collaborate on"), "{menu}");

    lib.chain.join(&g);
    let (res, token) = lib
        .command(&g, "liked-songs", &[("platform", "spotify")])
        .await;
    assert_eq!(res["type"], 5, "{res}");
    lib.chain
        .hears(&g, 660.0, "the first liked song, matched on YouTube")
        .await;
    let reply = lib
        .chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    assert!(reply.content.contains("Queued 2 tracks"), "{reply:?}");
    assert!(
        lib.s
            .spotify
            .bearers("/v1/me/tracks")
            .iter()
            .all(|b| b
                .as_deref()
                .is_some_and(|t| lib.s.spotify.user_of(t).is_some())),
        "read with the user's own token"
    );

    // What played is in the history.
    lib.command(&g, "skip", &[]).await;
    let deadline = std::time::Instant::now() + WAIT;
    let history = loop {
        let (res, _) = lib.command(&g, "play-history", &[("scope", "me")]).await;
        if text(&res).contains("Song — Tone Artist") {
            break res;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no history within {WAIT:?}: {res}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(components(&history)[0]["custom_id"]
        .as_str()
        .unwrap()
        .starts_with("lib:again:"));
    // With Spotify linked, `me` adds Spotify's recently played, queued by its link.
    assert!(
        text(&history).contains("Heard On Spotify — Elsewhere · on Spotify"),
        "{history}"
    );
    assert!(components(&history).iter().any(
        |b| b["custom_id"] == "lib:again:https://open.spotify.com/track/0000000000000000000009"
    ));

    // Earlier plays on this server, by other people, a day ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for n in 0..12u64 {
        let source = format!("https://www.youtube.com/watch?v=old{n:08}");
        lib.chain
            .store
            .record_play(&HistoryEntry {
                guild_id: GuildId::new(g.id).unwrap(),
                played_at_ms: now - 86_400_000 + n,
                track_key: TrackKey::new(Platform::Youtube, &source).unwrap(),
                requester: UserId::new(member(&g) + 1).unwrap(),
                title: format!("Old favourite {n}"),
                artist: Some(if n % 2 == 0 { "Tone Artist" } else { "Someone" }.into()),
                source,
            })
            .await
            .unwrap();
    }
    // ListenBrainz down: the suggestions come from this server's history, and say so.
    lib.s.listenbrainz.down(true);
    let (res, _) = lib.command(&g, "recommendations", &[]).await;
    let shown = text(&res);
    assert!(shown.contains("this server's history"), "{shown}");
    assert!(shown.contains("Old favourite"), "{shown}");
    assert!(
        components(&res).iter().all(|b| b["custom_id"]
            .as_str()
            .unwrap()
            .starts_with("lib:again:https://www.youtube.com/watch?v=old")),
        "{res}"
    );
    assert!(
        lib.s.listenbrainz.requests() > 0 || lib.s.musicbrainz.requests() > 0,
        "{shown}"
    );

    let (gone, _) = lib.command(&g, "unlink", &[("platform", "spotify")]).await;
    assert!(text(&gone).contains("Unlinked Spotify"), "{gone}");
    let (check, _) = lib.command(&g, "check-auth", &[]).await;
    assert!(text(&check).contains("**Spotify**: not linked"), "{check}");
}

mod endpoint {
    //! The same commands at the endpoint alone (the Lambda's wiring on moto): the pasted-address
    //! form where no callback can be reached, and the platforms' quota answers.

    use crate::app::*;
    use timmybot_tests::standins::{DeviceAnswer, SpPlaylist, SpTrack, Standins, Video};

    async fn app_and_standins() -> (TestApp, Standins) {
        let s = Standins::start().await;
        let app =
            spawn_app_with_accounts(s.env().into_iter().chain(s.credentials()).collect()).await;
        app.interact(&allowlist_add(1, Some(GUILD), OWNER)).await;
        (app, s)
    }

    fn said(res: &Value) -> String {
        let d = &res["data"];
        let mut out = d["content"].as_str().unwrap_or_default().to_owned();
        for e in d["embeds"].as_array().into_iter().flatten() {
            out.push_str(e["description"].as_str().unwrap_or_default());
        }
        out
    }

    /// Where Spotify sent the browser: the loopback address the user copies.
    async fn landed(url: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 302);
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn link_spotify(app: &TestApp, user: u64, id: u64) {
        let res = app
            .interact(&command(id, Some(GUILD), user, "auth-spotify", vec![]))
            .await;
        let buttons = &res["data"]["components"][0]["components"];
        let to = landed(buttons[0]["url"].as_str().unwrap()).await;
        let form = app
            .interact(&di::modal_submit(
                id + 1,
                Some(GUILD),
                user,
                "acct:sp-form",
                &[("acct:sp-url", &to)],
            ))
            .await;
        assert!(said(&form).contains("Spotify is linked"), "{form}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_address_pasted_into_the_form_links_spotify_and_only_for_whoever_started_it() {
        let (app, _s) = app_and_standins().await;
        let res = app
            .interact(&command(10, Some(GUILD), MEMBER, "auth-spotify", vec![]))
            .await;
        assert_eq!(res["data"]["flags"], EPHEMERAL);
        let buttons = &res["data"]["components"][0]["components"];
        assert_eq!(buttons[1]["custom_id"], "acct:sp-paste", "{res}");
        assert!(said(&res).contains("127.0.0.1"), "{res}");
        let form = app
            .interact(&di::button(11, Some(GUILD), MEMBER, "acct:sp-paste"))
            .await;
        assert_eq!(form["type"], 9, "a modal: {form}");
        let to = landed(buttons[0]["url"].as_str().unwrap()).await;
        assert!(to.starts_with("http://127.0.0.1:8888/callback?"), "{to}");

        let foreign = app
            .interact(&di::modal_submit(
                12,
                Some(GUILD),
                MEMBER + 1,
                "acct:sp-form",
                &[("acct:sp-url", &to)],
            ))
            .await;
        assert!(
            said(&foreign).contains("started by someone else"),
            "{foreign}"
        );
        let junk = app
            .interact(&di::modal_submit(
                13,
                Some(GUILD),
                MEMBER,
                "acct:sp-form",
                &[("acct:sp-url", "not an address")],
            ))
            .await;
        assert!(said(&junk).contains("isn't an address"), "{junk}");
        let ok = app
            .interact(&di::modal_submit(
                14,
                Some(GUILD),
                MEMBER,
                "acct:sp-form",
                &[("acct:sp-url", &to)],
            ))
            .await;
        assert!(said(&ok).contains("Spotify is linked"), "{ok}");
        let replay = app
            .interact(&di::modal_submit(
                15,
                Some(GUILD),
                MEMBER,
                "acct:sp-form",
                &[("acct:sp-url", &to)],
            ))
            .await;
        assert!(said(&replay).contains("already used"), "{replay}");
        let check = app
            .interact(&command(16, Some(GUILD), MEMBER, "check-auth", vec![]))
            .await;
        assert!(said(&check).contains("**Spotify**: linked"), "{check}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spent_quota_and_a_long_list_get_clear_answers() {
        let (app, s) = app_and_standins().await;
        // 30 YouTube playlists: the menu holds 25 and a button pages on.
        s.youtube.set_playlists(
            (0..30)
                .map(|i| (format!("PLlist{i:04}"), format!("List {i}")))
                .collect::<Vec<_>>()
                .iter()
                .map(|(id, t)| (id.as_str(), t.as_str(), Video::numbered("q", 1)))
                .collect(),
        );
        s.google.script(vec![DeviceAnswer::Approve]);
        app.interact(&command(20, Some(GUILD), MEMBER, "auth-youtube", vec![]))
            .await;
        let linked = app
            .interact(&di::button(21, Some(GUILD), MEMBER, "acct:yt-check"))
            .await;
        assert!(said(&linked).contains("YouTube is linked"), "{linked}");
        let menu = app
            .interact(&command(22, Some(GUILD), MEMBER, "my-playlists", vec![]))
            .await;
        let rows = menu["data"]["components"].as_array().unwrap();
        assert_eq!(
            rows[0]["components"][0]["options"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
        let more = rows[1]["components"][0]["custom_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(more.starts_with("lib:page:youtube:"), "{menu}");
        let page2 = app
            .interact(&di::button(23, Some(GUILD), MEMBER, &more))
            .await;
        assert_eq!(page2["type"], 7, "the menu is replaced: {page2}");
        let options = page2["data"]["components"][0]["components"][0]["options"]
            .as_array()
            .unwrap();
        assert_eq!(options.len(), 5);
        assert_eq!(options[0]["label"], "List 25");

        link_spotify(&app, MEMBER, 30).await;
        s.spotify.add_playlist(SpPlaylist {
            id: "37i9dQZF1DXmine000001".into(),
            name: "Mine".into(),
            owner: "standin-user".into(),
            collaborative: false,
            tracks: SpTrack::numbered("mi", 2),
        });
        s.youtube.exhaust_quota(true);
        s.spotify.quota_exceeded(true);
        // YouTube's answers are cached for a minute; a minute later the quota shows.
        app.clock.advance(61_000);
        let yt = app
            .interact(&command(
                40,
                Some(GUILD),
                MEMBER,
                "my-playlists",
                vec![text("platform", "youtube")],
            ))
            .await;
        assert!(said(&yt).contains("YouTube quota"), "{yt}");
        let sp = app
            .interact(&command(
                41,
                Some(GUILD),
                MEMBER,
                "my-playlists",
                vec![text("platform", "spotify")],
            ))
            .await;
        assert!(
            said(&sp).contains("Spotify says this bot has used up its request quota"),
            "{sp}"
        );
        // With both named by none, one failing still says why beside the other.
        s.youtube.exhaust_quota(false);
        let both = app
            .interact(&command(42, Some(GUILD), MEMBER, "my-playlists", vec![]))
            .await;
        assert!(said(&both).contains("Spotify says"), "{both}");
        assert_eq!(
            both["data"]["components"][0]["components"][0]["custom_id"],
            "lib:pick:youtube"
        );
    }
}
