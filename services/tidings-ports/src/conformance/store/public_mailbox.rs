//! Checks of the public mailbox: broadcasts and public state written, read back and
//! loaded for the pull workers' cache.

use std::sync::Arc;

use tidings_domain::broadcast::{Broadcast, BroadcastContent, BroadcastState, ContentFormat, LifecycleAction};
use tidings_domain::public::{PublicMailbox, PublicState, Whitelist};
use tidings_domain::{AppId, BroadcastId, PublicSeq};

use crate::conformance::unique_id;
use crate::store::Store;

fn content(text: &str) -> BroadcastContent {
    BroadcastContent {
        category: 1,
        kind: 2,
        priority: 3,
        business_type: 4,
        content: text.to_owned(),
        format: ContentFormat::Text,
        expire_at_s: 4_000_000_000,
        audience: Default::default(),
    }
}

/// Even ids are templates, so every check stores and reads back both formats.
fn draft(app_id: AppId, broadcast_id: BroadcastId) -> Broadcast {
    let content = match broadcast_id % 2 {
        0 => BroadcastContent {
            format: ContentFormat::Template { fallback_content: format!("broadcast {broadcast_id}") },
            ..content(&format!("broadcast {{{{ uid }}}} {broadcast_id}"))
        },
        _ => content(&format!("broadcast {broadcast_id}")),
    };
    Broadcast::draft(app_id, broadcast_id, content, 1_700_000_000_000_000 + broadcast_id)
}

fn transitioned(broadcast: &Broadcast, actions: &[LifecycleAction], first_seq: PublicSeq) -> Broadcast {
    let mut broadcast = broadcast.clone();
    for (step, action) in actions.iter().enumerate() {
        let at_us = broadcast.updated_at_us + 1_000;
        broadcast = broadcast.transitioned(*action, at_us, first_seq + step as PublicSeq).expect("legal transition").0;
    }
    broadcast
}

async fn apply_public(store: &dyn Store, app_id: AppId, broadcast: Option<&Broadcast>, state: &PublicState) {
    store.apply_public_change(app_id, broadcast, state).await.expect("apply_public_change");
}

async fn public_reads(
    store: &dyn Store,
    app_id: AppId,
    ids: &[BroadcastId],
) -> (Vec<Option<Broadcast>>, Vec<Broadcast>, PublicState) {
    let mut each = Vec::new();
    for id in ids {
        each.push(store.broadcast(app_id, *id).await.expect("broadcast"));
    }
    let listed = store.list_broadcasts(app_id).await.expect("list_broadcasts");
    let state = store.public_state(app_id).await.expect("public_state");
    (each, listed, state)
}

fn whitelist(members: &[(i64, PublicSeq)]) -> Whitelist {
    Whitelist { members: members.iter().copied().collect() }
}

/// What `apply_public_change` stores reads back through `broadcast`, `list_broadcasts`
/// (by numeric id, every state) and `public_state`, for that app only.
pub async fn public_changes_read_back(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let app_id = unique_id();
    let other_app = unique_id();
    assert_eq!(public_reads(store, app_id, &[3]).await, (vec![None], vec![], PublicState::default()));

    let initial = PublicState::default();
    apply_public(store, app_id, Some(&draft(app_id, 100)), &initial).await;
    apply_public(store, app_id, Some(&draft(app_id, 20)), &initial).await;
    apply_public(store, app_id, Some(&draft(app_id, 3)), &initial).await;
    let published = transitioned(&draft(app_id, 20), &[LifecycleAction::Publish], 1);
    let after_publish = PublicState { last_seq: 1, whitelist: Whitelist::default(), ..PublicState::default() };
    apply_public(store, app_id, Some(&published), &after_publish).await;
    let deleted = transitioned(&draft(app_id, 3), &[LifecycleAction::Delete], 2);
    apply_public(store, app_id, Some(&deleted), &after_publish).await;
    let with_whitelist =
        PublicState { last_seq: 2, whitelist: whitelist(&[(11, 2), (12, 2)]), ..PublicState::default() };
    apply_public(store, app_id, None, &with_whitelist).await;

    assert_eq!(
        public_reads(store, app_id, &[3, 20, 100, 4]).await,
        (
            vec![Some(deleted.clone()), Some(published.clone()), Some(draft(app_id, 100)), None],
            vec![deleted, published, draft(app_id, 100)],
            with_whitelist,
        )
    );
    assert_eq!(public_reads(store, other_app, &[20]).await, (vec![None], vec![], PublicState::default()));
}

/// Applying the same public change again changes nothing.
pub async fn reapplying_a_public_change_is_idempotent(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let app_id = unique_id();
    let published = transitioned(&draft(app_id, 7), &[LifecycleAction::Publish], 1);
    let state = PublicState { last_seq: 1, whitelist: whitelist(&[(5, 1)]), ..PublicState::default() };
    apply_public(store, app_id, Some(&published), &state).await;
    let once = public_reads(store, app_id, &[7]).await;
    apply_public(store, app_id, Some(&published), &state).await;
    apply_public(store, app_id, None, &state).await;
    assert_eq!(public_reads(store, app_id, &[7]).await, once);
    assert_eq!(once.1, vec![published]);
}

/// The app's public mailbox holds its pre-published and published broadcasts and its
/// whitelist; drafts, stopped, recalled and deleted ones stay out of what pulls show (a
/// recalled one is kept apart, for its delete command).
pub async fn load_public_mailboxes_holds_visible_broadcasts_and_whitelist(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let app_id = unique_id();
    use LifecycleAction::{Delete, PrePublish, Publish, Recall, Stop};
    let broadcasts = vec![
        draft(app_id, 1),
        transitioned(&draft(app_id, 2), &[PrePublish], 1),
        transitioned(&draft(app_id, 3), &[Publish], 2),
        transitioned(&draft(app_id, 4), &[PrePublish, Publish], 3),
        transitioned(&draft(app_id, 5), &[Publish, Stop], 5),
        transitioned(&draft(app_id, 6), &[Publish, Recall], 6),
        transitioned(&draft(app_id, 7), &[Publish, Delete], 7),
        transitioned(&draft(app_id, 8), &[Delete], 8),
    ];
    let state = PublicState { last_seq: 9, whitelist: whitelist(&[(21, 1), (22, 9)]), ..PublicState::default() };
    for broadcast in &broadcasts {
        apply_public(store, app_id, Some(broadcast), &state).await;
    }

    let loaded = store.load_public_mailboxes().await.expect("load_public_mailboxes");
    let mine: Vec<&PublicMailbox> = loaded.iter().filter(|m| m.app_id == app_id).collect();
    assert_eq!(mine.len(), 1, "public mailboxes of the app: {mine:?}");
    let mailbox = mine[0];
    let mut visible: Vec<(BroadcastId, BroadcastState)> =
        mailbox.broadcasts().iter().map(|b| (b.broadcast_id, b.state)).collect();
    visible.sort_by_key(|(broadcast_id, _)| *broadcast_id);
    assert_eq!(
        visible,
        [(2, BroadcastState::PrePublished), (3, BroadcastState::Published), (4, BroadcastState::Published),]
    );
    // Equal also in the recalled broadcast kept for its command: its recall was stored.
    assert_eq!(*mailbox, PublicMailbox::new(app_id, broadcasts, state.whitelist));
}
