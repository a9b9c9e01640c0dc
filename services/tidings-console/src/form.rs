//! Submitted forms: the CSRF check every mutation passes first, and the broadcast editor's
//! fields parsed into ingest's commands, each problem named by the API's field name so it is
//! shown next to its input (the same names ingest's own errors use).

use std::collections::BTreeMap;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use tidings_domain::broadcast::{Audience, BroadcastContent, ContentFormat};
use tidings_domain::client::Platform;
use tidings_domain::{FieldError, Uid};
use tidings_ingest::{BroadcastDraft, BroadcastPatch, ContentFormatKind};

use crate::ConsoleState;
use crate::refusal::Refusal;
use crate::session::Session;

/// A form's fields, in the order sent; checkboxes are present only when checked.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl From<Vec<(String, String)>> for Fields {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A POST from a logged-in operator whose form carries the session's CSRF token. Any other
/// POST is refused before its handler runs.
#[derive(Debug)]
pub struct Mutation {
    pub session: Session,
    pub fields: Fields,
}

impl FromRequest<ConsoleState> for Mutation {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| Refusal::Csrf)?;
        let fields = Fields(pairs);
        if !session.accepts_csrf(fields.get("csrf")) {
            return Err(Refusal::Csrf);
        }
        Ok(Self { session, fields })
    }
}

/// Problems with a form, by field name.
pub type FieldErrors = BTreeMap<String, String>;

pub fn errors_of(error: FieldError) -> FieldErrors {
    FieldErrors::from([(error.field, error.reason)])
}

/// The broadcast editor's inputs, as typed (so a refused form comes back as it was sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditorValues {
    pub content: String,
    /// `text` or `template`.
    pub content_format: String,
    pub fallback_content: String,
    pub category: String,
    pub kind: String,
    pub priority: String,
    pub business_type: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub expire_at: String,
    pub platforms: Vec<Platform>,
    pub min_core_level: String,
    pub max_core_level: String,
    pub logged_in_only: bool,
}

/// The editor's input names: the API's field names.
pub mod names {
    pub const CONTENT: &str = "content";
    pub const CONTENT_FORMAT: &str = "content_format";
    pub const FALLBACK_CONTENT: &str = "fallback_content";
    pub const CATEGORY: &str = "category";
    pub const KIND: &str = "type";
    pub const PRIORITY: &str = "priority";
    pub const BUSINESS_TYPE: &str = "business_type";
    pub const EXPIRE_AT: &str = "expire_at";
    pub const PLATFORMS: &str = "audience.platforms";
    pub const MIN_CORE_LEVEL: &str = "audience.min_core_level";
    pub const MAX_CORE_LEVEL: &str = "audience.max_core_level";
    pub const LOGGED_IN_ONLY: &str = "audience.logged_in_only";

    /// The checkbox of one platform.
    pub fn platform(platform: tidings_domain::client::Platform) -> String {
        format!("{PLATFORMS}.{}", platform.as_str())
    }
}

/// What the editor parsed: the content fields of a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub category: i32,
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    pub content: String,
    pub format: ContentFormat,
    pub expire_at: i64,
    pub audience: Audience,
}

impl EditorValues {
    /// A blank draft, expiring in a week.
    pub fn blank(now_s: i64) -> Self {
        let zero = || "0".to_owned();
        Self {
            content_format: ContentFormat::Text.as_str().to_owned(),
            category: zero(),
            kind: zero(),
            priority: zero(),
            business_type: zero(),
            expire_at: datetime_input(now_s + 7 * 86_400),
            ..Default::default()
        }
    }

    pub fn of(content: &BroadcastContent) -> Self {
        let level = |level: Option<i64>| level.map(|l| l.to_string()).unwrap_or_default();
        let fallback_content = match &content.format {
            ContentFormat::Text => String::new(),
            ContentFormat::Template { fallback_content } => fallback_content.clone(),
        };
        Self {
            content: content.content.clone(),
            content_format: content.format.as_str().to_owned(),
            fallback_content,
            category: content.category.to_string(),
            kind: content.kind.to_string(),
            priority: content.priority.to_string(),
            business_type: content.business_type.to_string(),
            expire_at: datetime_input(content.expire_at_s),
            platforms: content.audience.platforms.clone(),
            min_core_level: level(content.audience.min_core_level),
            max_core_level: level(content.audience.max_core_level),
            logged_in_only: content.audience.logged_in_only,
        }
    }

