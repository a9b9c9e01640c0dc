//! Operators' broadcast commands and the whitelist.

use std::collections::BTreeSet;
use std::time::Instant;
use tidings_reach::ReachStats;

use tidings_domain::audit::{Actor, AuditEntry, AuditSubject};
use tidings_domain::broadcast::{
    Audience, Broadcast, BroadcastContent, BroadcastState, ContentFormat, LifecycleAction,
};
use tidings_domain::event::{BroadcastChange, BroadcastEvent, broadcast_log_key};
use tidings_domain::time::{now_s, now_us};
use tidings_domain::{AppId, BroadcastId, FieldError, Uid};
use tidings_ports::OutgoingRecord;

use crate::{Ingest, IngestError, PROJECTION_POLL};

/// A new draft (`POST /v1/apps/{app_id}/broadcasts` in the HTTP API); unset fields take
/// their defaults. Field names are those of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastDraft {
    pub category: Option<i32>,
    pub kind: Option<i32>,
    pub priority: Option<i32>,
    pub business_type: Option<i32>,
    pub content: String,
    /// `text` when unset.
    pub content_format: Option<ContentFormatKind>,
    /// Required with `content_format` template, refused without.
    pub fallback_content: Option<String>,
    /// Unix seconds after which the broadcast is gone from every pull.
    pub expire_at: i64,
    pub audience: Option<Audience>,
}

/// The API's `content_format`: how `content` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentFormatKind {
    Text,
    /// A template rendered per user at pull (`tidings-templates`).
    Template,
}

/// The format that `kind` and `fallback_content` ask for, the rest taken from `current`.
fn resolve_format(
    kind: Option<ContentFormatKind>,
    fallback_content: Option<&String>,
    current: &ContentFormat,
) -> Result<ContentFormat, FieldError> {
    let current_fallback = match current {
        ContentFormat::Text => None,
        ContentFormat::Template { fallback_content } => Some(fallback_content),
    };
    let kind = kind.unwrap_or(match current_fallback {
        Some(_) => ContentFormatKind::Template,
        None => ContentFormatKind::Text,
    });
    // Switching a template to text drops its fallback: only one the change itself gives is
    // refused.
    match (kind, fallback_content) {
        (ContentFormatKind::Text, None) => Ok(ContentFormat::Text),
        (ContentFormatKind::Text, Some(_)) => {
            Err(FieldError::new("fallback_content", "is only for content_format template"))
        }
        (ContentFormatKind::Template, fallback) => {
            Ok(ContentFormat::Template { fallback_content: fallback.or(current_fallback).cloned().unwrap_or_default() })
        }
    }
}

impl BroadcastDraft {
    /// A draft of `content` for every user, gone at `expire_at` (Unix seconds), with every
    /// optional field left out.
    pub fn text(content: impl Into<String>, expire_at: i64) -> Self {
        Self {
            category: None,
            kind: None,
            priority: None,
            business_type: None,
            content: content.into(),
            content_format: None,
            fallback_content: None,
            expire_at,
            audience: None,
        }
    }

    fn content(&self) -> Result<BroadcastContent, FieldError> {
        Ok(BroadcastContent {
            category: self.category.unwrap_or(0),
            kind: self.kind.unwrap_or(0),
            priority: self.priority.unwrap_or(0),
            business_type: self.business_type.unwrap_or(0),
            content: self.content.clone(),
            format: resolve_format(self.content_format, self.fallback_content.as_ref(), &ContentFormat::Text)?,
            expire_at_s: self.expire_at,
            audience: self.audience.clone().unwrap_or_default(),
        })
    }
}

/// A modification (`PATCH /v1/apps/{app_id}/broadcasts/{id}`): the fields to change; the
/// rest stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastPatch {
    pub category: Option<i32>,
    pub kind: Option<i32>,
    pub priority: Option<i32>,
    pub business_type: Option<i32>,
    pub content: Option<String>,
    pub content_format: Option<ContentFormatKind>,
    pub fallback_content: Option<String>,
    pub expire_at: Option<i64>,
    pub audience: Option<Audience>,
}

impl BroadcastPatch {
    fn applied_to(&self, current: &BroadcastContent) -> Result<BroadcastContent, FieldError> {
        let format = resolve_format(self.content_format, self.fallback_content.as_ref(), &current.format)?;
        let current = current.clone();
        Ok(BroadcastContent {
            category: self.category.unwrap_or(current.category),
            kind: self.kind.unwrap_or(current.kind),
            priority: self.priority.unwrap_or(current.priority),
            business_type: self.business_type.unwrap_or(current.business_type),
            content: self.content.clone().unwrap_or(current.content),
            format,
            expire_at_s: self.expire_at.unwrap_or(current.expire_at_s),
            audience: self.audience.clone().unwrap_or(current.audience),
        })
    }
}

