//! The checks themselves, by section: settings, the secret, the store, the queue and the
//! service, Discord, the clock, the tools the worker runs, the optional OAuth clients.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use timmybot_bus::ecs::EcsService;
use timmybot_bus::sqs::SqsBus;
use timmybot_config::names::{env, secret, table};
use timmybot_config::secrets::Secrets;
use timmybot_config::{
    DiscordSettings, EcsServiceName, Origin, Source, StoreConfig, WorkerRouting,
};
use timmybot_discord::ids::ToTwilight;
use timmybot_domain::{Clock, SystemClock};

use super::Report;

const SETTINGS: &str = "Settings";
const SECRET: &str = "Secret";
const STORE: &str = "Store";
const QUEUE: &str = "Intent queue and worker service";
const DISCORD: &str = "Discord";
const TOOLS: &str = "Tools";
const OAUTH: &str = "Accounts (optional)";

/// Discord refuses request signatures more than this far from its own clock.
const CLOCK_WINDOW: Duration = Duration::from_secs(5 * 60);
/// YouTube breaks yt-dlp releases older than about this.
const YTDLP_MAX_AGE_DAYS: i64 = 60;

const GET_A_TOKEN: &str = "Developer Portal → your application → Bot → Reset Token; see the \
README's \"Get a bot token\"";

pub async fn run_all() -> Report {
    let env_only = match Source::environment().with_dotenv(std::path::Path::new(crate::DOTENV)) {
        Ok(src) => src,
        Err(e) => {
            let mut r = Report {
                mode: "unknown: the .env file does not read",
                checks: Vec::new(),
            };
            r.fail(
                SETTINGS,
                ".env",
                e.to_string(),
                "fix that line: KEY=VALUE, one a line",
            );
            return r;
        }
    };
    let aws = env_only.get(env::STORE).as_deref() == Some("dynamodb")
        || env_only.get(env::INTENT_QUEUE_URL).is_some();
    let mut r = Report {
        mode: if aws {
            "the AWS deployment: STORE=dynamodb or INTENT_QUEUE_URL is set"
        } else {
            "self-hosted: timmybot serve"
        },
        checks: Vec::new(),
    };
    // The secret is read first (settings may come from it), and reported after them.
    let mut secret_report = Report::default();
    let secrets = secret_checks(&mut secret_report, &env_only).await;
    let src = env_only.with_secret(secrets.unwrap_or_default());
    settings(&mut r, &src, aws);
    r.checks.append(&mut secret_report.checks);
    store(&mut r, &src).await;
    if aws {
        queue(&mut r, &src).await;
    }
    discord(&mut r, &src).await;
    tools(&mut r, &src);
    oauth(&mut r, &src);
    r
}

fn origin(src: &Source, name: &str) -> &'static str {
    match src.origin(name) {
        Some(Origin::Environment) => "the environment",
        Some(Origin::DotEnv) => "the .env file",
        Some(Origin::Secret) => "the secret",
        None => "nowhere",
    }
}

