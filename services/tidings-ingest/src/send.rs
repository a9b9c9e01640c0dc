//! Sends from business servers: unicast, batch unicast and private chat.

use std::collections::BTreeSet;

use tidings_domain::event::{Delivery, MailboxEvent, SendRecord};
use tidings_domain::message::{Mailbox, MessageBody, SendMode};
use tidings_domain::{AppId, BroadcastId, FieldError, MsgId, Uid};
use tidings_ports::OutgoingRecord;

use crate::{Ingest, IngestError, IngestSettings};

/// A send from a business server (`POST /v1/apps/{app_id}/messages` in the HTTP API):
/// what ingest validates, field by field, before anything reaches the log. Field names
/// are those of the API, so a validation error names the field the caller wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCommand {
    pub mode: SendMode,
    pub from_uid: Uid,
    pub to_uids: Vec<Uid>,
    /// The conversation partner shown in the recipient's list; defaults to `from_uid`.
    pub contacter: Option<Uid>,
    pub category: Option<i32>,
    pub kind: Option<i32>,
    pub priority: Option<i32>,
    pub business_type: Option<i32>,
    /// The sender's idempotency key: the same key twice delivers once.
    pub msgkey: Option<String>,
    pub content: String,
    /// Seconds until the message expires; none or 0 means never.
    pub expire_s: Option<i64>,
}

/// An accepted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// This send's id (the dedupe key of its deliveries when no msgkey was given).
    pub request_id: String,
    /// How many mailboxes it goes to.
    pub deliveries: usize,
}

impl SendCommand {
    /// A send of `content` with every optional field left out.
    pub fn text(mode: SendMode, from_uid: Uid, to_uids: Vec<Uid>, content: impl Into<String>) -> Self {
        Self {
            mode,
            from_uid,
            to_uids,
            contacter: None,
            category: None,
            kind: None,
            priority: None,
            business_type: None,
            msgkey: None,
            content: content.into(),
            expire_s: None,
        }
    }

    /// Checks every field and returns the deliveries, one per target mailbox.
    fn deliveries(
        &self,
        app_id: AppId,
        settings: &IngestSettings,
        request_id: &str,
        now_us: i64,
    ) -> Result<Vec<Delivery>, FieldError> {
        if app_id <= 0 {
            return Err(FieldError::new("app_id", "must be positive"));
        }
        if self.from_uid < 0 {
            return Err(FieldError::new("from_uid", "must not be negative (0 is the system)"));
        }
        if self.content.is_empty() {
            return Err(FieldError::new("content", "must not be empty"));
        }
        if self.content.len() > settings.max_content_bytes {
            return Err(FieldError::new(
                "content",
                format!("is {} bytes, above the maximum of {}", self.content.len(), settings.max_content_bytes),
            ));
        }
        let msgkey = self.msgkey.clone().unwrap_or_default();
        if msgkey.len() > settings.max_msgkey_bytes {
            return Err(FieldError::new("msgkey", format!("is longer than {} bytes", settings.max_msgkey_bytes)));
        }
        let expire_s = self.expire_s.unwrap_or(0);
        if expire_s < 0 {
            return Err(FieldError::new("expire_s", "must not be negative"));
        }
        self.check_recipients(settings)?;
        let expire_at_s = if expire_s == 0 { 0 } else { now_us / 1_000_000 + expire_s };
        let body = |to_uid: Uid, contacter: Uid| MessageBody {
            from_uid: self.from_uid,
            to_uid,
            contacter,
            category: self.category.unwrap_or(0),
            kind: self.kind.unwrap_or(0),
            priority: self.priority.unwrap_or(0),
            business_type: self.business_type.unwrap_or(0),
            msgkey: msgkey.clone(),
            content: self.content.clone(),
            expire_at_s,
        };
        let dedupe_key = Delivery::dedupe_key_for(self.from_uid, &msgkey, request_id);
        let delivery = |owner: Uid, body: MessageBody| Delivery {
            mailbox: Mailbox::new(app_id, owner),
            dedupe_key: dedupe_key.clone(),
            create_time_us: now_us,
            body,
            send: None,
        };
        let mut deliveries: Vec<Delivery> =
            self.to_uids.iter().map(|&to| delivery(to, body(to, self.contacter.unwrap_or(self.from_uid)))).collect();
        if self.mode == SendMode::Private {
            let to = self.to_uids[0];
            deliveries.push(delivery(self.from_uid, body(to, self.contacter.unwrap_or(to))));
        }
        let recipients = deliveries.iter().map(|d| d.mailbox.uid).collect();
        deliveries[0].send = Some(SendRecord { request_id: request_id.to_owned(), recipients });
        Ok(deliveries)
    }

    fn check_recipients(&self, settings: &IngestSettings) -> Result<(), FieldError> {
        let count = self.to_uids.len();
        let allowed = match self.mode {
            SendMode::Unicast | SendMode::Private => 1..=1,
            SendMode::Batch => 1..=settings.max_batch_recipients,
        };
        if !allowed.contains(&count) {
            let mode = self.mode.as_str();
            return Err(FieldError::new(
                "to_uids",
                format!("has {count} uids; mode {mode} takes {} to {}", allowed.start(), allowed.end()),
            ));
        }
        if let Some(bad) = self.to_uids.iter().find(|uid| **uid <= 0) {
            return Err(FieldError::new("to_uids", format!("{bad} is not a positive uid")));
        }
        if self.to_uids.iter().collect::<BTreeSet<_>>().len() != count {
            return Err(FieldError::new("to_uids", "lists a uid twice"));
        }
        if self.mode == SendMode::Private && self.from_uid == self.to_uids[0] {
            return Err(FieldError::new("to_uids", "a private chat needs two different users"));
        }
        if self.mode == SendMode::Private && self.from_uid == 0 {
            return Err(FieldError::new("from_uid", "a private chat needs a sending user"));
        }
        Ok(())
    }
}