/// A broadcast command's result: the broadcast as the command leaves it, and whether the
/// projection already shows it (else it is durably accepted and on its way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastApplied {
    pub broadcast: Broadcast,
    pub projected: bool,
}

impl Ingest {
    /// Every command names its `actor`, which the event carries into the audit trail.
    pub async fn create_broadcast(
        &self,
        app_id: AppId,
        request: &BroadcastDraft,
        actor: &Actor,
    ) -> Result<BroadcastApplied, IngestError> {
        let content = request.content()?;
        self.check_content(&content)?;
        let broadcast_id = self.broadcast_ids.next();
        let expected_content = content.clone();
        let event = self.broadcast_event(app_id, BroadcastChange::Created { broadcast_id, content }, actor);
        let expected = Broadcast::draft(app_id, broadcast_id, expected_content, event.at_us);
        self.append_broadcast("create_broadcast", &event).await?;
        self.await_projection(expected).await
    }

    pub async fn modify_broadcast(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
        patch: &BroadcastPatch,
        actor: &Actor,
    ) -> Result<BroadcastApplied, IngestError> {
        let current = self.broadcast(app_id, broadcast_id).await?;
        let content = patch.applied_to(&current.content)?;
        self.check_content(&content)?;
        let revision = current.revision + 1;
        let change = BroadcastChange::Modified { broadcast_id, revision, content: content.clone() };
        let event = self.broadcast_event(app_id, change, actor);
        let expected = current.modified(content, event.at_us)?;
        self.append_broadcast("modify_broadcast", &event).await?;
        self.await_projection(expected).await
    }

    pub async fn broadcast_action(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
        action: LifecycleAction,
        actor: &Actor,
    ) -> Result<BroadcastApplied, IngestError> {
        let current = self.broadcast(app_id, broadcast_id).await?;
        let revision = current.revision + 1;
        let event = self.broadcast_event(app_id, BroadcastChange::Lifecycle { broadcast_id, revision, action }, actor);
        // The public position is the projector's to assign; the expectation carries the state.
        let (expected, _) = current.transitioned(action, event.at_us, 0)?;
        self.append_broadcast(action.as_str(), &event).await?;
        self.await_projection(expected).await
    }

    /// A broadcast that exists and is not deleted.
    pub async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Broadcast, IngestError> {
        self.store
            .broadcast(app_id, broadcast_id)
            .await?
            .filter(|b| b.state != BroadcastState::Deleted)
            .ok_or_else(|| IngestError::NotFound(format!("broadcast {broadcast_id} of app {app_id}")))
    }

