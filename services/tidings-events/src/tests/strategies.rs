//! Proptest strategies for every domain event, the reach event and the dead letter, over their whole range.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use tidings_domain::audit::Actor;
use tidings_domain::broadcast::{Audience, BroadcastContent, ContentFormat};
use tidings_domain::client::Platform;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, Delivery, MailboxEvent, NotifySignal, SendRecord};
use tidings_domain::message::{Mailbox, MessageBody};

use tidings_reach::{ReachCell, ReachEvent};

use crate::DeadLetter;
use crate::broadcast::ACTIONS;
use crate::reach::{KINDS, PLATFORMS};

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (any::<i64>(), any::<i64>()).prop_map(|(app_id, uid)| Mailbox::new(app_id, uid))
}

fn message_body() -> impl Strategy<Value = MessageBody> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<String>(), any::<String>(), any::<i64>()),
    )
        .prop_map(
            |(
                (from_uid, to_uid, contacter),
                (category, kind, priority, business_type),
                (msgkey, content, expire_at_s),
            )| MessageBody {
                from_uid,
                to_uid,
                contacter,
                category,
                kind,
                priority,
                business_type,
                msgkey,
                content,
                expire_at_s,
            },
        )
}

/// Every variant of the newest version.
pub(super) fn mailbox_event() -> impl Strategy<Value = MailboxEvent> {
    let send = option::of((any::<String>(), vec(any::<i64>(), 0..8)))
        .prop_map(|send| send.map(|(request_id, recipients)| SendRecord { request_id, recipients }));
    prop_oneof![
        (mailbox(), any::<String>(), any::<i64>(), message_body(), send).prop_map(
            |(mailbox, dedupe_key, create_time_us, body, send)| {
                MailboxEvent::Delivered(Delivery { mailbox, dedupe_key, create_time_us, body, send })
            }
        ),
        mailbox_changes(),
        (mailbox(), any::<String>(), any::<i64>()).prop_map(|(mailbox, dedupe_key, at_us)| MailboxEvent::Recalled {
            mailbox,
            dedupe_key,
            at_us
        }),
        (mailbox(), btree_map(any::<String>(), any::<String>(), 0..6))
            .prop_map(|(mailbox, attributes)| MailboxEvent::AttributesReplaced { mailbox, attributes }),
    ]
}

/// What version 1 could write: its four branches, a delivery without `send`.
pub(super) fn v1_mailbox_event() -> impl Strategy<Value = MailboxEvent> {
    prop_oneof![
        (mailbox(), any::<String>(), any::<i64>(), message_body()).prop_map(
            |(mailbox, dedupe_key, create_time_us, body)| {
                MailboxEvent::Delivered(Delivery { mailbox, dedupe_key, create_time_us, body, send: None })
            }
        ),
        mailbox_changes(),
    ]
}

/// The owner's changes to a mailbox, the same in every version.
fn mailbox_changes() -> impl Strategy<Value = MailboxEvent> {
    prop_oneof![
        (mailbox(), any::<i64>()).prop_map(|(mailbox, up_to)| MailboxEvent::ReadUpTo { mailbox, up_to }),
        (mailbox(), any::<i64>()).prop_map(|(mailbox, msg_id)| MailboxEvent::MessageDeleted { mailbox, msg_id }),
        (mailbox(), any::<i64>())
            .prop_map(|(mailbox, broadcast_id)| { MailboxEvent::BroadcastHidden { mailbox, broadcast_id } }),
    ]
}

fn content() -> impl Strategy<Value = BroadcastContent> {
    let audience =
        (vec(select(Platform::ALL.to_vec()), 0..8), option::of(any::<i64>()), option::of(any::<i64>()), any::<bool>())
            .prop_map(|(platforms, min_core_level, max_core_level, logged_in_only)| Audience {
                platforms,
                min_core_level,
                max_core_level,
                logged_in_only,
            });
    let format = option::of(any::<String>()).prop_map(|fallback| match fallback {
        Some(fallback_content) => ContentFormat::Template { fallback_content },
        None => ContentFormat::Text,
    });
    ((any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()), (any::<String>(), format, any::<i64>(), audience))
        .prop_map(|((category, kind, priority, business_type), (content, format, expire_at_s, audience))| {
            BroadcastContent { category, kind, priority, business_type, content, format, expire_at_s, audience }
        })
}

pub(super) fn broadcast_event() -> impl Strategy<Value = BroadcastEvent> {
    let change = prop_oneof![
        (any::<i64>(), content())
            .prop_map(|(broadcast_id, content)| BroadcastChange::Created { broadcast_id, content }),
        (any::<i64>(), any::<i32>(), content()).prop_map(|(broadcast_id, revision, content)| {
            BroadcastChange::Modified { broadcast_id, revision, content }
        }),
        (any::<i64>(), any::<i32>(), select(ACTIONS.map(|(action, _)| action).to_vec()))
            .prop_map(|(broadcast_id, revision, action)| BroadcastChange::Lifecycle { broadcast_id, revision, action }),
        (any::<i32>(), vec(any::<i64>(), 0..20))
            .prop_map(|(revision, uids)| BroadcastChange::WhitelistReplaced { revision, uids }),
    ];
    let actor = prop_oneof![
        Just(None),
        ".*".prop_map(|name| Some(Actor::Operator(name))),
        ".*".prop_map(|name| Some(Actor::App(name))),
    ];
    (any::<i64>(), any::<i64>(), change, actor).prop_map(|(app_id, at_us, change, actor)| BroadcastEvent {
        app_id,
        at_us,
        change,
        actor,
    })
}

pub(super) fn notify_signal() -> impl Strategy<Value = NotifySignal> {
    prop_oneof![
        (mailbox(), any::<i64>()).prop_map(|(mailbox, latest_msg_id)| NotifySignal::Mailbox { mailbox, latest_msg_id }),
        (any::<i64>(), any::<i64>()).prop_map(|(app_id, seq)| NotifySignal::Public { app_id, seq }),
    ]
}

pub(super) fn dead_letter() -> impl Strategy<Value = DeadLetter> {
    (
        (any::<String>(), any::<i32>(), any::<i64>()),
        (vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..256)),
        (any::<String>(), any::<i64>()),
    )
        .prop_map(|((source_topic, partition, offset), (key, payload), (reason, at_us))| DeadLetter {
            source_topic,
            partition,
            offset,
            key,
            payload,
            reason,
            at_us,
        })
}

pub(super) fn reach_event() -> impl Strategy<Value = ReachEvent> {
    let cell = (select(&KINDS[..]), select(&PLATFORMS[..]), any::<i64>(), vec(any::<u8>(), 0..64))
        .prop_map(|((kind, _), (platform, _), hour, sketch)| ReachCell { kind, platform, hour, sketch });
    (any::<i64>(), any::<i64>(), vec(cell, 0..5)).prop_map(|(app_id, broadcast_id, cells)| ReachEvent {
        app_id,
        broadcast_id,
        cells,
    })
}
