//! TimmyBot's voice worker (DESIGN.md): the long-running process that holds the Discord
//! gateway and the voice calls and plays each guild's queue.
//!
//! - [`worker`]: the worker built from its settings and ports; [`startup`] wires it to the
//!   gateway, songbird, the store and the bus.
//! - [`consumer`]: intents from the bus, in order per guild, acked after the state is written.
//! - [`players`], [`player`]: one actor per guild; the stored state is the truth and the call
//!   follows it.
//! - [`apply`]: how each intent changes the state (pure).
//! - [`lifecycle`]: heartbeat, idle scale-to-zero, SIGTERM drain, resume on start.
//! - [`gateway`], [`identify`]: twilight shards and the identify budget.
//! - [`ports`], [`adapters`]: voice, Discord REST and presence, and their adapters.
//! - [`health`]: `GET /health` and `GET /stats`.

pub mod adapters;
pub mod apply;
pub mod consumer;
pub mod gateway;
pub mod health;
pub mod identify;
pub mod lifecycle;
pub mod metrics;
pub mod player;
pub mod players;
pub mod ports;
pub mod startup;
pub mod worker;
