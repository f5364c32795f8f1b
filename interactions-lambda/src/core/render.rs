//! What `/queue` and `/now-playing` look like: shared with the worker's now-playing message.

pub use timmybot_shared::render::*;
