//! Names that the code, `template.yaml`, the tests and the README must agree on.
//! One place, so a rename is one edit and a drift is a failing test.

/// Environment variables, as DESIGN.md names them.
pub mod env {
    pub const DISCORD_APPLICATION_ID: &str = "DISCORD_APPLICATION_ID";
    pub const DISCORD_PUBLIC_KEY: &str = "DISCORD_PUBLIC_KEY";
    pub const DISCORD_TOKEN: &str = "DISCORD_TOKEN";
    pub const SECRET_ID: &str = "SECRET_ID";
    pub const STORE: &str = "STORE";
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// The intent queues, comma-separated, one per worker in worker order. A worker may be
    /// given only its own.
    pub const INTENT_QUEUE_URL: &str = "INTENT_QUEUE_URL";
    pub const WORKER_CLUSTER: &str = "WORKER_CLUSTER";
    /// The workers' ECS services, comma-separated like `INTENT_QUEUE_URL`.
    pub const WORKER_SERVICE: &str = "WORKER_SERVICE";
    pub const BOT_OWNER_IDS: &str = "BOT_OWNER_IDS";
    pub const IDLE_LEAVE: &str = "IDLE_LEAVE";
    pub const IDLE_SHUTDOWN: &str = "IDLE_SHUTDOWN";
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
    /// `host:port` of a plain-HTTP stand-in for Discord's REST API: the offline fake
    /// Discord. Never set in production.
    pub const DISCORD_REST_PROXY: &str = "DISCORD_REST_PROXY";
    /// `host:port` of a plain-WS stand-in for Discord's gateway (twilight's `proxy_url`).
    /// Tests only, like [`DISCORD_REST_PROXY`].
    pub const DISCORD_GATEWAY_PROXY: &str = "DISCORD_GATEWAY_PROXY";
    /// The yt-dlp executable (default `yt-dlp` on `PATH`).
    pub const YTDLP_PATH: &str = "YTDLP_PATH";
    /// Where the worker serves `GET /health` and `GET /stats` (default `127.0.0.1:8081`).
    pub const WORKER_HEALTH_ADDR: &str = "WORKER_HEALTH_ADDR";
    /// Embedded mode only: the directory local files may be played from.
    pub const MUSIC_DIR: &str = "MUSIC_DIR";
    /// Spotify client-credentials app, for link metadata. Usually from the secret.
    pub const SPOTIFY_CLIENT_ID: &str = "SPOTIFY_CLIENT_ID";
    pub const SPOTIFY_CLIENT_SECRET: &str = "SPOTIFY_CLIENT_SECRET";
    /// A Google "TVs and Limited Input devices" OAuth client, for `/auth-youtube`.
    pub const YOUTUBE_CLIENT_ID: &str = "YOUTUBE_CLIENT_ID";
    pub const YOUTUBE_CLIENT_SECRET: &str = "YOUTUBE_CLIENT_SECRET";
    /// Older vault keys, comma-separated, read-only: a new `token_vault_key` takes over
    /// without unlinking everyone.
    pub const TOKEN_VAULT_KEYS: &str = "TOKEN_VAULT_KEYS";
    /// Where the bot's HTTP routes are reached from outside (the Spotify callback): the API
    /// Gateway URL on AWS, `serve --listen`'s public address at home.
    pub const PUBLIC_URL: &str = "PUBLIC_URL";
    /// Base URLs of the platforms' APIs. Tests only: they point at local stand-ins.
    pub const GOOGLE_OAUTH_URL: &str = "GOOGLE_OAUTH_URL";
    pub const YOUTUBE_API_URL: &str = "YOUTUBE_API_URL";
    pub const SPOTIFY_ACCOUNTS_URL: &str = "SPOTIFY_ACCOUNTS_URL";
    pub const SPOTIFY_API_URL: &str = "SPOTIFY_API_URL";
    pub const MUSICBRAINZ_URL: &str = "MUSICBRAINZ_URL";
    pub const LISTENBRAINZ_URL: &str = "LISTENBRAINZ_URL";
    pub const LRCLIB_URL: &str = "LRCLIB_URL";
    /// Where the dashboard's "Log in with Discord" goes: `{base}/oauth2/authorize` in the
    /// browser, `{base}/api/v10/oauth2/token` and `{base}/api/v10/users/@me…` from the bot.
    /// Default `https://discord.com`. Tests only: they point it at the fake Discord.
    pub const DISCORD_WEB_URL: &str = "DISCORD_WEB_URL";
    /// The Discord application's OAuth2 client secret: the dashboard's login. Usually from
    /// the secret; without it the dashboard is off.
    pub const DISCORD_CLIENT_SECRET: &str = "DISCORD_CLIENT_SECRET";
    /// The bitrate every outgoing voice stream keeps to, such as `64k`, or `passthrough`.
    pub const VOICE_BITRATE: &str = "VOICE_BITRATE";
    /// How many workers split the shards, and which one this is (DESIGN.md "When one worker
    /// is not enough"). Unset: one worker.
    pub const WORKER_COUNT: &str = "WORKER_COUNT";
    pub const WORKER_INDEX: &str = "WORKER_INDEX";
    /// The shards the workers split. A worker's range follows from the count and its index;
    /// `SHARD_FIRST` and `SHARD_LAST` may only restate it (or, with one worker, narrow it).
    pub const SHARD_COUNT: &str = "SHARD_COUNT";
    pub const SHARD_FIRST: &str = "SHARD_FIRST";
    pub const SHARD_LAST: &str = "SHARD_LAST";

