//! The crate's tests, by subject, and what they share: hand-written examples, proptest
//! strategies, sample values of any schema and edited copies of shipped schemas.

mod evolution;
mod examples;
mod rejections;
mod round_trips;
mod samples;
mod schema_edits;
mod shipped_schemas;
mod strategies;
mod wire_format;
