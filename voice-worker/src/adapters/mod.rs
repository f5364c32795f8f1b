//! The ports' production adapters: songbird for voice, twilight for Discord's REST API and
//! the voice-state cache, and ECS for scaling.

pub mod discord;
pub mod ecs;
pub mod songbird;
