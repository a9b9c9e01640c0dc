//! Recalling a private send (docs/design.md#recall): the send is found in the recall index
//! the projector keeps, and each recipient's mailbox gets a `Recalled` event.

use std::time::Instant;
use tidings_domain::event::{Delivery, MailboxEvent};
use tidings_domain::message::Mailbox;
use tidings_domain::time::now_us;
use tidings_domain::{AppId, FieldError, Uid};

use crate::{Ingest, IngestError, PROJECTION_POLL};

/// Which send to recall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendReference {
    /// The `request_id` the send was answered with.
    Request(String),
    /// The sender's msgkey: every send under it.
    Msgkey { from_uid: Uid, msgkey: String },
}

/// An accepted recall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallReceipt {
    /// How many mailboxes the recall goes to.
    pub recipients: usize,
}

/// The longest request id accepted: ingest hands out 30 characters.
const MAX_REQUEST_ID_BYTES: usize = 128;

impl SendReference {
    /// The recall index key, or the field at fault.
    fn index_key(&self, max_msgkey_bytes: usize) -> Result<String, FieldError> {
        match self {
            SendReference::Request(request_id) => {
                if request_id.is_empty() || request_id.len() > MAX_REQUEST_ID_BYTES {
                    return Err(FieldError::new("request_id", format!("must be 1 to {MAX_REQUEST_ID_BYTES} bytes")));
                }
                Ok(Delivery::request_key(request_id))
            }
            SendReference::Msgkey { from_uid, msgkey } => {
                if *from_uid < 0 {
                    return Err(FieldError::new("from_uid", "must not be negative (0 is the system)"));
                }
                if msgkey.is_empty() || msgkey.len() > max_msgkey_bytes {
                    return Err(FieldError::new("msgkey", format!("must be 1 to {max_msgkey_bytes} bytes")));
                }
                Ok(Delivery::dedupe_key_for(*from_uid, msgkey, ""))
            }
        }
    }

    /// Whether the send may be too recent to be indexed yet, and worth waiting for. A
    /// request id starts with its send's time (hex microseconds), so an old or unknown one
    /// isn't waited for. A msgkey tells no time: it is answered at once (a 404 for a send
    /// accepted a moment ago says to retry), or every unknown msgkey would wait.
    fn may_be_unindexed(&self, wait_us: i64) -> bool {
        match self {
            SendReference::Request(request_id) => request_id
                .split_once('-')
                .and_then(|(time, _)| i64::from_str_radix(time, 16).ok())
                .is_some_and(|sent_us| now_us() - sent_us < wait_us),
            SendReference::Msgkey { .. } => false,
        }
    }

    fn describe(&self) -> String {
        match self {
            SendReference::Request(request_id) => format!("send with request_id {request_id:?}"),
            SendReference::Msgkey { from_uid, msgkey } => format!("send from uid {from_uid} with msgkey {msgkey:?}"),
        }
    }
}

impl Ingest {
    /// Recalls a send from every recipient's mailbox; returns once the recalls are durable.
    ///
    /// The send is looked up in the recall index, which its first delivery's projection
    /// writes: a send named by a request id accepted a moment ago is waited for, up to the
    /// projection wait.
    pub async fn recall_send(&self, app_id: AppId, send: &SendReference) -> Result<RecallReceipt, IngestError> {
        if app_id <= 0 {
            return Err(FieldError::new("app_id", "must be positive").into());
        }
        let key = send.index_key(self.settings.max_msgkey_bytes)?;
        let wait = self.settings.projection_wait;
        let deadline = Instant::now() + wait;
        let found = loop {
            match self.store.find_send(app_id, &key).await? {
                Some(found) => break found,
                None if send.may_be_unindexed(wait.as_micros() as i64) && Instant::now() < deadline => {
                    tokio::time::sleep(PROJECTION_POLL).await
                }
                None => return Err(IngestError::NotFound(send.describe())),
            }
        };
        let at_us = now_us();
        let records = found
            .recipients
            .iter()
            .map(|uid| {
                let mailbox = Mailbox::new(app_id, *uid);
                self.mailbox_record(&MailboxEvent::Recalled { mailbox, dedupe_key: found.dedupe_key.clone(), at_us })
            })
            .collect();
        self.append("recall_send", records).await?;
        Ok(RecallReceipt { recipients: found.recipients.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_becomes_its_index_key_or_names_the_field() {
        let request = |id: &str| SendReference::Request(id.into());
        assert_eq!(
            request("18c2f1a9b3e01-5d1e0c7a9b3f2e64").index_key(128),
            Ok("r:18c2f1a9b3e01-5d1e0c7a9b3f2e64".into())
        );
        assert_eq!(request("").index_key(128).unwrap_err().field, "request_id");
        let keyed = |from_uid, msgkey: &str| SendReference::Msgkey { from_uid, msgkey: msgkey.into() };
        assert_eq!(keyed(9, "order-1").index_key(128), Ok("k:9:order-1".into()));
        assert_eq!(keyed(-1, "order-1").index_key(128).unwrap_err().field, "from_uid");
        assert_eq!(keyed(9, "").index_key(128).unwrap_err().field, "msgkey");
        assert_eq!(keyed(9, "long").index_key(3).unwrap_err().field, "msgkey");
    }

    #[test]
    fn only_a_recent_request_id_is_waited_for() {
        let wait_us = 5_000_000;
        let sent_at = |us: i64| SendReference::Request(format!("{us:x}-0123456789abcdef"));
        assert!(sent_at(now_us()).may_be_unindexed(wait_us));
        assert!(!sent_at(now_us() - 2 * wait_us).may_be_unindexed(wait_us));
        assert!(!SendReference::Request("not-a-time".into()).may_be_unindexed(wait_us));
        assert!(!SendReference::Msgkey { from_uid: 1, msgkey: "k".into() }.may_be_unindexed(wait_us));
    }
}
