//! The CQL text of every statement of the store, prepared once at connect.

use scylla::client::session::Session;
use scylla::statement::Statement;
use scylla::statement::prepared::PreparedStatement;
use tidings_ports::{MsgRange, Order, StoreError};

use crate::error;

/// Rows per page of the full scan of the public mailboxes.
const SCAN_PAGE_ROWS: i32 = 1_000;

const MESSAGE_COLUMNS: &str = "app_id, uid, msg_id, create_time_us, dedupe_key, from_uid, to_uid, contacter, \
                               category, type, priority, business_type, msgkey, content, expire_at_s, recalls";

/// The store's tables, which statements name without their keyspace.
const TABLES: [&str; 8] = [
    "messages",
    "deliveries",
    "broadcasts",
    "replay_checkpoints",
    "operators",
    "audit_by_app",
    "audit_by_subject",
    "sends",
];

/// Every statement of the store, prepared once at connect.
#[derive(Debug)]
pub(crate) struct Statements {
    pub insert_message: PreparedStatement,
    pub insert_delivery: PreparedStatement,
    pub raise_head: PreparedStatement,
    pub raise_read_up_to: PreparedStatement,
    pub hide_broadcasts: PreparedStatement,
    pub replace_attributes: PreparedStatement,
    pub delete_message: PreparedStatement,
    pub mailbox_state: PreparedStatement,
    pub find_delivery: PreparedStatement,
    /// Indexed by [`Statements::read_mailbox_index`].
    read_mailbox: Vec<PreparedStatement>,
    pub public_state: PreparedStatement,
    pub broadcast: PreparedStatement,
    pub list_broadcasts: PreparedStatement,
    pub upsert_broadcast: PreparedStatement,
    pub set_public_state: PreparedStatement,
    pub scan_public: PreparedStatement,
    pub index_send: PreparedStatement,
    pub find_send: PreparedStatement,
}

impl Statements {
    pub(crate) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let plain = |text: String| prepare(session, keyspace, text, None);
        let mut read_mailbox = Vec::new();
        for index in 0..8 {
            let (after, before, descending) = (index & 1 != 0, index & 2 != 0, index & 4 != 0);
            read_mailbox.push(plain(read_mailbox_cql(after, before, descending)).await?);
        }
        Ok(Self {
            insert_message: plain(format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (:app_id, :uid, :msg_id, :create_time_us, \
                 :dedupe_key, :from_uid, :to_uid, :contacter, :category, :type, :priority, :business_type, \
                 :msgkey, :content, :expire_at_s, :recalls) USING TTL :ttl"
            ))
            .await?,
            insert_delivery: plain(
                "INSERT INTO deliveries (app_id, uid, dedupe_key, msg_id) VALUES (:app_id, :uid, :dedupe_key, :msg_id)"
                    .into(),
            )
            .await?,
            raise_head: plain(
                "UPDATE messages USING TIMESTAMP :written_at SET head = :head WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            raise_read_up_to: plain(
                "UPDATE messages USING TIMESTAMP :written_at SET read_up_to = :read_up_to \
                 WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            hide_broadcasts: plain(
                "UPDATE messages SET hidden_broadcasts = hidden_broadcasts + :hidden_broadcasts \
                 WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            // The whole map: a later call's write, taking a later timestamp, wins.
            replace_attributes: plain(
                "UPDATE messages SET attributes = :attributes \
                 WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            delete_message: plain(
                "DELETE FROM messages WHERE app_id = :app_id AND uid = :uid AND msg_id = :msg_id".into(),
            )
            .await?,
            mailbox_state: plain(
                "SELECT DISTINCT app_id, uid, head, read_up_to, hidden_broadcasts, attributes FROM messages \
                 WHERE app_id = ? AND uid = ?"
                    .into(),
            )
            .await?,
            find_delivery: plain(
                "SELECT msg_id FROM deliveries WHERE app_id = ? AND uid = ? AND dedupe_key = ?".into(),
            )
            .await?,
            read_mailbox,
            public_state: plain(
                "SELECT DISTINCT app_id, last_seq, whitelist, whitelist_revision FROM broadcasts WHERE app_id = ?"
                    .into(),
            )
            .await?,
            broadcast: plain("SELECT body FROM broadcasts WHERE app_id = ? AND broadcast_id = ?".into()).await?,
            list_broadcasts: plain("SELECT broadcast_id, body FROM broadcasts WHERE app_id = ?".into()).await?,
            upsert_broadcast: plain(
                "INSERT INTO broadcasts (app_id, broadcast_id, body) VALUES (:app_id, :broadcast_id, :body)".into(),
            )
            .await?,
            set_public_state: plain(
                "UPDATE broadcasts SET last_seq = :last_seq, whitelist = :whitelist, \
                 whitelist_revision = :whitelist_revision WHERE app_id = :app_id"
                    .into(),
            )
            .await?,
            scan_public: prepare(
                session,
                keyspace,
                "SELECT app_id, broadcast_id, body, whitelist FROM broadcasts".into(),
                Some(SCAN_PAGE_ROWS),
            )
            .await?,
            index_send: plain(
                "INSERT INTO sends (app_id, send_key, uid, dedupe_key) VALUES (:app_id, :send_key, :uid, :dedupe_key)"
                    .into(),
            )
            .await?,
            find_send: plain("SELECT uid, dedupe_key FROM sends WHERE app_id = ? AND send_key = ?".into()).await?,
        })
    }

    /// The mailbox read for `range` and `order`: its values are `app_id, uid`, then the
    /// bounds `range` has, then the limit.
    pub(crate) fn read_mailbox(&self, range: MsgRange, order: Order) -> &PreparedStatement {
        &self.read_mailbox[Self::read_mailbox_index(range.after.is_some(), range.before.is_some(), order)]
    }

    fn read_mailbox_index(after: bool, before: bool, order: Order) -> usize {
        usize::from(after) | usize::from(before) << 1 | usize::from(order == Order::Descending) << 2
    }
}

