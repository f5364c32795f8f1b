//! The settings each part of the bot runs on, read from one [`Source`]. Secrets are
//! [`SecretString`]s: their `Debug` shows `[REDACTED]`, so a whole settings struct can be
//! logged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use timmybot_domain::shards::WORKER_COUNT_MAX;
use timmybot_domain::{ApplicationId, BotOwners, ShardPlan, ShardSpan, WorkerIndex};

use crate::names::{env, secret};
use crate::source::{ConfigError, Source};
use crate::store::StoreConfig;

mod accounts;
mod routing;
mod voice;

pub use accounts::{AccountsSettings, DashboardSettings, ServiceUrls};
pub use routing::{EcsServiceName, WorkerEndpoint, WorkerPlace, WorkerRouting};
pub use voice::VoiceBitrate;

/// The bot's identity and where Discord is.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub application_id: ApplicationId,
    pub token: SecretString,
    /// `host:port` of a plain-HTTP stand-in for Discord's REST API. Tests and the demo only.
    pub rest_proxy: Option<String>,
    /// A `ws://` stand-in for Discord's gateway. Tests and the demo only.
    pub gateway_proxy: Option<String>,
}

impl DiscordSettings {
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        Ok(Self {
            application_id: src.application_id()?,
            token: src.required_secret(env::DISCORD_TOKEN)?,
            rest_proxy: src.get(env::DISCORD_REST_PROXY),
            gateway_proxy: src.get(env::DISCORD_GATEWAY_PROXY),
        })
    }
}

/// The interactions endpoint (the Lambda).
#[derive(Debug)]
pub struct InteractionsSettings {
    pub discord: DiscordSettings,
    /// Ed25519 public key, hex (`DISCORD_PUBLIC_KEY`); the edge parses it.
    pub public_key: String,
    pub owners: BotOwners,
    pub store: StoreConfig,
    /// Each worker's SQS FIFO queue and service. The in-process bus is only for
    /// `timmybot serve`, where the worker shares the process; a standalone endpoint needs
    /// the queues.
    pub routing: WorkerRouting,
    pub accounts: AccountsSettings,
    /// `None`: the dashboard is off.
    pub dashboard: Option<DashboardSettings>,
}

impl InteractionsSettings {
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let accounts = AccountsSettings::read(src)?;
        Ok(Self {
            dashboard: DashboardSettings::read(src, &accounts)?,
            accounts,
            public_key: src.required(env::DISCORD_PUBLIC_KEY)?,
            owners: src.owners()?,
            store: src.store()?,
            routing: WorkerRouting::read(src)?,
            discord: DiscordSettings::read(src)?,
        })
    }
}

