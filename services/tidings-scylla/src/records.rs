//! The `body` column of `broadcasts`: a broadcast as the JSON document of
//! `tidings-records`, so renaming or reshaping a domain type can't change what is stored.

use tidings_domain::broadcast::Broadcast;
use tidings_domain::{AppId, BroadcastId};
use tidings_ports::StoreError;
use tidings_records::BroadcastRecord;

/// The `body` to store for `broadcast`.
pub(crate) fn encode_broadcast_body(broadcast: &Broadcast) -> Result<String, StoreError> {
    serde_json::to_string(&BroadcastRecord::from(broadcast))
        .map_err(|e| StoreError::Corrupt(format!("broadcast {} does not encode: {e}", broadcast.broadcast_id)))
}

/// The broadcast that the `body` of row `(app_id, broadcast_id)` holds, checked to be that
/// broadcast.
pub(crate) fn decode_broadcast_body(
    app_id: AppId,
    broadcast_id: BroadcastId,
    body: &str,
) -> Result<Broadcast, StoreError> {
    let record: BroadcastRecord = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("broadcast {broadcast_id} of app {app_id} does not decode: {e}")))?;
    let broadcast = Broadcast::from(record);
    if (broadcast.app_id, broadcast.broadcast_id) != (app_id, broadcast_id) {
        return Err(StoreError::Corrupt(format!(
            "the row of broadcast {broadcast_id} of app {app_id} holds broadcast {} of app {}",
            broadcast.broadcast_id, broadcast.app_id
        )));
    }
    Ok(broadcast)
}

#[cfg(test)]
mod tests {
    use tidings_domain::broadcast::{Audience, BroadcastContent, BroadcastState, ContentFormat};
    use tidings_domain::client::Platform;

    use super::*;

    fn fully_populated() -> Broadcast {
        Broadcast {
            app_id: 42,
            broadcast_id: 7,
            version: 3,
            revision: 5,
            state: BroadcastState::Published,
            content: BroadcastContent {
                category: 1,
                kind: 2,
                priority: 3,
                business_type: 4,
                content: "hello \"everyone\"".into(),
                format: ContentFormat::Text,
                expire_at_s: 4_000_000_000,
                audience: Audience {
                    platforms: vec![Platform::Ios, Platform::Web],
                    min_core_level: Some(100),
                    max_core_level: Some(200),
                    logged_in_only: true,
                },
            },
            msg_id: Some(1_700_000_000_000_123),
            prepublished_seq: Some(11),
            published_seq: Some(12),
            recall: None,
            created_at_us: 1_700_000_000_000_000,
            updated_at_us: 1_700_000_000_000_456,
        }
    }

    /// Guards the stored format: changing what this test expects needs a new schema version
    /// and a migration of the rows already stored.
    #[test]
    fn stored_broadcast_body_format_is_stable() {
        const STORED: &str = r#"{"app_id":42,"broadcast_id":7,"version":3,"revision":5,"state":"published","content":{"category":1,"type":2,"priority":3,"business_type":4,"content":"hello \"everyone\"","expire_at_s":4000000000,"audience":{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}},"msg_id":1700000000000123,"prepublished_seq":11,"published_seq":12,"created_at_us":1700000000000000,"updated_at_us":1700000000000456}"#;
        assert_eq!(encode_broadcast_body(&fully_populated()).unwrap(), STORED);
        assert_eq!(decode_broadcast_body(42, 7, STORED).unwrap(), fully_populated());

        let without_audience_fields = STORED.replace(
            r#"{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}"#,
            "{}",
        );
        let decoded = decode_broadcast_body(42, 7, &without_audience_fields).unwrap();
        assert_eq!(decoded.content.audience, Audience::default());
    }
}
