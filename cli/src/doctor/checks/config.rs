//! Settings and where each came from, the secret and its vault key, the optional OAuth
//! clients.

use timmybot_config::names::{env, routes, secret};
use timmybot_config::secrets::Secrets;
use timmybot_config::Source;

use super::{origin, Report, GET_A_TOKEN, OAUTH, SECRET, SETTINGS};

/// The secret named by `SECRET_ID`, read once; and its vault key.
pub(super) async fn secret(r: &mut Report, env_only: &Source) -> Option<Secrets> {
    let Some(id) = env_only.get(env::SECRET_ID) else {
        r.info(
            SECRET,
            env::SECRET_ID,
            "not set: every setting comes from the environment",
        );
        return None;
    };
    let secrets = match Secrets::load_named(Some(&id)).await {
        Ok(s) => {
            r.pass(
                SECRET,
                "readable",
                format!("{id:?} holds {} setting(s)", s.len()),
            );
            s
        }
        Err(e) => {
            r.fail(
                SECRET,
                "readable",
                e.to_string(),
                "check SECRET_ID names the stack's secret (output SecretId) and that this \
                 role may call secretsmanager:GetSecretValue on it",
            );
            return None;
        }
    };
    match secrets.get(secret::TOKEN_VAULT_KEY) {
        Some(key) if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) => {
            r.pass(SECRET, secret::TOKEN_VAULT_KEY, "set, 32 bytes of hex");
        }
        Some(_) => r.fail(
            SECRET,
            secret::TOKEN_VAULT_KEY,
            "set, but not 64 hex digits",
            "put 32 random bytes as 64 hex digits there (`openssl rand -hex 32`); \
             if accounts are linked, keep the old key in TOKEN_VAULT_KEYS",
        ),
        None => r.fail(
            SECRET,
            secret::TOKEN_VAULT_KEY,
            "missing: it seals the accounts users link",
            "merge a `token_vault_key` of 64 hex digits (`openssl rand -hex 32`) into the \
             secret; never replace the secret, merge into it (README \"Deploy\", step 3)",
        ),
    }
    Some(secrets)
}

pub(super) fn settings(r: &mut Report, src: &Source, aws: bool) {
    match src.secret(env::DISCORD_TOKEN) {
        Some(_) => r.pass(
            SETTINGS,
            env::DISCORD_TOKEN,
            format!("set (from {})", origin(src, env::DISCORD_TOKEN)),
        ),
        None => r.fail(SETTINGS, env::DISCORD_TOKEN, "not set", GET_A_TOKEN),
    }
    match src.application_id() {
        Ok(id) => r.pass(
            SETTINGS,
            env::DISCORD_APPLICATION_ID,
            format!("{id} (from {})", origin(src, env::DISCORD_APPLICATION_ID)),
        ),
        Err(e) => r.fail(
            SETTINGS,
            env::DISCORD_APPLICATION_ID,
            e.to_string(),
            "Developer Portal → your application → General Information → Application ID",
        ),
    }
    match src.owners() {
        Ok(o) if !o.is_empty() => r.pass(
            SETTINGS,
            env::BOT_OWNER_IDS,
            format!("{} owner(s)", o.iter().count()),
        ),
        Ok(_) => r.info(
            SETTINGS,
            env::BOT_OWNER_IDS,
            "none: nobody can approve a server from Discord (serve needs --allow-all)",
        ),
        Err(e) => r.fail(
            SETTINGS,
            env::BOT_OWNER_IDS,
            e.to_string(),
            "your Discord user id: Settings → Advanced → Developer Mode, then right-click \
             your name → Copy User ID",
        ),
    }
    if aws {
        match src.get(env::DISCORD_PUBLIC_KEY) {
            Some(key) if timmybot_edge::Verifier::from_hex(&key).is_ok() => r.pass(
                SETTINGS,
                env::DISCORD_PUBLIC_KEY,
                format!("set (from {})", origin(src, env::DISCORD_PUBLIC_KEY)),
            ),
            Some(_) => r.fail(
                SETTINGS,
                env::DISCORD_PUBLIC_KEY,
                "not a 32-byte Ed25519 key in hex",
                "copy the Public Key from Developer Portal → General Information",
            ),
            None => r.fail(
                SETTINGS,
                env::DISCORD_PUBLIC_KEY,
                "not set: the endpoint cannot check Discord's signatures",
                "copy the Public Key from Developer Portal → General Information",
            ),
        }
        for name in [env::INTENT_QUEUE_URL] {
            match src.get(name) {
                Some(v) => r.pass(SETTINGS, name, v),
                None => r.fail(
                    SETTINGS,
                    name,
                    "not set",
                    "the stack's IntentQueueUrl output (template.yaml sets it on the Lambda)",
                ),
            }
        }
    }
}

pub(super) fn oauth(r: &mut Report, src: &Source) {
    for (name, id, secret, what) in [
        (
            "YouTube",
            env::YOUTUBE_CLIENT_ID,
            env::YOUTUBE_CLIENT_SECRET,
            "a Google \"TVs and Limited Input devices\" OAuth client",
        ),
        (
            "Spotify",
            env::SPOTIFY_CLIENT_ID,
            env::SPOTIFY_CLIENT_SECRET,
            "a Spotify app (Developer Dashboard)",
        ),
    ] {
        match (src.get(id), src.get(secret)) {
            (Some(_), Some(_)) => r.pass(OAUTH, name, format!("{id} and {secret} set")),
            (None, None) => r.info(OAUTH, name, format!("not set up: {what}")),
            _ => r.fail(
                OAUTH,
                name,
                format!("only one of {id} and {secret} is set"),
                "set both, or neither",
            ),
        }
    }
    if src.get(env::SPOTIFY_CLIENT_ID).is_some() {
        match src.get(env::PUBLIC_URL) {
            Some(url) => r.pass(
                OAUTH,
                "Spotify redirect",
                format!(
                    "{url}{} (register it in the Spotify app)",
                    routes::SPOTIFY_CALLBACK
                ),
            ),
            None => r.info(
                OAUTH,
                "Spotify redirect",
                format!(
                    "PUBLIC_URL not set: users paste the address they land on; register {} \
                     in the Spotify app",
                    timmybot_accounts::service::LOOPBACK_REDIRECT
                ),
            ),
        }
    }
}
