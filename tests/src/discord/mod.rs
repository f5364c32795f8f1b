//! A fake Discord on loopback, built to Discord's documented protocol: REST, and the voice
//! server (TLS WebSocket signalling and encrypted RTP) with the test CA it presents.

pub mod rest;
pub mod tls;
pub mod voice;
