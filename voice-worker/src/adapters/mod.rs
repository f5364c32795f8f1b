//! The ports' production adapters: songbird for voice (its calls joined through each guild's
//! own shard), twilight for Discord's REST API, and the gateway's voice-state cache for who
//! is listening, the accounts crate for the requester's own library, and its recommendation
//! engine for autoplay.

pub mod calls;
pub mod discord;
pub mod linked;
pub mod presence;
pub mod radio;
pub mod songbird;
