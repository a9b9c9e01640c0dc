//! The checks of the [`Store`](crate::store::Store) contract, by area: reading and writing
//! private mailboxes, and the public mailbox.

mod mailbox_fixtures;
mod mailbox_reads;
mod mailbox_writes;
mod public_mailbox;

pub use mailbox_reads::*;
pub use mailbox_writes::*;
pub use public_mailbox::*;
