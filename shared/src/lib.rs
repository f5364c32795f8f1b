//! TimmyBot's shared core.
//!
//! - [`domain`]: ids, tracks, the queue rules and the playback intent. Pure; no I/O.
//! - [`store`]: the store ports and their SQLite and DynamoDB adapters.
//! - [`bus`]: the intent bus port and its in-process and SQS FIFO adapters.
//! - [`commands`]: the slash-command specs TimmyBot registers.
//! - [`render`]: what the queue and now-playing messages look like.
//! - [`clock`], [`retry`]: time as a port, and the bounded retry both stores share.
//! - [`secrets`]: settings from the one Secrets Manager secret.
//! - [`names`]: names the code, template and tests must agree on.
//! - `sources` (feature `sources`): queries to tracks, tracks to audio, behind the SSRF guard.

pub mod aws;
pub mod bus;
pub mod clock;
pub mod commands;
pub mod domain;
pub mod names;
pub mod render;
pub mod retry;
pub mod secrets;
#[cfg(feature = "sources")]
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod tls;
