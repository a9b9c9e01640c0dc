//! The checks of the [`Store`](crate::store::Store) contract, by area: reading and writing
//! private mailboxes, the public mailbox, and reach sketches.

mod mailbox_fixtures;
mod mailbox_reads;
mod mailbox_writes;
mod public_mailbox;
mod reach;

pub use mailbox_reads::*;
pub use mailbox_writes::*;
pub use public_mailbox::*;
pub use reach::*;
