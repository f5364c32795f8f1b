//! A fake Discord on loopback, built to Discord's documented protocol: the gateway, the
//! REST API and the voice server.

pub mod gateway;
pub mod rest;
