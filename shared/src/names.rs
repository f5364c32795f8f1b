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
    pub const INTENT_QUEUE_URL: &str = "INTENT_QUEUE_URL";
    pub const WORKER_CLUSTER: &str = "WORKER_CLUSTER";
    pub const WORKER_SERVICE: &str = "WORKER_SERVICE";
    pub const BOT_OWNER_IDS: &str = "BOT_OWNER_IDS";
    pub const IDLE_LEAVE: &str = "IDLE_LEAVE";
    pub const IDLE_SHUTDOWN: &str = "IDLE_SHUTDOWN";
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
    /// `host:port` of a plain-HTTP stand-in for Discord's REST API: the offline fake
    /// Discord. Never set in production.
    pub const DISCORD_REST_PROXY: &str = "DISCORD_REST_PROXY";
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
