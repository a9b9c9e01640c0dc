//! The JSON document of a broadcast that the stores keep: the embedded store's
//! `store_broadcasts` values and the CQL store's `broadcasts.body` column.
//!
//! The records mirror the domain's `Broadcast` field for field and serialize to the bytes
//! the stores have held since their first layout, so renaming or reshaping a domain type
//! can't change what is stored: the conversions below are where the two meet, and the
//! golden test pins the bytes. This is the first version of the document; a store that
//! needs another layout adds a record of its own beside this one, with a migration, and
//! the other store is unaffected. One owner, so the two stores can't drift apart by
//! accident.

use serde::{Deserialize, Serialize};
use tidings_domain::broadcast::{Audience, Broadcast, BroadcastContent, BroadcastState, ContentFormat, Recall};
use tidings_domain::client::Platform;
use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq};

/// A broadcast as a stored JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastRecord {
    app_id: AppId,
    broadcast_id: BroadcastId,
    version: i32,
    revision: i32,
    state: BroadcastStateRecord,
    content: BroadcastContentRecord,
    msg_id: Option<MsgId>,
    prepublished_seq: Option<PublicSeq>,
    published_seq: Option<PublicSeq>,
    created_at_us: i64,
    updated_at_us: i64,
    /// Absent until it is recalled (and in every document written before recalls took a
    /// position), so the bytes of every other broadcast stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recall: Option<RecallRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct RecallRecord {
    seq: PublicSeq,
    msg_id: MsgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BroadcastContentRecord {
    category: i32,
    #[serde(rename = "type")]
    kind: i32,
    priority: i32,
    business_type: i32,
    content: String,
    expire_at_s: i64,
    audience: AudienceRecord,
    /// Set when `content` is a template; absent (as in every document stored before
    /// templates) when it is plain text, so plain broadcasts keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<TemplateRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TemplateRecord {
    fallback_content: String,
}

