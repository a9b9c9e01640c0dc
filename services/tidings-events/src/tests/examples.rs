//! Hand-written events: one of each variant of each family, with values that show on the
//! wire (non-ASCII text, a set option, a list). The golden bytes are theirs.

use tidings_domain::audit::Actor;
use tidings_domain::broadcast::{Audience, BroadcastContent, ContentFormat};
use tidings_domain::client::Platform;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, Delivery, MailboxEvent, NotifySignal, SendRecord};
use tidings_domain::message::{Mailbox, MessageBody};

use tidings_reach::{ReachCell, ReachEvent, ReachKind, ReachPlatform};

use crate::{DeadLetter, EventCodec, broadcast, shipped};

pub(super) fn mailbox_events() -> Vec<MailboxEvent> {
    let mailbox = Mailbox::new(7, 42);
    vec![
        MailboxEvent::Delivered(Delivery {
            mailbox,
            dedupe_key: "k:9:order-1".into(),
            create_time_us: 1_700_000_000_000_001,
            body: MessageBody {
                from_uid: 9,
                to_uid: 42,
                contacter: 9,
                category: 1,
                kind: 2,
                priority: 3,
                business_type: 4,
                msgkey: "order-1".into(),
                content: "你好 🎉".into(),
                expire_at_s: 0,
            },
            send: Some(SendRecord { request_id: "18c2f1a9b3e01-5d1e0c7a9b3f2e64".into(), recipients: vec![42, 43] }),
        }),
        MailboxEvent::ReadUpTo { mailbox, up_to: 5 },
        MailboxEvent::MessageDeleted { mailbox, msg_id: 6 },
        MailboxEvent::BroadcastHidden { mailbox, broadcast_id: 8 },
        MailboxEvent::Recalled { mailbox, dedupe_key: "k:9:order-1".into(), at_us: 1_700_000_000_500_000 },
        MailboxEvent::AttributesReplaced {
            mailbox,
            attributes: [("nickname".to_owned(), "小明".to_owned()), ("tier".to_owned(), "gold".to_owned())].into(),
        },
    ]
}

pub(super) fn broadcast_events() -> Vec<BroadcastEvent> {
    let content = BroadcastContent {
        category: 1,
        kind: 2,
        priority: 3,
        business_type: 4,
        content: "maintenance tonight".into(),
        format: ContentFormat::Text,
        expire_at_s: 2_000_000_000,
        audience: Audience {
            platforms: vec![Platform::Ios, Platform::Web],
            min_core_level: Some(220_819),
            max_core_level: None,
            logged_in_only: true,
        },
    };
    let mut changes = vec![
        BroadcastChange::Created { broadcast_id: 1, content: content.clone() },
        BroadcastChange::Modified {
            broadcast_id: 1,
            revision: 2,
            content: BroadcastContent { audience: Audience::default(), ..content },
        },
        BroadcastChange::WhitelistReplaced { revision: 4, uids: vec![1, 2, 3] },
    ];
    changes.extend(broadcast::ACTIONS.map(|(action, _)| BroadcastChange::Lifecycle {
        broadcast_id: 1,
        revision: 3,
        action,
    }));
    let actors = [Some(Actor::Operator("alice".into())), Some(Actor::App("billing-svc ✓".into())), None];
    changes
        .into_iter()
        .zip(actors.into_iter().cycle())
        .map(|(change, actor)| BroadcastEvent { app_id: 7, at_us: 1_700_000_000_000_000, change, actor })
        .collect()
}

/// A templated broadcast: v3's `template` set (the examples above, pinned in earlier
/// versions too, are plain text).
pub(super) fn templated_broadcast_event() -> BroadcastEvent {
    let content = BroadcastContent {
        content: "Hello {{ attrs.nickname }}".into(),
        format: ContentFormat::Template { fallback_content: "Hello".into() },
        expire_at_s: 2_000_000_000,
        ..Default::default()
    };
    BroadcastEvent {
        app_id: 7,
        at_us: 1_700_000_000_000_000,
        change: BroadcastChange::Created { broadcast_id: 2, content },
        actor: Some(Actor::Operator("alice".into())),
    }
}

pub(super) fn notify_signals() -> Vec<NotifySignal> {
    vec![
        NotifySignal::Mailbox { mailbox: Mailbox::new(7, 42), latest_msg_id: 99 },
        NotifySignal::Public { app_id: 7, seq: 3 },
    ]
}

pub(super) fn reach_events() -> Vec<ReachEvent> {
    let cell = |kind, platform, hour, sketch: &[u8]| ReachCell {
        kind,
        platform: ReachPlatform(platform),
        hour,
        sketch: sketch.to_vec(),
    };
    vec![
        ReachEvent {
            app_id: 7,
            broadcast_id: 1,
            cells: vec![
                cell(ReachKind::Delivered, Some(Platform::Ios), 472_222, &[1, 2, 3]),
                cell(ReachKind::Read, None, 472_223, &[]),
            ],
        },
        ReachEvent { app_id: 7, broadcast_id: 2, cells: Vec::new() },
    ]
}

pub(super) fn dead_letter() -> DeadLetter {
    DeadLetter {
        source_topic: "tidings.mailbox".into(),
        partition: 3,
        offset: 12_345,
        key: b"m:7:42".to_vec(),
        payload: vec![0xC3, 0x01, 0xff],
        reason: "unknown writer schema fingerprint".into(),
        at_us: 1_700_000_000_000_000,
    }
}

/// One encoded event of each family, with the newest `.avsc` text of that family.
pub(super) fn one_of_each_family() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let codec = EventCodec::new();
    vec![
        ("mailbox_event", codec.encode_mailbox(&mailbox_events()[0]), *shipped::MAILBOX_EVENT.last().unwrap()),
        ("broadcast_event", codec.encode_broadcast(&broadcast_events()[1]), *shipped::BROADCAST_EVENT.last().unwrap()),
        ("notify_signal", codec.encode_notify(&notify_signals()[0]), *shipped::NOTIFY_SIGNAL.last().unwrap()),
        ("reach_event", codec.encode_reach(&reach_events()[0]), *shipped::REACH_EVENT.last().unwrap()),
        ("dead_letter", codec.encode_dead_letter(&dead_letter()), *shipped::DEAD_LETTER.last().unwrap()),
    ]
}
