//! The fake Discord, tested against the real clients it stands in for: twilight's gateway
//! shards, songbird's voice driver and davey's DAVE sessions.

mod dave;
mod gateway;
mod oauth;
mod voice;
