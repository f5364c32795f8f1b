//! TimmyBot's HTTP edge: one axum Router, served by the Lambda (`lambda_http`) and by
//! `timmybot serve --listen`, so both answer through the same code.
//!
//! - [`verify`]: Discord's Ed25519 request signature.
//! - [`routes`]: `POST /interactions` (checked, then handed to the command core),
//!   `GET /health`, the Spotify callback, and the dashboard (`timmybot-dashboard`) under
//!   `/dashboard` when it is configured.
//! - [`telemetry`]: what each interaction reports; CloudWatch EMF lines on Lambda.

mod oauth;
pub mod routes;
pub mod telemetry;
pub mod verify;

pub use routes::{router, App};
pub use verify::Verifier;
