//! TimmyBot's test harness. The offline Discord is its own crate, `timmybot-fake-discord`.
//!
//! - [`aws`]: launches the AWS emulator (moto's server) and creates tables and queues in it.
//! - [`backends`]: builds each store and bus adapter ready for a contract test.
//! - [`chain`]: the whole chain on loopback: fake Discord, the interactions router, the worker.
//! - [`fakes`]: stand-ins for the command core's ports.
//! - [`deployment`]: a whole AWS deployment in moto and the fake Discord, for `doctor`.
//! - [`faults`]: network faults on loopback (a proxy that loses responses).
//! - [`http_files`]: a loopback file server that counts requests.
//! - [`media`]: test media made in Rust (Ogg Opus at a chosen bitrate).
//! - [`latency`]: the benches' latency table.
//! - [`template`]: checks `template.yaml` against the names the code uses.

pub mod aws;
pub mod backends;
pub mod browser;
pub mod chain;
pub mod dashboard;
pub mod deployment;
pub mod fakes;
pub mod faults;
pub mod http_files;
pub mod latency;
pub mod library;
pub mod media;
pub mod standins;
pub mod template;
pub mod ytdlp;
