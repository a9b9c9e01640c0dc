//! Full-user broadcasts: what operators write once into an app's public mailbox.

use crate::client::{Platform, Viewer};
use crate::{AppId, BroadcastId, FieldError, MsgId, PublicSeq};

/// Who may see a broadcast. Empty `platforms` means every platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub platforms: Vec<Platform>,
    pub min_core_level: Option<i64>,
    pub max_core_level: Option<i64>,
    /// Hide the broadcast from guests (devices not logged in to an account).
    pub logged_in_only: bool,
}

impl Audience {
    /// A viewer that doesn't tell its platform or core level is outside any audience that
    /// restricts them: showing a broadcast to a client it may not render is the worse error.
    pub fn admits(&self, viewer: &Viewer) -> bool {
        if self.logged_in_only && viewer.guest {
            return false;
        }
        if !self.platforms.is_empty() && !viewer.version.platform.is_some_and(|p| self.platforms.contains(&p)) {
            return false;
        }
        let level = viewer.version.core_level;
        let above_min = self.min_core_level.is_none_or(|min| level.is_some_and(|l| l >= min));
        let below_max = self.max_core_level.is_none_or(|max| level.is_some_and(|l| l <= max));
        above_min && below_max
    }

    fn validate(&self) -> Result<(), FieldError> {
        if let (Some(min), Some(max)) = (self.min_core_level, self.max_core_level)
            && min > max
        {
            return Err(FieldError::new("audience.min_core_level", format!("{min} is above max_core_level {max}")));
        }
        Ok(())
    }
}

/// How a broadcast's `content` is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ContentFormat {
    /// Shown as written.
    #[default]
    Text,
    /// A template (Jinja syntax) rendered for each user at pull time; a render that fails
    /// shows `fallback_content` instead.
    Template { fallback_content: String },
}

impl ContentFormat {
    /// The format's one spelling, as in the API's `content_format`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ContentFormat::Text => "text",
            ContentFormat::Template { .. } => "template",
        }
    }

    /// A template needs the text a user sees when their render fails.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            ContentFormat::Template { fallback_content } if fallback_content.is_empty() => {
                Err(FieldError::new("fallback_content", "must not be empty when content_format is template"))
            }
            _ => Ok(()),
        }
    }
}

/// What an operator edits: the message fields of a broadcast, its expiry and audience.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastContent {
    pub category: i32,
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    pub content: String,
    pub format: ContentFormat,
    /// Unix seconds after which the broadcast is gone from every pull.
    pub expire_at_s: i64,
    pub audience: Audience,
}

impl BroadcastContent {
    /// Checks what the operator wrote, at ingest, before anything reaches the log.
    pub fn validate(&self, now_s: i64) -> Result<(), FieldError> {
        if self.content.is_empty() {
            return Err(FieldError::new("content", "must not be empty"));
        }
        self.format.validate()?;
        if self.expire_at_s <= now_s {
            return Err(FieldError::new(
                "expire_at",
                format!("{} is not in the future (now is {now_s})", self.expire_at_s),
            ));
        }
        self.audience.validate()
    }
}

/// The lifecycle: draft → pre-published (whitelist only) → published → stopped | recalled;
/// delete removes it from any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BroadcastState {
    Draft,
    PrePublished,
    Published,
    Stopped,
    Recalled,
    Deleted,
}

impl BroadcastState {
    pub fn as_str(&self) -> &'static str {
        match self {
            BroadcastState::Draft => "draft",
            BroadcastState::PrePublished => "pre_published",
            BroadcastState::Published => "published",
            BroadcastState::Stopped => "stopped",
            BroadcastState::Recalled => "recalled",
            BroadcastState::Deleted => "deleted",
        }
    }

    /// Whether the broadcast is in the public mailbox at all (for someone).
    pub fn is_visible(&self) -> bool {
        matches!(self, BroadcastState::PrePublished | BroadcastState::Published)
    }

    fn is_modifiable(&self) -> bool {
        matches!(self, BroadcastState::Draft | BroadcastState::PrePublished | BroadcastState::Published)
    }
}

/// An operator's lifecycle command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleAction {
    PrePublish,
    Publish,
    Stop,
    Recall,
    Delete,
}

