//! Read-only SQL for tools, over the store's own connection: what swing-store's
//! `internal.db` (a better-sqlite3 handle) is used for by tests and tools that count rows or
//! read a table. Serving them here means no second SQLite library opens the file in the
//! same process (see docs/foreign-sqlite.md); only statements that read run.

pub use rusqlite::types::Value;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;

use crate::db::Db;
use crate::error::{Error, Result};

/// A statement's parameters: by position, or by name (`$name`, `:name` or `@name`).
#[derive(Clone, Debug, PartialEq)]
pub enum QueryParams {
    Positional(Vec<Value>),
    Named(Vec<(String, Value)>),
}

/// A result: the column names and every row.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Pragmas that only report something when asked without a value; SQLite flags some of them
/// (`journal_mode`) as writing because the same pragma with a value would.
const READING_PRAGMAS: &[&str] = &[
    "application_id",
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "compile_options",
    "data_version",
    "database_list",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "journal_mode",
    "locking_mode",
    "mmap_size",
    "page_count",
    "page_size",
    "query_only",
    "schema_version",
    "synchronous",
    "user_version",
    "wal_autocheckpoint",
];

/// Pragmas whose argument names what to report on, not a value to set.
const ASKING_PRAGMAS: &[&str] = &[
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
];

/// What a tool's statement may do: read tables, call functions, and ask a reading pragma.
/// Everything else (writing, schema changes, `BEGIN`/`COMMIT`/`SAVEPOINT`, `ATTACH`, pragma
/// assignments) is refused while SQLite prepares it, before anything runs: the store owns the
/// connection's transaction, and a tool that ended or nested it would leave the store unable
/// to commit. SQLite's own read-only flag cannot say this: it counts transaction control,
/// `ATTACH` and `PRAGMA query_only = 1` as read-only.
fn authorize(action: AuthAction<'_>) -> Authorization {
    let allowed = match action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Function { .. } => true,
        AuthAction::Recursive => true,
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            ASKING_PRAGMAS.contains(&name.as_str())
                || (pragma_value.is_none() && READING_PRAGMAS.contains(&name.as_str()))
        }
        _ => false,
    };
    if allowed {
        Authorization::Allow
    } else {
        Authorization::Deny
    }
}

/// Holds [`authorize`] on the connection while a tool's statement is prepared and stepped
/// (SQLite may prepare it again while stepping), and removes it however the query ends.
struct ReadOnlyGuard<'c>(&'c rusqlite::Connection);

impl<'c> ReadOnlyGuard<'c> {
    fn install(conn: &'c rusqlite::Connection) -> Self {
        conn.authorizer(Some(|context: AuthContext<'_>| authorize(context.action)));
        ReadOnlyGuard(conn)
    }
}

impl Drop for ReadOnlyGuard<'_> {
    fn drop(&mut self) {
        self.0
            .authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    }
}

/// A column's value; text that is not UTF-8 (SQLite's `char()` makes lone surrogates) is
/// decoded as V8 decodes better-sqlite3's text, each bad sequence a U+FFFD.
fn column_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        other => other.into(),
    }
}

/// Runs one read-only statement; anything that could write is refused before it runs.
pub fn query(db: &Db, sql: &str, params: &QueryParams) -> Result<QueryRows> {
    let context = "internal.db query";
    let conn = db.conn();
    let _read_only = ReadOnlyGuard::install(conn);
    let mut stmt = conn.prepare(sql).map_err(|e| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) {
            Error::WriteRefused {
                sql: sql.to_owned(),
            }
        } else {
            Error::sqlite(context)(e)
        }
    })?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    match params {
        QueryParams::Positional(values) => {
            for (i, value) in values.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, value)
                    .map_err(Error::sqlite(context))?;
            }
        }
        QueryParams::Named(values) => {
            for (name, value) in values {
                let index = ["$", ":", "@"]
                    .iter()
                    .find_map(|prefix| {
                        stmt.parameter_index(&format!("{prefix}{name}"))
                            .ok()
                            .flatten()
                    })
                    .ok_or_else(|| Error::InvalidArgValue {
                        message: format!(
                            "the statement has no parameter named {}",
                            crate::json::quote(name)
                        ),
                    })?;
                stmt.raw_bind_parameter(index, value)
                    .map_err(Error::sqlite(context))?;
            }
        }
    }
    let width = columns.len();
    let mut rows = Vec::new();
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next().map_err(Error::sqlite(context))? {
        rows.push(
            (0..width)
                .map(|i| row.get_ref(i).map(column_value))
                .collect::<rusqlite::Result<_>>()
                .map_err(Error::sqlite(context))?,
        );
    }
    Ok(QueryRows { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::{query, QueryParams};
    use crate::db::{Db, Durability, Location};
    use crate::error::Error;

    fn store_db() -> Db {
        Db::open(Location::InMemory, false, Durability::Full).unwrap()
    }

    fn run(db: &Db, sql: &str) -> crate::error::Result<super::QueryRows> {
        query(db, sql, &QueryParams::Positional(vec![]))
    }

    #[test]
    fn reading_statements_and_reading_pragmas_run() {
        let db = store_db();
        for sql in [
            "SELECT count(*) FROM kvStore",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n",
            "SELECT value FROM json_each('[1,2]')",
            "PRAGMA journal_mode",
            "pragma main.journal_mode;",
            "PRAGMA table_info(kvStore)",
        ] {
            assert!(run(&db, sql).is_ok(), "{sql}");
        }
    }

    #[test]
    fn statements_that_write_or_touch_the_transaction_are_refused_before_they_run() {
        let mut db = store_db();
        db.ensure_txn().unwrap();
        for sql in [
            "INSERT INTO kvStore VALUES ('k', 'v')",
            "DELETE FROM kvStore",
            "CREATE TEMP TABLE t(x)",
            "COMMIT",
            "END",
            "ROLLBACK",
            "BEGIN",
            "SAVEPOINT x",
            "RELEASE x",
            "ATTACH DATABASE ':memory:' AS other",
            "PRAGMA query_only = 1",
            "PRAGMA journal_mode=delete",
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "PRAGMA user_version = 3",
            "PRAGMA cache_size(100)",
        ] {
            assert!(
                matches!(run(&db, sql), Err(Error::WriteRefused { .. })),
                "{sql}"
            );
        }
        assert!(db.in_txn());
        assert!(
            !db.conn().is_autocommit(),
            "the store's transaction is still open"
        );
        db.commit().unwrap();
    }

    #[test]
    fn text_that_is_not_utf8_reads_as_replacement_characters() {
        let rows = run(&store_db(), "SELECT char(55296)").unwrap().rows;
        assert_eq!(
            rows,
            [[rusqlite::types::Value::Text(
                "\u{fffd}\u{fffd}\u{fffd}".into()
            )]]
        );
    }

    #[test]
    fn the_store_statements_run_again_after_a_tool_query() {
        let mut db = store_db();
        run(&db, "SELECT 1").unwrap();
        db.execute(
            "INSERT INTO kvStore (key, value) VALUES (?, ?)",
            ["k", "v"],
            "insert",
        )
        .unwrap();
        db.commit().unwrap();
    }
}
