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

/// Runs one read-only statement; anything that could write is refused before it runs.
pub fn query(db: &Db, sql: &str, params: &QueryParams) -> Result<QueryRows> {
    let context = "internal.db query";
    let mut stmt = db.conn().prepare(sql).map_err(Error::sqlite(context))?;
    if !stmt.readonly() {
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
