//! The worker's settings, read once at start from the environment, then the secret.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use timmybot_shared::names::env;
use timmybot_shared::secrets::{SecretError, Secrets};
use timmybot_shared::store::config::{StoreConfig, StoreConfigError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} must be {what}, got {got:?}")]
    Invalid {
        var: &'static str,
        what: &'static str,
        got: String,
    },
    #[error("{0} and {1} go together: set both or neither")]
    Pair(&'static str, &'static str),
    #[error(transparent)]
    Store(#[from] StoreConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Which shards this worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    pub count: u32,
    pub first: u32,
    pub last: u32,
}

pub struct Settings {
    pub application_id: u64,
    pub discord_token: String,
    pub store: StoreConfig,
    /// The SQS FIFO queue; `None` in embedded mode, where the bus is in-process.
    pub intent_queue_url: Option<String>,
    pub worker_service: Option<(String, String)>,
    pub idle_leave: Duration,
    pub idle_shutdown: Duration,
    pub ytdl_program: String,
    /// Netscape-format cookies for yt-dlp, from the secret.
    pub ytdl_cookies: Option<String>,
    pub health_addr: SocketAddr,
    pub spotify: Option<(String, String)>,
    /// `None`: as many as Discord recommends, all on this worker.
    pub shards: Option<ShardRange>,
    pub rest_proxy: Option<String>,
    pub gateway_proxy: Option<String>,
    /// Where `local:NAME` tracks come from; `None` turns them off.
    pub music_dir: Option<PathBuf>,
}

/// Secrets (the token, cookies, the Spotify secret) stay out of Debug output.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("application_id", &self.application_id)
            .field("store", &self.store)
            .field("worker_service", &self.worker_service)
            .field("idle_leave", &self.idle_leave)
            .field("idle_shutdown", &self.idle_shutdown)
            .field("ytdl_program", &self.ytdl_program)
            .field("ytdl_cookies", &self.ytdl_cookies.is_some())
            .field("health_addr", &self.health_addr)
            .field("spotify", &self.spotify.is_some())
            .field("shards", &self.shards)
            .field("music_dir", &self.music_dir)
            .finish_non_exhaustive()
    }
}

/// The secret key holding yt-dlp cookies (not an env var: it is a file's worth of text).
pub const YTDLP_COOKIES: &str = "YTDLP_COOKIES";

