//! The generic layer: Avro single-object encoding for families of versioned schemas. It
//! knows nothing of Tidings' events, only schemas, bytes and apache-avro values; the
//! mappings beside it turn those values into domain types.
//!
//! - `family`: a family's parsed versions; encoding with the newest, decoding any.
//! - `single_object`: the 10-byte header that names the writer schema.
//! - `bounds`: a bounds check of a datum before apache-avro decodes (and allocates for) it.
//! - `resolve`: Avro schema resolution by the specification (union branches by name), over
//!   the named types `names` collects.
//! - `value`: building and taking apart values, for the mappings.
//! - `error`: [`DecodeError`], what is wrong with bytes that do not decode.

mod bounds;
mod error;
pub(crate) mod family;
mod names;
pub(crate) mod resolve;
pub(crate) mod single_object;
pub(crate) mod value;

pub use error::DecodeError;
