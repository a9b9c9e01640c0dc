//! The single-object framing: a marker and the writer schema's fingerprint before the datum,
//! so a reader can tell which version of a family wrote it.

use apache_avro::Schema;
use apache_avro::rabin::Rabin;

use super::DecodeError;

/// The two bytes that open every Avro single-object encoding.
const MARKER: [u8; 2] = [0xC3, 0x01];
/// Marker plus the 8-byte fingerprint.
pub(crate) const HEADER_LEN: usize = 10;

/// The fingerprint apache-avro computes for single-object encoding, as a number.
pub(crate) fn fingerprint(schema: &Schema) -> u64 {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    u64::from_le_bytes(bytes.try_into().expect("a rabin fingerprint is 8 bytes"))
}

pub(crate) fn header(fingerprint: u64) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..2].copy_from_slice(&MARKER);
    header[2..].copy_from_slice(&fingerprint.to_le_bytes());
    header
}

/// Splits single-object bytes into the writer fingerprint and the datum.
pub(crate) fn split<'b>(family: &'static str, bytes: &'b [u8]) -> Result<(u64, &'b [u8]), DecodeError> {
    if let Some(found) = bytes.first_chunk::<2>()
        && *found != MARKER
    {
        return Err(DecodeError::BadMarker { family, found: *found });
    }
    let Some((header, datum)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::TooShort { family, len: bytes.len() });
    };
    let fingerprint = u64::from_le_bytes(header[2..].try_into().expect("8 bytes"));
    Ok((fingerprint, datum))
}
