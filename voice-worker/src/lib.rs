//! The voice worker: gateway, players, intent consumer and lifecycle.
//!
//! Not built yet; issue #4 fills it in on top of `timmybot-shared`.
