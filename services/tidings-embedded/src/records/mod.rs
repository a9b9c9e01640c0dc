//! What the store writes into its keyspaces' values: JSON of record types this adapter owns.
//!
//! Each record mirrors a domain (or port) type field for field and serializes to the very
//! bytes that type did when the layout was written, so renaming or reshaping a domain type
//! can no longer change what is on disk; the conversions are where the two meet. They are
//! deliberately not shared with the CQL adapter: each adapter's stored format changes only
//! with its own migrations.

mod accounts;
mod mailbox;
mod public;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tidings_ports::StoreError;

/// A value the store keeps, as its [`Stored::Record`] in JSON.
pub(crate) trait Stored: Sized {
    type Record: Serialize + DeserializeOwned + for<'a> From<&'a Self> + Into<Self>;
    /// What the value is called in errors.
    const WHAT: &'static str;
}

/// The bytes to store for `value`.
pub(crate) fn encode<T: Stored>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&T::Record::from(value)).map_err(|error| StoreError::Corrupt(format!("cannot encode: {error}")))
}

/// The value that `bytes` hold.
pub(crate) fn decode<T: Stored>(bytes: &[u8]) -> Result<T, StoreError> {
    let record: T::Record = serde_json::from_slice(bytes)
        .map_err(|error| StoreError::Corrupt(format!("undecodable {}: {error}", T::WHAT)))?;
    Ok(record.into())
}
