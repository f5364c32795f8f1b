//! The owners' `/allowlist`, from any guild or a DM.

use crate::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_manage_the_allowlist_from_discord() {
    let app = spawn_app().await;
    // From inside the unlisted guild, with no `guild:` option: it approves this guild.
    let added = app.interact(&allowlist_add(10, Some(GUILD), OWNER)).await;
    assert_ephemeral(&added, &format!("Guild `{GUILD}` may now use TimmyBot"));
    let (items, audit): (Vec<_>, Vec<_>) = app
        .items()
        .await
        .into_iter()
        .partition(|i| !i["pk"].as_s().unwrap().starts_with("AUDIT#"));
    assert_eq!(items.len(), 1);
    assert_eq!(audit.len(), 1, "and the change is in the audit log");
    assert_eq!(audit[0]["pk"].as_s().unwrap(), "AUDIT#BOT");
    assert!(
        audit[0].contains_key("ttl"),
        "audit entries expire after a year"
    );
    assert_eq!(items[0]["pk"].as_s().unwrap(), &format!("GUILD#{GUILD}"));
    assert_eq!(items[0]["sk"].as_s().unwrap(), "ALLOW");
    assert_eq!(items[0]["approved_by"].as_s().unwrap(), &OWNER.to_string());
    assert!(!items[0].contains_key("ttl"));

    // From a DM, naming another guild, with a note.
    let other = command(
        11,
        None,
        OWNER,
        "allowlist",
        subcommand("add", &[("guild", "700002"), ("note", " friends ")]),
    );
    assert_ephemeral(&app.interact(&other).await, "Guild `700002` may now");

    let listed = app
        .interact(&command(
            12,
            None,
            OWNER,
            "allowlist",
            subcommand("list", &[]),
        ))
        .await;
    assert_ephemeral(&listed, "2 allowed guild(s)");
    assert_ephemeral(&listed, "`700002` by <@900001>: friends");
    assert_eq!(
        listed["data"]["allowed_mentions"]["parse"],
        json!([]),
        "listing pings nobody"
    );

    // A member of the now-allowed guild still cannot manage the list.
    let refused = app.interact(&allowlist_add(13, Some(GUILD), MEMBER)).await;
    assert_ephemeral(&refused, "Only the bot's owners");

    let removed = app
        .interact(&command(
            14,
            None,
            OWNER,
            "allowlist",
            subcommand("remove", &[("guild", "700002")]),
        ))
        .await;
    assert_ephemeral(&removed, "no longer allowed");
    let again = app
        .interact(&command(
            15,
            None,
            OWNER,
            "allowlist",
            subcommand("remove", &[("guild", "700002")]),
        ))
        .await;
    assert_ephemeral(&again, "was not on the allowlist");
    // One allowlist entry left, and three audit records: two adds and a removal (the
    // removal of nothing changed nothing, so it is not recorded).
    let items = app.items().await;
    let audit = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap() == "AUDIT#BOT")
        .count();
    assert_eq!((items.len() - audit, audit), (1, 3));
    assert_eq!(
        app.queued().await,
        0,
        "managing the allowlist sends no intent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_allowlist_input_gets_a_clear_error_and_changes_nothing() {
    let app = spawn_app().await;
    let bad = app
        .interact(&command(
            20,
            None,
            OWNER,
            "allowlist",
            subcommand("add", &[("guild", "my server")]),
        ))
        .await;
    assert_ephemeral(&bad, "That is not a server id");
    let no_target = app
        .interact(&command(
            21,
            None,
            OWNER,
            "allowlist",
            subcommand("add", &[]),
        ))
        .await;
    assert_ephemeral(&no_target, "Say which server");
    app.assert_untouched("bad allowlist input").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_guild_gets_past_the_gate() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(30, Some(GUILD), OWNER)).await;
    let reply = app
        .interact(&command(31, Some(GUILD), MEMBER, "frobnicate", vec![]))
        .await;
    assert_ephemeral(
        &reply,
        "`/frobnicate` isn't something this version of TimmyBot can do",
    );
}
