//! The checks themselves, by section: settings, the secret and the OAuth clients (`config`),
//! the store, the queue and the service (`aws`), Discord and the clock (`discord`), the tools
//! the worker runs (`tools`).

mod aws;
mod config;
mod discord;
mod tools;

use timmybot_config::names::env;
use timmybot_config::{Origin, Source};

use super::Report;

const SETTINGS: &str = "Settings";
const SECRET: &str = "Secret";
const STORE: &str = "Store";
const QUEUE: &str = "Intent queue and worker service";
const DISCORD: &str = "Discord";
const TOOLS: &str = "Tools";
const OAUTH: &str = "Accounts (optional)";

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
    let secrets = config::secret(&mut secret_report, &env_only).await;
    let src = env_only.with_secret(secrets.unwrap_or_default());
    config::settings(&mut r, &src, aws);
    r.checks.append(&mut secret_report.checks);
    aws::store(&mut r, &src).await;
    if aws {
        aws::queue(&mut r, &src).await;
    }
    discord::discord(&mut r, &src).await;
    tools::tools(&mut r, &src);
    config::oauth(&mut r, &src);
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
