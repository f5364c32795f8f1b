//! `/settings`, and what a DJ role changes.

use crate::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_for_managers_and_are_stored() {
    use timmybot_store::SettingsStore;
    let app = spawn_app().await;
    app.interact(&allowlist_add(300, Some(GUILD), OWNER)).await;
    let refused = app
        .interact(&command(
            301,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![role("dj_role", DJ_ROLE)],
        ))
        .await;
    assert_ephemeral(&refused, "Only members with Manage Server");

    let saved = app
        .interact(&manager(command(
            302,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![role("dj_role", DJ_ROLE), int("idle_timeout", 5)],
        )))
        .await;
    assert_ephemeral(
        &saved,
        "Settings saved.\n• DJ role: <@&77>\n• Leave when idle after: 5 min",
    );
    let stored = app
        .store
        .guild_settings(GuildId::new(GUILD).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.dj_role.map(|r| r.get()), Some(DJ_ROLE));
    assert_eq!(stored.idle_timeout_secs, Some(300));

    let shown = app
        .interact(&manager(command(
            303,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![],
        )))
        .await;
    assert_ephemeral(&shown, "Current settings:");
    let bad = app
        .interact(&manager(command(
            304,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![int("idle_timeout", 0)],
        )))
        .await;
    assert_ephemeral(&bad, "must be 1 to 60 minutes");
    let cleared = app
        .interact(&manager(command(
            305,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![CommandDataOption {
                name: "clear_dj_role".into(),
                value: CommandOptionValue::Boolean(true),
            }],
        )))
        .await;
    assert_ephemeral(&cleared, "DJ role: none: everyone can control playback");
    assert!(app.messages().await.is_empty(), "settings send no intent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_dj_role_others_may_only_touch_their_own_tracks() {
    let app = spawn_app().await;
    app.seed(&["d1", "d2", "d3"]).await; // every track requested by MEMBER
    app.worker_awake().await;
    app.interact(&manager(command(
        310,
        Some(GUILD),
        OWNER,
        "settings",
        vec![role("dj_role", DJ_ROLE)],
    )))
    .await;

    // OTHER has no DJ role and asked for none of these tracks.
    for (id, name, options, expected) in [
        (311, "shuffle", vec![], "Only DJs can do that"),
        (
            312,
            "remove",
            vec![int("position", 1)],
            "You can only remove tracks you added",
        ),
        (
            314,
            "volume",
            vec![int("percent", 50)],
            "Only DJs can do that",
        ),
    ] {
        let res = app
            .interact(&command(id, Some(GUILD), OTHER, name, options))
            .await;
        assert_ephemeral(&res, expected);
    }
    assert_eq!(app.state().await.version, 1);
    assert!(app.messages().await.is_empty());

    // OTHER's skip of MEMBER's track is a vote, which the worker counts.
    let vote = app
        .interact(&command(313, Some(GUILD), OTHER, "skip", vec![]))
        .await;
    assert_eq!(vote, json!({"type": 5}));
    let votes = app.messages().await;
    assert_eq!(
        votes[0].0["kind"],
        json!({"type": "skip", "vote_by": OTHER.to_string()})
    );

    // MEMBER asked for the tracks, so may remove and skip them without the role.
    let removed = app
        .interact(&command(
            315,
            Some(GUILD),
            MEMBER,
            "remove",
            vec![int("position", 1)],
        ))
        .await;
    assert_eq!(removed["data"]["content"], "Removed **Song d2** (was #1).");
    let skipped = app
        .interact(&command(316, Some(GUILD), MEMBER, "skip", vec![]))
        .await;
    assert_eq!(skipped, json!({"type": 5}));
    // A DJ, and a manager without the role, may do anything.
    let dj = app
        .interact(&di::as_member(
            command(317, Some(GUILD), OTHER, "clear", vec![]),
            &[DJ_ROLE],
            Permissions::empty(),
        ))
        .await;
    assert!(
        dj["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Cleared 1"),
        "{dj}"
    );
    let boss = app
        .interact(&manager(command(
            318,
            Some(GUILD),
            OTHER,
            "volume",
            vec![int("percent", 50)],
        )))
        .await;
    assert_eq!(boss, json!({"type": 5}));
    let kinds: Vec<Value> = app
        .messages()
        .await
        .into_iter()
        .map(|m| m.0["kind"]["type"].clone())
        .collect();
    assert_eq!(kinds, ["queue_changed", "skip", "queue_changed", "volume"]);
}
