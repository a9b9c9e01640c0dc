//! The CQL server's raw write rate, for benchmarks to read Tidings' own rates against:
//! plain prepared single-row inserts, a fixed number in flight, no batches, no reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use tidings_ports::StoreError;
use tidings_scylla::{check_keyspace, error, run_bounded};

/// What [`prepared_insert_rate`] writes.
#[derive(Debug, Clone, Copy)]
pub struct InsertLoad {
    /// Rows to insert, each its own statement.
    pub rows: u64,
    /// Statements in flight at once.
    pub in_flight: usize,
    /// Bytes of each row's blob value (e.g. a message row's size).
    pub row_bytes: usize,
    /// Partitions the rows spread over, round-robin (e.g. the number of mailboxes).
    pub partitions: u64,
}

/// Inserts `load.rows` rows into `<keyspace>.raw_insert_ceiling` (created if missing) and
/// returns how long that took. The keyspace must exist.
pub async fn prepared_insert_rate(
    session: Arc<Session>,
    keyspace: &str,
    load: InsertLoad,
) -> Result<Duration, StoreError> {
    check_keyspace(keyspace)?;
    let table = format!("{keyspace}.raw_insert_ceiling");
    session
        .query_unpaged(
            format!("CREATE TABLE IF NOT EXISTS {table} (k bigint, c bigint, v blob, PRIMARY KEY (k, c))"),
            (),
        )
        .await
        .map_err(|e| error::execution("create raw_insert_ceiling", e))?;
    let insert = session
        .prepare(format!("INSERT INTO {table} (k, c, v) VALUES (?, ?, ?)"))
        .await
        .map_err(|e| error::prepare("insert into raw_insert_ceiling", e))?;
    let value = Arc::new(vec![b'x'; load.row_bytes]);
    let partitions = load.partitions.max(1) as i64;
    let inserts = (0..load.rows as i64).map(|row| {
        let (session, insert, value) = (Arc::clone(&session), insert.clone(), Arc::clone(&value));
        async move {
            session
                .execute_unpaged(&insert, (row % partitions, row, value.as_slice()))
                .await
                .map(drop)
                .map_err(|e| error::execution("insert into raw_insert_ceiling", e))
        }
    });
    let started = Instant::now();
    run_bounded(inserts, load.in_flight).await?;
    Ok(started.elapsed())
}
