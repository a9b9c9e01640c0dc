//! The fuzz targets, one module per parser (see the crate's doc); `corpus` keeps the
//! committed seeds current.

mod avro;
mod corpus;
mod cursor;
mod frames;
mod json_bodies;
mod reach_sketches;
mod tokens;
mod user_agent;
