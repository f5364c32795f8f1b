//! TimmyBot's interactions endpoint.
//!
//! - [`verify`]: Discord's Ed25519 request signature.
//! - [`core`]: the command core, free of HTTP types: the allowlist gate and the commands.
//! - [`routes`]: the axum Router (`POST /interactions`, `GET /health`).
//! - [`configuration`], [`startup`]: settings from the environment, and the wiring.

pub mod adapters;
pub mod configuration;
pub mod core;
pub mod routes;
pub mod startup;
pub mod verify;
