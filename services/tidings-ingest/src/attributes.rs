//! Users' attributes, which personalized broadcasts read (docs/design.md#templates): set
//! by business servers as mailbox events, so they are projected, replayed and ordered with
//! the rest of the mailbox.

use tidings_domain::FieldError;
use tidings_domain::event::MailboxEvent;
use tidings_domain::message::{Attributes, Mailbox, validate_attributes};

use crate::{Ingest, IngestError};

impl Ingest {
    /// Replaces the user's attributes (empty removes them); returns once durable.
    pub async fn replace_attributes(&self, mailbox: Mailbox, attributes: Attributes) -> Result<(), IngestError> {
        if mailbox.app_id <= 0 {
            return Err(FieldError::new("app_id", "must be positive").into());
        }
        if mailbox.uid <= 0 {
            return Err(FieldError::new("uid", "must be positive").into());
        }
        validate_attributes(&attributes)?;
        let event = MailboxEvent::AttributesReplaced { mailbox, attributes };
        self.append("replace_attributes", vec![self.mailbox_record(&event)]).await
    }

    /// The user's attributes as projected.
    pub async fn attributes(&self, mailbox: Mailbox) -> Result<Attributes, IngestError> {
        Ok(self.store.mailbox_state(mailbox).await?.attributes)
    }
}