    /// What the interactions Lambda reads; template.yaml must set the required ones.
    pub const INTERACTIONS: &[&str] = &[
        DISCORD_APPLICATION_ID,
        DISCORD_PUBLIC_KEY,
        DISCORD_TOKEN,
        SECRET_ID,
        STORE,
        TABLE_NAME,
        INTENT_QUEUE_URL,
        WORKER_CLUSTER,
        WORKER_SERVICE,
        BOT_OWNER_IDS,
        WORKER_COUNT,
        SHARD_COUNT,
        SPOTIFY_CLIENT_ID,
        YOUTUBE_CLIENT_ID,
        TOKEN_VAULT_KEYS,
        PUBLIC_URL,
    ];

    /// What the voice worker reads.
    pub const WORKER: &[&str] = &[
        DISCORD_APPLICATION_ID,
        DISCORD_TOKEN,
        SECRET_ID,
        STORE,
        TABLE_NAME,
        INTENT_QUEUE_URL,
        WORKER_CLUSTER,
        WORKER_SERVICE,
        IDLE_LEAVE,
        IDLE_SHUTDOWN,
        YTDLP_PATH,
        WORKER_HEALTH_ADDR,
        SPOTIFY_CLIENT_ID,
        SPOTIFY_CLIENT_SECRET,
        YOUTUBE_CLIENT_ID,
        TOKEN_VAULT_KEYS,
        VOICE_BITRATE,
        WORKER_COUNT,
        WORKER_INDEX,
        SHARD_COUNT,
        SHARD_FIRST,
        SHARD_LAST,
    ];
}

/// Keys of the one Secrets Manager secret that are not also env vars.
pub mod secret {
    /// 32 random bytes as 64 hex digits (template.yaml generates it): seals users' OAuth
    /// tokens (XChaCha20-Poly1305).
    pub const TOKEN_VAULT_KEY: &str = "token_vault_key";
    /// Netscape-format cookies for yt-dlp: a file's worth of text, so not an env var.
    pub const YTDLP_COOKIES: &str = "YTDLP_COOKIES";
}

/// HTTP routes: the interactions router's, and the worker's own health port.
pub mod routes {
    pub const INTERACTIONS: &str = "/interactions";
    pub const HEALTH: &str = "/health";
    /// The worker's counters (JSON).
    pub const STATS: &str = "/stats";
    /// Prometheus text.
    pub const METRICS: &str = "/metrics";
    /// Where Spotify sends a user back after they approve the link.
    pub const SPOTIFY_CALLBACK: &str = "/oauth/spotify/callback";
    /// The web dashboard's front page, and (as the HTTP API spells a greedy path) the rest
    /// of it: pages, the login's callback, controls and assets.
    pub const DASHBOARD: &str = "/dashboard";
    pub const DASHBOARD_PAGES: &str = "/dashboard/{proxy+}";
}

/// The single DynamoDB table's layout.
pub mod table {
    pub const PARTITION_KEY: &str = "pk";
    pub const SORT_KEY: &str = "sk";
    pub const TTL_ATTRIBUTE: &str = "ttl";
    pub const VERSION_ATTRIBUTE: &str = "version";
}

/// The default embedded store when `STORE` is unset.
pub const DEFAULT_STORE: &str = "sqlite:timmybot.db";
