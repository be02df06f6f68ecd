//! One error type for the whole core. Every variant has a stable `code` (what hosts match on)
//! and a message that names the key or argument; where `@agoric/swing-store` has a message,
//! it is reproduced verbatim so code written against swing-store keeps matching.

use std::fmt;

use crate::json::{quote, quote_wtf8};

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
    NoSuchSavepoint { name: Vec<u8> },
    /// Any call after `close()`.
    Closed,
    /// Writing to a store opened read-only.
    ReadOnly,
    /// An operation that reads only committed data, on an in-memory store with an open block
    /// (no other connection can see its last commit).
    UncommittedBlock { operation: &'static str },
    /// The journal mode SQLite reports differs from the one asked for.
    JournalMode {
        wanted: &'static str,
        actual: String,
    },
    /// The database file is not one this store can use.
    NotASwingStore { message: String },
    /// Another writer (in this process or another) has the store directory open.
    StoreLocked { dir: String, waited_ms: u128 },
    /// A kref that is not `ko<N>`, `kp<N>` or `kd<N>`.
    InvalidKref { kref: String },
    /// `incrementRefCount('')` / `decrementRefCount('')`; `tag` is rendered (see `RefTag`).
    EmptyKref {
        operation: &'static str,
        tag: String,
    },
    /// A vatKeeper call for a vat the kernel never initialized (`vNN.o.nextID` missing).
    VatNotInitialized { vat_id: String },
    /// A key the kernel requires is absent (swing-store's `getRequired`).
    MissingKey { key: String },
    /// A promise decrement at zero; `tag` is rendered (see `RefTag`).
    PromiseUnderflow { kref: String, tag: String },
    /// An object count that would go negative.
    ObjectUnderflow {
        kref: String,
        reachable: i128,
        recognizable: i128,
    },
    /// A refcount that would pass the largest count a JS kernel can hold exactly.
    CountOverflow { key: String },
    /// reachable > recognizable, read (`get`) or about to be written (`set`).
    RefMismatch {
        when: &'static str,
        kref: String,
        reachable: i128,
        recognizable: i128,
    },
    /// A stored value that does not have the shape the kernel writes.
    CorruptValue {
        key: String,
        expected: &'static str,
        found: String,
    },
    /// vatParameters that are not `{ body: string, slots: string[] }` of object krefs.
    InvalidCapData { message: String },
    /// A promise kref in vatParameters (the kernel forbids them).
    PromiseInVatParameters { slot: String },
    /// A vatID the kernel has not recorded (`vNN.options` missing).
    UnknownVat { vat_id: String },
    /// A vatID listed in `vats.terminated`.
    VatTerminated { vat_id: String },
    /// An upgrade that asks to reuse vatParameters the store never retained.
    NoRetainedVatParameters { vat_id: String },
    /// The host's export callback threw; the host's own exception is what propagates.
    ExportCallback,
    /// A transcript operation on a vat that has no current span (never initialised, or
    /// stopped): the kernel asked about a vat whose transcript it does not own.
    NoCurrentTranscript { vat_id: String },
    /// `readSpan(vatID, startPos)` naming no span; `position` is the JS number as `q()` shows it.
    NoTranscriptSpan { vat_id: String, position: String },
    /// A rollover of a current span with no items: the next span could not start elsewhere.
    EmptyTranscriptSpan { vat_id: String, position: u64 },
    /// The end-of-iteration check of `readSpan`: how a pruned span is discovered.
    IncompleteTranscriptSpan { read: u64, expected: u64 },
    /// A bundle whose moduleFormat does not suit its bundleID's version (`"b0-"` or `"b1-"`).
    UnsupportedModuleFormat {
        prefix: &'static str,
        module_format: String,
    },
    /// A bundle whose contents do not hash to its bundleID.
    BundleIdMismatch { bundle_id: String },
    /// A bundleID with neither the `b0-` nor the `b1-` prefix.
    UnsupportedBundleId { bundle_id: String },
    /// A stored bundle row whose bundleID has no known prefix (only a foreign writer makes one).
    StoredBundleIdUnsupported { bundle_id: String },
    /// `endoZipBase64` that `@endo/base64` would refuse; the message is its own.
    InvalidBase64 { message: String },
    /// `getBundle` of an id with no row.
    BundleNotFound { bundle_id: String },
    /// `getBundle` of a row whose data was never populated (an unfinished import).
    BundlePruned { bundle_id: String },
    /// `loadSnapshot` of a vat with no in-use snapshot, or one whose data was pruned.
    NoSnapshot { vat_id: String },
    /// A loaded snapshot whose decompressed bytes do not hash to the recorded hash.
    SnapshotHashMismatch { actual: String, expected: String },
    /// Stored snapshot data that is not valid gzip; coded as Node's zlib codes it.
    Gzip { source: std::io::Error },
    /// An exporter's `getHostKV` was asked for a key outside the `host.` namespace.
    NotAHostKey,
    /// An artifact name that does not have its type's form, or names no known type.
    InvalidArtifactName { message: String },
    /// An export asked for an artifact this store does not have (any more).
    ArtifactUnavailable { message: String },
    /// An imported artifact that holds fewer (or more) items than its metadata records.
    ArtifactIncomplete { name: String },
    /// An imported artifact whose contents do not hash to what its metadata records; the
    /// message is swing-store's for the artifact's type.
    ArtifactHashMismatch { message: String },
    /// An imported artifact named twice by one exporter.
    DuplicateArtifact { name: String },
    /// An imported artifact with no export-data record describing it.
    NoArtifactMetadata { message: String },
    /// Export data that is not what an exporter produces (unknown type, a record that does
    /// not match its key, a missing field).
    InvalidExportData { message: String },
    /// A store (or an export) lacks artifacts its artifact mode requires.
    IncompleteArtifacts { message: String },
    /// `repairMetadata` found a record that disagrees with the one already stored.
    RepairMismatch { message: String },
    /// A tool's statement through `internal.db` that could write.
    WriteRefused { sql: String },
    /// `debug.serialize()` of an on-disk store.
    NotSerializable,
    /// The `traceFile` could not be opened or written.
    Trace {
        path: String,
        source: std::io::Error,
    },
    /// SQLite found the database file damaged (or not a database at all).
    CorruptDatabase {
        file: String,
        source: rusqlite::Error,
    },
    /// Something that ignores SQLite's locks (another SQLite library in this process, a tool
    /// deleting -wal/-shm) changed the files under the open store.
    Foreign(crate::foreign_sqlite::ForeignSqlite),
    /// An error from SQLite itself, with the operation that hit it.
    Sqlite {
        context: &'static str,
        source: rusqlite::Error,
    },
    /// A thread of the store's own stopped without finishing its work (a bug, never input).
    ThreadStopped { what: &'static str },
    /// An import whose export data could not all be written: it can only be abandoned.
    ImportFailed,
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
            Error::UncommittedBlock { .. } => "ERR_UNCOMMITTED_BLOCK",
            Error::JournalMode { .. } => "ERR_JOURNAL_MODE",
            Error::NotASwingStore { .. } => "ERR_NOT_A_SWING_STORE",
            Error::StoreLocked { .. } => "ERR_STORE_BUSY",
            Error::ExportCallback => "ERR_EXPORT_CALLBACK",
            Error::NoCurrentTranscript { .. } => "ERR_NO_CURRENT_TRANSCRIPT",
            Error::NoTranscriptSpan { .. } => "ERR_NO_TRANSCRIPT_SPAN",
            Error::IncompleteTranscriptSpan { .. } => "ERR_INCOMPLETE_TRANSCRIPT_SPAN",
            Error::EmptyTranscriptSpan { .. } => "ERR_EMPTY_TRANSCRIPT_SPAN",
            Error::UnsupportedModuleFormat { .. } => "ERR_UNSUPPORTED_MODULE_FORMAT",
            Error::BundleIdMismatch { .. } => "ERR_BUNDLE_ID_MISMATCH",
            Error::UnsupportedBundleId { .. } | Error::StoredBundleIdUnsupported { .. } => {
                "ERR_UNSUPPORTED_BUNDLE_ID"
            }
            Error::InvalidBase64 { .. } => "ERR_INVALID_BASE64",
            Error::BundleNotFound { .. } => "ERR_BUNDLE_NOT_FOUND",
            Error::BundlePruned { .. } => "ERR_BUNDLE_PRUNED",
            Error::NoSnapshot { .. } => "ERR_NO_SNAPSHOT",
            Error::SnapshotHashMismatch { .. } => "ERR_SNAPSHOT_HASH_MISMATCH",
            // Node's zlib reports a truncated stream and a corrupt one under these codes.
            Error::Gzip { source } if source.kind() == std::io::ErrorKind::UnexpectedEof => {
                "Z_BUF_ERROR"
            }
            Error::Gzip { .. } => "Z_DATA_ERROR",
            Error::InvalidKref { .. } | Error::EmptyKref { .. } => "ERR_INVALID_KREF",
            Error::VatNotInitialized { .. } => "ERR_UNKNOWN_VAT",
            Error::MissingKey { .. } => "ERR_MISSING_KEY",
            Error::PromiseUnderflow { .. } | Error::ObjectUnderflow { .. } => {
                "ERR_REFCOUNT_UNDERFLOW"
            }
            Error::CountOverflow { .. } => "ERR_REFCOUNT_OVERFLOW",
            Error::RefMismatch { .. } => "ERR_REFCOUNT_MISMATCH",
            Error::CorruptValue { .. } => "ERR_CORRUPT_VALUE",
            Error::InvalidCapData { .. } => "ERR_INVALID_CAPDATA",
            Error::PromiseInVatParameters { .. } => "ERR_PROMISE_IN_VATPARAMETERS",
            Error::UnknownVat { .. } => "ERR_UNKNOWN_VAT",
            Error::VatTerminated { .. } => "ERR_VAT_TERMINATED",
            Error::NoRetainedVatParameters { .. } => "ERR_NO_RETAINED_VATPARAMETERS",
            Error::NotAHostKey => "ERR_HOST_KEY_REQUIRED",
            Error::InvalidArtifactName { .. } => "ERR_INVALID_ARTIFACT_NAME",
            Error::ArtifactUnavailable { .. } => "ERR_ARTIFACT_UNAVAILABLE",
            Error::ArtifactIncomplete { .. } => "ERR_ARTIFACT_INCOMPLETE",
            Error::ArtifactHashMismatch { .. } => "ERR_ARTIFACT_HASH_MISMATCH",
            Error::DuplicateArtifact { .. } => "ERR_DUPLICATE_ARTIFACT",
            Error::NoArtifactMetadata { .. } => "ERR_NO_ARTIFACT_METADATA",
            Error::InvalidExportData { .. } => "ERR_INVALID_EXPORT_DATA",
            Error::IncompleteArtifacts { .. } => "ERR_INCOMPLETE_ARTIFACTS",
            Error::RepairMismatch { .. } => "ERR_REPAIR_MISMATCH",
            Error::NotSerializable => "ERR_UNSUPPORTED_OPERATION",
            Error::ThreadStopped { .. } => "ERR_INTERNAL",
            Error::ImportFailed => "ERR_IMPORT_FAILED",
            Error::WriteRefused { .. } => "ERR_READONLY_QUERY",
            Error::Trace { .. } => "ERR_TRACE_FILE",
            Error::CorruptDatabase { .. } => "ERR_CORRUPT",
            Error::Foreign(_) => crate::foreign_sqlite::ForeignSqlite::CODE,
            Error::Sqlite { source, .. } => match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy)
                | Some(rusqlite::ErrorCode::DatabaseLocked) => "ERR_STORE_BUSY",
                Some(rusqlite::ErrorCode::NotADatabase)
                | Some(rusqlite::ErrorCode::DatabaseCorrupt) => "ERR_CORRUPT",
                _ => "ERR_SQLITE",
            },
        }
    }

    /// Whether a JS host should see this as a `TypeError` rather than a plain `Error`.
    pub fn is_type_error(&self) -> bool {
        matches!(self, Error::InvalidArgType { .. })
    }

    /// Names the database file in a damaged-database error, which SQLite reports without it:
    /// an operator with several stores must be told which one to restore. A locking-protocol
    /// error is explained: only a connection ignoring this store's locks causes one.
    pub fn in_database(self, file: Option<&std::path::Path>) -> Error {
        match (self, file) {
            (Error::Sqlite { source, .. }, Some(file))
                if source.sqlite_error_code()
                    == Some(rusqlite::ErrorCode::FileLockingProtocolFailed) =>
            {
                Error::Foreign(crate::foreign_sqlite::ForeignSqlite::locking_protocol(file))
            }
            (Error::Sqlite { source, .. }, Some(file))
                if matches!(
                    source.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
                ) =>
            {
                Error::CorruptDatabase {
                    file: file.display().to_string(),
                    source,
                }
            }
            (error, _) => error,
        }
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
            Error::NoSuchSavepoint { name } => write!(f, "no such savepoint as \"{}\"", quote_wtf8(name)),
            Error::Closed => f.write_str("db not initialized"),
            Error::ReadOnly => f.write_str("attempt to write a readonly database"),
            Error::UncommittedBlock { operation } => write!(
                f,
                "{operation} reads committed data only, and this in-memory store has an uncommitted block: commit first"
            ),
            Error::JournalMode { wanted, actual } => {
                write!(f, "Couldn't set swing-store DB to {wanted} mode (is {actual})")
            }
            Error::NotASwingStore { message } => f.write_str(message),
            Error::StoreLocked { dir, waited_ms } => write!(
                f,
                "the swing-store in {dir} is already open for writing (by this or another process); gave up after waiting {waited_ms} ms"
            ),
            Error::ExportCallback => f.write_str("export callback failed"),
            // The kernel's own messages, as @endo/errors renders them unredacted (debug mode).
            Error::InvalidKref { kref } => write!(f, "invalid kernelSlot {}", quote(kref)),
            Error::EmptyKref { operation, tag } => {
                let noun = if *operation == "incrementRefCount" { "kref" } else { "kernelSlot" };
                write!(f, "{operation} called with empty {noun}, tag={tag}")
            }
            Error::MissingKey { key } => write!(f, "storage lacks required key {}", quote(key)),
            Error::PromiseUnderflow { kref, tag } => write!(f, "refCount underflow {} {tag}", quote(kref)),
            Error::VatNotInitialized { vat_id } => write!(f, "{vat_id} was not initialized"),
            Error::ObjectUnderflow { kref, reachable, recognizable } => {
                write!(f, "{} underflow {reachable},{recognizable}", quote(kref))
            }
            Error::CountOverflow { key } => write!(
                f,
                "{} would pass {}, the largest count a JS kernel holds exactly",
                quote(key),
                crate::ids::MAX_SAFE_INTEGER
            ),
            Error::RefMismatch { when, kref, reachable, recognizable } => {
                write!(f, "refmismatch({when}) {} {reachable},{recognizable}", quote(kref))
            }
            Error::CorruptValue { key, expected, found } => {
                write!(f, "corrupt value under {}: expected {expected}, found {}", quote(key), quote(found))
            }
            Error::InvalidCapData { message } => f.write_str(message),
            Error::PromiseInVatParameters { slot } => {
                write!(f, "vatParameters cannot include promises, but slot {} is one", quote(slot))
            }
            Error::UnknownVat { vat_id } => write!(f, "unknown vatID {}: no {} recorded", quote(vat_id), quote(&format!("{vat_id}.options"))),
            Error::VatTerminated { vat_id } => write!(f, "vatID {} is terminated", quote(vat_id)),
            Error::NoRetainedVatParameters { vat_id } => write!(
                f,
                "vat {} has no retained vatParameters (created before retention existed): pass options.vatParameters to upgrade it",
                quote(vat_id)
            ),
            Error::NoCurrentTranscript { vat_id } => {
                write!(f, "no current transcript for {}", quote(vat_id))
            }
            Error::NoTranscriptSpan { vat_id, position } => {
                write!(f, "no transcript span for {} at {position}", quote(vat_id))
            }
            Error::EmptyTranscriptSpan { vat_id, position } => write!(
                f,
                "cannot roll over the transcript of {}: its current span (from position {position}) has no items",
                quote(vat_id)
            ),
            Error::IncompleteTranscriptSpan { read, expected } => {
                write!(f, "read {read} transcript entries (expected {expected})")
            }
            Error::UnsupportedModuleFormat { prefix, module_format } => {
                write!(f, "unsupported {prefix} module format {}", quote(module_format))
            }
            Error::BundleIdMismatch { bundle_id } => {
                write!(f, "bundleID {} does not match bundle", quote(bundle_id))
            }
            // swing-store leaves this id unquoted in its template; unredacted, `@endo/errors`
            // then quotes it anyway.
            Error::UnsupportedBundleId { bundle_id } => {
                write!(f, "unsupported BundleID {}", quote(bundle_id))
            }
            Error::StoredBundleIdUnsupported { bundle_id } => {
                write!(f, "somehow found unsupported BundleID {}", quote(bundle_id))
            }
            Error::InvalidBase64 { message } => f.write_str(message),
            Error::BundleNotFound { bundle_id } => write!(f, "bundle {} not found", quote(bundle_id)),
            Error::BundlePruned { bundle_id } => write!(f, "bundle {} pruned", quote(bundle_id)),
            Error::NoSnapshot { vat_id } => {
                write!(f, "no snapshot available for vat {}", quote(vat_id))
            }
            Error::SnapshotHashMismatch { actual, expected } => {
                write!(f, "actual hash {} !== expected {}", quote(actual), quote(expected))
            }
            // Node's wording for a stream that ends early; otherwise the decoder's own.
            Error::Gzip { source } if source.kind() == std::io::ErrorKind::UnexpectedEof => {
                f.write_str("unexpected end of file")
            }
            Error::Gzip { source } => write!(f, "{source}"),
            Error::InvalidArtifactName { message }
            | Error::ArtifactUnavailable { message }
            | Error::ArtifactHashMismatch { message }
            | Error::NoArtifactMetadata { message }
            | Error::InvalidExportData { message }
            | Error::IncompleteArtifacts { message }
            | Error::RepairMismatch { message } => f.write_str(message),
            Error::NotAHostKey => f.write_str("getHostKV requires host keys"),
            Error::ArtifactIncomplete { name } => write!(f, "artifact {} is not complete", quote(name)),
            Error::DuplicateArtifact { name } => {
                write!(f, "artifact {} is offered twice by the exporter", quote(name))
            }
            Error::ThreadStopped { what } => write!(f, "the {what} thread stopped unexpectedly"),
            Error::ImportFailed => f.write_str(
                "this import failed earlier writing its export data: it can only be aborted",
            ),
            Error::NotSerializable => {
                f.write_str("on-disk DBs with WAL mode enabled do not serialize well")
            }
            Error::WriteRefused { sql } => write!(
                f,
                "internal.db runs read-only statements only (the store writes through its own calls, in its own transaction); refused: {}",
                quote(sql)
            ),
            Error::Trace { path, source } => write!(f, "cannot write trace file {path}: {source}"),
            Error::CorruptDatabase { file, source } => {
                write!(f, "database file {file} is damaged: {source}")
            }
            Error::Foreign(e) => write!(f, "{e}"),
            // SQLite's own message, as swing-store surfaces it (without the statement text
            // rusqlite adds to a syntax error); `context` is kept for Debug.
            Error::Sqlite {
                source: rusqlite::Error::SqlInputError { msg, .. },
                ..
            } => f.write_str(msg),
            Error::Sqlite { source, .. } => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sqlite { source, .. } | Error::CorruptDatabase { source, .. } => Some(source),
            Error::Gzip { source } | Error::Trace { source, .. } => Some(source),
            _ => None,
        }
    }
}
