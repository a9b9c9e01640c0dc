//! Broadcasts, their audience and lifecycle, and the whitelist.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use tidings_domain::broadcast as domain;
use tidings_domain::client::Platform as DomainPlatform;
use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq, Uid};
use tidings_ingest::{BroadcastDraft, BroadcastPatch, ContentFormatKind};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::mirror_enum;

/// The client platform, as sent in the `platform` header or User-Agent token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Ios,
    Android,
    Win,
    Mac,
    Linux,
    Web,
}

mirror_enum!(Platform <=> DomainPlatform { Ios, Android, Win, Mac, Linux, Web });

/// Who may see a broadcast. Empty `platforms` means every platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audience {
    #[serde(default)]
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub min_core_level: Option<i64>,
    #[serde(default)]
    pub max_core_level: Option<i64>,
    /// Hide the broadcast from guests (devices not logged in to an account).
    #[serde(default)]
    pub logged_in_only: bool,
}

impl From<domain::Audience> for Audience {
    fn from(audience: domain::Audience) -> Self {
        Self {
            platforms: audience.platforms.into_iter().map(Platform::from).collect(),
            min_core_level: audience.min_core_level,
            max_core_level: audience.max_core_level,
            logged_in_only: audience.logged_in_only,
        }
    }
}

impl From<Audience> for domain::Audience {
    fn from(audience: Audience) -> Self {
        Self {
            platforms: audience.platforms.into_iter().map(DomainPlatform::from).collect(),
            min_core_level: audience.min_core_level,
            max_core_level: audience.max_core_level,
            logged_in_only: audience.logged_in_only,
        }
    }
}

/// How `content` is read: `text` as written; `template` a Jinja template rendered for
/// each user at pull, with `uid`, `platform`, `app_version`, `core_level` and `attrs` (the
/// user's attributes), `fallback_content` shown where it does not render.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentFormat {
    #[default]
    Text,
    Template,
}

mirror_enum!(ContentFormat <=> ContentFormatKind { Text, Template });

/// What an operator edits: the message fields of a broadcast, its expiry and audience.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BroadcastContent {
    pub category: i32,
    #[serde(rename = "type")]
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    pub content: String,
    pub content_format: ContentFormat,
    /// Set with `content_format` template only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_content: Option<String>,
    /// Unix seconds after which the broadcast is gone from every pull.
    pub expire_at_s: i64,
    pub audience: Audience,
}

impl From<domain::BroadcastContent> for BroadcastContent {
    fn from(content: domain::BroadcastContent) -> Self {
        Self {
            category: content.category,
            kind: content.kind,
            priority: content.priority,
            business_type: content.business_type,
            content: content.content,
            content_format: match content.format {
                domain::ContentFormat::Text => ContentFormat::Text,
                domain::ContentFormat::Template { .. } => ContentFormat::Template,
            },
            fallback_content: match content.format {
                domain::ContentFormat::Text => None,
                domain::ContentFormat::Template { fallback_content } => Some(fallback_content),
            },
            expire_at_s: content.expire_at_s,
            audience: content.audience.into(),
        }
    }
}

/// The lifecycle: draft → pre-published (whitelist only) → published → stopped | recalled;
/// delete removes it from any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastState {
    Draft,
    PrePublished,
    Published,
    Stopped,
    Recalled,
    Deleted,
}

mirror_enum!(BroadcastState <=> domain::BroadcastState { Draft, PrePublished, Published, Stopped, Recalled, Deleted });

/// A broadcast as the public mailbox holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Broadcast {
    pub app_id: AppId,
    pub broadcast_id: BroadcastId,
    /// The content version: starts at 1; every modification adds one. The identity
    /// (id, msg_id) never changes.
    pub version: i32,
    /// Starts at 1; every applied change (modification or lifecycle) adds one.
    pub revision: i32,
    pub state: BroadcastState,
    pub content: BroadcastContent,
    /// Its place in merged timelines: the time it first became visible, in microseconds.
    pub msg_id: Option<MsgId>,
    /// The public-mailbox position at which whitelisted users could first see it.
    pub prepublished_seq: Option<PublicSeq>,
    /// The public-mailbox position at which everyone eligible could first see it.
    pub published_seq: Option<PublicSeq>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
    /// Who it reached: given by `GET /v1/apps/{app_id}/broadcasts/{id}` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<super::Reach>,
}

