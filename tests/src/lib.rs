//! TimmyBot's test harness.
//!
//! - [`aws`]: launches the AWS emulator (moto's server) and creates tables and queues in it.
//! - [`backends`]: builds each store and bus adapter ready for a contract test.

pub mod aws;
pub mod backends;
pub mod faults;
