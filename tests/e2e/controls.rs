//! The commands the worker carries out: each sends one intent, deferred while the worker is awake, waking it when it sleeps; and the now-playing buttons.

use crate::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_defers_while_the_worker_is_awake() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(80, Some(GUILD), OWNER)).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));

    let res = app
        .interact(&command(
            81,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "  never gonna give you up ")],
        ))
        .await;
    assert_eq!(
        res,
        json!({"type": 5}),
        "deferred: the worker edits the reply"
    );
    assert_eq!(
        app.messages().await,
        [intent(
            81,
            json!({"type": "play", "query": "never gonna give you up",
                           "requester_id": MEMBER.to_string(), "voice_channel_id": VOICE.to_string(),
                           "position": "end"})
        )]
    );
    let calls = app.rest.fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].path,
        format!("/api/v10/guilds/{GUILD}/voice-states/{MEMBER}")
    );
    assert!(calls[0].bot_auth, "the lookup authenticates as the bot");
    assert_eq!(app.desired().await, 0, "an awake worker is not woken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_wakes_a_sleeping_worker_and_says_so() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(90, Some(GUILD), OWNER)).await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    // A heartbeat older than 45 s counts as asleep.
    app.worker_awake().await;
    app.clock.advance(36_000);

    let play = command(
        91,
        Some(GUILD),
        MEMBER,
        "play",
        vec![
            text("query", "lofi"),
            CommandDataOption {
                name: "next".into(),
                value: CommandOptionValue::Boolean(true),
            },
        ],
    );
    let res = app.interact(&play).await;
    assert_eq!(res["type"], 4);
    assert_eq!(res["data"]["content"], STARTING);
    assert_eq!(
        res["data"]["flags"],
        Value::Null,
        "everyone sees the player starting"
    );
    assert_eq!(app.desired().await, 1, "the worker was woken");
    let taken = app.messages().await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0["kind"]["position"], "next");
    assert_eq!(taken[0].0["issued_at_ms"], T0_MS + 36_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_outside_a_voice_channel_is_refused_at_once() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(100, Some(GUILD), OWNER)).await;
    let res = app
        .interact(&command(
            101,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "x")],
        ))
        .await;
    assert_ephemeral(&res, "Join a voice channel first");
    let empty = app
        .interact(&command(
            102,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "   ")],
        ))
        .await;
    assert_ephemeral(&empty, "Give me a link or something to search for");
    assert!(app.messages().await.is_empty());
    assert_eq!(app.desired().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_controls_send_their_intents() {
    let app = spawn_app().await;
    app.seed(&["p1", "p2"]).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    let cases: Vec<(u64, &str, Vec<CommandDataOption>, Value)> = vec![
        (110, "skip", vec![], json!({"type": "skip"})),
        (111, "pause", vec![], json!({"type": "pause"})),
        (
            112,
            "seek",
            vec![text("position", "1:05")],
            json!({"type": "seek", "position_ms": 65_000}),
        ),
        (
            113,
            "volume",
            vec![int("percent", 150)],
            json!({"type": "volume", "percent": 150}),
        ),
        (114, "stop", vec![], json!({"type": "stop"})),
        (
            115,
            "join",
            vec![],
            json!({"type": "join", "voice_channel_id": VOICE.to_string()}),
        ),
        (116, "leave", vec![], json!({"type": "leave"})),
    ];
    for (id, name, options, kind) in cases {
        let res = app
            .interact(&command(id, Some(GUILD), MEMBER, name, options))
            .await;
        assert_eq!(res, json!({"type": 5}), "/{name}");
        assert_eq!(app.messages().await, [intent(id, kind)], "/{name}");
    }
    assert_eq!(
        app.state().await.version,
        1,
        "the worker, not the endpoint, applies these"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_that_cannot_apply_is_refused_without_an_intent() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(120, Some(GUILD), OWNER)).await;
    app.worker_awake().await;
    for name in ["skip", "pause", "resume"] {
        let res = app
            .interact(&command(121, Some(GUILD), MEMBER, name, vec![]))
            .await;
        assert_ephemeral(&res, "Nothing is playing");
    }
    app.seed(&["q1"]).await;
    let cases: Vec<(&str, Vec<CommandDataOption>, &str)> = vec![
        ("resume", vec![], "Not paused"),
        ("seek", vec![text("position", "1:75")], "Say where to seek"),
        (
            "seek",
            vec![text("position", "4:00")],
            "past the end; the track is 3:20 long",
        ),
        (
            "volume",
            vec![int("percent", 201)],
            "Volume must be between 0 and 200%",
        ),
        (
            "volume",
            vec![int("percent", -1)],
            "Volume must be between 0 and 200%",
        ),
    ];
    for (name, options, expected) in cases {
        let res = app
            .interact(&command(122, Some(GUILD), MEMBER, name, options))
            .await;
        assert_ephemeral(&res, expected);
    }
    assert!(app.messages().await.is_empty());
}

/// Registering a command the core does not handle would show users a dead command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_command_is_handled() {
    let app = spawn_app().await;
    app.seed(&["h1", "h2"]).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    let specs = timmybot_discord::spec::specs().unwrap();
    for (n, spec) in specs.iter().enumerate() {
        let res = app
            .interact(&command(
                140 + n as u64,
                Some(GUILD),
                MEMBER,
                &spec.name,
                vec![],
            ))
            .await;
        let content = res["data"]["content"].as_str().unwrap_or_default();
        assert!(
            !content.contains("isn't something this version"),
            "/{} is not handled: {res}",
            spec.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_buttons_act_like_their_commands() {
    use timmybot_discord::spec::buttons;
    let app = spawn_app().await;
    app.seed(&["b1", "b2", "b3"]).await;
    app.worker_awake().await;
    let press = |id: u64, custom: &str| di::button(id, Some(GUILD), MEMBER, custom);

    // Intents for the worker: the press defers as an update of the message it sits on.
    assert_eq!(
        app.interact(&press(400, buttons::PAUSE_RESUME)).await,
        json!({"type": 6})
    );
    assert_eq!(
        app.interact(&press(401, buttons::SKIP)).await,
        json!({"type": 6})
    );
    assert_eq!(
        app.interact(&press(402, buttons::STOP)).await,
        json!({"type": 6})
    );
    let kinds: Vec<Value> = app
        .messages()
        .await
        .into_iter()
        .map(|m| m.0["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!({"type": "pause"}),
            json!({"type": "skip"}),
            json!({"type": "stop"})
        ]
    );

    // Once the worker has paused, the same button resumes.
    update_guild::<_, StoreError, _>(
        app.store.as_ref(),
        app.clock.as_ref(),
        RetryPolicy::default(),
        GuildId::new(GUILD).unwrap(),
        |s| Ok(s.queue.pause(T0_MS)?),
    )
    .await
    .unwrap();
    app.interact(&press(403, buttons::PAUSE_RESUME)).await;
    assert_eq!(app.messages().await[0].0["kind"], json!({"type": "resume"}));

    // Loop cycles off, track, queue; shuffle shuffles. Both are changes made here.
    assert_ephemeral(
        &app.interact(&press(404, buttons::LOOP)).await,
        "Loop is now **track**.",
    );
    assert_ephemeral(
        &app.interact(&press(405, buttons::LOOP)).await,
        "Loop is now **queue**.",
    );
    assert_eq!(app.state().await.value.queue.loop_mode().as_str(), "queue");
    assert_ephemeral(
        &app.interact(&press(406, buttons::SHUFFLE)).await,
        "Shuffled 2 tracks.",
    );
    assert_eq!(
        app.messages().await.len(),
        3,
        "one queue_changed per change"
    );

    // With the worker asleep, the presser is told it is starting.
    app.clock.advance(60_000);
    assert_ephemeral(
        &app.interact(&press(407, buttons::SKIP)).await,
        "Starting the player",
    );
    assert_eq!(app.desired().await, 1);
}
