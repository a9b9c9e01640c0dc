//! Personalized broadcasts at pull time: each templated broadcast of a cached public
//! mailbox compiled once per version, rendered for the viewer into the page's entries.

use std::collections::{BTreeMap, HashMap};

use tidings_domain::BroadcastId;
use tidings_domain::client::Viewer;
use tidings_domain::public::PublicMailbox;
use tidings_domain::sync::{MailboxEntry, Source};
use tidings_templates::{Context, TemplatedContent};
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
    content: TemplatedContent,
}

impl CompiledTemplates {
    /// Compiles the templated broadcasts of `mailbox`, reusing from `previous` each one
    /// whose version it already compiled.
    pub fn compile(mailbox: &PublicMailbox, previous: Option<&CompiledTemplates>) -> Self {
        let by_broadcast = mailbox
            .broadcasts()
            .iter()
            .filter_map(|broadcast| {
                let reused = previous
                    .and_then(|previous| previous.by_broadcast.get(&broadcast.broadcast_id))
                    .filter(|compiled| compiled.version == broadcast.version);
                let compiled = match reused {
                    Some(compiled) => compiled.clone(),
                    None => CompiledBroadcast {
                        version: broadcast.version,
                        content: TemplatedContent::of(&broadcast.content)?,
                    },
                };
                Some((broadcast.broadcast_id, compiled))
            })
            .collect();
        Self { by_broadcast }
    }

    /// Replaces the content of each templated broadcast among `entries` by its rendering
    /// for `viewer` (whose attributes are `attrs`), or by its fallback where that fails.
    /// Commands about a broadcast (a recall's delete) keep their empty content: a recalled
    /// broadcast's words don't travel with the order to drop it.
    pub fn personalize(&self, entries: &mut [MailboxEntry], viewer: &Viewer, attrs: &BTreeMap<String, String>) {
        if self.by_broadcast.is_empty() {
            return;
        }
        let context = Context::for_viewer(viewer, attrs);
        for entry in entries {
            if entry.source != Source::Public {
                continue;
            }
            let Some(compiled) = entry.broadcast_id.and_then(|id| self.by_broadcast.get(&id)) else { continue };
            let shown = compiled.content.personalize(&context);
            match &shown.fell_back {
                None => metrics::counter!(RENDERS_TOTAL).increment(1),
                Some(fallback) => {
                    let reason = fallback.reason();
                    debug!(broadcast_id = entry.broadcast_id, reason, "template fell back to its plain content");
                    metrics::counter!(FALLBACKS_TOTAL, "reason" => reason).increment(1);
                }
            }
            entry.content = shown.content;
        }
    }
}

#[cfg(test)]
mod tests {
    use tidings_domain::broadcast::{BroadcastContent, ContentFormat};
    use tidings_domain::client::ClientVersion;
    use tidings_domain::sync::Command;

    use super::*;

    fn entry_about(broadcast_id: BroadcastId, command: Option<Command>) -> MailboxEntry {
        MailboxEntry {
            msg_id: 1,
            source: if command.is_some() { Source::Command } else { Source::Public },
            from_uid: 0,
            to_uid: 0,
            contacter: 0,
            create_time: 1,
            expire: 0,
            is_read: false,
            category: 0,
            kind: 0,
            priority: 0,
            business_type: 0,
            app_id: 1,
            msgkey: String::new(),
            content: String::new(),
            broadcast_id: Some(broadcast_id),
            command,
        }
    }

    #[test]
    fn the_broadcast_is_rendered_and_a_command_about_it_stays_empty() {
        let content = BroadcastContent {
            content: "Hi {{ uid }}".into(),
            format: ContentFormat::Template { fallback_content: "Hi".into() },
            ..Default::default()
        };
        let compiled = CompiledBroadcast { version: 1, content: TemplatedContent::of(&content).expect("templated") };
        let templates = CompiledTemplates { by_broadcast: HashMap::from([(7, compiled)]) };
        let mut entries = vec![entry_about(7, None), entry_about(7, Some(Command::Delete { msg_ids: vec![1] }))];
        let viewer = Viewer { uid: 42, guest: false, version: ClientVersion::default() };
        templates.personalize(&mut entries, &viewer, &BTreeMap::new());
        assert_eq!(entries[0].content, "Hi 42");
        assert_eq!(entries[1].content, "", "the delete command carries no content");
    }
}
