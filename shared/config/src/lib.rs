//! TimmyBot's configuration: one way to read settings, for every binary.
//!
//! - [`source`]: the environment, then the Secrets Manager secret; typed readers whose errors
//!   name the variable to set.
//! - [`settings`]: what the interactions endpoint, the worker and the CLI run on. Secrets
//!   are `SecretString`s, which redact themselves.
//! - [`names`]: the names the code, `template.yaml`, the tests and the README agree on.
//! - [`store`]: which store to open (`STORE`, `TABLE_NAME`).
//! - [`secrets`]: the one Secrets Manager secret (feature `aws` to fetch it).
//! - [`telemetry`], [`tls`]: a server process's logs and TLS provider.

#[cfg(feature = "aws")]
pub mod aws;
pub mod names;
pub mod secrets;
pub mod settings;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod tls;

pub use settings::{
    AccountsSettings, DashboardSettings, DiscordSettings, EcsServiceName, InteractionsSettings,
    ServiceUrls, SpotifyApp, VoiceBitrate, WorkerEndpoint, WorkerPlace, WorkerRouting,
    WorkerSettings,
};
pub use source::{ConfigError, Origin, Source};
pub use store::StoreConfig;
