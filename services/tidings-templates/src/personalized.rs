//! A templated broadcast as each viewer sees it: the render context built from the viewer
//! and their attributes, and the rendering, or the fallback content when it fails. The pull
//! workers and the console's preview share it, so a preview shows what a pull would.

use std::collections::BTreeMap;

use tidings_domain::broadcast::{BroadcastContent, ContentFormat};
use tidings_domain::client::Viewer;

use crate::{Context, RenderError, Template};

impl Context {
    /// What a template sees of `viewer`, whose attributes are `attrs`.
    pub fn for_viewer(viewer: &Viewer, attrs: &BTreeMap<String, String>) -> Self {
        Self {
            uid: viewer.uid,
            platform: viewer.version.platform.map(|platform| platform.as_str().to_owned()),
            app_version: viewer.version.app_version.clone(),
            core_level: viewer.version.core_level,
            attrs: attrs.clone(),
        }
    }
}

/// A templated broadcast's content, compiled once for every viewer's render.
#[derive(Debug, Clone)]
pub struct TemplatedContent {
    /// `None` when the source does not compile: ingest refuses those, but a business
    /// server producing events itself may not (docs/producing-events.md).
    template: Option<Template>,
    fallback_content: String,
}

/// Why a viewer was shown the fallback content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fallback {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the template does not compile")]
    NotCompiled,
}

impl Fallback {
    /// A short name of the cause, for metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Fallback::Render(error) => error.reason(),
            Fallback::NotCompiled => "not_compiled",
        }
    }
}

/// What one viewer sees of a templated broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalized {
    pub content: String,
    /// Why `content` is the fallback content; `None` when it is the rendering.
    pub fell_back: Option<Fallback>,
}

impl TemplatedContent {
    /// The compiled template of `content`; `None` when its format is text.
    pub fn of(content: &BroadcastContent) -> Option<Self> {
        let ContentFormat::Template { fallback_content } = &content.format else { return None };
        Some(Self { template: crate::compile(&content.content).ok(), fallback_content: fallback_content.clone() })
    }

    /// The rendering for `context`'s viewer, or the fallback content and why.
    pub fn personalize(&self, context: &Context) -> Personalized {
        let rendered = match &self.template {
            Some(template) => crate::render(template, context).map_err(Fallback::from),
            None => Err(Fallback::NotCompiled),
        };
        match rendered {
            Ok(content) => Personalized { content, fell_back: None },
            Err(fallback) => Personalized { content: self.fallback_content.clone(), fell_back: Some(fallback) },
        }
    }
}

#[cfg(test)]
mod tests {
    use tidings_domain::client::{ClientVersion, Platform};

    use super::*;

    fn templated(source: &str) -> BroadcastContent {
        BroadcastContent {
            content: source.into(),
            format: ContentFormat::Template { fallback_content: "Hello".into() },
            ..Default::default()
        }
    }

    #[test]
    fn the_context_holds_the_viewers_client_fields_and_attributes() {
        let version =
            ClientVersion { platform: Some(Platform::Ios), app_version: Some("8.0".into()), core_level: Some(3) };
        let viewer = Viewer { uid: 42, guest: false, version };
        let attrs = BTreeMap::from([("nickname".to_owned(), "Ada".to_owned())]);
        let compiled = TemplatedContent::of(&templated(
            "{{ uid }} {{ platform }} {{ app_version }} {{ core_level }} {{ attrs.nickname }}",
        ));
        let shown = compiled.expect("templated").personalize(&Context::for_viewer(&viewer, &attrs));
        assert_eq!(shown, Personalized { content: "42 ios 8.0 3 Ada".into(), fell_back: None });
    }

    #[test]
    fn a_failed_render_or_a_broken_template_shows_the_fallback_and_why() {
        let viewer = Context::default();
        let undefined = TemplatedContent::of(&templated("Hi {{ attrs.nickname }}")).expect("templated");
        let shown = undefined.personalize(&viewer);
        assert_eq!(shown.content, "Hello");
        assert_eq!(shown.fell_back.map(|why| why.reason()), Some("failed"));
        let broken = TemplatedContent::of(&templated("{% if %}")).expect("templated").personalize(&viewer);
        assert_eq!((broken.content.as_str(), broken.fell_back), ("Hello", Some(Fallback::NotCompiled)));
    }

    #[test]
    fn text_has_no_template() {
        assert!(
            TemplatedContent::of(&BroadcastContent { content: "{{ uid }}".into(), ..Default::default() }).is_none()
        );
    }
}