    /// The broadcast's reach (docs/design.md#reach), from its stored sketches.
    pub async fn broadcast_reach(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<ReachStats, IngestError> {
        let sketches = self.store.reach(app_id, broadcast_id).await?;
        Ok(ReachStats::from_sketches(sketches.iter().map(|(key, sketch)| (key, sketch))))
    }

    /// The app's broadcasts that are not deleted, by id.
    pub async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, IngestError> {
        let mut all = self.store.list_broadcasts(app_id).await?;
        all.retain(|b| b.state != BroadcastState::Deleted);
        Ok(all)
    }

    pub async fn whitelist(&self, app_id: AppId) -> Result<Vec<Uid>, IngestError> {
        Ok(self.store.public_state(app_id).await?.whitelist.uids())
    }

    /// Replaces the app's whitelist; returns whether the projection already shows it.
    pub async fn replace_whitelist(&self, app_id: AppId, uids: &[Uid], actor: &Actor) -> Result<bool, IngestError> {
        if uids.len() > self.settings.max_whitelist_uids {
            return Err(
                FieldError::new("uids", format!("has more than {} uids", self.settings.max_whitelist_uids)).into()
            );
        }
        if let Some(bad) = uids.iter().find(|uid| **uid <= 0) {
            return Err(FieldError::new("uids", format!("{bad} is not a positive uid")).into());
        }
        let wanted: BTreeSet<Uid> = uids.iter().copied().collect();
        let revision = self.store.public_state(app_id).await?.whitelist_revision + 1;
        let change = BroadcastChange::WhitelistReplaced { revision, uids: wanted.iter().copied().collect() };
        self.append_broadcast("replace_whitelist", &self.broadcast_event(app_id, change, actor)).await?;
        let deadline = Instant::now() + self.settings.projection_wait;
        while Instant::now() < deadline {
            let state = self.store.public_state(app_id).await?;
            if state.whitelist_revision >= revision {
                return match state.whitelist.uids().into_iter().collect::<BTreeSet<_>>() == wanted {
                    true => Ok(true),
                    false => Err(IngestError::Superseded("the whitelist".into())),
                };
            }
            tokio::time::sleep(PROJECTION_POLL).await;
        }
        Ok(false)
    }

    /// The domain's rules, the size limit (of the fallback too), and a template compiles.
    fn check_content(&self, content: &BroadcastContent) -> Result<(), FieldError> {
        content.validate(now_s())?;
        let mut texts = vec![("content", &content.content)];
        if let ContentFormat::Template { fallback_content } = &content.format {
            texts.push(("fallback_content", fallback_content));
        }
        for (field, text) in texts {
            if text.len() > self.settings.max_content_bytes {
                return Err(FieldError::new(
                    field,
                    format!("is {} bytes, above the maximum of {}", text.len(), self.settings.max_content_bytes),
                ));
            }
        }
        if matches!(content.format, ContentFormat::Template { .. }) {
            tidings_templates::compile(&content.content)
                .map_err(|error| FieldError::new("content", format!("is not a valid template: {error}")))?;
        }
        Ok(())
    }

    fn broadcast_event(&self, app_id: AppId, change: BroadcastChange, actor: &Actor) -> BroadcastEvent {
        BroadcastEvent { app_id, at_us: now_us(), change, actor: Some(actor.clone()) }
    }

    /// Up to `limit` entries of the app's audit trail (only those of `subject` when given:
    /// one broadcast, or the whitelist), newest first. `limit` is capped at
    /// [`MAX_AUDIT_LIMIT`].
    pub async fn audit(
        &self,
        app_id: AppId,
        subject: Option<AuditSubject>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, IngestError> {
        Ok(self.store.audit(app_id, subject, limit.min(MAX_AUDIT_LIMIT)).await?)
    }

    async fn append_broadcast(&self, operation: &'static str, event: &BroadcastEvent) -> Result<(), IngestError> {
        let record = OutgoingRecord {
            topic: self.topics.broadcast.clone(),
            key: broadcast_log_key(event.app_id).into_bytes(),
            payload: self.codec.encode_broadcast(event),
        };
        self.append(operation, vec![record]).await
    }

    /// Waits, up to the configured wait, until the projection reaches the revision that
    /// `expected` has; answers with the stored broadcast, or with `expected` when the wait
    /// ran out. Another change that took the revision first (a racing operator) is a
    /// conflict: this one then changed nothing.
    async fn await_projection(&self, expected: Broadcast) -> Result<BroadcastApplied, IngestError> {
        let deadline = Instant::now() + self.settings.projection_wait;
        while Instant::now() < deadline {
            let stored = self.store.broadcast(expected.app_id, expected.broadcast_id).await?;
            if let Some(broadcast) = stored.filter(|b| b.revision >= expected.revision) {
                let ours = broadcast.revision == expected.revision && broadcast.updated_at_us == expected.updated_at_us;
                if !ours {
                    return Err(IngestError::Superseded(format!("broadcast {}", expected.broadcast_id)));
                }
                return Ok(BroadcastApplied { broadcast, projected: true });
            }
            tokio::time::sleep(PROJECTION_POLL).await;
        }
        Ok(BroadcastApplied { broadcast: expected, projected: false })
    }
}

/// The most audit entries one [`Ingest::audit`] call returns.
pub const MAX_AUDIT_LIMIT: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_format_keeps_or_drops_the_fallback_as_it_asks() {
        let template = ContentFormat::Template { fallback_content: "Hello".into() };
        let text = Some(ContentFormatKind::Text);
        assert_eq!(resolve_format(text, None, &template), Ok(ContentFormat::Text), "back to text drops it");
        assert_eq!(resolve_format(None, None, &template), Ok(template.clone()), "no change keeps it");
        let other = "Hi".to_owned();
        let replaced = ContentFormat::Template { fallback_content: other.clone() };
        assert_eq!(resolve_format(None, Some(&other), &template), Ok(replaced));
        assert_eq!(resolve_format(text, Some(&other), &template).unwrap_err().field, "fallback_content");
        let to_template = resolve_format(Some(ContentFormatKind::Template), Some(&other), &ContentFormat::Text);
        assert_eq!(to_template, Ok(ContentFormat::Template { fallback_content: other }));
    }
}
