//! How failed attempts are retried: fixed delay, or exponential backoff with jitter.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use crate::config::{Backoff, Config};

/// How failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub delay: Duration,
    pub backoff: Backoff,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The policy the configuration asks for.
    pub fn from_config(config: &Config) -> RetryPolicy {
        RetryPolicy {
            delay: config.retry_delay,
            backoff: config.retry_backoff,
            max_delay: config.retry_max_delay,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry) of task `id`.
    ///
    /// Fixed: always `delay`. Exponential: `delay × 2^(attempt-1)`, capped at `max_delay`,
    /// then scaled by a jitter factor in [0.5, 1.0] so tasks that failed together do not
    /// retry together. The jitter is a hash of id and attempt rather than a random draw, so a
    /// run under `DEFER_NOW` is reproducible.
    pub fn delay_for(&self, id: &str, attempt: u32) -> Duration {
        match self.backoff {
            Backoff::Fixed => self.delay,
            Backoff::Exponential => {
                let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
                let raw = self.delay.saturating_mul(factor).min(self.max_delay);
                let mut h = DefaultHasher::new();
                (id, attempt).hash(&mut h);
                let jitter = 0.5 + (h.finish() % 1000) as f64 / 2000.0;
                raw.mul_f64(jitter)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            delay: Duration::from_secs(60),
            backoff: Backoff::Exponential,
            max_delay: Duration::from_secs(600),
        };
        let d1 = p.delay_for("a", 1).as_secs_f64();
        let d3 = p.delay_for("a", 3).as_secs_f64();
        let d9 = p.delay_for("a", 9).as_secs_f64();
        assert!((30.0..=60.0).contains(&d1), "{d1}");
        assert!((120.0..=240.0).contains(&d3), "{d3}");
        assert!((300.0..=600.0).contains(&d9), "{d9}");
        assert_eq!(p.delay_for("a", 3), p.delay_for("a", 3), "deterministic");
        assert!(p.delay_for("x", 40) <= Duration::from_secs(600));
    }
}
