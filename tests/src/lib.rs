//! TimmyBot's test harness.
//!
//! - [`audio`]: tones to play, and decrypting, decoding and measuring what was sent.
//! - [`http_files`]: a loopback file server that counts requests.
//! - [`aws`]: launches the AWS emulator (moto's server) and creates tables and queues in it.
//! - [`backends`]: builds each store and bus adapter ready for a contract test.
//! - [`chain`]: the whole chain on loopback: fake Discord, the interactions router, the worker.
//! - [`discord`]: a fake Discord on loopback (REST and the voice server), built to the
//!   documented protocol.
//! - [`faults`]: network faults on loopback (a proxy that loses responses).
//! - [`interactions`]: signed interaction requests built from twilight-model payloads.
//! - [`latency`]: the benches' latency table.
//! - [`template`]: checks `template.yaml` against the names the code uses.

pub mod audio;
pub mod aws;
pub mod backends;
pub mod chain;
pub mod discord;
pub mod faults;
pub mod http_files;
pub mod interactions;
pub mod latency;
pub mod template;