impl LifecycleAction {
    pub const ALL: [LifecycleAction; 5] = [
        LifecycleAction::PrePublish,
        LifecycleAction::Publish,
        LifecycleAction::Stop,
        LifecycleAction::Recall,
        LifecycleAction::Delete,
    ];

    /// The action's one spelling: in the API's paths, its OpenAPI schema and messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            LifecycleAction::PrePublish => "prepublish",
            LifecycleAction::Publish => "publish",
            LifecycleAction::Stop => "stop",
            LifecycleAction::Recall => "recall",
            LifecycleAction::Delete => "delete",
        }
    }

    /// The state the action leads to from `from`, if it is allowed there.
    pub fn target(&self, from: BroadcastState) -> Option<BroadcastState> {
        use BroadcastState::*;
        match (self, from) {
            (LifecycleAction::PrePublish, Draft) => Some(PrePublished),
            (LifecycleAction::Publish, Draft | PrePublished) => Some(Published),
            (LifecycleAction::Stop, PrePublished | Published) => Some(Stopped),
            (LifecycleAction::Recall, PrePublished | Published) => Some(Recalled),
            (LifecycleAction::Delete, Draft | PrePublished | Published | Stopped | Recalled) => Some(Deleted),
            _ => None,
        }
    }
}

/// A name that is not one of the lifecycle actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no broadcast action {0:?}")]
pub struct UnknownAction(pub String);

impl std::str::FromStr for LifecycleAction {
    type Err = UnknownAction;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|action| action.as_str() == value).ok_or_else(|| UnknownAction(value.to_owned()))
    }
}

/// A command the broadcast's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a broadcast that is {from}")]
pub struct IllegalTransition {
    pub action: &'static str,
    pub from: &'static str,
}

/// A broadcast as the public mailbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Set once it is recalled: where the delete command for those who synced it stands.
    pub recall: Option<Recall>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// Where a recalled broadcast's delete command stands in the sync stream: a public position
/// of its own (the recall consumes one, like a publish), and the `msg_id` the command entry
/// carries (the time of the recall). See docs/design.md#recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recall {
    pub seq: PublicSeq,
    pub msg_id: MsgId,
}

/// The revision of a new draft: every applied change raises it by one.
pub const FIRST_REVISION: i32 = 1;

impl Broadcast {
    pub fn draft(app_id: AppId, broadcast_id: BroadcastId, content: BroadcastContent, at_us: i64) -> Self {
        Self {
            app_id,
            broadcast_id,
            version: 1,
            revision: FIRST_REVISION,
            state: BroadcastState::Draft,
            content,
            msg_id: None,
            prepublished_seq: None,
            published_seq: None,
            recall: None,
            created_at_us: at_us,
            updated_at_us: at_us,
        }
    }

    /// Replaces the content, keeping identity and visibility positions.
    pub fn modified(&self, content: BroadcastContent, at_us: i64) -> Result<Self, IllegalTransition> {
        if !self.state.is_modifiable() {
            return Err(IllegalTransition { action: "modify", from: self.state.as_str() });
        }
        Ok(Self {
            content,
            version: self.version + 1,
            revision: self.revision + 1,
            updated_at_us: at_us,
            ..self.clone()
        })
    }

