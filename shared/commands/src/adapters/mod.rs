//! The core's adapters: Discord's REST API for the voice-channel lookup.

pub mod voice_lookup;

pub use voice_lookup::RestVoiceLookup;