    pub fn from_fields(fields: &Fields) -> Self {
        Self {
            content: fields.get(names::CONTENT).unwrap_or_default().to_owned(),
            content_format: fields.text(names::CONTENT_FORMAT),
            fallback_content: fields.get(names::FALLBACK_CONTENT).unwrap_or_default().to_owned(),
            category: fields.text(names::CATEGORY),
            kind: fields.text(names::KIND),
            priority: fields.text(names::PRIORITY),
            business_type: fields.text(names::BUSINESS_TYPE),
            expire_at: fields.text(names::EXPIRE_AT),
            platforms: Platform::ALL.into_iter().filter(|p| fields.checked(&names::platform(*p))).collect(),
            min_core_level: fields.text(names::MIN_CORE_LEVEL),
            max_core_level: fields.text(names::MAX_CORE_LEVEL),
            logged_in_only: fields.checked(names::LOGGED_IN_ONLY),
        }
    }

    /// The values as a broadcast's content, or every problem found, by field.
    pub fn parse(&self) -> Result<Edited, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut int = |name: &str, value: &str| match value.parse::<i32>() {
            Ok(n) => n,
            Err(_) => {
                errors.insert(name.to_owned(), format!("{value:?} is not a whole number"));
                0
            }
        };
        let (category, kind) = (int(names::CATEGORY, &self.category), int(names::KIND, &self.kind));
        let (priority, business_type) =
            (int(names::PRIORITY, &self.priority), int(names::BUSINESS_TYPE, &self.business_type));
        let mut level = |name: &str, value: &str| match value {
            "" => None,
            value => value
                .parse::<i64>()
                .map_err(|_| errors.insert(name.into(), format!("{value:?} is not a whole number")))
                .ok(),
        };
        let min_core_level = level(names::MIN_CORE_LEVEL, &self.min_core_level);
        let max_core_level = level(names::MAX_CORE_LEVEL, &self.max_core_level);
        let expire_at = parse_datetime_input(&self.expire_at)
            .map_err(|reason| errors.insert(names::EXPIRE_AT.into(), reason))
            .unwrap_or_default();
        let format = self.format().map_err(|error| errors.insert(error.field, error.reason)).unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Edited {
            category,
            kind,
            priority,
            business_type,
            content: self.content.clone(),
            format,
            expire_at,
            audience: Audience {
                platforms: self.platforms.clone(),
                min_core_level,
                max_core_level,
                logged_in_only: self.logged_in_only,
            },
        })
    }

    /// The chosen format; a template's fallback is checked by the domain's own rule, so the
    /// form shows that problem with the others. The fallback of a text broadcast is dropped:
    /// the field stays on the page whatever the choice.
    fn format(&self) -> Result<ContentFormat, FieldError> {
        let format = match self.content_format.as_str() {
            // A form without the choice (an older page) is text, as in the API.
            "" | "text" => ContentFormat::Text,
            "template" => ContentFormat::Template { fallback_content: self.fallback_content.clone() },
            other => {
                return Err(FieldError::new(names::CONTENT_FORMAT, format!("{other:?} is not text or template")));
            }
        };
        format.validate()?;
        Ok(format)
    }
}

impl Edited {
    pub fn draft(self) -> BroadcastDraft {
        let (content_format, fallback_content) = format_fields(self.format);
        BroadcastDraft {
            category: Some(self.category),
            kind: Some(self.kind),
            priority: Some(self.priority),
            business_type: Some(self.business_type),
            content: self.content,
            content_format: Some(content_format),
            fallback_content,
            expire_at: self.expire_at,
            audience: Some(self.audience),
        }
    }

    /// Every field replaced: the editor shows them all.
    pub fn patch(self) -> BroadcastPatch {
        let (content_format, fallback_content) = format_fields(self.format);
        BroadcastPatch {
            category: Some(self.category),
            kind: Some(self.kind),
            priority: Some(self.priority),
            business_type: Some(self.business_type),
            content: Some(self.content),
            content_format: Some(content_format),
            fallback_content,
            expire_at: Some(self.expire_at),
            audience: Some(self.audience),
        }
    }
}

/// A format as the API's `content_format` and `fallback_content` fields.
fn format_fields(format: ContentFormat) -> (ContentFormatKind, Option<String>) {
    match format {
        ContentFormat::Text => (ContentFormatKind::Text, None),
        ContentFormat::Template { fallback_content } => (ContentFormatKind::Template, Some(fallback_content)),
    }
}

