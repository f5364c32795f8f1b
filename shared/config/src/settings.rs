//! The settings each part of the bot runs on, read from one [`Source`]. Secrets are
//! [`SecretString`]s: their `Debug` shows `[REDACTED]`, so a whole settings struct can be
//! logged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use timmybot_domain::{ApplicationId, BotOwners};

use crate::names::{env, secret};
use crate::source::{ConfigError, Source};
use crate::store::StoreConfig;

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

/// An ECS service: the voice worker's, which the endpoint wakes and the worker scales down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsServiceName {
    pub cluster: String,
    pub service: String,
}

impl EcsServiceName {
    /// `WORKER_CLUSTER` and `WORKER_SERVICE`, both or neither.
    pub fn read(src: &Source) -> Result<Option<Self>, ConfigError> {
        Ok(src
            .pair(env::WORKER_CLUSTER, env::WORKER_SERVICE)?
            .map(|(cluster, service)| Self { cluster, service }))
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
    /// The SQS FIFO queue intents go to. The in-process bus is only for `timmybot serve`,
    /// where the worker shares the process; a standalone endpoint needs the queue.
    pub intent_queue_url: String,
    /// The worker's ECS service, to wake it.
    pub worker_service: Option<EcsServiceName>,
}

impl InteractionsSettings {
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        Ok(Self {
            public_key: src.required(env::DISCORD_PUBLIC_KEY)?,
            owners: src.owners()?,
            store: src.store()?,
            intent_queue_url: src.required(env::INTENT_QUEUE_URL)?,
            discord: DiscordSettings::read(src)?,
            worker_service: EcsServiceName::read(src)?,
        })
    }
}

/// Which shards a worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    pub count: u32,
    pub first: u32,
    pub last: u32,
}

impl ShardRange {
    /// `SHARD_COUNT`, `SHARD_FIRST` and `SHARD_LAST`; `None` when no count is set.
    pub fn read(src: &Source) -> Result<Option<Self>, ConfigError> {
        let Some(count) = src.parsed::<u32>(env::SHARD_COUNT, "a whole number")? else {
            return Ok(None);
        };
        let first = src
            .parsed::<u32>(env::SHARD_FIRST, "a whole number")?
            .unwrap_or(0);
        let last = src
            .parsed::<u32>(env::SHARD_LAST, "a whole number")?
            .unwrap_or(count.saturating_sub(1));
        if count == 0 || first > last || last >= count {
            return Err(ConfigError::Invalid {
                var: env::SHARD_LAST,
                what: "a shard range with SHARD_FIRST ≤ SHARD_LAST < SHARD_COUNT",
                got: format!("{first}..={last} of {count}"),
            });
        }
        Ok(Some(Self { count, first, last }))
    }
}

/// What leaves the worker for Discord's voice servers, per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceBitrate {
    /// Every stream is encoded at this many bits per second, an Opus source that songbird
    /// would pass through untouched included: on AWS the bytes sent are the bill.
    Capped(u32),
    /// An Opus source plays as it comes (YouTube's is ~130–160 kb/s); other sources are
    /// encoded at songbird's default. Where egress is free, this saves the CPU.
    Passthrough,
}

/// Opus's own bounds on a bitrate.
const OPUS_BPS: std::ops::RangeInclusive<u32> = 6_000..=510_000;

impl VoiceBitrate {
    /// The AWS worker's default: Discord's default channel bitrate.
    pub const AWS_DEFAULT: Self = Self::Capped(64_000);

    /// `64k`, `64kbps`, `64000` or `passthrough`.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        if raw == "passthrough" {
            return Some(Self::Passthrough);
        }
        let digits = raw.trim_end_matches("bps");
        let bps = match digits.strip_suffix('k') {
            Some(k) => k.parse::<u32>().ok()?.checked_mul(1_000)?,
            None => digits.parse::<u32>().ok()?,
        };
        OPUS_BPS.contains(&bps).then_some(Self::Capped(bps))
    }

    fn read(src: &Source) -> Result<Option<Self>, ConfigError> {
        src.get(env::VOICE_BITRATE)
            .map(|raw| {
                Self::parse(&raw).ok_or_else(|| ConfigError::Invalid {
                    var: env::VOICE_BITRATE,
                    what: "a bitrate from 6k to 510k (such as 64k), or passthrough",
                    got: raw.chars().take(32).collect(),
                })
            })
            .transpose()
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
    /// The SQS FIFO queue; `None` in embedded mode, where the bus is in-process.
    pub intent_queue_url: Option<String>,
    pub worker_service: Option<EcsServiceName>,
    pub idle_leave: Duration,
    pub idle_shutdown: Duration,
    pub ytdl_program: String,
    /// Netscape-format cookies for yt-dlp, from the secret.
    pub ytdl_cookies: Option<SecretString>,
    pub health_addr: SocketAddr,
    pub spotify: Option<SpotifyApp>,
    /// `None`: as many as Discord recommends, all on this worker.
    pub shards: Option<ShardRange>,
    /// Where `local:NAME` tracks come from; `None` turns them off.
    pub music_dir: Option<PathBuf>,
    /// `VOICE_BITRATE`; `None`: the binary's default (64 kb/s on AWS, passthrough in serve).
    pub voice_bitrate: Option<VoiceBitrate>,
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
        Ok(Self {
            discord: DiscordSettings::read(src)?,
            store: src.store()?,
            intent_queue_url: src.get(env::INTENT_QUEUE_URL),
            worker_service: EcsServiceName::read(src)?,
            idle_leave: src.duration(env::IDLE_LEAVE, IDLE_LEAVE_DEFAULT)?,
            idle_shutdown: src.duration(env::IDLE_SHUTDOWN, IDLE_SHUTDOWN_DEFAULT)?,
            ytdl_program: src.get(env::YTDLP_PATH).unwrap_or_else(|| "yt-dlp".into()),
            ytdl_cookies: src.secret(secret::YTDLP_COOKIES),
            health_addr: src
                .parsed(env::WORKER_HEALTH_ADDR, "host:port")?
                .unwrap_or(HEALTH_ADDR_DEFAULT),
            spotify,
            shards: ShardRange::read(src)?,
            music_dir: src.get(env::MUSIC_DIR).map(PathBuf::from),
            voice_bitrate: VoiceBitrate::read(src)?,
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
            s.worker_service,
            Some(EcsServiceName {
                cluster: "c".into(),
                service: "s".into()
            })
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
    fn worker_defaults_follow_the_design() {
        let s = worker(BASE).unwrap();
        assert_eq!(s.idle_leave, Duration::from_secs(120));
        assert_eq!(s.idle_shutdown, Duration::from_secs(300));
        assert_eq!(s.ytdl_program, "yt-dlp");
        assert_eq!(s.shards, None);
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
        assert!(!shown.contains("youtube"), "{shown}");
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
            worker(&v).unwrap().shards,
            Some(ShardRange {
                count: 4,
                first: 2,
                last: 3
            })
        );
    }
}