/// Fields missing from a stored audience read as their defaults, as they always did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AudienceRecord {
    #[serde(default)]
    platforms: Vec<PlatformRecord>,
    #[serde(default)]
    min_core_level: Option<i64>,
    #[serde(default)]
    max_core_level: Option<i64>,
    #[serde(default)]
    logged_in_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BroadcastStateRecord {
    Draft,
    PrePublished,
    Published,
    Stopped,
    Recalled,
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PlatformRecord {
    Ios,
    Android,
    Win,
    Mac,
    Linux,
    Web,
}

impl From<&Broadcast> for BroadcastRecord {
    fn from(broadcast: &Broadcast) -> Self {
        Self {
            app_id: broadcast.app_id,
            broadcast_id: broadcast.broadcast_id,
            version: broadcast.version,
            revision: broadcast.revision,
            state: broadcast.state.into(),
            content: (&broadcast.content).into(),
            msg_id: broadcast.msg_id,
            prepublished_seq: broadcast.prepublished_seq,
            published_seq: broadcast.published_seq,
            created_at_us: broadcast.created_at_us,
            updated_at_us: broadcast.updated_at_us,
            recall: broadcast.recall.map(|recall| RecallRecord { seq: recall.seq, msg_id: recall.msg_id }),
        }
    }
}

impl From<BroadcastRecord> for Broadcast {
    fn from(record: BroadcastRecord) -> Self {
        Self {
            app_id: record.app_id,
            broadcast_id: record.broadcast_id,
            version: record.version,
            revision: record.revision,
            state: record.state.into(),
            content: record.content.into(),
            msg_id: record.msg_id,
            prepublished_seq: record.prepublished_seq,
            published_seq: record.published_seq,
            created_at_us: record.created_at_us,
            updated_at_us: record.updated_at_us,
            recall: record.recall.map(|recall| Recall { seq: recall.seq, msg_id: recall.msg_id }),
        }
    }
}

impl From<&BroadcastContent> for BroadcastContentRecord {
    fn from(content: &BroadcastContent) -> Self {
        Self {
            category: content.category,
            kind: content.kind,
            priority: content.priority,
            business_type: content.business_type,
            content: content.content.clone(),
            expire_at_s: content.expire_at_s,
            audience: (&content.audience).into(),
            template: match &content.format {
                ContentFormat::Text => None,
                ContentFormat::Template { fallback_content } => {
                    Some(TemplateRecord { fallback_content: fallback_content.clone() })
                }
            },
        }
    }
}

impl From<BroadcastContentRecord> for BroadcastContent {
    fn from(record: BroadcastContentRecord) -> Self {
        Self {
            category: record.category,
            kind: record.kind,
            priority: record.priority,
            business_type: record.business_type,
            content: record.content,
            format: match record.template {
                None => ContentFormat::Text,
                Some(template) => ContentFormat::Template { fallback_content: template.fallback_content },
            },
            expire_at_s: record.expire_at_s,
            audience: record.audience.into(),
        }
    }
}

impl From<&Audience> for AudienceRecord {
    fn from(audience: &Audience) -> Self {
        Self {
            platforms: audience.platforms.iter().copied().map(PlatformRecord::from).collect(),
            min_core_level: audience.min_core_level,
            max_core_level: audience.max_core_level,
            logged_in_only: audience.logged_in_only,
        }
    }
}

impl From<AudienceRecord> for Audience {
    fn from(record: AudienceRecord) -> Self {
        Self {
            platforms: record.platforms.into_iter().map(Platform::from).collect(),
            min_core_level: record.min_core_level,
            max_core_level: record.max_core_level,
            logged_in_only: record.logged_in_only,
        }
    }
}

impl From<BroadcastState> for BroadcastStateRecord {
    fn from(state: BroadcastState) -> Self {
        match state {
            BroadcastState::Draft => Self::Draft,
            BroadcastState::PrePublished => Self::PrePublished,
            BroadcastState::Published => Self::Published,
            BroadcastState::Stopped => Self::Stopped,
            BroadcastState::Recalled => Self::Recalled,
            BroadcastState::Deleted => Self::Deleted,
        }
    }
}

impl From<BroadcastStateRecord> for BroadcastState {
    fn from(record: BroadcastStateRecord) -> Self {
        match record {
            BroadcastStateRecord::Draft => Self::Draft,
            BroadcastStateRecord::PrePublished => Self::PrePublished,
            BroadcastStateRecord::Published => Self::Published,
            BroadcastStateRecord::Stopped => Self::Stopped,
            BroadcastStateRecord::Recalled => Self::Recalled,
            BroadcastStateRecord::Deleted => Self::Deleted,
        }
    }
}

impl From<Platform> for PlatformRecord {
    fn from(platform: Platform) -> Self {
        match platform {
            Platform::Ios => Self::Ios,
            Platform::Android => Self::Android,
            Platform::Win => Self::Win,
            Platform::Mac => Self::Mac,
            Platform::Linux => Self::Linux,
            Platform::Web => Self::Web,
        }
    }
}

impl From<PlatformRecord> for Platform {
    fn from(record: PlatformRecord) -> Self {
        match record {
            PlatformRecord::Ios => Self::Ios,
            PlatformRecord::Android => Self::Android,
            PlatformRecord::Win => Self::Win,
            PlatformRecord::Mac => Self::Mac,
            PlatformRecord::Linux => Self::Linux,
            PlatformRecord::Web => Self::Web,
        }
    }
}

/// These guard the stored format: changing what they expect needs a new record version and
/// a migration of what the stores already hold.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_broadcast_document_is_stable() {
        const STORED: &str = r#"{"app_id":42,"broadcast_id":7,"version":3,"revision":5,"state":"published","content":{"category":1,"type":2,"priority":3,"business_type":4,"content":"hello","expire_at_s":4000000000,"audience":{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}},"msg_id":1700000000000123,"prepublished_seq":11,"published_seq":null,"created_at_us":1700000000000000,"updated_at_us":1700000000000456}"#;
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
                content: "hello".into(),
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
            published_seq: None,
            recall: None,
            created_at_us: 1_700_000_000_000_000,
            updated_at_us: 1_700_000_000_000_456,
        };
        assert_eq!(serde_json::to_string(&BroadcastRecord::from(&broadcast)).unwrap(), STORED);
        let record: BroadcastRecord = serde_json::from_str(STORED).unwrap();
        assert_eq!(Broadcast::from(record), broadcast.clone());

        // A template adds one member after the audience; a plain broadcast stores none.
        let templated_stored = STORED
            .replace(r#""logged_in_only":true}}"#, r#""logged_in_only":true},"template":{"fallback_content":"hi"}}"#);
        let mut templated = broadcast.clone();
        templated.content.format = ContentFormat::Template { fallback_content: "hi".into() };
        assert_eq!(serde_json::to_string(&BroadcastRecord::from(&templated)).unwrap(), templated_stored);
        assert_eq!(Broadcast::from(serde_json::from_str::<BroadcastRecord>(&templated_stored).unwrap()), templated);

        let recalled = Broadcast {
            state: BroadcastState::Recalled,
            recall: Some(Recall { seq: 12, msg_id: 1_700_000_000_000_789 }),
            ..broadcast
        };
        const RECALLED: &str = r#"{"app_id":42,"broadcast_id":7,"version":3,"revision":5,"state":"recalled","content":{"category":1,"type":2,"priority":3,"business_type":4,"content":"hello","expire_at_s":4000000000,"audience":{"platforms":["ios","web"],"min_core_level":100,"max_core_level":200,"logged_in_only":true}},"msg_id":1700000000000123,"prepublished_seq":11,"published_seq":null,"created_at_us":1700000000000000,"updated_at_us":1700000000000456,"recall":{"seq":12,"msg_id":1700000000000789}}"#;
        assert_eq!(serde_json::to_string(&BroadcastRecord::from(&recalled)).unwrap(), RECALLED);
        assert_eq!(Broadcast::from(serde_json::from_str::<BroadcastRecord>(RECALLED).unwrap()), recalled);
    }

    #[test]
    fn stored_state_and_platform_names_are_stable() {
        use BroadcastState::*;
        let states = [
            (Draft, "draft"),
            (PrePublished, "pre_published"),
            (Published, "published"),
            (Stopped, "stopped"),
            (Recalled, "recalled"),
            (Deleted, "deleted"),
        ];
        for (state, stored) in states {
            assert_eq!(serde_json::to_value(BroadcastStateRecord::from(state)).unwrap(), stored);
            assert_eq!(
                BroadcastState::from(serde_json::from_value::<BroadcastStateRecord>(stored.into()).unwrap()),
                state
            );
        }
        let platforms = [
            (Platform::Ios, "ios"),
            (Platform::Android, "android"),
            (Platform::Win, "win"),
            (Platform::Mac, "mac"),
            (Platform::Linux, "linux"),
            (Platform::Web, "web"),
        ];
        for (platform, stored) in platforms {
            assert_eq!(serde_json::to_value(PlatformRecord::from(platform)).unwrap(), stored);
            assert_eq!(Platform::from(serde_json::from_value::<PlatformRecord>(stored.into()).unwrap()), platform);
        }
    }
}
