//! Per-app admission of business sends, so that one tenant's flood can't starve the others:
//! a token bucket per app (governor's GCRA), refilled at `ingest.sends_per_second_per_app`
//! and holding `ingest.send_burst_per_app`. Off when the rate is 0 (the default).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tidings_domain::AppId;

use crate::error::ApiError;

/// The buckets of every app; cheap to clone.
#[derive(Clone, Default)]
pub struct SendRates {
    buckets: Option<Arc<DefaultKeyedRateLimiter<AppId>>>,
}

impl std::fmt::Debug for SendRates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendRates").field("on", &self.buckets.is_some()).finish()
    }
}

impl SendRates {
    /// `per_second` sends a second per app (0: no limit), in bursts of up to `burst`
    /// (0: as many as `per_second`).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let Some(rate) = NonZeroU32::new(per_second) else { return Self::default() };
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Self { buckets: Some(Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)))) }
    }

    /// Takes one send from `app_id`'s bucket, or answers 429 with when to retry.
    pub fn admit(&self, app_id: AppId) -> Result<(), ApiError> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        buckets.check_key(&app_id).map_err(|refused| {
            let wait = refused.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.max(Duration::from_millis(1)))
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn an_app_past_its_burst_waits_and_the_others_do_not() {
        let rates = SendRates::new(1, 2);
        assert!(rates.admit(1).is_ok() && rates.admit(1).is_ok(), "the burst");
        let refused = rates.admit(1).expect_err("past the burst");
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1", "whole seconds, rounded up");
        assert!(rates.admit(2).is_ok(), "another app has a bucket of its own");
    }

    #[test]
    fn a_rate_of_zero_admits_everything() {
        let rates = SendRates::new(0, 0);
        assert!((0..10_000).all(|_| rates.admit(1).is_ok()));
    }
}
