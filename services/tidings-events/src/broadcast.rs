//! [`BroadcastEvent`] ⇄ `schemas/avro/broadcast_event`.

use apache_avro::types::Value;
use tidings_domain::audit::Actor;
use tidings_domain::broadcast::{Audience, BroadcastContent, ContentFormat, LifecycleAction};
use tidings_domain::client::Platform;
use tidings_domain::event::{BroadcastChange, BroadcastEvent};

use crate::avro::value::{Fields, optional_long, record, union};

/// The record names of the branches of `BroadcastEvent.change`, in schema order (never
/// reordered, only appended; a test checks them against the schema).
pub(crate) const BRANCHES: [&str; 4] = ["Created", "Modified", "Lifecycle", "WhitelistReplaced"];
const CREATED: u32 = 0;
const MODIFIED: u32 = 1;
const LIFECYCLE: u32 = 2;
const WHITELIST_REPLACED: u32 = 3;

/// The symbols of the `LifecycleAction` enum, in schema order.
pub(crate) const ACTIONS: [(LifecycleAction, &str); 5] = [
    (LifecycleAction::PrePublish, "pre_publish"),
    (LifecycleAction::Publish, "publish"),
    (LifecycleAction::Stop, "stop"),
    (LifecycleAction::Recall, "recall"),
    (LifecycleAction::Delete, "delete"),
];

pub(crate) fn to_value(event: &BroadcastEvent) -> Value {
    let (branch, change) = match &event.change {
        BroadcastChange::Created { broadcast_id, content } => {
            (CREATED, record([("broadcast_id", Value::Long(*broadcast_id)), ("content", content_to_value(content))]))
        }
        BroadcastChange::Modified { broadcast_id, revision, content } => (
            MODIFIED,
            record([
                ("broadcast_id", Value::Long(*broadcast_id)),
                ("revision", Value::Int(*revision)),
                ("content", content_to_value(content)),
            ]),
        ),
        BroadcastChange::Lifecycle { broadcast_id, revision, action } => (
            LIFECYCLE,
            record([
                ("broadcast_id", Value::Long(*broadcast_id)),
                ("revision", Value::Int(*revision)),
                ("action", action_to_value(*action)),
            ]),
        ),
        BroadcastChange::WhitelistReplaced { revision, uids } => (
            WHITELIST_REPLACED,
            record([
                ("revision", Value::Int(*revision)),
                ("uids", Value::Array(uids.iter().copied().map(Value::Long).collect())),
            ]),
        ),
    };
    record([
        ("app_id", Value::Long(event.app_id)),
        ("at_us", Value::Long(event.at_us)),
        ("change", union(branch, change)),
        ("actor", actor_to_value(event.actor.as_ref())),
    ])
}

pub(crate) fn from_value(value: Value) -> Result<BroadcastEvent, String> {
    let mut event = Fields::of("BroadcastEvent", value)?;
    let app_id = event.long("app_id")?;
    let at_us = event.long("at_us")?;
    let (branch, mut fields) = event.record_union("change", &BRANCHES)?;
    let change = match branch {
        CREATED => BroadcastChange::Created {
            broadcast_id: fields.long("broadcast_id")?,
            content: content_from_fields(fields.record("content", "BroadcastContent")?)?,
        },
        MODIFIED => BroadcastChange::Modified {
            broadcast_id: fields.long("broadcast_id")?,
            revision: fields.int("revision")?,
            content: content_from_fields(fields.record("content", "BroadcastContent")?)?,
        },
        LIFECYCLE => BroadcastChange::Lifecycle {
            broadcast_id: fields.long("broadcast_id")?,
            revision: fields.int("revision")?,
            action: action_from_symbol(&fields.symbol("action")?)?,
        },
        WHITELIST_REPLACED => {
            BroadcastChange::WhitelistReplaced { revision: fields.int("revision")?, uids: fields.longs("uids")? }
        }
        _ => unreachable!("BRANCHES has one name per branch"),
    };
    let actor = event.optional_record("actor", "Actor")?.map(actor_from_fields).transpose()?;
    Ok(BroadcastEvent { app_id, at_us, change, actor })
}

/// The symbols of the `ActorKind` enum, in schema order.
pub(crate) const ACTOR_KINDS: [&str; 2] = ["operator", "app"];

