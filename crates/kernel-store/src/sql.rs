//! SQL plumbing every store shares: binding JS strings the way better-sqlite3 binds them,
//! reading TEXT columns back byte for byte, and running a cached query into a `Vec`.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Params, Row};

use crate::error::{Error, Result};

/// Binds bytes as SQLite TEXT (not BLOB), as better-sqlite3 binds a JS string: keys and
/// values are WTF-8, which `&str` cannot hold.
pub struct Text<'a>(pub &'a [u8]);

impl rusqlite::ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

/// A TEXT column's bytes, exactly as stored.
pub fn text_bytes(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<u8>> {
    text_ref(row, idx).map(<[u8]>::to_vec)
}

/// A text (or blob) column's bytes, borrowed from the row: for readers that copy them once
/// into a buffer of their own.
pub fn text_ref<'row>(row: &'row Row<'_>, idx: usize) -> rusqlite::Result<&'row [u8]> {
    match row.get_ref(idx)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "text".into(),
            other.data_type(),
        )),
    }
}

/// A column read as JS reads whatever better-sqlite3 hands it: text as a string (bytes that
/// are not UTF-8 as U+FFFD), a number as its decimal, NULL as `"null"`.
pub fn text_lossy(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        ValueRef::Null => "null".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
    })
}

/// Every row of a cached query, mapped; `context` names the operation in errors.
pub fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    context: &'static str,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(Error::sqlite(context))?;
    let rows = stmt
        .query_map(params, map)
        .map_err(Error::sqlite(context))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(Error::sqlite(context))
}

/// The first row of a cached query, mapped, or `None`.
pub fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    context: &'static str,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, map).optional())
        .map_err(Error::sqlite(context))
}

/// A deletion's `LIMIT`: all rows (`-1`) without a budget, else at most `budget`.
pub fn budget_limit(budget: Option<u64>) -> i64 {
    budget.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX))
}
