//! The core's adapters, on Discord's REST API: the voice-channel lookup and the messenger.

pub mod messenger;
pub mod voice_lookup;

pub use messenger::RestMessenger;
pub use voice_lookup::RestVoiceLookup;
