//! TimmyBot's Discord vocabulary, on twilight: what the bot registers, how it reads a
//! command, what its messages look like, and how it reaches Discord's REST API.
//!
//! - [`spec`]: the slash-command specs, and the command, option and button names.
//! - [`command`]: the typed [`command::Command`], parsed once from an interaction.
//! - [`render`]: the queue and now-playing messages. Pure: state in, message out.
//! - [`reply`]: interaction responses (ephemeral, visible, pong) and user-facing sentences.
//! - [`rest`]: the one REST client builder.
//! - [`access`]: the access request's button, form and owner DM.
//! - [`ids`]: twilight ids to domain ids and back.
//! - [`playlist`]: `/playlist`, parsed, and its list and show replies.
//! - [`search`]: `/search`'s menu of results.

pub mod access;
pub mod command;
pub mod ids;
pub mod library;
pub mod lyrics;
pub mod playlist;
pub mod render;
pub mod reply;
pub mod rest;
pub mod search;
pub mod spec;
