//! Personalized broadcasts at pull time: each templated broadcast of a cached public
//! mailbox compiled once per version, rendered for the viewer into the page's entries.

use std::collections::{BTreeMap, HashMap};

use tidings_domain::BroadcastId;
use tidings_domain::broadcast::ContentFormat;
use tidings_domain::client::Viewer;
use tidings_domain::public::PublicMailbox;
use tidings_domain::sync::MailboxEntry;
use tidings_templates::{Context, Template};
use tracing::debug;

const FALLBACKS_TOTAL: &str = "tidings_puller_template_fallbacks_total";
const RENDERS_TOTAL: &str = "tidings_puller_template_renders_total";

pub(crate) fn describe_metrics() {
    metrics::describe_counter!(
        FALLBACKS_TOTAL,
        "templated broadcasts shown with their fallback content, by reason (a limit, a failed render, a template that does not compile)"
    );
    metrics::describe_counter!(RENDERS_TOTAL, "templated broadcasts rendered for a user");
}

/// The compiled templates of one app's templated broadcasts.
#[derive(Debug, Default)]
pub struct CompiledTemplates {
    by_broadcast: HashMap<BroadcastId, CompiledBroadcast>,
}

#[derive(Debug, Clone)]
struct CompiledBroadcast {
    version: i32,
    /// `None` when the source does not compile: ingest refuses those, but a business
    /// server producing events itself may not (docs/producing-events.md).
    template: Option<Template>,
    fallback_content: String,
}

impl CompiledTemplates {
    /// Compiles the templated broadcasts of `mailbox`, reusing from `previous` each one
    /// whose version it already compiled.
    pub fn compile(mailbox: &PublicMailbox, previous: Option<&CompiledTemplates>) -> Self {
        let by_broadcast = mailbox
            .broadcasts()
            .iter()
            .filter_map(|broadcast| {
                let ContentFormat::Template { fallback_content } = &broadcast.content.format else { return None };
                let reused = previous
                    .and_then(|previous| previous.by_broadcast.get(&broadcast.broadcast_id))
                    .filter(|compiled| compiled.version == broadcast.version);
                let compiled = reused.cloned().unwrap_or_else(|| CompiledBroadcast {
                    version: broadcast.version,
                    template: tidings_templates::compile(&broadcast.content.content).ok(),
                    fallback_content: fallback_content.clone(),
                });
                Some((broadcast.broadcast_id, compiled))
            })
            .collect();
        Self { by_broadcast }
    }

    /// Replaces the content of each templated broadcast among `entries` by its rendering
    /// for `viewer` (whose attributes are `attrs`), or by its fallback where that fails.
    pub fn personalize(&self, entries: &mut [MailboxEntry], viewer: &Viewer, attrs: &BTreeMap<String, String>) {
        if self.by_broadcast.is_empty() {
            return;
        }
        let context = Context {
            uid: viewer.uid,
            platform: viewer.version.platform.map(|platform| platform.as_str().to_owned()),
            app_version: viewer.version.app_version.clone(),
            core_level: viewer.version.core_level,
            attrs: attrs.clone(),
        };
        for entry in entries {
            let Some(compiled) = entry.broadcast_id.and_then(|id| self.by_broadcast.get(&id)) else { continue };
            let rendered = match &compiled.template {
                Some(template) => tidings_templates::render(template, &context).map_err(|error| error.reason()),
                None => Err("not_compiled"),
            };
            entry.content = match rendered {
                Ok(content) => {
                    metrics::counter!(RENDERS_TOTAL).increment(1);
                    content
                }
                Err(reason) => {
                    debug!(broadcast_id = entry.broadcast_id, reason, "template fell back to its plain content");
                    metrics::counter!(FALLBACKS_TOTAL, "reason" => reason).increment(1);
                    compiled.fallback_content.clone()
                }
            };
        }
    }
}
