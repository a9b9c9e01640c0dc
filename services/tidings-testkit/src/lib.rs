//! Test and benchmark helpers shared by tests, benchmarks and (later) fault tests, kept out
//! of the production crates so no deployment carries them.
//!
//! - [`CountingLog`] and [`CountingStore`]: decorators of the two ports that count what
//!   passes through them, whatever the engine behind. Benchmarks wrap the configured engines
//!   in them before assembling the pipeline; tests use them to check which calls a code
//!   path makes.
//! - [`cql_ceiling`]: the CQL server's raw write rate, for benchmarks to read the CQL
//!   store's own rate against.

mod counting_log;
mod counting_store;
pub mod cql_ceiling;

pub use counting_log::{AppendCounts, CountingLog};
pub use counting_store::CountingStore;
