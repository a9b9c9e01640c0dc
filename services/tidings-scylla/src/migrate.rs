//! Versioned CQL schema: the files of `schemas/cql/`, applied in order by [`migrate`] and
//! recorded in the keyspace's `schema_migrations` table, so applying them again is a no-op.

use std::collections::BTreeMap;

use scylla::client::session::Session;
use scylla::statement::Statement;
use tidings_ports::StoreError;
use tracing::info;

use crate::error;

/// One schema file, `V<version>__<name>.cql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub script: &'static str,
}

impl Migration {
    pub fn file_name(&self) -> String {
        format!("V{:03}__{}.cql", self.version, self.name)
    }

    /// A fingerprint of the script (FNV-1a, 64 bits, hex): what `schema_migrations`
    /// records, to tell when an applied file was edited afterwards.
    pub fn checksum(&self) -> String {
        let hash = self
            .script
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
        format!("{hash:016x}")
    }

    /// The script's statements, without comments.
    pub fn statements(&self) -> Vec<String> {
        split_statements(self.script)
    }
}

/// Every schema file, in the order they apply.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "mailboxes_and_public",
        script: include_str!("../../../schemas/cql/V001__mailboxes_and_public.cql"),
    },
    Migration {
        version: 2,
        name: "replay_checkpoints",
        script: include_str!("../../../schemas/cql/V002__replay_checkpoints.cql"),
    },
    Migration { version: 3, name: "reach", script: include_str!("../../../schemas/cql/V003__reach.cql") },
    Migration {
        version: 4,
        name: "operators_and_audit",
        script: include_str!("../../../schemas/cql/V004__operators_and_audit.cql"),
    },
    Migration {
        version: 5,
        name: "recall_and_attributes",
        script: include_str!("../../../schemas/cql/V005__recall_and_attributes.cql"),
    },
];

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<i32>,
    /// Versions found applied already.
    pub already_applied: Vec<i32>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    #[error("invalid keyspace name {0:?}: use 1 to 48 letters, digits or underscores, starting with a letter")]
    InvalidKeyspace(String),
    #[error("invalid replication factor 0: use 1 or more")]
    InvalidReplicationFactor,
    #[error(
        "{file} was edited after it was applied (recorded checksum {recorded}, file {current}): put changes in a new migration"
    )]
    Edited { file: String, recorded: String, current: String },
    #[error("{file}, statement {index}: {source}")]
    Statement { file: String, index: usize, source: StoreError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MigrationError {
    /// Whether running the migration again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            MigrationError::Statement { source, .. } | MigrationError::Store(source) => source.is_retriable(),
            _ => false,
        }
    }
}

/// [`StoreError::Corrupt`] naming `keyspace` unless [`is_valid_keyspace_name`]: it is
/// written into statements' text, so nothing else may reach them.
pub fn check_keyspace(keyspace: &str) -> Result<(), StoreError> {
    match is_valid_keyspace_name(keyspace) {
        true => Ok(()),
        false => Err(StoreError::Corrupt(format!("invalid keyspace name {keyspace:?}"))),
    }
}

/// Whether `name` is a keyspace name this crate accepts: it is written into statements
/// unquoted, so only `[A-Za-z][A-Za-z0-9_]{0,47}` (CQL folds it to lower case).
pub fn is_valid_keyspace_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 48
}