/// A Spotify app (client credentials), for link metadata.
#[derive(Debug, Clone)]
pub struct SpotifyApp {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// The voice worker, standalone or inside `timmybot serve`.
#[derive(Debug)]
pub struct WorkerSettings {
    pub discord: DiscordSettings,
    pub store: StoreConfig,
    /// This worker's SQS FIFO queue; `None` in embedded mode, where the bus is in-process.
    pub intent_queue_url: Option<String>,
    /// This worker's own ECS service, which it scales to zero.
    pub worker_service: Option<EcsServiceName>,
    /// Which worker this is and which shards it runs.
    pub place: WorkerPlace,
    pub idle_leave: Duration,
    pub idle_shutdown: Duration,
    pub ytdl_program: String,
    /// Netscape-format cookies for yt-dlp, from the secret.
    pub ytdl_cookies: Option<SecretString>,
    pub health_addr: SocketAddr,
    pub spotify: Option<SpotifyApp>,
    /// Where `local:NAME` tracks come from; `None` turns them off.
    pub music_dir: Option<PathBuf>,
    /// `VOICE_BITRATE`; `None`: the binary's default (64 kb/s on AWS, passthrough in serve).
    pub voice_bitrate: Option<VoiceBitrate>,
    pub accounts: AccountsSettings,
}

/// DESIGN.md's defaults.
pub const IDLE_LEAVE_DEFAULT: Duration = Duration::from_secs(120);
pub const IDLE_SHUTDOWN_DEFAULT: Duration = Duration::from_secs(300);
pub const HEALTH_ADDR_DEFAULT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

impl WorkerSettings {
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let spotify = src
            .pair(env::SPOTIFY_CLIENT_ID, env::SPOTIFY_CLIENT_SECRET)?
            .map(|(client_id, secret)| SpotifyApp {
                client_id,
                client_secret: SecretString::from(secret),
            });
        let place = WorkerPlace::read(src)?;
        let intent_queue_url = src
            .list(env::INTENT_QUEUE_URL)?
            .map(|l| place.pick(env::INTENT_QUEUE_URL, l))
            .transpose()?;
        let worker_service = match src.pair(env::WORKER_CLUSTER, env::WORKER_SERVICE)? {
            None => None,
            Some((cluster, _)) => {
                let names = src.list(env::WORKER_SERVICE)?.unwrap_or_default();
                Some(EcsServiceName {
                    cluster,
                    service: place.pick(env::WORKER_SERVICE, names)?,
                })
            }
        };
        Ok(Self {
            discord: DiscordSettings::read(src)?,
            store: src.store()?,
            intent_queue_url,
            worker_service,
            place,
            idle_leave: src.duration(env::IDLE_LEAVE, IDLE_LEAVE_DEFAULT)?,
            idle_shutdown: src.duration(env::IDLE_SHUTDOWN, IDLE_SHUTDOWN_DEFAULT)?,
            ytdl_program: src.get(env::YTDLP_PATH).unwrap_or_else(|| "yt-dlp".into()),
            ytdl_cookies: src.secret(secret::YTDLP_COOKIES),
            health_addr: src
                .parsed(env::WORKER_HEALTH_ADDR, "host:port")?
                .unwrap_or(HEALTH_ADDR_DEFAULT),
            spotify,
            music_dir: src.get(env::MUSIC_DIR).map(PathBuf::from),
            voice_bitrate: VoiceBitrate::read(src)?,
            accounts: AccountsSettings::read(src)?,
        })
    }

    /// The standalone worker's queue; only embedded mode may run without one.
    pub fn queue_url(&self) -> Result<&str, ConfigError> {
        self.intent_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing(env::INTENT_QUEUE_URL))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

    fn src(pairs: &[(&str, &str)]) -> Source {
        Source::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn interactions_read_a_full_configuration() {
        let s = InteractionsSettings::read(&src(&[
            ("DISCORD_PUBLIC_KEY", KEY),
            ("BOT_OWNER_IDS", "1,2"),
            ("STORE", "dynamodb"),
            ("TABLE_NAME", "t"),
            ("INTENT_QUEUE_URL", "http://q"),
            ("DISCORD_APPLICATION_ID", "11"),
            ("DISCORD_TOKEN", "secret-token"),
            ("WORKER_CLUSTER", "c"),
            ("WORKER_SERVICE", "s"),
        ]))
        .unwrap();
        assert_eq!(
            s.routing,
            WorkerRouting {
                plan: ShardPlan::SINGLE,
                workers: vec![WorkerEndpoint {
                    queue_url: "http://q".into(),
                    service: Some(EcsServiceName {
                        cluster: "c".into(),
                        service: "s".into()
                    }),
                }],
            },
            "one queue and one service, and no new setting, is one worker"
        );
        assert_eq!(s.store, StoreConfig::Dynamo { table: "t".into() });
        assert_eq!(s.discord.application_id.get(), 11);
        assert!(!format!("{s:?}").contains("secret-token"));
    }

    #[test]
    fn each_interactions_mistake_names_what_to_set() {
        let err = |pairs: &[(&str, &str)]| {
            InteractionsSettings::read(&src(pairs))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&[]).contains("DISCORD_PUBLIC_KEY is not set"));
        assert!(
            err(&[("DISCORD_PUBLIC_KEY", KEY), ("BOT_OWNER_IDS", "x")]).contains("BOT_OWNER_IDS")
        );
        assert!(err(&[("DISCORD_PUBLIC_KEY", KEY), ("STORE", "dynamodb")]).contains("TABLE_NAME"));
        assert!(err(&[("DISCORD_PUBLIC_KEY", KEY)]).contains("INTENT_QUEUE_URL is not set"));
        let base = [("DISCORD_PUBLIC_KEY", KEY), ("INTENT_QUEUE_URL", "q")];
        assert!(err(&base).contains("DISCORD_APPLICATION_ID is not set"));
        let more = [
            base[0],
            base[1],
            ("DISCORD_APPLICATION_ID", "1"),
            ("DISCORD_TOKEN", "t"),
            ("WORKER_CLUSTER", "c"),
        ];
        assert!(err(&more).contains("go together"));
    }

