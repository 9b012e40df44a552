//! Retries: what to try again, and how long to wait.
//!
//! A registry behind bad Wi-Fi answers 502 now and then, resets a
//! connection, or says 429 "too many requests" with a `Retry-After`. Those
//! are worth another try; a 404 or a 401 is not. Waits grow exponentially
//! with "full jitter" (a random wait up to the exponential bound), so a room
//! of clients that failed together does not retry together. Both the number
//! of tries and the total time are bounded: a pull fails with a clear error
//! instead of hanging.

use std::time::{Duration, Instant};

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// No retry starts after this much time from the first try.
    pub budget: Duration,
    /// The first wait's upper bound; it doubles with each try.
    pub base: Duration,
    /// No single wait is longer (except a Retry-After within the budget).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            budget: Duration::from_secs(60),
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
        }
    }
}

/// Counts the tries of one operation.
#[derive(Debug)]
pub struct Retrier {
    policy: RetryPolicy,
    started: Instant,
    tries: u32,
}

// ANCHOR: backoff
impl Retrier {
    pub fn new(policy: RetryPolicy) -> Retrier {
        Retrier {
            policy,
            started: Instant::now(),
            tries: 1,
        }
    }

    /// How long to wait before the next try, or `None` when the count or the
    /// time budget is spent. A server's `Retry-After` is honoured as given.
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.tries >= self.policy.attempts {
            return None;
        }
        let exponential = self
            .policy
            .base
            .saturating_mul(1 << (self.tries - 1).min(16))
            .min(self.policy.cap);
        let wait = retry_after.unwrap_or_else(|| full_jitter(exponential));
        if self.started.elapsed() + wait > self.policy.budget {
            return None;
        }
        self.tries += 1;
        Some(wait)
    }
    // ANCHOR_END: backoff

    /// Which try this is (1 for the first).
    pub fn tries(&self) -> u32 {
        self.tries
    }
}

/// A uniformly random duration in `[0, max]`: std's hasher keys are random
/// per process, which is all the randomness jitter needs.
fn full_jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(fraction)
}

/// Statuses worth another try: the server or a proxy on the way had a problem.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After: 120` (seconds). The HTTP-date form is rare from registries
/// and is treated as "no hint" (the exponential wait applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_count_and_time() {
        let policy = RetryPolicy {
            attempts: 4,
            budget: Duration::from_secs(10),
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
        };
        let mut retrier = Retrier::new(policy);
        let waits: Vec<_> = std::iter::from_fn(|| retrier.next_wait(None)).collect();
        assert_eq!(waits.len(), 3, "4 tries = 3 waits");
        assert!(waits[0] <= Duration::from_millis(100));
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(300)));

        let mut retrier = Retrier::new(policy);
        assert_eq!(
            retrier.next_wait(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retrier.next_wait(Some(Duration::from_secs(11))), None);
    }

    #[test]
    fn retry_after_and_statuses() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert!(retryable_status(503) && retryable_status(429));
        assert!(!retryable_status(404) && !retryable_status(401));
    }
}