/// Unix seconds as a `datetime-local` input's value, in UTC.
pub fn datetime_input(unix_s: i64) -> String {
    jiff::Timestamp::from_second(unix_s).map(|at| at.strftime("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
}

fn parse_datetime_input(value: &str) -> Result<i64, String> {
    let civil: jiff::civil::DateTime =
        value.parse().map_err(|_| format!("{value:?} is not a date and time (YYYY-MM-DDTHH:MM, UTC)"))?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).map(|at| at.as_second()).map_err(|error| format!("{value:?}: {error}"))
}

/// A whitelist as typed: uids separated by commas, spaces or lines.
pub fn parse_uids(text: &str) -> Result<Vec<Uid>, FieldError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|token| !token.is_empty())
        .map(|token| token.parse::<Uid>().map_err(|_| FieldError::new("uids", format!("{token:?} is not a uid"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn an_edited_form_becomes_a_draft() {
        let form = fields(&[
            ("content", "Hello"),
            ("category", "1"),
            ("type", "2"),
            ("priority", "3"),
            ("business_type", "4"),
            ("expire_at", "2030-01-02T03:04"),
            ("audience.platforms.ios", "on"),
            ("audience.platforms.web", "on"),
            ("audience.min_core_level", "100"),
            ("audience.max_core_level", ""),
            ("audience.logged_in_only", "on"),
        ]);
        let edited = EditorValues::from_fields(&form).parse().unwrap();
        assert_eq!(edited.expire_at, 1_893_553_440);
        assert_eq!(edited.audience.platforms, vec![Platform::Ios, Platform::Web]);
        assert_eq!((edited.audience.min_core_level, edited.audience.max_core_level), (Some(100), None));
        assert!(edited.audience.logged_in_only);
        assert_eq!((edited.category, edited.kind, edited.priority, edited.business_type), (1, 2, 3, 4));
    }

    #[test]
    fn every_bad_field_is_named() {
        let form = fields(&[
            ("content", "x"),
            ("category", "one"),
            ("expire_at", "tomorrow"),
            ("audience.min_core_level", "1.5"),
        ]);
        let errors = EditorValues::from_fields(&form).parse().unwrap_err();
        let named: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(named, ["audience.min_core_level", "business_type", "category", "expire_at", "priority", "type"]);
        assert!(errors["expire_at"].contains("\"tomorrow\""), "{errors:?}");
    }

    #[test]
    fn a_template_carries_its_fallback_and_one_without_is_refused_naming_the_field() {
        let template = |fallback: &str| {
            let form = fields(&[
                ("content", "Hello {{ uid }}"),
                ("content_format", "template"),
                ("fallback_content", fallback),
                ("category", "0"),
                ("type", "0"),
                ("priority", "0"),
                ("business_type", "0"),
                ("expire_at", "2030-01-02T03:04"),
            ]);
            EditorValues::from_fields(&form).parse()
        };
        let draft = template("Hello").unwrap().draft();
        assert_eq!(draft.content_format, Some(ContentFormatKind::Template));
        assert_eq!(draft.fallback_content.as_deref(), Some("Hello"));
        let errors = template("").unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["fallback_content"], "{errors:?}");
        assert!(errors["fallback_content"].contains("must not be empty"), "{errors:?}");
    }

    #[test]
    fn text_drops_a_typed_fallback_and_an_unknown_format_is_named() {
        let mut values = EditorValues::blank(0);
        values.fallback_content = "left over".into();
        let patch = values.clone().parse().unwrap().patch();
        assert_eq!((patch.content_format, patch.fallback_content), (Some(ContentFormatKind::Text), None));
        let unknown = EditorValues { content_format: "html".into(), ..values }.parse().unwrap_err();
        assert_eq!(unknown["content_format"], "\"html\" is not text or template");
    }

    #[test]
    fn a_broadcast_round_trips_through_the_editor() {
        let content = BroadcastContent {
            category: 5,
            content: "Sale for {{ uid }}".into(),
            format: ContentFormat::Template { fallback_content: "Sale".into() },
            expire_at_s: 1_893_553_440,
            audience: Audience { platforms: vec![Platform::Android], max_core_level: Some(9), ..Default::default() },
            ..Default::default()
        };
        let edited = EditorValues::of(&content).parse().unwrap();
        assert_eq!(
            (edited.category, edited.content.as_str(), edited.expire_at),
            (5, "Sale for {{ uid }}", 1_893_553_440)
        );
        assert_eq!((edited.format, edited.audience), (content.format, content.audience));
    }

    #[test]
    fn whitelists_parse_or_name_the_bad_uid() {
        assert_eq!(parse_uids("1, 2\n3  4"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(parse_uids(""), Ok(vec![]));
        assert_eq!(parse_uids("1 x2").unwrap_err().reason, "\"x2\" is not a uid");
    }
}
