//! How long a message row lives, within what Cassandra accepts.

/// The longest TTL Cassandra accepts (20 years).
const MAX_TTL_S: i64 = 630_720_000;

/// The last expiry second that fits the 32-bit expiration times of Cassandra before 5.0's
/// new storage format (and its `CASSANDRA_4` compatibility mode, 5.0's default), less a day.
const LAST_32_BIT_EXPIRY_S: i64 = i32::MAX as i64 - 86_400;

/// How long a message row lives: until `expire_at_s`, at least a second (an expired
/// message is written and vanishes at once, keeping its dedupe key and head), within
/// Cassandra's limits; 0 (none) when the message never expires.
pub(crate) fn ttl_seconds(expire_at_s: i64, now_s: i64) -> i32 {
    if expire_at_s == 0 {
        return 0;
    }
    let mut ttl = expire_at_s.saturating_sub(now_s).min(MAX_TTL_S);
    if now_s < LAST_32_BIT_EXPIRY_S {
        ttl = ttl.min(LAST_32_BIT_EXPIRY_S - now_s);
    }
    ttl.max(1) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_follows_expiry_within_cassandras_limits() {
        let now = 1_800_000_000;
        assert_eq!(ttl_seconds(0, now), 0, "never expires");
        assert_eq!(ttl_seconds(now + 60, now), 60);
        assert_eq!(ttl_seconds(now - 60, now), 1, "expired already: gone in a second");
        assert_eq!(ttl_seconds(i64::MAX, now) as i64, LAST_32_BIT_EXPIRY_S - now, "capped at 2038");
        let after_2038 = i32::MAX as i64 + 1;
        assert_eq!(ttl_seconds(i64::MAX, after_2038) as i64, MAX_TTL_S, "capped at 20 years");
        assert_eq!(ttl_seconds(i64::MIN, now), 1);
    }
}
