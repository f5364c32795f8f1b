//! Bounded retry for optimistic writes: both store adapters lose races the same way
//! (a version conflict) and recover the same way (fresh read, re-apply, write again).

use std::time::Duration;

use rand::Rng;

/// How hard to try before giving up on a contended record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// First back-off ceiling; it doubles per attempt up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Two writers on one guild (a command and the worker) settle in one or two retries.
    /// A herd settles too: full jitter under a ceiling that can grow to seconds spreads the
    /// writers out until the store keeps up, where a low ceiling keeps it overloaded and
    /// nearly every attempt loses. Interactive callers put their own deadline around this.
    fn default() -> Self {
        Self {
            max_attempts: 64,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential back-off before attempt `attempt + 1`.
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

/// Counts attempts against a policy. Callers loop: on a lost race,
/// `match backoff.next_delay() { Some(d) => sleep(d), None => give up }`, then read afresh and
/// try again. It only decides; the caller sleeps, so the rule stays free of any runtime.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    attempts: u32,
}

impl Backoff {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 1,
        }
    }

    /// Attempts made so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long to wait before the next attempt, which it counts; `None` once the bound is
    /// reached.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let delay = self.policy.delay(self.attempts - 1);
        self.attempts += 1;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_micros(10),
            max_delay: Duration::from_micros(100),
        }
    }

    #[test]
    fn allows_exactly_max_attempts() {
        let mut backoff = Backoff::new(quick(5));
        let mut tries = 1;
        while let Some(delay) = backoff.next_delay() {
            assert!(delay <= Duration::from_micros(100));
            tries += 1;
        }
        assert_eq!(tries, 5);
        assert_eq!(backoff.attempts(), 5);
        assert!(backoff.next_delay().is_none(), "stays exhausted");
    }

    #[test]
    fn a_single_attempt_policy_never_waits() {
        let mut backoff = Backoff::new(quick(1));
        assert!(backoff.next_delay().is_none());
    }

    #[test]
    fn delay_is_capped() {
        let p = RetryPolicy::default();
        for n in 0..40 {
            assert!(p.delay(n) <= p.max_delay);
        }
    }
}
