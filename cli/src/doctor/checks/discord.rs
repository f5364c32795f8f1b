//! The token, the application id, the registered commands and the clock against Discord's.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use timmybot_config::names::env;
use timmybot_config::{DiscordSettings, Source};
use timmybot_discord::ids::ToTwilight;

use super::{Report, DISCORD, GET_A_TOKEN};

/// Discord refuses request signatures more than this far from its own clock.
const CLOCK_WINDOW: Duration = Duration::from_secs(5 * 60);

pub(super) async fn discord(r: &mut Report, src: &Source) {
    let Ok(settings) = DiscordSettings::read(src) else {
        for name in ["token", "application id", "commands", "clock"] {
            r.skip(
                DISCORD,
                name,
                "needs DISCORD_TOKEN and DISCORD_APPLICATION_ID",
            );
        }
        return;
    };
    let http = timmybot_discord::rest::client(&settings, timmybot_discord::rest::DEFAULT_TIMEOUT);
    let user = match http.current_user().await {
        Ok(res) => res,
        Err(e) => {
            let refused = matches!(
                e.kind(),
                twilight_http::error::ErrorType::Response { status, .. } if status.get() == 401
            );
            if refused {
                r.fail(
                    DISCORD,
                    "token",
                    "Discord refused it (401 Unauthorized)",
                    format!("the token was reset or mistyped: {GET_A_TOKEN}"),
                );
            } else {
                r.fail(
                    DISCORD,
                    "token",
                    format!("could not reach Discord: {e}"),
                    "check this machine's network and DNS (and DISCORD_REST_PROXY, which only \
                     the tests set)",
                );
            }
            for name in ["application id", "commands", "clock"] {
                r.skip(DISCORD, name, "needs a valid token");
            }
            return;
        }
    };
    let date = user
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("date"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match user.model().await {
        Ok(u) => r.pass(
            DISCORD,
            "token",
            format!("valid: the bot is {} ({})", u.name, u.id),
        ),
        Err(e) => r.fail(DISCORD, "token", e.to_string(), GET_A_TOKEN),
    }
    match http.current_user_application().await {
        Ok(res) => match res.model().await {
            Ok(app) if app.id.get() == settings.application_id.get() => {
                r.pass(DISCORD, "application id", "matches the token's application")
            }
            Ok(app) => r.fail(
                DISCORD,
                "application id",
                format!(
                    "{} is {} but the token belongs to application {}",
                    env::DISCORD_APPLICATION_ID,
                    settings.application_id,
                    app.id
                ),
                "take DISCORD_APPLICATION_ID and DISCORD_TOKEN from the same application",
            ),
            Err(e) => r.fail(DISCORD, "application id", e.to_string(), "try again"),
        },
        Err(e) => r.fail(DISCORD, "application id", e.to_string(), "try again"),
    }
    commands(r, &http, &settings).await;
    match date {
        Some(theirs) => {
            let ours = SystemTime::now();
            let off = ours
                .duration_since(theirs)
                .or_else(|e| Ok::<_, ()>(e.duration()))
                .unwrap_or_default();
            // The Date header has whole seconds.
            if off <= CLOCK_WINDOW {
                r.pass(
                    DISCORD,
                    "clock",
                    format!("within {} s of Discord's", off.as_secs().max(1)),
                );
            } else {
                r.fail(
                    DISCORD,
                    "clock",
                    format!("{} s off Discord's", off.as_secs()),
                    "Discord refuses signed requests more than 5 minutes off its clock: turn on \
                     time sync (`timedatectl set-ntp true`)",
                );
            }
        }
        None => r.skip(DISCORD, "clock", "Discord's answer carried no Date header"),
    }
}

/// The global commands Discord holds against the ones this build registers.
async fn commands(r: &mut Report, http: &twilight_http::Client, settings: &DiscordSettings) {
    let Ok(ours) = timmybot_discord::spec::specs() else {
        r.fail(
            DISCORD,
            "commands",
            "this build's specs break Discord's rules",
            "report it",
        );
        return;
    };
    let theirs = match http
        .interaction(settings.application_id.to_twilight())
        .global_commands()
        .await
    {
        Ok(res) => match res.models().await {
            Ok(c) => c,
            Err(e) => return r.fail(DISCORD, "commands", e.to_string(), "try again"),
        },
        Err(e) => return r.fail(DISCORD, "commands", e.to_string(), "try again"),
    };
    // What makes two versions of a command differ for a user: its description and options.
    let shape = |c: &twilight_model::application::command::Command| {
        serde_json::json!({"description": c.description, "options": c.options}).to_string()
    };
    let ours: BTreeMap<&str, String> = ours.iter().map(|c| (c.name.as_str(), shape(c))).collect();
    let theirs: BTreeMap<&str, String> =
        theirs.iter().map(|c| (c.name.as_str(), shape(c))).collect();
    let missing: Vec<&str> = ours
        .keys()
        .filter(|n| !theirs.contains_key(*n))
        .copied()
        .collect();
    let extra: Vec<&str> = theirs
        .keys()
        .filter(|n| !ours.contains_key(*n))
        .copied()
        .collect();
    let changed: Vec<&str> = ours
        .iter()
        .filter(|(n, s)| theirs.get(*n).is_some_and(|t| t != *s))
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() && extra.is_empty() && changed.is_empty() {
        r.pass(
            DISCORD,
            "commands",
            format!("all {} registered as this version has them", ours.len()),
        );
        return;
    }
    let list = |what: &str, names: &[&str]| {
        (!names.is_empty()).then(|| {
            let names: Vec<String> = names.iter().map(|n| format!("/{n}")).collect();
            format!("{what}: {}", names.join(", "))
        })
    };
    let detail: Vec<String> = [
        list("missing", &missing),
        list("not this version's", &extra),
        list("changed", &changed),
    ]
    .into_iter()
    .flatten()
    .collect();
    r.fail(
        DISCORD,
        "commands",
        detail.join("; "),
        "run `timmybot register-commands` (timmybot serve also registers them when it starts)",
    );
}