    const BASE: &[(&str, &str)] = &[
        ("DISCORD_APPLICATION_ID", "123"),
        ("DISCORD_TOKEN", "tok-secret"),
        ("INTENT_QUEUE_URL", "http://q"),
    ];

    fn worker(pairs: &[(&str, &str)]) -> Result<WorkerSettings, ConfigError> {
        WorkerSettings::read(&src(pairs))
    }

    #[test]
    fn account_settings_read_the_clients_and_refuse_a_bad_url() {
        let s = AccountsSettings::read(&src(&[
            ("YOUTUBE_CLIENT_ID", "yt"),
            ("YOUTUBE_CLIENT_SECRET", "yt-secret"),
            ("SPOTIFY_CLIENT_ID", "sp"),
            ("PUBLIC_URL", "https://bot.example/"),
            ("SPOTIFY_API_URL", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!(s.youtube.as_ref().map(|y| y.0.as_str()), Some("yt"));
        assert_eq!(s.public_url.as_deref(), Some("https://bot.example"));
        assert_eq!(s.urls.spotify_api, "http://127.0.0.1:9");
        assert_eq!(s.urls.musicbrainz, "https://musicbrainz.org");
        assert!(!format!("{s:?}").contains("yt-secret"));
        let err = AccountsSettings::read(&src(&[("LISTENBRAINZ_URL", "ftp://x")]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("LISTENBRAINZ_URL"), "{err}");
        let err = AccountsSettings::read(&src(&[("YOUTUBE_CLIENT_ID", "yt")]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("YOUTUBE_CLIENT_SECRET"), "{err}");
    }

    #[test]
    fn worker_defaults_follow_the_design() {
        let s = worker(BASE).unwrap();
        assert_eq!(s.idle_leave, Duration::from_secs(120));
        assert_eq!(s.idle_shutdown, Duration::from_secs(300));
        assert_eq!(s.ytdl_program, "yt-dlp");
        assert_eq!(
            s.place,
            WorkerPlace {
                index: WorkerIndex::FIRST,
                count: 1,
                shards: None
            }
        );
        assert_eq!(s.health_addr, HEALTH_ADDR_DEFAULT);
        assert!(
            !format!("{s:?}").contains("tok-secret"),
            "the token stays out of Debug"
        );
    }

    #[test]
    fn bad_worker_settings_name_the_variable() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = BASE.to_vec();
            v.extend_from_slice(extra);
            worker(&v).err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert!(with(&[("IDLE_LEAVE", "soon")]).contains("IDLE_LEAVE"));
        assert!(with(&[("WORKER_CLUSTER", "c")]).contains("WORKER_SERVICE"));
        assert!(with(&[("SPOTIFY_CLIENT_ID", "c")]).contains("SPOTIFY_CLIENT_SECRET"));
        assert!(with(&[("WORKER_HEALTH_ADDR", "nowhere")]).contains("WORKER_HEALTH_ADDR"));
        assert!(with(&[
            ("SHARD_COUNT", "2"),
            ("SHARD_FIRST", "1"),
            ("SHARD_LAST", "2")
        ])
        .contains("SHARD_LAST"));
        let e = worker(&BASE[..2])
            .unwrap()
            .queue_url()
            .unwrap_err()
            .to_string();
        assert!(e.contains("INTENT_QUEUE_URL"), "{e}");
        let e = worker(&BASE[1..]).unwrap_err().to_string();
        assert!(e.contains("DISCORD_APPLICATION_ID"), "{e}");
    }

    #[test]
    fn cookies_and_client_secrets_stay_out_of_debug() {
        let mut v = BASE.to_vec();
        v.extend([
            (
                "YTDLP_COOKIES",
                "# Netscape HTTP Cookie File\n.youtube.com\tTRUE",
            ),
            ("SPOTIFY_CLIENT_ID", "id"),
            ("SPOTIFY_CLIENT_SECRET", "spotify-secret"),
        ]);
        let shown = format!("{:?}", worker(&v).unwrap());
        assert!(!shown.contains("Netscape"), "{shown}");
        assert!(!shown.contains("spotify-secret"), "{shown}");
    }

    #[test]
    fn the_voice_bitrate_reads_as_people_write_it() {
        for (raw, want) in [
            ("64k", VoiceBitrate::Capped(64_000)),
            ("96kbps", VoiceBitrate::Capped(96_000)),
            ("48000", VoiceBitrate::Capped(48_000)),
            (" Passthrough ", VoiceBitrate::Passthrough),
        ] {
            assert_eq!(VoiceBitrate::parse(raw), Some(want), "{raw}");
        }
        for bad in ["", "fast", "5k", "600k", "64m", "-64k"] {
            assert_eq!(VoiceBitrate::parse(bad), None, "{bad}");
        }
        let mut v = BASE.to_vec();
        v.push(("VOICE_BITRATE", "lots"));
        let e = worker(&v).unwrap_err().to_string();
        assert!(e.contains("VOICE_BITRATE"), "{e}");
        assert_eq!(worker(BASE).unwrap().voice_bitrate, None);
    }

    #[test]
    fn a_partial_shard_range_is_read() {
        let mut v = BASE.to_vec();
        v.extend([("SHARD_COUNT", "4"), ("SHARD_FIRST", "2")]);
        assert_eq!(
            worker(&v).unwrap().place.shards,
            Some(ShardSpan::new(4, 2, 3).unwrap())
        );
    }

    const ROUTED: &[(&str, &str)] = &[
        ("DISCORD_PUBLIC_KEY", KEY),
        ("DISCORD_APPLICATION_ID", "11"),
        ("DISCORD_TOKEN", "t"),
        ("INTENT_QUEUE_URL", "http://q0, http://q1"),
        ("WORKER_CLUSTER", "c"),
        ("WORKER_SERVICE", "s0,s1"),
        ("SHARD_COUNT", "4"),
    ];

    fn routed(change: &[(&'static str, &'static str)]) -> Result<WorkerRouting, ConfigError> {
        let mut v: Vec<(&str, &str)> = ROUTED.to_vec();
        for (k, val) in change {
            v.retain(|(n, _)| n != k);
            if !val.is_empty() {
                v.push((k, val));
            }
        }
        InteractionsSettings::read(&src(&v)).map(|s| s.routing)
    }

    #[test]
    fn the_endpoint_reads_one_queue_and_service_per_worker() {
        let r = routed(&[("WORKER_COUNT", "2")]).unwrap();
        assert_eq!(r.plan, ShardPlan::new(4, 2).unwrap());
        assert_eq!(r.workers.len(), 2);
        assert_eq!(r.workers[1].queue_url, "http://q1");
        assert_eq!(
            r.workers[1].service.as_ref().map(|s| s.service.as_str()),
            Some("s1")
        );
    }

    #[test]
    fn each_routing_mistake_names_what_to_set() {
        let err = |c: &[(&'static str, &'static str)]| routed(c).unwrap_err().to_string();
        let e = err(&[("SHARD_COUNT", "")]);
        assert!(
            e.contains("SHARD_COUNT is not set; it is needed because"),
            "{e}"
        );
        let e = err(&[("WORKER_COUNT", "3")]);
        assert!(
            e.contains("INTENT_QUEUE_URL") && e.contains("2 URLs for 3 workers"),
            "{e}"
        );
        let e = err(&[("WORKER_SERVICE", "s0")]);
        assert!(
            e.contains("WORKER_SERVICE") && e.contains("1 services for 2 queues"),
            "{e}"
        );
        let e = err(&[("SHARD_COUNT", "1")]);
        assert!(e.contains("SHARD_COUNT") && e.contains("at least"), "{e}");
        let e = err(&[("INTENT_QUEUE_URL", "http://q0,,http://q2")]);
        assert!(e.contains("INTENT_QUEUE_URL"), "{e}");
    }

    fn worker_of(extra: &[(&'static str, &'static str)]) -> Result<WorkerSettings, ConfigError> {
        let mut v = vec![
            ("DISCORD_APPLICATION_ID", "123"),
            ("DISCORD_TOKEN", "tok"),
            ("INTENT_QUEUE_URL", "http://q0,http://q1"),
            ("WORKER_CLUSTER", "c"),
            ("WORKER_SERVICE", "s0,s1"),
            ("WORKER_COUNT", "2"),
            ("SHARD_COUNT", "4"),
        ];
        for (k, val) in extra {
            v.retain(|(n, _)| n != k);
            if !val.is_empty() {
                v.push((k, val));
            }
        }
        worker(&v)
    }

    #[test]
    fn a_worker_takes_its_range_queue_and_service_from_its_index() {
        let s = worker_of(&[("WORKER_INDEX", "1")]).unwrap();
        assert_eq!(s.place.index, WorkerIndex::new(1));
        assert_eq!(s.place.shards, Some(ShardSpan::new(4, 2, 3).unwrap()));
        assert_eq!(s.intent_queue_url.as_deref(), Some("http://q1"));
        assert_eq!(s.worker_service.unwrap().service, "s1");
        // Given only its own entries, as template.yaml does.
        let own = worker_of(&[
            ("WORKER_INDEX", "1"),
            ("INTENT_QUEUE_URL", "http://mine"),
            ("WORKER_SERVICE", "mine"),
        ])
        .unwrap();
        assert_eq!(own.intent_queue_url.as_deref(), Some("http://mine"));
        assert_eq!(own.worker_service.unwrap().service, "mine");
        // Restating the plan's range is allowed.
        assert!(worker_of(&[("SHARD_FIRST", "0"), ("SHARD_LAST", "1")]).is_ok());
    }

    #[test]
    fn each_worker_place_mistake_names_what_to_set() {
        let err = |c: &[(&'static str, &'static str)]| worker_of(c).unwrap_err().to_string();
        let e = err(&[("WORKER_INDEX", "2")]);
        assert!(e.contains("WORKER_INDEX") && e.contains("2 of 2"), "{e}");
        let e = err(&[("SHARD_COUNT", "")]);
        assert!(e.contains("SHARD_COUNT is not set"), "{e}");
        let e = err(&[("SHARD_FIRST", "1")]);
        assert!(
            e.contains("SHARD_FIRST") && e.contains("the plan gives worker 0 shards 0..=1"),
            "{e}"
        );
        let e = err(&[("INTENT_QUEUE_URL", "a,b,c")]);
        assert!(
            e.contains("INTENT_QUEUE_URL") && e.contains("3 entries for 2 workers"),
            "{e}"
        );
        let e = err(&[("WORKER_COUNT", "0")]);
        assert!(e.contains("WORKER_COUNT"), "{e}");
        let e = err(&[
            ("WORKER_COUNT", "1"),
            ("SHARD_COUNT", ""),
            ("SHARD_LAST", "1"),
        ]);
        assert!(e.contains("SHARD_COUNT is not set"), "{e}");
    }
}
