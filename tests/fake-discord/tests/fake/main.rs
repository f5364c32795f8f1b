//! The fake Discord, tested against the real clients it stands in for: twilight's gateway
//! shards and songbird's voice driver.

mod gateway;
mod voice;