    /// Applies a lifecycle action. `next_seq` is the app's next public position, used (and
    /// so consumed, as the second value says) when the action widens who can see it, or
    /// recalls it (the position of its delete command).
    pub fn transitioned(
        &self,
        action: LifecycleAction,
        at_us: i64,
        next_seq: PublicSeq,
    ) -> Result<(Self, bool), IllegalTransition> {
        let state = action
            .target(self.state)
            .ok_or(IllegalTransition { action: action.as_str(), from: self.state.as_str() })?;
        let mut next = Self { state, revision: self.revision + 1, updated_at_us: at_us, ..self.clone() };
        match state {
            BroadcastState::PrePublished | BroadcastState::Published => {
                next.msg_id.get_or_insert(at_us);
                match state {
                    BroadcastState::PrePublished => next.prepublished_seq = Some(next_seq),
                    _ => next.published_seq = Some(next_seq),
                }
            }
            BroadcastState::Recalled => next.recall = Some(Recall { seq: next_seq, msg_id: at_us }),
            _ => return Ok((next, false)),
        }
        Ok((next, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientVersion;

    #[test]
    fn every_action_parses_from_its_one_spelling() {
        for action in LifecycleAction::ALL {
            assert_eq!(action.as_str().parse::<LifecycleAction>(), Ok(action));
        }
        assert_eq!("pre_publish".parse::<LifecycleAction>(), Err(UnknownAction("pre_publish".into())));
    }

    fn content() -> BroadcastContent {
        BroadcastContent { content: "hello".into(), expire_at_s: 2_000, ..Default::default() }
    }

    #[test]
    fn full_lifecycle_assigns_identity_once() {
        let draft = Broadcast::draft(1, 7, content(), 10);
        let (pre, used) = draft.transitioned(LifecycleAction::PrePublish, 20, 1).unwrap();
        assert!(used);
        assert_eq!((pre.state, pre.msg_id, pre.prepublished_seq), (BroadcastState::PrePublished, Some(20), Some(1)));
        let (published, _) = pre.transitioned(LifecycleAction::Publish, 30, 2).unwrap();
        assert_eq!((published.msg_id, published.published_seq), (Some(20), Some(2)));
        let modified = published.modified(BroadcastContent { content: "v2".into(), ..content() }, 35).unwrap();
        assert_eq!((modified.version, modified.msg_id), (2, Some(20)));
        let (stopped, used) = modified.transitioned(LifecycleAction::Stop, 40, 3).unwrap();
        assert!(!used);
        assert_eq!(stopped.state, BroadcastState::Stopped);
    }

    #[test]
    fn illegal_transitions_are_named() {
        let draft = Broadcast::draft(1, 7, content(), 10);
        let error = draft.transitioned(LifecycleAction::Stop, 20, 1).unwrap_err();
        assert_eq!(error.to_string(), "cannot stop a broadcast that is draft");
        let (deleted, _) = draft.transitioned(LifecycleAction::Delete, 20, 1).unwrap();
        assert!(deleted.transitioned(LifecycleAction::Publish, 30, 1).is_err());
        assert!(deleted.modified(content(), 30).is_err());
        let (recalled, _) = draft
            .transitioned(LifecycleAction::Publish, 20, 1)
            .unwrap()
            .0
            .transitioned(LifecycleAction::Recall, 30, 2)
            .unwrap();
        assert_eq!(recalled.recall, Some(Recall { seq: 2, msg_id: 30 }), "a recall takes a position");
        assert!(recalled.transitioned(LifecycleAction::Publish, 40, 3).is_err());
        let (deleted, used) = recalled.transitioned(LifecycleAction::Delete, 40, 3).unwrap();
        assert!(!used);
        assert_eq!(deleted.recall, recalled.recall, "a delete keeps the command");
    }

    #[test]
    fn audience_filters_platform_level_and_guests() {
        let viewer = |platform: Option<Platform>, core_level: Option<i64>, guest: bool| Viewer {
            uid: 1,
            guest,
            version: ClientVersion { platform, app_version: None, core_level },
        };
        let audience = Audience {
            platforms: vec![Platform::Ios],
            min_core_level: Some(100),
            max_core_level: Some(200),
            logged_in_only: true,
        };
        assert!(audience.admits(&viewer(Some(Platform::Ios), Some(150), false)));
        assert!(!audience.admits(&viewer(Some(Platform::Android), Some(150), false)));
        assert!(!audience.admits(&viewer(Some(Platform::Ios), Some(99), false)));
        assert!(!audience.admits(&viewer(Some(Platform::Ios), Some(201), false)));
        assert!(!audience.admits(&viewer(Some(Platform::Ios), None, false)));
        assert!(!audience.admits(&viewer(Some(Platform::Ios), Some(150), true)));
        assert!(Audience::default().admits(&viewer(None, None, true)));
    }

    #[test]
    fn content_validation_names_the_field() {
        assert_eq!(BroadcastContent { content: String::new(), ..content() }.validate(0).unwrap_err().field, "content");
        assert_eq!(content().validate(2_000).unwrap_err().field, "expire_at");
        let inverted = BroadcastContent {
            audience: Audience { min_core_level: Some(5), max_core_level: Some(4), ..Default::default() },
            ..content()
        };
        assert_eq!(inverted.validate(0).unwrap_err().field, "audience.min_core_level");
        let no_fallback =
            BroadcastContent { format: ContentFormat::Template { fallback_content: String::new() }, ..content() };
        assert_eq!(no_fallback.validate(0).unwrap_err().field, "fallback_content");
    }
}
