//! A fake Discord on loopback, built to Discord's documented protocol. So far: REST.

pub mod rest;
