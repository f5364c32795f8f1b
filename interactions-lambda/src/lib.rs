//! The interactions endpoint: Discord's signed webhooks, on Lambda and locally.
//!
//! Not built yet; issue #3 fills it in on top of `timmybot-shared`.
