//! Fair share: per-token rate limits for uploads and analysts' queries (a
//! token bucket per token id), and a bound on queries running at once, so
//! that one caller cannot keep the cores busy for everyone. Members' reads
//! are not limited here: they are answered from memory, and uploads and
//! queries run on their own pools (the blocking pool, the DataFusion pool).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::error::ApiError;

/// How often one token may do one thing: `per_minute` on average, in
/// bursts of up to `per_minute`. Zero means no limit.
#[derive(Debug)]
pub struct Limiter {
    per_minute: u32,
    what: &'static str,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept at most; when full, the ones that have refilled go first.
const MAX_BUCKETS: usize = 100_000;

impl Limiter {
    /// A limiter of `per_minute` for `what` (named in the error).
    pub fn new(per_minute: u32, what: &'static str) -> Limiter {
        Limiter {
            per_minute,
            what,
            buckets: Mutex::default(),
        }
    }

    /// Takes one from the token's bucket, or says when to try again.
    pub fn take(&self, token_id: &str) -> Result<(), Duration> {
        self.take_at(token_id, Instant::now())
    }

    fn take_at(&self, token_id: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(token_id) {
            let full = Duration::from_secs(60);
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < full);
        }
        let bucket = buckets.entry(token_id.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// [`Limiter::take`] as the API's answer: 429 `rate_limited` with the
    /// seconds to wait (also sent as `Retry-After`).
    pub fn check(&self, token_id: &str) -> Result<(), ApiError> {
        self.take(token_id).map_err(|wait| {
            let seconds = wait.as_secs().max(1);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many {} with this token: at most {} a minute; try again in {seconds} s",
                    self.what, self.per_minute
                ),
            );
            e.extra = Some(json!({ "retry_after_seconds": seconds }));
            e
        })
    }
}

/// The limits of one server.
#[derive(Debug)]
pub struct Rates {
    /// Uploads per token (admin's are not limited: the ring's operator
    /// loads bulk files).
    pub uploads: Limiter,
    /// Analysts' queries per token.
    pub queries: Limiter,
    /// Queries running at once, over all tokens.
    pub running_queries: tokio::sync::Semaphore,
}

impl Rates {
    /// The limits of a configuration.
    pub fn new(
        uploads_per_minute: u32,
        queries_per_minute: u32,
        concurrent_queries: usize,
    ) -> Rates {
        Rates {
            uploads: Limiter::new(uploads_per_minute, "uploads"),
            queries: Limiter::new(queries_per_minute, "queries"),
            running_queries: tokio::sync::Semaphore::new(concurrent_queries.max(1)),
        }
    }

    /// A permit to run a query, waiting a few seconds for one; else 429.
    pub async fn query_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        const WAIT: Duration = Duration::from_secs(5);
        match tokio::time::timeout(WAIT, self.running_queries.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many queries are running at once; try again in a few seconds",
                );
                e.extra = Some(json!({ "retry_after_seconds": WAIT.as_secs() }));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_are_per_token() {
        let l = Limiter::new(6, "uploads");
        let t0 = Instant::now();
        for _ in 0..6 {
            assert!(l.take_at("a", t0).is_ok());
        }
        let wait = l.take_at("a", t0).unwrap_err();
        assert!((9.9..=10.1).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(
            l.take_at("b", t0).is_ok(),
            "another token has its own bucket"
        );
        assert!(l.take_at("a", t0 + Duration::from_secs(9)).is_err());
        assert!(l.take_at("a", t0 + Duration::from_secs(11)).is_ok());
        // Never more than a burst of `per_minute`, however long the pause.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..6 {
            assert!(l.take_at("a", later).is_ok());
        }
        assert!(l.take_at("a", later).is_err());
        assert!(
            Limiter::new(0, "x").take_at("a", t0).is_ok(),
            "0 is no limit"
        );
    }

    #[test]
    fn the_answer_is_429_with_the_time_to_wait() {
        let l = Limiter::new(1, "queries");
        assert!(l.check("a").is_ok());
        let e = l.check("a").unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code, "rate_limited");
        assert!(e.extra.unwrap()["retry_after_seconds"].as_u64().unwrap() >= 59);
    }
}
