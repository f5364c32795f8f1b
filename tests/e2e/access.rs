//! Access requests: an unlisted guild asks through a form (one write a week at most), the
//! owners decide from a DM, and every decision lands in the audit log.

use timmybot_discord::access::{
    FIELD_LISTENERS, FIELD_SERVER_NAME, FIELD_USE_CASE, FORM, REQUEST_BUTTON,
};
use timmybot_domain::{AuditAction, AuditScope};
use timmybot_fake_discord::rest::dm_channel_of;
use timmybot_store::{AccessStore, AllowlistStore, AuditStore};

use crate::app::*;

const ASKED_IN: u64 = 700_555;

fn form(id: u64, listeners: &str) -> twilight_model::application::interaction::Interaction {
    di::in_channel(
        di::modal_submit(
            id,
            Some(GUILD),
            MEMBER,
            FORM,
            &[
                (FIELD_SERVER_NAME, "Night Owls"),
                (FIELD_USE_CASE, "music for our game nights"),
                (FIELD_LISTENERS, listeners),
            ],
        ),
        ASKED_IN,
    )
}

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_guild_asks_through_a_form_and_writes_one_item_a_week() {
    let app = spawn_app().await;
    let opened = app
        .interact(&di::button(1, Some(GUILD), MEMBER, REQUEST_BUTTON))
        .await;
    assert_eq!(opened["type"], 9, "a form opens: {opened}");
    assert_eq!(opened["data"]["custom_id"], FORM);
    app.assert_untouched("opening the form").await;

    let bad = app.interact(&form(2, "lots")).await;
    assert_ephemeral(&bad, "number of listeners");
    app.assert_untouched("a bad form").await;

    let sent = app.interact(&form(3, "12")).await;
    assert_ephemeral(&sent, "with the bot's owner");
    assert_eq!(app.writes(), ["DynamoDB_20120810.PutItem"], "one write");
    let dm = app.rest.fake.channel_messages(dm_channel_of(OWNER));
    assert_eq!(dm.len(), 1, "the owner got a DM");
    assert!(
        dm[0].render().contains("music for our game nights"),
        "{dm:?}"
    );

    // Asking again the same week: told it waits, and nothing more is written.
    let again = app
        .interact(&di::button(4, Some(GUILD), MEMBER, REQUEST_BUTTON))
        .await;
    assert_ephemeral(&again, "already waiting");
    let again = app.interact(&form(5, "30")).await;
    assert_ephemeral(&again, "already waiting");
    assert_eq!(
        app.writes(),
        ["DynamoDB_20120810.PutItem"],
        "still one write"
    );
    let stored = app.store.access_request(guild()).await.unwrap().unwrap();
    assert_eq!(stored.expected_listeners, 12, "the first request stands");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_approves_from_the_dm_and_the_guild_hears_of_it() {
    let app = spawn_app().await;
    app.interact(&form(1, "12")).await;
    let listed = app
        .interact(&command(
            2,
            None,
            OWNER,
            "allowlist",
            subcommand("requests", &[]),
        ))
        .await;
    assert_ephemeral(&listed, "Night Owls");

    let approve = format!("access:approve:{GUILD}");
    let refused = app.interact(&di::button(3, None, MEMBER, &approve)).await;
    assert_ephemeral(&refused, "Only the bot's owners");
    assert!(!app.store.is_allowed(guild()).await.unwrap());

    let decided = app.interact(&di::button(4, None, OWNER, &approve)).await;
    assert_eq!(decided["type"], 7, "the DM is updated in place: {decided}");
    assert!(decided["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Approved"));
    assert_eq!(decided["data"]["components"], json!([]), "no more buttons");
    assert!(app.store.is_allowed(guild()).await.unwrap());
    assert!(app.store.access_request(guild()).await.unwrap().is_none());
    let told = app.rest.fake.channel_messages(ASKED_IN);
    assert!(
        told.iter().any(|m| m.content.contains("approved")),
        "the requester's channel hears: {told:?}"
    );
    let log = app.store.audit_log(AuditScope::Bot, 10).await.unwrap();
    assert_eq!(log[0].action, AuditAction::AccessApproved);
    assert_eq!(log[0].target, Some(guild()));
    assert_eq!(log[0].actor, UserId::new(OWNER).ok());

    // The guild is served now.
    let play = app
        .interact(&command(5, Some(GUILD), MEMBER, "queue", vec![]))
        .await;
    assert_ne!(
        play["data"]["content"].as_str(),
        Some(timmybot_discord::access::REQUEST_ACCESS)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_denies_and_it_is_recorded() {
    let app = spawn_app().await;
    app.interact(&form(1, "3")).await;
    let deny = format!("access:deny:{GUILD}");
    let decided = app.interact(&di::button(2, None, OWNER, &deny)).await;
    assert!(decided["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Denied"));
    assert!(!app.store.is_allowed(guild()).await.unwrap());
    assert!(app.store.access_request(guild()).await.unwrap().is_none());
    assert!(app
        .rest
        .fake
        .channel_messages(ASKED_IN)
        .iter()
        .any(|m| m.content.contains("declined")));
    let log = app.store.audit_log(AuditScope::Bot, 10).await.unwrap();
    assert_eq!(log[0].action, AuditAction::AccessDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_shows_allowlist_and_settings_changes_to_owners_only() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(1, Some(GUILD), OWNER)).await;
    let settings = di::as_member(
        command(
            2,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![CommandDataOption {
                name: "idle_timeout".into(),
                value: CommandOptionValue::Integer(7),
            }],
        ),
        &[],
        Permissions::MANAGE_GUILD,
    );
    app.interact(&settings).await;

    let bot = app
        .interact(&command(3, None, OWNER, "audit", vec![]))
        .await;
    assert_ephemeral(&bot, "allowlist add");
    let of_guild = app
        .interact(&command(
            4,
            None,
            OWNER,
            "audit",
            vec![CommandDataOption {
                name: "guild".into(),
                value: CommandOptionValue::String(GUILD.to_string()),
            }],
        ))
        .await;
    assert_ephemeral(&of_guild, "idle timeout 7 min");
    let member = app
        .interact(&command(5, Some(GUILD), MEMBER, "audit", vec![]))
        .await;
    assert_ephemeral(&member, "Only the bot's owners");
}
