//! Per-user command rate limit: a sliding window, in this process's memory.
//!
//! Exact for the embedded bot (one process). On Lambda each warm instance counts alone,
//! so a user spread over instances gets up to the limit per instance.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use timmybot_domain::UserId;

pub const WINDOW_MS: u64 = 10_000;
pub const LIMIT: usize = 6;
/// Past this many tracked users, idle ones are dropped, so memory stays bounded.
const TRACKED_MAX: usize = 10_000;

pub struct RateLimiter {
    limit: usize,
    seen: Mutex<HashMap<UserId, VecDeque<u64>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(LIMIT)
    }
}

impl RateLimiter {
    /// `limit` commands per user per window.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            seen: Mutex::default(),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Counts one command; `Err(wait_ms)` when the user is over the limit.
    pub fn check(&self, user: UserId, now_ms: u64) -> Result<(), u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > TRACKED_MAX {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now_ms.saturating_sub(*t) < WINDOW_MS)
            });
        }
        let times = seen.entry(user).or_default();
        while times
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= WINDOW_MS)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now_ms);
            return Err((oldest + WINDOW_MS).saturating_sub(now_ms));
        }
        times.push_back(now_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_per_window_then_frees_up() {
        let rl = RateLimiter::default();
        let u = UserId::new(1).unwrap();
        for i in 0..LIMIT as u64 {
            assert_eq!(rl.check(u, i * 100), Ok(()));
        }
        assert_eq!(rl.check(u, 1_000), Err(WINDOW_MS - 1_000));
        assert_eq!(
            rl.check(UserId::new(2).unwrap(), 1_000),
            Ok(()),
            "others are not affected"
        );
        assert_eq!(rl.check(u, WINDOW_MS), Ok(()), "the first slot has freed");
        assert!(rl.check(u, WINDOW_MS).is_err());
    }

    #[test]
    fn refused_attempts_do_not_extend_the_wait() {
        let rl = RateLimiter::default();
        let u = UserId::new(1).unwrap();
        for _ in 0..LIMIT {
            rl.check(u, 0).unwrap();
        }
        for t in 1..50 {
            assert!(rl.check(u, t).is_err());
        }
        assert_eq!(rl.check(u, WINDOW_MS), Ok(()));
    }
}
