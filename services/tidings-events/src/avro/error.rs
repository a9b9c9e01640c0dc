//! Why bytes did not decode into an event.

/// Bytes that are not a decodable event of the family asked for. Never retriable: the same
/// bytes fail the same way, so a consumer sends them to the dead-letter topic and goes on.
///
/// `family` is the schema family the caller asked for (`mailbox_event`, `broadcast_event`,
/// `notify_signal`, `dead_letter`: the folder names under `schemas/avro/`); fingerprints are
/// the CRC-64-AVRO of the writer schema's canonical form, as the 64-bit number the Avro
/// libraries print (the wire carries it little-endian).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("{family}: {len} bytes is shorter than the 10-byte avro single-object header")]
    TooShort { family: &'static str, len: usize },
    #[error("{family}: bad single-object marker {found:02x?}, expected [c3, 01]")]
    BadMarker { family: &'static str, found: [u8; 2] },
    #[error("{family}: unknown writer schema fingerprint {fingerprint:#018x}")]
    UnknownFingerprint { family: &'static str, fingerprint: u64 },
    #[error("{family}: writer schema fingerprint {fingerprint:#018x} is {found} v{version}, not a {family} schema")]
    WrongFamily { family: &'static str, found: &'static str, version: u32, fingerprint: u64 },
    #[error("{family} v{version}: malformed datum: {reason}")]
    Malformed { family: &'static str, version: u32, reason: String },
    #[error("{family} v{version}: {count} trailing bytes after the datum")]
    TrailingBytes { family: &'static str, version: u32, count: usize },
    #[error("{family} v{version}: cannot be read as v{current}: {reason}")]
    Incompatible { family: &'static str, version: u32, current: u32, reason: String },
    /// The decoded value does not have the shape the domain mapping expects: a bug in this
    /// crate (the mapping and the newest schema disagree), not in the input.
    #[error("{family}: decoded value does not fit the domain type: {reason}")]
    Shape { family: &'static str, reason: String },
}
