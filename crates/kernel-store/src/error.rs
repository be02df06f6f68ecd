//! One error type for the whole core. Every variant has a stable `code` (what hosts match on)
//! and a message that names the key or argument; where `@agoric/swing-store` has a message,
//! it is reproduced verbatim so code written against swing-store keeps matching.

use std::fmt;

use crate::json::quote;

#[derive(Debug)]
pub enum Error {
    /// An argument of the wrong JS type; surfaced as a `TypeError`.
    InvalidArgType { message: String },
    /// An argument of the right type but an unacceptable value.
    InvalidArgValue { message: String },
    /// `kernelStorage.kvStore` was asked to write a `host.` key.
    HostKeyRefused,
    /// `hostStorage.kvStore` was asked to write a key outside the `host.` namespace.
    HostKeyRequired,
    /// A crank method called in the wrong crank state; the message is swing-store's.
    CrankState { message: &'static str },
    /// `rollbackCrank(name)` with no savepoint of that name.
    NoSuchSavepoint { name: String },
    /// Any call after `close()`.
    Closed,
    /// Writing to a store opened read-only.
    ReadOnly,
    /// The journal mode SQLite reports differs from the one asked for.
    JournalMode { wanted: &'static str, actual: String },
    /// The database file is not one this store can use.
    NotASwingStore { message: String },
    /// The host's export callback threw; the host's own exception is what propagates.
    ExportCallback,
    /// An error from SQLite itself, with the operation that hit it.
    Sqlite { context: &'static str, source: rusqlite::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable machine-readable code hosts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgType { .. } => "ERR_INVALID_ARG_TYPE",
            Error::InvalidArgValue { .. } => "ERR_INVALID_ARG_VALUE",
            Error::HostKeyRefused => "ERR_HOST_KEY_REFUSED",
            Error::HostKeyRequired => "ERR_HOST_KEY_REQUIRED",
            Error::CrankState { .. } => "ERR_CRANK_STATE",
            Error::NoSuchSavepoint { .. } => "ERR_NO_SUCH_SAVEPOINT",
            Error::Closed => "ERR_CLOSED",
            Error::ReadOnly => "ERR_READONLY",
            Error::JournalMode { .. } => "ERR_JOURNAL_MODE",
            Error::NotASwingStore { .. } => "ERR_NOT_A_SWING_STORE",
            Error::ExportCallback => "ERR_EXPORT_CALLBACK",
            Error::Sqlite { source, .. } => match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                    "ERR_STORE_BUSY"
                }
                Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                    "ERR_CORRUPT"
                }
                _ => "ERR_SQLITE",
            },
        }
    }

    /// Whether a JS host should see this as a `TypeError` rather than a plain `Error`.
    pub fn is_type_error(&self) -> bool {
        matches!(self, Error::InvalidArgType { .. })
    }

    pub fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| Error::Sqlite { context, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgType { message } | Error::InvalidArgValue { message } => f.write_str(message),
            Error::HostKeyRefused => f.write_str("kernelKVStore refuses host keys"),
            Error::HostKeyRequired => f.write_str("hostKVStore requires host keys"),
            Error::CrankState { message } => f.write_str(message),
            Error::NoSuchSavepoint { name } => write!(f, "no such savepoint as \"{}\"", quote(name)),
            Error::Closed => f.write_str("db not initialized"),
            Error::ReadOnly => f.write_str("attempt to write a readonly database"),
            Error::JournalMode { wanted, actual } => {
                write!(f, "Couldn't set swing-store DB to {wanted} mode (is {actual})")
            }
            Error::NotASwingStore { message } => f.write_str(message),
            Error::ExportCallback => f.write_str("export callback failed"),
            Error::Sqlite { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sqlite { source, .. } => Some(source),
            _ => None,
        }
    }
}