/// Creates the keyspace (SimpleStrategy with `replication_factor`; an existing keyspace
/// is left as it is) and applies every migration not yet recorded in its
/// `schema_migrations` table. Safe to run again, and from several processes at once (every
/// statement is `IF NOT EXISTS`). Leaves `session` using the keyspace.
pub async fn migrate(
    session: &Session,
    keyspace: &str,
    replication_factor: u32,
) -> Result<MigrationReport, MigrationError> {
    if !is_valid_keyspace_name(keyspace) {
        return Err(MigrationError::InvalidKeyspace(keyspace.to_owned()));
    }
    if replication_factor == 0 {
        return Err(MigrationError::InvalidReplicationFactor);
    }
    let create_keyspace = format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
         {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    );
    run(session, &create_keyspace, "create keyspace").await?;
    session.use_keyspace(keyspace, false).await.map_err(|e| error::use_keyspace(keyspace, e))?;
    run(
        session,
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version int PRIMARY KEY, name text, checksum text, applied_at timestamp) \
         WITH comment = 'schema files applied by tidings schema migrate'",
        "create schema_migrations",
    )
    .await?;

    let recorded = recorded_migrations(session).await?;
    let mut report = MigrationReport::default();
    for migration in MIGRATIONS {
        let file = migration.file_name();
        if let Some(recorded_checksum) = recorded.get(&migration.version) {
            let current = migration.checksum();
            if *recorded_checksum != current {
                return Err(MigrationError::Edited { file, recorded: recorded_checksum.clone(), current });
            }
            report.already_applied.push(migration.version);
            continue;
        }
        for (index, statement) in migration.statements().iter().enumerate() {
            let applied = match added_column(statement) {
                Some((table, column)) => column_exists(session, keyspace, &table, &column).await,
                None => Ok(false),
            };
            let result = match applied {
                Ok(true) => Ok(()),
                Ok(false) => run(session, statement, &file).await,
                Err(error) => Err(error),
            };
            result.map_err(|source| MigrationError::Statement { file: file.clone(), index: index + 1, source })?;
        }
        let record = "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
                      VALUES (?, ?, ?, toTimestamp(now()))";
        session
            .query_unpaged(record, (migration.version, migration.name, migration.checksum()))
            .await
            .map_err(|e| error::execution("record applied migration", e))?;
        info!(keyspace, file = %file, "applied cql migration");
        report.applied.push(migration.version);
    }
    Ok(report)
}

/// Drops `keyspace` and everything in it (a benchmark's or a test's own keyspace); a
/// missing keyspace is not an error.
pub async fn drop_keyspace(session: &Session, keyspace: &str) -> Result<(), MigrationError> {
    if !is_valid_keyspace_name(keyspace) {
        return Err(MigrationError::InvalidKeyspace(keyspace.to_owned()));
    }
    run(session, &format!("DROP KEYSPACE IF EXISTS {keyspace}"), "drop keyspace").await?;
    Ok(())
}

async fn run(session: &Session, statement: &str, what: &str) -> Result<(), StoreError> {
    let mut statement = Statement::new(statement);
    statement.set_is_idempotent(true);
    session.query_unpaged(statement, ()).await.map_err(|e| error::execution(what, e))?;
    Ok(())
}

/// The table and column of an `ALTER TABLE <table> ADD <column> <type>` statement.
/// Cassandra and ScyllaDB don't both take `ADD IF NOT EXISTS`, so the runner checks the
/// column itself: a migration interrupted after its ADD, or one run by two processes at
/// once, applies again.
fn added_column(statement: &str) -> Option<(String, String)> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    match words.as_slice() {
        [alter, table_keyword, table, add, column, _, ..]
            if alter.eq_ignore_ascii_case("ALTER")
                && table_keyword.eq_ignore_ascii_case("TABLE")
                && add.eq_ignore_ascii_case("ADD") =>
        {
            Some((table.to_ascii_lowercase(), column.to_ascii_lowercase()))
        }
        _ => None,
    }
}

async fn column_exists(session: &Session, keyspace: &str, table: &str, column: &str) -> Result<bool, StoreError> {
    const WHAT: &str = "read system_schema.columns";
    let query = "SELECT column_name FROM system_schema.columns \
                 WHERE keyspace_name = ? AND table_name = ? AND column_name = ?";
    let result = session
        .query_unpaged(query, (keyspace.to_ascii_lowercase(), table, column))
        .await
        .map_err(|e| error::execution(WHAT, e))?
        .into_rows_result()
        .map_err(|e| error::rows(WHAT, e))?;
    Ok(result.rows_num() > 0)
}

