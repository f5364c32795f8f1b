//! The ports' production adapters: songbird for voice, twilight for Discord's REST API, and
//! the gateway's voice-state cache for who is listening.

pub mod discord;
pub mod presence;
pub mod songbird;
