//! Read-only SQL for tools, over the store's own connection: what swing-store's
//! `internal.db` (a better-sqlite3 handle) is used for by tests and tools that count rows or
//! read a table. Serving them here means no second SQLite library opens the file in the
//! same process (see docs/foreign-sqlite.md); only statements SQLite reports as read-only run.

pub use rusqlite::types::Value;

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

/// `PRAGMA [schema.]name` of a reading pragma, or `PRAGMA [schema.]name(argument)` of one
/// whose argument is a question: a query, never an assignment.
fn is_pragma_query(sql: &str) -> bool {
    let text = sql.trim().trim_end_matches(';').trim();
    let Some(rest) = text
        .get(..6)
        .filter(|head| head.eq_ignore_ascii_case("pragma"))
        .map(|_| text[6..].trim_start())
    else {
        return false;
    };
    if rest.contains('=') {
        return false;
    }
    let (name, argument) = match rest.split_once('(') {
        Some((name, argument)) => (name.trim(), Some(argument)),
        None => (rest, None),
    };
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    ASKING_PRAGMAS.contains(&name.as_str())
        || (argument.is_none() && READING_PRAGMAS.contains(&name.as_str()))
}

/// Runs one read-only statement; anything that could write is refused before it runs.
pub fn query(db: &Db, sql: &str, params: &QueryParams) -> Result<QueryRows> {
    let context = "internal.db query";
    let mut stmt = db.conn().prepare(sql).map_err(Error::sqlite(context))?;
    if !stmt.readonly() && !is_pragma_query(sql) {
        return Err(Error::WriteRefused {
            sql: sql.to_owned(),
        });
    }
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
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<_>>()
                .map_err(Error::sqlite(context))?,
        );
    }
    Ok(QueryRows { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::is_pragma_query;

    #[test]
    fn reading_pragmas_are_queries_and_assignments_are_not() {
        for sql in [
            "PRAGMA journal_mode",
            "pragma main.journal_mode;",
            "PRAGMA table_info(kvStore)",
        ] {
            assert!(is_pragma_query(sql), "{sql}");
        }
        for sql in [
            "PRAGMA journal_mode=delete",
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "PRAGMA user_version = 3",
            "PRAGMA cache_size(100)",
            "SELECT 1",
        ] {
            assert!(!is_pragma_query(sql), "{sql}");
        }
    }
}