impl Ingest {
    /// Validates a send and appends its deliveries; returns once they are durable.
    pub async fn send(&self, app_id: AppId, request: &SendCommand) -> Result<SendReceipt, IngestError> {
        let now_us = tidings_domain::time::now_us();
        let request_id = format!("{now_us:x}-{:016x}", rand::random::<u64>());
        let deliveries = request.deliveries(app_id, &self.settings, &request_id, now_us)?;
        let count = deliveries.len();
        let records = deliveries.into_iter().map(|d| self.mailbox_record(&MailboxEvent::Delivered(d))).collect();
        self.append("send", records).await?;
        Ok(SendReceipt { request_id, deliveries: count })
    }

    /// Marks everything up to `up_to` read in the mailbox.
    pub async fn mark_read(&self, mailbox: Mailbox, up_to: MsgId) -> Result<(), IngestError> {
        if up_to <= 0 {
            return Err(FieldError::new("up_to", "must be a positive msg_id").into());
        }
        self.append("mark_read", vec![self.mailbox_record(&MailboxEvent::ReadUpTo { mailbox, up_to })]).await
    }

    /// Deletes a private message from its owner's mailbox.
    pub async fn delete_message(&self, mailbox: Mailbox, msg_id: MsgId) -> Result<(), IngestError> {
        if msg_id <= 0 {
            return Err(FieldError::new("msg_id", "must be positive").into());
        }
        self.append("delete", vec![self.mailbox_record(&MailboxEvent::MessageDeleted { mailbox, msg_id })]).await
    }

    /// Hides a broadcast from one user's pulls.
    pub async fn hide_broadcast(&self, mailbox: Mailbox, broadcast_id: BroadcastId) -> Result<(), IngestError> {
        self.append(
            "hide_broadcast",
            vec![self.mailbox_record(&MailboxEvent::BroadcastHidden { mailbox, broadcast_id })],
        )
        .await
    }

    pub(crate) fn mailbox_record(&self, event: &MailboxEvent) -> OutgoingRecord {
        OutgoingRecord {
            topic: self.topics.mailbox.clone(),
            key: event.mailbox().log_key().into_bytes(),
            payload: self.codec.encode_mailbox(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mode: SendMode, to_uids: Vec<Uid>) -> SendCommand {
        SendCommand::text(mode, 1, to_uids, "hi")
    }

    fn field(request: SendCommand) -> String {
        request.deliveries(1, &IngestSettings::default(), "r", 1).unwrap_err().field
    }

    #[test]
    fn private_chat_goes_to_both_mailboxes_with_each_other_as_contacter() {
        let deliveries = request(SendMode::Private, vec![2]).deliveries(9, &IngestSettings::default(), "r", 5).unwrap();
        let owners: Vec<_> = deliveries.iter().map(|d| (d.mailbox.uid, d.body.contacter)).collect();
        assert_eq!(owners, vec![(2, 1), (1, 2)]);
        assert!(deliveries.iter().all(|d| d.dedupe_key == "r:r" && d.mailbox.app_id == 9));
    }

    #[test]
    fn the_first_delivery_carries_every_recipient_for_recall() {
        let deliveries =
            request(SendMode::Batch, vec![4, 2, 9]).deliveries(1, &IngestSettings::default(), "r", 5).unwrap();
        let send = deliveries[0].send.as_ref().expect("the first delivery carries the send");
        assert_eq!((send.request_id.as_str(), send.recipients.as_slice()), ("r", &[4, 2, 9][..]));
        assert!(deliveries[1..].iter().all(|d| d.send.is_none()));
    }

    #[test]
    fn msgkey_makes_the_dedupe_key() {
        let mut keyed = request(SendMode::Unicast, vec![2]);
        keyed.msgkey = Some("order-7".into());
        let deliveries = keyed.deliveries(1, &IngestSettings::default(), "r", 5).unwrap();
        assert_eq!(deliveries[0].dedupe_key, "k:1:order-7");
    }

    #[test]
    fn recipient_rules_name_to_uids() {
        assert_eq!(field(request(SendMode::Unicast, vec![])), "to_uids");
        assert_eq!(field(request(SendMode::Unicast, vec![2, 3])), "to_uids");
        assert_eq!(field(request(SendMode::Batch, (1..=101).collect())), "to_uids");
        assert_eq!(field(request(SendMode::Batch, vec![2, 2])), "to_uids");
        assert_eq!(field(request(SendMode::Batch, vec![0])), "to_uids");
        assert_eq!(field(request(SendMode::Private, vec![1])), "to_uids");
        assert!(
            request(SendMode::Batch, (1..=100).collect()).deliveries(1, &IngestSettings::default(), "r", 1).is_ok()
        );
    }

    #[test]
    fn content_and_expiry_rules_name_their_field() {
        assert_eq!(field(SendCommand { content: String::new(), ..request(SendMode::Unicast, vec![2]) }), "content");
        let big = "x".repeat(IngestSettings::default().max_content_bytes + 1);
        assert_eq!(field(SendCommand { content: big, ..request(SendMode::Unicast, vec![2]) }), "content");
        assert_eq!(field(SendCommand { expire_s: Some(-1), ..request(SendMode::Unicast, vec![2]) }), "expire_s");
        let expiring = SendCommand { expire_s: Some(60), ..request(SendMode::Unicast, vec![2]) };
        let deliveries = expiring.deliveries(1, &IngestSettings::default(), "r", 10_000_000).unwrap();
        assert_eq!(deliveries[0].body.expire_at_s, 70);
    }
}