fn read_mailbox_cql(after: bool, before: bool, descending: bool) -> String {
    let mut cql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_id = ? AND uid = ?");
    if after {
        cql.push_str(" AND msg_id > ?");
    }
    if before {
        cql.push_str(" AND msg_id < ?");
    }
    cql.push_str(if descending { " ORDER BY msg_id DESC" } else { " ORDER BY msg_id ASC" });
    cql.push_str(" LIMIT ?");
    cql
}

/// Prepares `text` with its tables qualified by `keyspace`: a statement that leans on the
/// session's `USE <keyspace>` is ambiguous, and Cassandra warns on every one.
pub(crate) async fn prepare(
    session: &Session,
    keyspace: &str,
    text: String,
    page_size: Option<i32>,
) -> Result<PreparedStatement, StoreError> {
    let qualified = TABLES.iter().fold(format!("{text} "), |text, table| {
        ["FROM", "INTO", "UPDATE"].iter().fold(text, |text, keyword| {
            text.replace(&format!("{keyword} {table} "), &format!("{keyword} {keyspace}.{table} "))
        })
    });
    let text = qualified.trim_end().to_owned();
    let mut statement = Statement::new(text.clone());
    // Every statement of the store can run twice with the same effect, so the driver may
    // retry it after a timeout.
    statement.set_is_idempotent(true);
    if let Some(page_size) = page_size {
        statement.set_page_size(page_size);
    }
    let what = format!("prepare {text:?}");
    session.prepare(statement).await.map_err(|e| error::prepare(&what, e))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn each_range_and_order_has_its_statement() {
        let mut seen = BTreeSet::new();
        for after in [false, true] {
            for before in [false, true] {
                for order in [Order::Ascending, Order::Descending] {
                    let index = Statements::read_mailbox_index(after, before, order);
                    let cql = read_mailbox_cql(after, before, order == Order::Descending);
                    assert_eq!(cql.contains("msg_id > ?"), after);
                    assert_eq!(cql.contains("msg_id < ?"), before);
                    assert_eq!(cql.contains("DESC"), order == Order::Descending);
                    assert!(seen.insert(index), "index {index} taken twice");
                }
            }
        }
        assert_eq!(seen, (0..8).collect());
        // The loop in `Statements::prepare` builds them in index order.
        for index in 0..8 {
            let order = if index & 4 != 0 { Order::Descending } else { Order::Ascending };
            assert_eq!(Statements::read_mailbox_index(index & 1 != 0, index & 2 != 0, order), index);
        }
    }
}