impl From<domain::Broadcast> for Broadcast {
    fn from(broadcast: domain::Broadcast) -> Self {
        Self {
            app_id: broadcast.app_id,
            broadcast_id: broadcast.broadcast_id,
            version: broadcast.version,
            revision: broadcast.revision,
            state: broadcast.state.into(),
            content: broadcast.content.into(),
            msg_id: broadcast.msg_id,
            prepublished_seq: broadcast.prepublished_seq,
            published_seq: broadcast.published_seq,
            created_at_us: broadcast.created_at_us,
            updated_at_us: broadcast.updated_at_us,
            reach: None,
        }
    }
}

/// An operator's lifecycle command, as the last segment of
/// `POST /v1/apps/{app_id}/broadcasts/{id}/{action}`; its schema lists the domain's one
/// spelling of each action ([`domain::LifecycleAction::as_str`]).
#[derive(Debug)]
pub struct LifecycleAction;

impl utoipa::PartialSchema for LifecycleAction {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An operator's lifecycle command."))
            .enum_values(Some(domain::LifecycleAction::ALL.map(|action| action.as_str())))
            .into()
    }
}

impl ToSchema for LifecycleAction {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("LifecycleAction")
    }
}

/// `POST /v1/apps/{app_id}/broadcasts`: a new draft.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastDraftRequest {
    #[serde(default)]
    pub category: Option<i32>,
    #[serde(default, rename = "type")]
    pub kind: Option<i32>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub business_type: Option<i32>,
    /// At most `ingest.max_content_bytes` (65536 by default) bytes. With `content_format`
    /// template, a template that must compile (a 400 names its line and column).
    #[schema(min_length = 1)]
    pub content: String,
    /// `text` by default.
    #[serde(default)]
    pub content_format: Option<ContentFormat>,
    /// What a user sees when the template does not render for them: required with
    /// `content_format` template, refused otherwise; the same limits as `content`.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub fallback_content: Option<String>,
    /// Unix seconds after which the broadcast is gone from every pull; in the future.
    pub expire_at: i64,
    #[serde(default)]
    pub audience: Option<Audience>,
}

impl From<BroadcastDraftRequest> for BroadcastDraft {
    fn from(request: BroadcastDraftRequest) -> Self {
        Self {
            category: request.category,
            kind: request.kind,
            priority: request.priority,
            business_type: request.business_type,
            content: request.content,
            content_format: request.content_format.map(ContentFormatKind::from),
            fallback_content: request.fallback_content,
            expire_at: request.expire_at,
            audience: request.audience.map(domain::Audience::from),
        }
    }
}

/// `PATCH /v1/apps/{app_id}/broadcasts/{id}`: the fields to change; the rest stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastPatchRequest {
    #[serde(default)]
    pub category: Option<i32>,
    #[serde(default, rename = "type")]
    pub kind: Option<i32>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub business_type: Option<i32>,
    #[serde(default)]
    #[schema(min_length = 1)]
    pub content: Option<String>,
    /// Unset keeps the current format.
    #[serde(default)]
    pub content_format: Option<ContentFormat>,
    /// Replaces the fallback of a templated broadcast (or gives it, with `content_format`
    /// template).
    #[serde(default)]
    #[schema(min_length = 1)]
    pub fallback_content: Option<String>,
    /// In the future.
    #[serde(default)]
    pub expire_at: Option<i64>,
    #[serde(default)]
    pub audience: Option<Audience>,
}

impl From<BroadcastPatchRequest> for BroadcastPatch {
    fn from(request: BroadcastPatchRequest) -> Self {
        Self {
            category: request.category,
            kind: request.kind,
            priority: request.priority,
            business_type: request.business_type,
            content: request.content,
            content_format: request.content_format.map(ContentFormatKind::from),
            fallback_content: request.fallback_content,
            expire_at: request.expire_at,
            audience: request.audience.map(domain::Audience::from),
        }
    }
}

/// A list of broadcasts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastList {
    pub broadcasts: Vec<Broadcast>,
}

/// `GET|PUT /v1/apps/{app_id}/whitelist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhitelistBody {
    pub uids: Vec<Uid>,
}