/// `["null", Actor]`: null is branch 0.
fn actor_to_value(actor: Option<&Actor>) -> Value {
    let Some(actor) = actor else { return union(0, Value::Null) };
    let kind = match actor {
        Actor::Operator(_) => 0,
        Actor::App(_) => 1,
    };
    let fields = [
        ("kind", Value::Enum(kind, ACTOR_KINDS[kind as usize].to_owned())),
        ("name", Value::String(actor.name().to_owned())),
    ];
    union(1, record(fields))
}

fn actor_from_fields(mut fields: Fields) -> Result<Actor, String> {
    let kind = fields.symbol("kind")?;
    let name = fields.string("name")?;
    match kind.as_str() {
        "operator" => Ok(Actor::Operator(name)),
        "app" => Ok(Actor::App(name)),
        other => Err(format!("Actor.kind: unknown symbol {other:?}")),
    }
}

fn content_to_value(content: &BroadcastContent) -> Value {
    record([
        ("category", Value::Int(content.category)),
        ("type", Value::Int(content.kind)),
        ("priority", Value::Int(content.priority)),
        ("business_type", Value::Int(content.business_type)),
        ("content", Value::String(content.content.clone())),
        ("expire_at_s", Value::Long(content.expire_at_s)),
        ("audience", audience_to_value(&content.audience)),
        ("template", format_to_value(&content.format)),
    ])
}

fn content_from_fields(mut fields: Fields) -> Result<BroadcastContent, String> {
    Ok(BroadcastContent {
        category: fields.int("category")?,
        kind: fields.int("type")?,
        priority: fields.int("priority")?,
        business_type: fields.int("business_type")?,
        content: fields.string("content")?,
        expire_at_s: fields.long("expire_at_s")?,
        audience: audience_from_fields(fields.record("audience", "Audience")?)?,
        format: match fields.optional_record("template", "Template")? {
            Some(mut template) => ContentFormat::Template { fallback_content: template.string("fallback_content")? },
            None => ContentFormat::Text,
        },
    })
}

/// `BroadcastContent.template`: null for plain text (and in events written before v3).
fn format_to_value(format: &ContentFormat) -> Value {
    match format {
        ContentFormat::Text => union(0, Value::Null),
        ContentFormat::Template { fallback_content } => {
            union(1, record([("fallback_content", Value::String(fallback_content.clone()))]))
        }
    }
}

fn audience_to_value(audience: &Audience) -> Value {
    let platforms = audience.platforms.iter().map(|platform| platform_to_value(*platform)).collect();
    record([
        ("platforms", Value::Array(platforms)),
        ("min_core_level", optional_long(audience.min_core_level)),
        ("max_core_level", optional_long(audience.max_core_level)),
        ("logged_in_only", Value::Boolean(audience.logged_in_only)),
    ])
}

fn audience_from_fields(mut fields: Fields) -> Result<Audience, String> {
    let platforms = fields
        .array("platforms")?
        .into_iter()
        .map(|platform| match platform {
            Value::Enum(_, symbol) => symbol.parse::<Platform>().map_err(|error| error.to_string()),
            other => Err(format!("Audience.platforms: expected enum symbols, found {other:?}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Audience {
        platforms,
        min_core_level: fields.optional_long("min_core_level")?,
        max_core_level: fields.optional_long("max_core_level")?,
        logged_in_only: fields.boolean("logged_in_only")?,
    })
}

/// `Platform` symbols are the domain's own names, in the order of [`Platform::ALL`].
fn platform_to_value(platform: Platform) -> Value {
    let index = Platform::ALL.iter().position(|p| *p == platform).expect("Platform::ALL lists every platform");
    Value::Enum(index as u32, platform.as_str().to_owned())
}

fn action_to_value(action: LifecycleAction) -> Value {
    let index = ACTIONS.iter().position(|(a, _)| *a == action).expect("ACTIONS lists every lifecycle action");
    Value::Enum(index as u32, ACTIONS[index].1.to_owned())
}

fn action_from_symbol(symbol: &str) -> Result<LifecycleAction, String> {
    ACTIONS
        .iter()
        .find(|(_, s)| *s == symbol)
        .map(|(action, _)| *action)
        .ok_or_else(|| format!("Lifecycle.action: unknown symbol {symbol:?}"))
}
