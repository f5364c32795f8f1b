//! The commands answered from the stored state: `/queue`, `/now-playing`, the queue mutations, and `/play`'s autocomplete.

use crate::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_pages_with_buttons() {
    let app = spawn_app().await;
    let tags: Vec<String> = (0..23).map(|i| format!("t{i:02}")).collect();
    app.seed(&tags.iter().map(String::as_str).collect::<Vec<_>>())
        .await;

    let page1 = app
        .interact(&command(40, Some(GUILD), MEMBER, "queue", vec![]))
        .await;
    assert_eq!(page1["type"], 4);
    assert_eq!(
        page1["data"]["flags"],
        Value::Null,
        "the queue is shown to the channel"
    );
    let embed = &page1["data"]["embeds"][0];
    let desc = embed["description"].as_str().unwrap();
    assert!(
        desc.contains("**Now playing**\n▶ **Song t00** — Band · 0:00 / 3:20"),
        "{desc}"
    );
    assert!(
        desc.contains("`1.` **Song t01** — Band (3:20) · <@900002>"),
        "{desc}"
    );
    assert!(
        desc.contains("`10.` **Song t10**") && !desc.contains("`11.`"),
        "{desc}"
    );
    assert_eq!(
        embed["footer"]["text"],
        "Page 1/3 · 22 queued · 1:13:20 · loop: off · volume: 100%"
    );
    let buttons = &page1["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "queue:1");
    assert_eq!(buttons[0]["disabled"], true, "no page before the first");
    assert_eq!(buttons[1]["custom_id"], "queue:2");
    assert_ne!(buttons[1]["disabled"], true, "absent or false: enabled");

    let page3 = app
        .interact(&command(
            41,
            Some(GUILD),
            MEMBER,
            "queue",
            vec![int("page", 3)],
        ))
        .await;
    let desc = page3["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        desc.contains("`21.` **Song t21**") && desc.contains("`22.` **Song t22**"),
        "{desc}"
    );
    assert_eq!(
        page3["data"]["components"][0]["components"][1]["disabled"],
        true
    );

    // The page button edits the same message in place.
    let pressed = app
        .interact(&di::button(42, Some(GUILD), MEMBER, "queue:2"))
        .await;
    assert_eq!(pressed["type"], 7);
    let desc = pressed["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(desc.contains("`11.` **Song t11**"), "{desc}");

    assert_eq!(app.state().await.version, 1, "looking changes nothing");
    assert!(app.messages().await.is_empty(), "looking sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_shows_the_track_or_says_nothing_plays() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(50, Some(GUILD), OWNER)).await;
    let idle = app
        .interact(&command(51, Some(GUILD), MEMBER, "now-playing", vec![]))
        .await;
    assert_ephemeral(&idle, "Nothing is playing");

    app.seed(&["np1", "np2"]).await;
    app.clock.advance(83_000);
    let np = app
        .interact(&command(52, Some(GUILD), MEMBER, "now-playing", vec![]))
        .await;
    let embed = &np["data"]["embeds"][0];
    assert_eq!(embed["title"], "Now playing");
    assert_eq!(embed["description"], "▶ **Song np1** — Band · 1:23 / 3:20");
    assert_eq!(embed["fields"][0]["value"], "<@900002>");
    assert_eq!(embed["fields"][3]["value"], "**Song np2** — Band (3:20)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mutation_is_written_and_sends_one_queue_changed_intent() {
    let app = spawn_app().await;
    app.seed(&["a", "b", "c", "d", "e"]).await;

    let removed = app
        .interact(&command(
            60,
            Some(GUILD),
            MEMBER,
            "remove",
            vec![int("position", 2)],
        ))
        .await;
    assert_eq!(removed["data"]["content"], "Removed **Song c** (was #2).");
    let s = app.state().await;
    assert_eq!(
        (TestApp::upcoming(&s), s.version),
        (vec!["b".into(), "d".into(), "e".into()], 2)
    );
    assert_eq!(app.messages().await, [queue_changed(60)]);

    let moved = app
        .interact(&command(
            61,
            Some(GUILD),
            MEMBER,
            "move",
            vec![int("from", 3), int("to", 1)],
        ))
        .await;
    assert_eq!(moved["data"]["content"], "Moved **Song e** to #1.");
    let s = app.state().await;
    assert_eq!(
        (TestApp::upcoming(&s), s.version),
        (vec!["e".into(), "b".into(), "d".into()], 3)
    );
    assert_eq!(app.messages().await, [queue_changed(61)]);

    let looped = app
        .interact(&command(
            62,
            Some(GUILD),
            MEMBER,
            "loop",
            vec![text("mode", "queue")],
        ))
        .await;
    assert_eq!(looped["data"]["content"], "Loop is now **queue**.");
    assert_eq!(app.state().await.value.queue.loop_mode().as_str(), "queue");
    assert_eq!(app.messages().await, [queue_changed(62)]);

    let shuffled = app
        .interact(&command(63, Some(GUILD), MEMBER, "shuffle", vec![]))
        .await;
    assert_eq!(shuffled["data"]["content"], "Shuffled 3 tracks.");
    let s = app.state().await;
    let mut ids = TestApp::upcoming(&s);
    ids.sort();
    assert_eq!(ids, ["b", "d", "e"]);
    assert_eq!(
        s.value.queue.now_playing().unwrap().track.key.id(),
        "a",
        "the current track stays"
    );
    assert_eq!(app.messages().await, [queue_changed(63)]);

    let cleared = app
        .interact(&command(64, Some(GUILD), MEMBER, "clear", vec![]))
        .await;
    assert_eq!(
        cleared["data"]["content"],
        "Cleared 3 tracks. The current one plays on."
    );
    let s = app.state().await;
    assert!(s.value.queue.upcoming().is_empty());
    assert_eq!(s.value.queue.now_playing().unwrap().track.key.id(), "a");
    assert_eq!(s.version, 6);
    assert_eq!(app.messages().await, [queue_changed(64)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_mutation_explains_itself_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(&["x", "y"]).await;
    let cases: Vec<(twilight_model::application::interaction::Interaction, &str)> = vec![
        (
            command(70, Some(GUILD), MEMBER, "remove", vec![int("position", 9)]),
            "There is no track at position 9",
        ),
        (
            command(71, Some(GUILD), MEMBER, "remove", vec![int("position", 0)]),
            "`position` must be 1 or more",
        ),
        (
            command(72, Some(GUILD), MEMBER, "move", vec![int("from", 1)]),
            "`to` is required",
        ),
        (
            command(
                73,
                Some(GUILD),
                MEMBER,
                "loop",
                vec![text("mode", "sideways")],
            ),
            "Loop mode must be",
        ),
        (
            command(74, Some(GUILD), MEMBER, "shuffle", vec![]),
            "nothing to shuffle",
        ),
    ];
    for (i, expected) in cases {
        assert_ephemeral(&app.interact(&i).await, expected);
    }
    app.interact(&command(75, Some(GUILD), MEMBER, "clear", vec![]))
        .await;
    assert_ephemeral(
        &app.interact(&command(76, Some(GUILD), MEMBER, "clear", vec![]))
            .await,
        "already empty",
    );
    assert_eq!(
        app.state().await.version,
        2,
        "only the one real clear was written"
    );
    assert_eq!(
        app.messages().await,
        [queue_changed(75)],
        "only the real clear was announced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_autocomplete_suggests_from_this_guilds_history() {
    use timmybot_domain::HistoryEntry;
    use timmybot_store::HistoryStore;
    use twilight_model::application::command::CommandOptionType;

    let app = spawn_app().await;
    app.interact(&allowlist_add(130, Some(GUILD), OWNER)).await;
    let play = |guild: u64, at: u64, tag: &str, title: &str| HistoryEntry {
        guild_id: GuildId::new(guild).unwrap(),
        played_at_ms: T0_MS - at,
        track_key: TrackKey::new(Platform::Youtube, tag).unwrap(),
        requester: UserId::new(MEMBER).unwrap(),
        title: title.into(),
        artist: Some("Rick Astley".into()),
        source: format!("https://youtu.be/{tag}"),
    };
    for entry in [
        play(GUILD, 3_000, "ng", "Never Gonna Give You Up"),
        play(GUILD, 2_000, "ty", "Together Forever"),
        play(GUILD, 1_000, "ng", "Never Gonna Give You Up"),
        play(700_999, 500, "other", "Never Heard In This Guild"),
    ] {
        app.store.record_play(&entry).await.unwrap();
    }
    let typing = |text: &str| {
        let mut i = command(
            131,
            Some(GUILD),
            MEMBER,
            "play",
            vec![CommandDataOption {
                name: "query".into(),
                value: CommandOptionValue::Focused(text.into(), CommandOptionType::String),
            }],
        );
        i.kind = InteractionType::ApplicationCommandAutocomplete;
        i
    };
    let res = app.interact(&typing("never")).await;
    assert_eq!(
        res,
        json!({"type": 8, "data": {"choices": [
            {"name": "Never Gonna Give You Up — Rick Astley", "value": "https://youtu.be/ng"}
        ]}}),
        "one choice per song, from this guild only"
    );
    let all = app.interact(&typing("")).await;
    assert_eq!(all["data"]["choices"].as_array().unwrap().len(), 2);
    assert_eq!(
        all["data"]["choices"][0]["value"], "https://youtu.be/ng",
        "newest first"
    );
}
