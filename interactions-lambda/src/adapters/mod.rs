//! Adapters for the core's ports: Discord's REST API and ECS.

pub mod discord;
pub mod ecs;
