//! Settings from the one Secrets Manager secret, in moto's server.

use secrecy::ExposeSecret;
use timmybot_config::secrets::{SecretError, Secrets};
use timmybot_config::{InteractionsSettings, Origin, Source};
use timmybot_fake_discord::interactions as di;
use timmybot_tests::aws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_reads_its_settings_from_the_secret() {
    let client = aws_sdk_secretsmanager::Client::new(&aws::shared().sdk_config().await);
    let body = serde_json::json!({
        "DISCORD_PUBLIC_KEY": di::public_key_hex(),
        "DISCORD_TOKEN": "bot-token-from-the-secret",
        "DISCORD_APPLICATION_ID": 1_100_000_000_000_000_001u64,
        "token_vault_key": "00".repeat(32),
    });
    let id = aws::create_secret(&client, "timmybot-secret", &body.to_string()).await;

    let secrets = Secrets::load(&client, &id).await.unwrap();
    assert_eq!(secrets.get("token_vault_key").map(str::len), Some(64));
    // Non-secret settings come from the environment; fixed pairs stand in for it.
    let src = Source::from_pairs([
        ("INTENT_QUEUE_URL", "http://queue"),
        ("DISCORD_TOKEN", "from-env-wins"),
    ])
    .with_secret(secrets.clone());
    let settings = InteractionsSettings::read(&src).unwrap();
    assert_eq!(
        settings.discord.application_id.get(),
        1_100_000_000_000_000_001
    );
    assert_eq!(settings.discord.token.expose_secret(), "from-env-wins");
    assert_eq!(settings.routing.workers[0].queue_url, "http://queue");
    assert_eq!(src.origin("DISCORD_PUBLIC_KEY"), Some(Origin::Secret));
    assert_eq!(src.origin("DISCORD_TOKEN"), Some(Origin::Environment));
    assert!(!format!("{secrets:?}").contains("bot-token-from-the-secret"));
    assert!(!format!("{settings:?}").contains("from-env-wins"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_secret_is_a_clear_error() {
    let client = aws_sdk_secretsmanager::Client::new(&aws::shared().sdk_config().await);
    let missing = Secrets::load(&client, "no-such-secret").await.unwrap_err();
    assert!(matches!(missing, SecretError::Fetch { .. }), "{missing:?}");
    assert!(missing.to_string().contains("SECRET_ID"), "{missing}");

    let id = aws::create_secret(&client, "bad-secret", "DISCORD_TOKEN=abc").await;
    let bad = Secrets::load(&client, &id).await.unwrap_err();
    assert!(matches!(bad, SecretError::Malformed { .. }), "{bad:?}");
    assert!(!bad.to_string().contains("abc"), "{bad}");
}