async fn recorded_migrations(session: &Session) -> Result<BTreeMap<i32, String>, StoreError> {
    const WHAT: &str = "read schema_migrations";
    let result = session
        .query_unpaged("SELECT version, checksum FROM schema_migrations", ())
        .await
        .map_err(|e| error::execution(WHAT, e))?
        .into_rows_result()
        .map_err(|e| error::rows(WHAT, e))?;
    let mut recorded = BTreeMap::new();
    for row in result.rows::<(i32, Option<String>)>().map_err(|e| error::rows(WHAT, e))? {
        let (version, checksum) = row.map_err(|e| error::rows(WHAT, e))?;
        recorded.insert(version, checksum.unwrap_or_default());
    }
    Ok(recorded)
}

/// Splits a CQL script into statements at semicolons, dropping `--` and `//` line comments
/// and `/* */` block comments; quoted strings and identifiers are kept whole.
fn split_statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                current.push(c);
                // A doubled quote inside a quoted run reads as two runs back to back.
                for inner in chars.by_ref() {
                    current.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '-' | '/' if chars.peek() == Some(&c) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        current.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for skipped in chars.by_ref() {
                    if previous == '*' && skipped == '/' {
                        break;
                    }
                    previous = skipped;
                }
                current.push(' ');
            }
            ';' => {
                let statement = current.trim();
                if !statement.is_empty() {
                    statements.push(statement.to_owned());
                }
                current.clear();
            }
            _ => current.push(c),
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        statements.push(rest.to_owned());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let script = "-- a comment; not a statement\n\
                      CREATE TABLE a (x int PRIMARY KEY) WITH comment = 'it''s; fine -- really';\n\
                      /* block; comment */ CREATE TABLE \"b;c\" (y int PRIMARY KEY); // trailing\n\
                      \n   ;  \nDROP TABLE d";
        assert_eq!(
            split_statements(script),
            [
                "CREATE TABLE a (x int PRIMARY KEY) WITH comment = 'it''s; fine -- really'",
                "CREATE TABLE \"b;c\" (y int PRIMARY KEY)",
                "DROP TABLE d",
            ]
        );
    }

    #[test]
    fn migrations_are_the_files_of_schemas_cql_in_version_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/cql");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("schemas/cql")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".cql"))
            .collect();
        files.sort();
        let names: Vec<String> = MIGRATIONS.iter().map(Migration::file_name).collect();
        assert_eq!(names, files, "every schemas/cql file is listed in MIGRATIONS, in order");
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i32 + 1);
            let on_disk = std::fs::read_to_string(dir.join(migration.file_name())).expect("read");
            assert_eq!(migration.script, on_disk);
            assert!(!migration.statements().is_empty());
        }
    }

    #[test]
    fn the_first_migration_creates_the_three_tables() {
        let statements = MIGRATIONS[0].statements();
        let created: Vec<&str> = statements
            .iter()
            .filter_map(|statement| statement.strip_prefix("CREATE TABLE IF NOT EXISTS "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        assert_eq!(created, ["messages", "deliveries", "broadcasts"]);
        assert_eq!(statements.len(), 3);
    }

    #[test]
    fn an_added_column_is_found_in_its_alter_statement() {
        assert_eq!(
            added_column("ALTER TABLE messages ADD recalls bigint"),
            Some(("messages".into(), "recalls".into()))
        );
        assert_eq!(
            added_column("alter table Messages add Attributes map<text, text> STATIC"),
            Some(("messages".into(), "attributes".into()))
        );
        assert_eq!(added_column("ALTER TABLE messages WITH comment = 'x'"), None);
        assert_eq!(added_column("CREATE TABLE IF NOT EXISTS sends (x int PRIMARY KEY)"), None);
        let adds = MIGRATIONS[4].statements().iter().filter_map(|s| added_column(s)).count();
        assert_eq!(adds, 2);
    }

    #[test]
    fn keyspace_names_are_plain_identifiers() {
        assert!(is_valid_keyspace_name("tidings"));
        assert!(is_valid_keyspace_name("tidings_test_1"));
        for bad in ["", "1tidings", "tid-ings", "tidings;drop", "\"quoted\"", &"k".repeat(49)] {
            assert!(!is_valid_keyspace_name(bad), "{bad}");
        }
    }
}
