//! The wall clock, read in one place. Domain functions take times as arguments; services
//! read the clock here and pass it in.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in microseconds.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or_default()
}

/// Unix time in seconds.
pub fn now_s() -> i64 {
    now_us() / 1_000_000
}