/// The secret named by `SECRET_ID`, read once; and its vault key.
async fn secret_checks(r: &mut Report, env_only: &Source) -> Option<Secrets> {
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

fn settings(r: &mut Report, src: &Source, aws: bool) {
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

async fn store(r: &mut Report, src: &Source) {
    let config = match src.store() {
        Ok(c) => c,
        Err(e) => {
            r.fail(
                STORE,
                env::STORE,
                e.to_string(),
                "`sqlite:PATH`, or `dynamodb` with TABLE_NAME",
            );
            return;
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match &config {
        StoreConfig::Sqlite(path) => match timmybot_store::open(&config, clock).await {
            Ok(_) => r.pass(
                STORE,
                "SQLite file",
                format!("{} opens and takes writes", path.display()),
            ),
            Err(e) => r.fail(
                STORE,
                "SQLite file",
                format!("{}: {e}", path.display()),
                "make the file (and its folder) writable by this user, or point STORE=sqlite:PATH elsewhere",
            ),
        },
        StoreConfig::Dynamo { table: name } => {
            let sdk = timmybot_config::aws::load_config().await;
            let store = timmybot_store::dynamo::DynamoStore::from_sdk(&sdk, name.clone(), clock);
            let shape = match store.describe().await {
                Ok(s) => s,
                Err(e) => {
                    r.fail(
                        STORE,
                        "table reachable",
                        format!("{name}: {e}"),
                        "check TABLE_NAME (the stack's TableName output), the region, and \
                         dynamodb:DescribeTable on this role",
                    );
                    return;
                }
            };
            r.pass(STORE, "table reachable", name.clone());
            let want = |key: &str| Some((key.to_owned(), "S".to_owned()));
            if shape.partition_key == want(table::PARTITION_KEY)
                && shape.sort_key == want(table::SORT_KEY)
            {
                r.pass(STORE, "table keys", "pk (string) and sk (string)");
            } else {
                r.fail(
                    STORE,
                    "table keys",
                    format!(
                        "partition {:?}, sort {:?}",
                        shape.partition_key, shape.sort_key
                    ),
                    "TimmyBot's single table needs partition key `pk` (S) and sort key `sk` (S): \
                     deploy template.yaml's table and point TABLE_NAME at it",
                );
            }
            if shape.ttl_attribute.as_deref() == Some(table::TTL_ATTRIBUTE) {
                r.pass(STORE, "TTL", "on, on `ttl`");
            } else {
                r.fail(
                    STORE,
                    "TTL",
                    format!("{:?}", shape.ttl_attribute),
                    "turn on Time to Live on the attribute `ttl`, or queues and history never expire",
                );
            }
        }
    }
}

async fn queue(r: &mut Report, src: &Source) {
    let sdk = timmybot_config::aws::load_config().await;
    let queues = match src.list(env::INTENT_QUEUE_URL) {
        Ok(queues) => queues.unwrap_or_default(),
        Err(e) => {
            r.fail(
                QUEUE,
                "intent queues",
                e.to_string(),
                "INTENT_QUEUE_URL is the stack's IntentQueueUrl0, IntentQueueUrl1, … outputs, \
                 comma-separated in worker order",
            );
            Vec::new()
        }
    };
    // The endpoint's settings name every worker and route by the shard plan; a worker's
    // (with WORKER_INDEX) name only its own queue and service.
    if !queues.is_empty() && src.get(env::WORKER_INDEX).is_none() {
        match WorkerRouting::read(src) {
            Ok(routing) => r.pass(
                QUEUE,
                "worker routing",
                format!(
                    "{} worker(s) over {} shard(s)",
                    routing.plan.worker_count(),
                    routing.plan.shard_count()
                ),
            ),
            Err(e) => r.fail(
                QUEUE,
                "worker routing",
                e.to_string(),
                "one queue in INTENT_QUEUE_URL and one service in WORKER_SERVICE per worker, in \
                 worker order, and SHARD_COUNT when there is more than one: the stack's outputs \
                 and its ShardCount",
            ),
        }
    }
    let many = queues.len() > 1;
    for (i, url) in queues.iter().enumerate() {
        intent_queue(r, &sdk, &numbered("intent queue", i, many), url).await;
    }
    match src.pair(env::WORKER_CLUSTER, env::WORKER_SERVICE) {
        Ok(Some((cluster, _))) => {
            let services = src
                .list(env::WORKER_SERVICE)
                .ok()
                .flatten()
                .unwrap_or_default();
            let many = services.len() > 1;
            for (i, service) in services.into_iter().enumerate() {
                let name = EcsServiceName {
                    cluster: cluster.clone(),
                    service,
                };
                worker_service(r, &sdk, &numbered("worker service", i, many), &name).await;
            }
        }
        Ok(None) => r.info(
            QUEUE,
            "worker service",
            "WORKER_CLUSTER and WORKER_SERVICE unset: nothing wakes a sleeping worker",
        ),
        Err(e) => r.fail(
            QUEUE,
            "worker service",
            e.to_string(),
            "set both, or neither",
        ),
    }
}

/// `what`, with the worker's index when there are several.
fn numbered(what: &str, i: usize, many: bool) -> String {
    if many {
        format!("{what} {i}")
    } else {
        what.to_owned()
    }
}

async fn intent_queue(
    r: &mut Report,
    sdk: &timmybot_config::aws::SdkConfig,
    check: &str,
    url: &str,
) {
    match SqsBus::from_sdk(sdk, url.to_owned()).describe().await {
        Ok(q) if !q.fifo => r.fail(
            QUEUE,
            check,
            format!("{url} is a standard queue"),
            "intents need a FIFO queue (its name ends in .fifo) for order per guild and \
             deduplication: template.yaml makes one with its FIFO DLQ",
        ),
        Ok(q) => match q.dead_letter {
            Some(dlq) => r.pass(QUEUE, check, format!("FIFO, dead letters to {dlq}")),
            None => r.fail(
                QUEUE,
                check,
                "FIFO, but with no dead-letter queue",
                "give it a redrive policy to a FIFO DLQ, or one bad intent is retried forever",
            ),
        },
        Err(e) => r.fail(
            QUEUE,
            check,
            format!("{url}: {e}"),
            "check INTENT_QUEUE_URL (the stack's IntentQueueUrlN outputs) and \
             sqs:GetQueueAttributes",
        ),
    }
}

async fn worker_service(
    r: &mut Report,
    sdk: &timmybot_config::aws::SdkConfig,
    check: &str,
    name: &EcsServiceName,
) {
    match EcsService::from_sdk(sdk, name).exists().await {
        Ok(true) => r.pass(QUEUE, check, format!("{}/{}", name.cluster, name.service)),
        Ok(false) => r.fail(
            QUEUE,
            check,
            format!("{}/{} does not exist", name.cluster, name.service),
            "WORKER_CLUSTER is the stack's WorkerCluster output, WORKER_SERVICE its \
             WorkerServiceN outputs",
        ),
        Err(e) => r.fail(
            QUEUE,
            check,
            e.to_string(),
            "check ecs:DescribeServices on this role, and the region",
        ),
    }
}

async fn discord(r: &mut Report, src: &Source) {
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

fn tools(r: &mut Report, src: &Source) {
    let ytdlp = src.get(env::YTDLP_PATH).unwrap_or_else(|| "yt-dlp".into());
    match Command::new(&ytdlp).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match ytdlp_age_days(&version) {
                Some(age) if age <= YTDLP_MAX_AGE_DAYS => {
                    r.pass(TOOLS, "yt-dlp", format!("{version} ({age} days old)"))
                }
                Some(age) => r.fail(
                    TOOLS,
                    "yt-dlp",
                    format!("{version} is {age} days old"),
                    "YouTube breaks old versions: `pip install -U 'yt-dlp[default]'` (the \
                     worker's image pins YTDLP_VERSION in the Dockerfile)",
                ),
                None => r.info(
                    TOOLS,
                    "yt-dlp",
                    format!("version {version:?} carries no date"),
                ),
            }
        }
        Ok(out) => r.fail(
            TOOLS,
            "yt-dlp",
            format!(
                "{ytdlp} --version failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "reinstall it: `pip install -U 'yt-dlp[default]'`",
        ),
        Err(e) => r.fail(
            TOOLS,
            "yt-dlp",
            format!("{ytdlp}: {e}"),
            "YouTube and SoundCloud play through yt-dlp: `pip install 'yt-dlp[default]'`, or \
             set YTDLP_PATH",
        ),
    }
    let runtime = ["deno", "node", "bun"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    match runtime {
        Some(p) => r.pass(
            TOOLS,
            "JavaScript runtime",
            format!("{p}, for yt-dlp's YouTube challenges"),
        ),
        None => r.fail(
            TOOLS,
            "JavaScript runtime",
            "none of deno, node or bun is on PATH",
            "yt-dlp needs one to play YouTube: install deno (`pip install deno`, as the \
             worker's image does)",
        ),
    }
    r.pass(TOOLS, "libopus", opus2::version().to_owned());
}

/// Days since a yt-dlp version's date (`2026.08.19`, perhaps with a `.123456` build).
fn ytdlp_age_days(version: &str) -> Option<i64> {
    let mut parts = version.split('.');
    let (y, m, d) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
    );
    if !(2000..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let released = days_from_civil(y, m, d);
    let today = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64
        / 86_400;
    Some(today - released)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn oauth(r: &mut Report, src: &Source) {
    for (name, id, secret, what) in [
        (
            "YouTube",
            "YOUTUBE_CLIENT_ID",
            "YOUTUBE_CLIENT_SECRET",
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_the_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 1), 20_788);
        assert!(ytdlp_age_days("2000.01.01").unwrap() > 9_000);
        assert_eq!(ytdlp_age_days("nightly"), None);
        assert_eq!(ytdlp_age_days("2026.13.01"), None);
    }
}
