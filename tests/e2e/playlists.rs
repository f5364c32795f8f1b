//! `/playlist` at the endpoint: saving the queue, listing, showing, the owner-or-DJ rule, the
//! count limit, name autocomplete, and loading as an intent for the worker. Hearing a loaded
//! playlist after a restart is in `chain`'s suite (`saved_playlist_survives_a_restart`).

use crate::app::*;
use timmybot_domain::playlist::PLAYLISTS_MAX;
use timmybot_domain::{PlaylistName, SavedPlaylist};
use timmybot_store::PlaylistStore;

fn playlist(n: u64, user: u64, sub: &str, args: &[(&str, &str)]) -> Interaction {
    command(n, Some(GUILD), user, "playlist", subcommand(sub, args))
}

type Interaction = twilight_model::application::interaction::Interaction;

fn content(res: &Value) -> &str {
    res["data"]["content"].as_str().unwrap_or_default()
}

fn name(n: &str) -> PlaylistName {
    PlaylistName::parse(n).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_list_show_and_delete_with_the_owner_or_dj_rule() {
    let app = spawn_app().await;
    app.seed(&["a", "b", "c"]).await;
    let g = GuildId::new(GUILD).unwrap();

    let res = app
        .interact(&playlist(1, MEMBER, "save", &[("name", "  Road   Trip ")]))
        .await;
    assert_eq!(res["type"], 4);
    assert_eq!(res["data"]["flags"], Value::Null, "everyone sees it: {res}");
    assert_eq!(
        content(&res),
        "💾 Saved the queue as **Road Trip**: 3 tracks (10:00). Play it with `/playlist load`."
    );
    let saved = app
        .store
        .playlist(g, &name("road trip"))
        .await
        .unwrap()
        .unwrap();
    let titles: Vec<&str> = saved.tracks().iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Song a", "Song b", "Song c"],
        "what plays first, then in order"
    );
    assert_eq!(saved.owner.get(), MEMBER);

    let list = app.interact(&playlist(2, OTHER, "list", &[])).await;
    assert_ephemeral(&list, "**Road Trip** — 3 tracks · 10:00 · by <@900002>");
    let show = app
        .interact(&playlist(3, OTHER, "show", &[("name", "ROAD TRIP")]))
        .await;
    assert_ephemeral(
        &show,
        "1. Song a (3:20)\n2. Song b (3:20)\n3. Song c (3:20)",
    );
    let missing = app
        .interact(&playlist(4, OTHER, "show", &[("name", "nope")]))
        .await;
    assert_ephemeral(&missing, "There is no playlist called **nope** here.");

    // With a DJ role set, OTHER (no role) may save their own but not over MEMBER's.
    app.interact(&manager(command(
        5,
        Some(GUILD),
        OWNER,
        "settings",
        vec![role("dj_role", DJ_ROLE)],
    )))
    .await;
    let over = app
        .interact(&playlist(6, OTHER, "save", &[("name", "road trip")]))
        .await;
    assert_ephemeral(
        &over,
        "**Road Trip** was saved by <@900002>: only they or a DJ can save over it.",
    );
    let delete = app
        .interact(&playlist(7, OTHER, "delete", &[("name", "Road Trip")]))
        .await;
    assert_ephemeral(&delete, "only they or a DJ can delete it");
    assert_eq!(
        app.store.playlist(g, &name("road trip")).await.unwrap(),
        Some(saved),
        "refused changes change nothing"
    );
    let own = app
        .interact(&playlist(8, OTHER, "save", &[("name", "Mine")]))
        .await;
    assert!(
        content(&own).starts_with("💾 Saved the queue as **Mine**"),
        "{own}"
    );

    // The owner saves over their own; a DJ may save over or delete anyone's.
    let again = app
        .interact(&playlist(9, MEMBER, "save", &[("name", "road trip")]))
        .await;
    assert!(
        content(&again).starts_with("💾 Saved the queue over **Road Trip**"),
        "{again}"
    );
    let dj = di::as_member(
        playlist(10, OWNER, "delete", &[("name", "mine")]),
        &[DJ_ROLE],
        Permissions::empty(),
    );
    assert_eq!(
        content(&app.interact(&dj).await),
        "🗑 Deleted the playlist **Mine**."
    );
    let names: Vec<String> = app
        .store
        .playlists(g)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["Road Trip"]);
    assert!(
        app.messages().await.is_empty(),
        "no intent for any of these"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_queue_a_bad_name_and_the_count_limit_are_refused_clearly() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(1, Some(GUILD), OWNER)).await;
    let g = GuildId::new(GUILD).unwrap();
    let empty = app
        .interact(&playlist(2, MEMBER, "save", &[("name", "x")]))
        .await;
    assert_ephemeral(&empty, "The queue is empty: play something, then save it.");
    let long = "n".repeat(51);
    let bad = app
        .interact(&playlist(3, MEMBER, "save", &[("name", &long)]))
        .await;
    assert_ephemeral(&bad, "A playlist name is 1 to 50 characters");

    app.seed(&["s1"]).await;
    for i in 0..PLAYLISTS_MAX {
        let p = SavedPlaylist::new(
            g,
            name(&format!("list {i:02}")),
            UserId::new(MEMBER).unwrap(),
            T0_MS,
            vec![song("s1", MEMBER)],
        )
        .unwrap();
        app.store.save_playlist(&p).await.unwrap();
    }
    let full = app
        .interact(&playlist(4, MEMBER, "save", &[("name", "one more")]))
        .await;
    assert_ephemeral(
        &full,
        "This server already keeps 25 playlists, the most it can. Delete one with `/playlist delete` first.",
    );
    assert!(app
        .store
        .playlist(g, &name("one more"))
        .await
        .unwrap()
        .is_none());
    // Saving over one of them is no new playlist: allowed.
    let over = app
        .interact(&playlist(5, MEMBER, "save", &[("name", "List 07")]))
        .await;
    assert!(
        content(&over).starts_with("💾 Saved the queue over **list 07**"),
        "{over}"
    );
    assert_eq!(app.store.playlists(g).await.unwrap().len(), PLAYLISTS_MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_sends_an_intent_and_names_autocomplete() {
    let app = spawn_app().await;
    app.seed(&["a", "b"]).await;
    app.worker_awake().await;
    app.interact(&playlist(1, MEMBER, "save", &[("name", "Road Trip")]))
        .await;
    app.interact(&playlist(2, MEMBER, "save", &[("name", "Rainy Day")]))
        .await;

    // Out of a voice channel, or an unknown name: refused at once.
    let res = app
        .interact(&playlist(3, MEMBER, "load", &[("name", "road trip")]))
        .await;
    assert_ephemeral(&res, "Join a voice channel first");
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    let res = app
        .interact(&playlist(4, MEMBER, "load", &[("name", "nope")]))
        .await;
    assert_ephemeral(&res, "There is no playlist called **nope** here.");
    assert!(app.messages().await.is_empty());

    let mut load = playlist(5, MEMBER, "load", &[("name", "road trip")]);
    if let Some(twilight_model::application::interaction::InteractionData::ApplicationCommand(
        data,
    )) = load.data.as_mut()
    {
        if let CommandOptionValue::SubCommand(args) = &mut data.options[0].value {
            args.push(CommandDataOption {
                name: "shuffle".into(),
                value: CommandOptionValue::Boolean(true),
            });
        }
    }
    assert_eq!(app.interact(&load).await, json!({"type": 5}));
    assert_eq!(
        app.messages().await,
        [intent(
            5,
            json!({"type": "load_playlist", "name": "Road Trip", "shuffle": true,
                   "requester_id": MEMBER.to_string(), "voice_channel_id": VOICE.to_string()})
        )]
    );

    // Typing a name suggests the server's playlists that contain it.
    let mut auto = playlist(6, MEMBER, "load", &[]);
    auto.kind = InteractionType::ApplicationCommandAutocomplete;
    if let Some(twilight_model::application::interaction::InteractionData::ApplicationCommand(
        data,
    )) = auto.data.as_mut()
    {
        if let CommandOptionValue::SubCommand(args) = &mut data.options[0].value {
            args.push(CommandDataOption {
                name: "name".into(),
                value: CommandOptionValue::Focused(
                    "RAIN".into(),
                    twilight_model::application::command::CommandOptionType::String,
                ),
            });
        }
    }
    assert_eq!(
        app.interact(&auto).await,
        json!({"type": 8, "data": {"choices": [{"name": "Rainy Day", "value": "Rainy Day"}]}})
    );
}

/// Through the whole chain: saved, the bot sent away, loaded, and heard in order. (The
/// store keeping it across a restart is `sqlite_keeps_saved_playlists_across_a_restart`.)
mod heard {
    use timmybot_tests::chain::{guild, spawn_chain};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_saved_playlist_loads_in_order_and_is_heard() {
        let g = guild(41);
        let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
        chain.join(&g);
        chain.play(&g, 440.0).await;
        chain.play(&g, 660.0).await;
        chain.play(&g, 880.0).await;
        chain.hears(&g, 440.0, "the first track").await;
        let (res, _) = chain
            .subcommand(&g, "playlist", "save", &[("name", "Set")])
            .await;
        assert!(
            res["data"]["content"]
                .as_str()
                .unwrap_or_default()
                .starts_with("💾 Saved the queue as **Set**: 3 tracks"),
            "{res}"
        );
        // Move on to the last tone, so that what is heard after the load is new.
        chain.command(&g, "skip", &[], None).await;
        chain.hears(&g, 660.0, "the second track").await;
        chain.command(&g, "skip", &[], None).await;
        chain.hears(&g, 880.0, "the third track").await;
        // The bot leaves, the queue with it.
        let (_, token) = chain.command(&g, "leave", &[], None).await;
        chain
            .reply(&token, |r| r.content.contains("Left the voice channel"))
            .await;

        let (res, token) = chain
            .subcommand(&g, "playlist", "load", &[("name", "set")])
            .await;
        assert_eq!(res["type"], 5, "deferred while the worker works: {res}");
        chain.hears(&g, 440.0, "the playlist's first track").await;
        chain
            .reply(&token, |r| {
                r.content
                    .contains("📂 **Set**: Queued 3 tracks, starting with")
            })
            .await;
        chain.command(&g, "skip", &[], None).await;
        chain.hears(&g, 660.0, "the playlist's second track").await;
        let (_, token) = chain.command(&g, "skip", &[], None).await;
        let said = chain.reply(&token, |r| r.edits > 0).await;
        assert!(said.content.contains("Skipped"), "{said:?}");
        let state = chain.state(&g).await;
        assert!(
            state
                .queue
                .now_playing()
                .is_some_and(|np| np.track.title.contains("880")),
            "{said:?} {:?}",
            state.queue
        );
        chain.hears(&g, 880.0, "the playlist's third track").await;
        chain.stop_worker().await;
    }
}
