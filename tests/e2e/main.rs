//! TimmyBot's end-to-end and contract suites, in one test binary (so CI links one, not a
//! dozen). Each module is one suite; the AWS ones run against moto's server, which the
//! harness starts on a free loopback port (`scripts/dev-setup` installs it).
//!
//! - The interactions endpoint as the Lambda wires it ([`app`]): [`gate`], [`allowlist`],
//!   [`queue`], [`controls`], [`settings`], [`access`].
//! - The whole chain, through the fake Discord and the worker: [`chain`]; DAVE end-to-end
//!   encryption with people coming and going and handshakes that fail: [`dave`]; several
//!   workers over the shards: [`shards`].
//! - The stores and buses, one contract over both backends: [`store_contract`],
//!   [`bus_contract`], [`dynamo_faults`], [`emulator`].
//! - Sources: [`spotify`], [`ssrf`]. Configuration: [`secrets`], [`template`].

mod app;

mod autoplay;

mod access;
mod accounts;
mod allowlist;
mod browser_harness;
mod bus_contract;
mod chain;
mod controls;
mod dashboard;
mod dave;
mod dynamo_faults;
mod emulator;
mod gate;
mod library;
mod lyrics;
mod playlists;
mod previous;
mod queue;
mod search;
mod secrets;
mod settings;
mod shards;
mod spotify;
mod ssrf;
mod standins;
mod stay;
mod store_contract;
mod template;
