//! TimmyBot's test harness.
//!
//! - [`aws`]: launches the AWS emulator (moto's server) and creates tables and queues in it.
//! - [`backends`]: builds each store and bus adapter ready for a contract test.
//! - [`faults`]: network faults on loopback (a proxy that loses responses).
//! - [`interactions`]: signed interaction requests built from twilight-model payloads.

pub mod aws;
pub mod backends;
pub mod faults;
pub mod interactions;