impl Settings {
    pub async fn load() -> Result<Self, ConfigError> {
        let secrets = Secrets::from_env().await?;
        Self::from_lookup(|name| secrets.lookup(name))
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let invalid = |var: &'static str, what: &'static str, got: String| ConfigError::Invalid {
            var,
            what,
            got: got.chars().take(64).collect(),
        };
        let application_id = {
            let raw = required(env::DISCORD_APPLICATION_ID)?;
            raw.parse::<u64>()
                .ok()
                .filter(|n| *n != 0)
                .ok_or_else(|| invalid(env::DISCORD_APPLICATION_ID, "a numeric id", raw))?
        };
        let duration = |name: &'static str, default: Duration| match get(name) {
            None => Ok(default),
            Some(raw) => humantime::parse_duration(&raw)
                .map_err(|_| invalid(name, "a duration such as 2m or 90s", raw)),
        };
        let pair = |a: &'static str, b: &'static str| match (get(a), get(b)) {
            (Some(x), Some(y)) => Ok(Some((x, y))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Pair(a, b)),
        };
        let health_addr = match get(env::WORKER_HEALTH_ADDR) {
            None => SocketAddr::from(([127, 0, 0, 1], 8081)),
            Some(raw) => raw
                .parse()
                .map_err(|_| invalid(env::WORKER_HEALTH_ADDR, "host:port", raw))?,
        };
        let shards = match get(env::SHARD_COUNT) {
            None => None,
            Some(raw) => {
                let num = |name: &'static str, raw: String| {
                    raw.parse::<u32>()
                        .map_err(|_| invalid(name, "a whole number", raw))
                };
                let count = num(env::SHARD_COUNT, raw)?;
                let first = get(env::SHARD_FIRST).map_or(Ok(0), |r| num(env::SHARD_FIRST, r))?;
                let last = get(env::SHARD_LAST)
                    .map_or(Ok(count.saturating_sub(1)), |r| num(env::SHARD_LAST, r))?;
                if count == 0 || first > last || last >= count {
                    return Err(invalid(
                        env::SHARD_LAST,
                        "a shard range with SHARD_FIRST ≤ SHARD_LAST < SHARD_COUNT",
                        format!("{first}..={last} of {count}"),
                    ));
                }
                Some(ShardRange { count, first, last })
            }
        };
        Ok(Self {
            application_id,
            discord_token: required(env::DISCORD_TOKEN)?,
            store: StoreConfig::parse(var(env::STORE).as_deref(), var(env::TABLE_NAME).as_deref())?,
            intent_queue_url: get(env::INTENT_QUEUE_URL),
            worker_service: pair(env::WORKER_CLUSTER, env::WORKER_SERVICE)?,
            idle_leave: duration(env::IDLE_LEAVE, Duration::from_secs(120))?,
            idle_shutdown: duration(env::IDLE_SHUTDOWN, Duration::from_secs(300))?,
            ytdl_program: get(env::YTDLP_PATH).unwrap_or_else(|| "yt-dlp".into()),
            ytdl_cookies: var(YTDLP_COOKIES).filter(|c| !c.trim().is_empty()),
            health_addr,
            spotify: pair(env::SPOTIFY_CLIENT_ID, env::SPOTIFY_CLIENT_SECRET)?,
            shards,
            rest_proxy: get(env::DISCORD_REST_PROXY),
            gateway_proxy: get(env::DISCORD_GATEWAY_PROXY),
            music_dir: get(env::MUSIC_DIR).map(PathBuf::from),
        })
    }

    /// The standalone worker's queue; only embedded mode may run without one.
    pub fn queue_url(&self) -> Result<&str, ConfigError> {
        self.intent_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing(env::INTENT_QUEUE_URL))
    }

    /// yt-dlp arguments: cookies go to a private file, never onto the command line.
    pub fn ytdl_args(&self, dir: &std::path::Path) -> std::io::Result<Vec<String>> {
        let Some(cookies) = &self.ytdl_cookies else {
            return Ok(Vec::new());
        };
        let path: PathBuf = dir.join("yt-dlp-cookies.txt");
        write_private(&path, cookies)?;
        Ok(vec![
            "--cookies".into(),
            path.to_string_lossy().into_owned(),
        ])
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("DISCORD_APPLICATION_ID", "123"),
        ("DISCORD_TOKEN", "tok"),
        ("INTENT_QUEUE_URL", "http://q"),
    ];

    #[test]
    fn defaults_follow_the_design() {
        let s = settings(BASE).unwrap();
        assert_eq!(s.idle_leave, Duration::from_secs(120));
        assert_eq!(s.idle_shutdown, Duration::from_secs(300));
        assert_eq!(s.ytdl_program, "yt-dlp");
        assert_eq!(s.shards, None);
        assert!(
            !format!("{s:?}").contains("tok"),
            "the token stays out of Debug"
        );
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let mut v = BASE.to_vec();
        v.push(("IDLE_LEAVE", "soon"));
        let e = settings(&v).unwrap_err().to_string();
        assert!(e.contains("IDLE_LEAVE"), "{e}");
        let mut v = BASE.to_vec();
        v.push(("WORKER_CLUSTER", "c"));
        assert!(settings(&v)
            .unwrap_err()
            .to_string()
            .contains("WORKER_SERVICE"));
        let e = settings(&BASE[..2])
            .unwrap()
            .queue_url()
            .unwrap_err()
            .to_string();
        assert!(e.contains("INTENT_QUEUE_URL"), "{e}");
        let e = settings(&BASE[1..]).unwrap_err().to_string();
        assert!(e.contains("DISCORD_APPLICATION_ID"), "{e}");
        let mut v = BASE.to_vec();
        v.extend([
            ("SHARD_COUNT", "2"),
            ("SHARD_FIRST", "1"),
            ("SHARD_LAST", "2"),
        ]);
        assert!(settings(&v).is_err());
    }

    #[test]
    fn ytdlp_cookies_go_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(settings(BASE)
            .unwrap()
            .ytdl_args(dir.path())
            .unwrap()
            .is_empty());
        let mut v = BASE.to_vec();
        v.push((
            "YTDLP_COOKIES",
            "# Netscape HTTP Cookie File\n.youtube.com\tTRUE",
        ));
        let args = settings(&v).unwrap().ytdl_args(dir.path()).unwrap();
        assert_eq!(args[0], "--cookies");
        let written = std::fs::read_to_string(&args[1]).unwrap();
        assert!(written.starts_with("# Netscape HTTP Cookie File"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&args[1]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the worker may read them");
        }
        assert!(
            !format!("{:?}", settings(&v).unwrap()).contains("youtube"),
            "cookies stay out of Debug"
        );
    }
}
