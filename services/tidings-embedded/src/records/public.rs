//! Records of the public mailbox: broadcasts (`store_broadcasts`, the document that
//! `tidings-records` owns) and apps' public states (`store_public_states`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tidings_domain::broadcast::Broadcast;
use tidings_domain::public::{PublicState, Whitelist};
use tidings_domain::{PublicSeq, Uid};
use tidings_records::BroadcastRecord;

use super::Stored;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PublicStateRecord {
    last_seq: PublicSeq,
    whitelist: WhitelistRecord,
    whitelist_revision: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WhitelistRecord {
    members: BTreeMap<Uid, PublicSeq>,
}

impl Stored for Broadcast {
    type Record = BroadcastRecord;
    const WHAT: &'static str = "broadcast";
}

impl Stored for PublicState {
    type Record = PublicStateRecord;
    const WHAT: &'static str = "public state";
}

impl From<&PublicState> for PublicStateRecord {
    fn from(state: &PublicState) -> Self {
        Self {
            last_seq: state.last_seq,
            whitelist: WhitelistRecord { members: state.whitelist.members.clone() },
            whitelist_revision: state.whitelist_revision,
        }
    }
}

impl From<PublicStateRecord> for PublicState {
    fn from(record: PublicStateRecord) -> Self {
        Self {
            last_seq: record.last_seq,
            whitelist: Whitelist { members: record.whitelist.members },
            whitelist_revision: record.whitelist_revision,
        }
    }
}

/// These guard the stored format: changing what they expect needs a new layout version and
/// a migration of the data already stored.
#[cfg(test)]
mod tests {
    use tidings_domain::broadcast::{Audience, BroadcastContent, BroadcastState, ContentFormat};
    use tidings_domain::client::Platform;

    use super::super::{decode, encode};
    use super::*;

    fn encoded(value: &impl Stored) -> String {
        String::from_utf8(encode(value).unwrap()).unwrap()
    }

    #[test]
    fn stored_broadcast_format_is_stable() {
        const STORED: &str = r#"{"app_id":42,"broadcast_id":7,"version":3,"revision":5,"state":"published","content":{"category":1,"type":2,"priority":3,"business_type":4,"content":"hello \"everyone\"","expire_at_s":4000000000,"audience":{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}},"msg_id":1700000000000123,"prepublished_seq":11,"published_seq":12,"created_at_us":1700000000000000,"updated_at_us":1700000000000456}"#;
        let broadcast = Broadcast {
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
        };
        assert_eq!(encoded(&broadcast), STORED);
        assert_eq!(decode::<Broadcast>(STORED.as_bytes()).unwrap(), broadcast);

        let without_audience_fields = STORED.replace(
            r#"{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}"#,
            "{}",
        );
        let decoded = decode::<Broadcast>(without_audience_fields.as_bytes()).unwrap();
        assert_eq!(decoded.content.audience, Audience::default());
    }

    #[test]
    fn stored_public_state_format_is_stable() {
        const STORED: &str = r#"{"last_seq":12,"whitelist":{"members":{"11":2,"12":9}},"whitelist_revision":4}"#;
        let state = PublicState {
            last_seq: 12,
            whitelist: Whitelist { members: BTreeMap::from([(11, 2), (12, 9)]) },
            whitelist_revision: 4,
        };
        assert_eq!(encoded(&state), STORED);
        assert_eq!(decode::<PublicState>(STORED.as_bytes()).unwrap(), state);
    }
}
