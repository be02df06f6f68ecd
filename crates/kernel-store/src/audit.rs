//! A read-only refcount audit of a committed swing-store (docs/refcounts.md, "The audit"):
//! one streaming pass over `kvStore` recomputes every `koNN.refCount` / `kpNN.refCount` from
//! the holders the kvStore records plus the host's external list, compares, and
//! checks the GC-action invariants. Findings are sorted by kref and holders by key, so two
//! audits of one store read alike whatever order SQLite returned the rows in.
//!
//! When counts disagree, a second pass in the same read transaction collects the holders of
//! just those krefs: keeping every holder during the first pass would make memory grow with
//! the store, and a clean store (the usual case) is read once.

mod scan;
mod tally;

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{json, Value};

use crate::db::{Db, DB_FILE_NAME};
use crate::error::{Error, Result};
use scan::{Kref, Scanner, Sink};
use tally::{Collector, Counter, Pending};

/// How often (in entries) the progress callback hears from the scan.
pub const AUDIT_PROGRESS_INTERVAL: u64 = 1 << 16;

/// What the host knows that the kvStore does not.
#[derive(Default)]
pub struct AuditOptions<'a> {
    /// Krefs the host holds outside the store (the bootstrap result `kp40`, open controller
    /// kpids, …). Each entry is one holder named `external` adding 1 (an object: 1,1);
    /// a kref listed twice is held twice. `kdNN` entries count nothing, as device nodes.
    pub external: Vec<String>,
    /// Called every [`AUDIT_PROGRESS_INTERVAL`] entries and at the end with
    /// `(entries_scanned, total_estimate)`; the estimate grows if a second pass is needed.
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
}

/// A refcount as the kernel stores it: objects `reachable,recognizable`, promises one count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Object { reachable: u64, recognizable: u64 },
    Promise(u64),
}

impl Count {
    pub fn is_zero(self) -> bool {
        matches!(
            self,
            Count::Promise(0)
                | Count::Object {
                    reachable: 0,
                    recognizable: 0
                }
        )
    }

    fn plus(self, other: Count) -> Count {
        match (self, other) {
            (
                Count::Object {
                    reachable: r1,
                    recognizable: c1,
                },
                Count::Object {
                    reachable: r2,
                    recognizable: c2,
                },
            ) => Count::Object {
                reachable: r1 + r2,
                recognizable: c1 + c2,
            },
            (Count::Promise(a), Count::Promise(b)) => Count::Promise(a + b),
            (a, _) => a,
        }
    }
}

/// The stored format: `"R,C"` or `"N"`.
impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Object {
                reachable,
                recognizable,
            } => write!(f, "{reachable},{recognizable}"),
            Count::Promise(n) => write!(f, "{n}"),
        }
    }
}

/// One key holding a kref, and what it adds to the count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The kvStore key (`v6.c.ko26`, `runQueue.12`, …), or `external`.
    pub key: String,
    /// The holder's role: `vat c-list import`, `send slot`, `retained vatParameters`, ….
    pub what: &'static str,
    pub adds: Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// What an audit can find. Each kind has one severity and a stable name (`as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// Stored below computed: a premature free is possible.
    Deficit,
    /// Stored above computed: an unlisted external holder, or a leak (L1-L4).
    Surplus,
    /// Holders of a kref whose refCount key is gone.
    MissingRefCount,
    /// The tolerated case of the above: every holder is an import whose `retireImport` is pending.
    PendingRetireImport,
    /// A zero-count record left between cranks (live owner with pending retireExport,
    /// `kpNN.refCount = "0"`, ownerless object with reachable 0).
    ZeroCount,
    /// A live-owned, unreachable object whose owner's export is still flagged `R`, with no
    /// pending `dropExport`.
    MissingDropExport,
    /// A live-owned, unrecognizable object with no pending `retireExport`.
    MissingRetireExport,
    /// A live-owned object whose owner has no export c-list entry for it.
    MissingOwnerExport,
    /// `koNN.owner` without `koNN.refCount`.
    OwnerWithoutRefCount,
    /// A value without the shape the kernel writes (the finding's `key` names it).
    Malformed,
    /// A queue whose `[head, tail)` items are not all present.
    MissingQueueItem,
    /// A queue item outside `[head, tail)` (or with no bounds key): not counted.
    StaleQueueItem,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Deficit => "deficit",
            FindingKind::Surplus => "surplus",
            FindingKind::MissingRefCount => "missing-refcount",
            FindingKind::PendingRetireImport => "pending-retire-import",
            FindingKind::ZeroCount => "zero-count",
            FindingKind::MissingDropExport => "missing-drop-export",
            FindingKind::MissingRetireExport => "missing-retire-export",
            FindingKind::MissingOwnerExport => "missing-owner-export",
            FindingKind::OwnerWithoutRefCount => "owner-without-refcount",
            FindingKind::Malformed => "malformed",
            FindingKind::MissingQueueItem => "missing-queue-item",
            FindingKind::StaleQueueItem => "stale-queue-item",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            FindingKind::Deficit
            | FindingKind::MissingRefCount
            | FindingKind::MissingDropExport
            | FindingKind::MissingRetireExport
            | FindingKind::MissingOwnerExport
            | FindingKind::Malformed
            | FindingKind::MissingQueueItem => Severity::Error,
            FindingKind::Surplus
            | FindingKind::OwnerWithoutRefCount
            | FindingKind::StaleQueueItem => Severity::Warning,
            FindingKind::PendingRetireImport | FindingKind::ZeroCount => Severity::Info,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The kref concerned, when there is one.
    pub kref: Option<String>,
    /// The key at fault, for findings about one value (malformed values, queue items).
    pub key: Option<String>,
    /// The stored count; `None` when the refCount key is missing (or for value findings).
    pub stored: Option<Count>,
    /// The count the holders account for.
    pub computed: Option<Count>,
    /// Every holder of `kref`, in key order; empty exactly when `computed` is zero.
    pub holders: Vec<Holder>,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct AuditReport {
    /// kvStore entries in the store (one pass).
    pub entries_scanned: u64,
    /// 1, or 2 when holders had to be collected for findings.
    pub passes: u32,
    /// `koNN.refCount` / `kpNN.refCount` keys seen.
    pub objects: u64,
    pub promises: u64,
    /// References counted from holders, the external list included.
    pub references: u64,
    pub elapsed: Duration,
    /// Entries read per second over all passes.
    pub entries_per_second: f64,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub info: Vec<Finding>,
}

impl AuditReport {
    /// No errors and no warnings (info findings are legal states).
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }

    /// The report as JSON, counts written in the stored format (`"2,2"`, `"1"`).
    pub fn to_json(&self) -> Value {
        let findings = |list: &[Finding]| Value::Array(list.iter().map(Finding::to_json).collect());
        json!({
            "entriesScanned": self.entries_scanned,
            "passes": self.passes,
            "objects": self.objects,
            "promises": self.promises,
            "references": self.references,
            "elapsedSeconds": self.elapsed.as_secs_f64(),
            "entriesPerSecond": self.entries_per_second,
            "errors": findings(&self.errors),
            "warnings": findings(&self.warnings),
            "info": findings(&self.info),
        })
    }
}

impl Finding {
    pub fn to_json(&self) -> Value {
        let count = |c: &Option<Count>| c.map_or(Value::Null, |c| Value::String(c.to_string()));
        json!({
            "kind": self.kind.as_str(),
            "kref": self.kref,
            "key": self.key,
            "stored": count(&self.stored),
            "computed": count(&self.computed),
            "holders": self.holders.iter().map(|h| json!({
                "key": h.key,
                "what": h.what,
                "adds": h.adds.to_string(),
            })).collect::<Vec<_>>(),
            "message": self.message,
        })
    }
}

/// Audits the swing-store database at `path` (the `swingstore.sqlite` file, or the directory
/// holding it) through its own read-only connection. Works on any database with swing-store's
/// `kvStore(key, value)` table, whichever implementation wrote it.
pub fn audit_refcounts_at(path: &Path, options: AuditOptions<'_>) -> Result<AuditReport> {
    let file = if path.is_dir() {
        path.join(DB_FILE_NAME)
    } else {
        path.to_owned()
    };
    audit_file(&file, options)
}

/// Audits what a store's database has committed. A file-backed store is read through a
/// fresh read-only connection, which sees the last commit and nothing of the open block; an
/// in-memory store can only be read through its own connection, so it must have no
/// uncommitted block.
pub fn audit_committed(db: &Db, options: AuditOptions<'_>) -> Result<AuditReport> {
    match db.path() {
        Some(path) => audit_file(path, options),
        None if db.conn().is_autocommit() => run(db.conn(), options),
        None => Err(Error::UncommittedBlock {
            operation: "audit_refcounts",
        }),
    }
}

fn not_a_swing_store(message: String) -> Error {
    Error::NotASwingStore { message }
}

/// Audits a database file through a read-only connection of its own; a damaged file is named.
fn audit_file(file: &Path, options: AuditOptions<'_>) -> Result<AuditReport> {
    open_read_only(file)
        .and_then(|conn| run(&conn, options))
        .map_err(|e| e.in_database(Some(file)))
}

fn open_read_only(file: &Path) -> Result<Connection> {
    let shown = file.display();
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(not_a_swing_store(format!(
                "{shown} is not a file: not a swing-store"
            )))
        }
        Err(e) => return Err(not_a_swing_store(format!("cannot read {shown}: {e}"))),
    }
    crate::ofd_locks::install();
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not_a_swing_store(format!("cannot open {shown}: {e}")))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(Error::sqlite("setting busy_timeout"))?;
    // Reading page 1 is what tells SQLite whether this is a database at all.
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('kvStore')")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => not_a_swing_store(format!(
                "{shown} is not a SQLite database: not a swing-store"
            )),
            _ => Error::Sqlite {
                context: "reading the schema",
                source: e,
            },
        })?;
    if !(columns.iter().any(|c| c == "key") && columns.iter().any(|c| c == "value")) {
        return Err(not_a_swing_store(format!(
            "{shown} has no kvStore(key, value) table: not a swing-store"
        )));
    }
    conn.execute_batch("PRAGMA query_only = 1")
        .map_err(Error::sqlite("setting read-only pragmas"))?;
    Ok(conn)
}

/// Progress accounting shared by both passes.
struct Progress<'a> {
    callback: Option<&'a mut dyn FnMut(u64, u64)>,
    scanned: u64,
    total: u64,
}

impl Progress<'_> {
    fn report(&mut self) {
        if let Some(callback) = &mut self.callback {
            callback(self.scanned, self.total.max(self.scanned));
        }
    }
}

/// A read transaction, so both passes see one snapshot; ended however the audit ends.
struct ReadTxn<'c>(&'c Connection);

impl<'c> ReadTxn<'c> {
    fn begin(conn: &'c Connection) -> Result<ReadTxn<'c>> {
        conn.execute_batch("BEGIN DEFERRED")
            .map_err(Error::sqlite("beginning the audit's read transaction"))?;
        Ok(ReadTxn(conn))
    }
}

impl Drop for ReadTxn<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// A TEXT (or BLOB) column's bytes; NULL reads as empty.
fn bytes<'r>(value: rusqlite::types::ValueRef<'r>) -> &'r [u8] {
    match value {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b,
        _ => &[],
    }
}

/// One pass: the keys that steer the reading, every entry in table order, then the external
/// holders.
fn pass(
    conn: &Connection,
    sink: &mut impl Sink,
    external: &[scan::KrefId],
    progress: &mut Progress<'_>,
) -> Result<(Scanner, u64)> {
    let mut get = |key: &str| -> Result<Option<Vec<u8>>> {
        conn.query_row("SELECT value FROM kvStore WHERE key = ?", [key], |row| {
            Ok(bytes(row.get_ref(0)?).to_vec())
        })
        .optional()
        .map_err(Error::sqlite("audit read"))
    };
    let mut scanner = Scanner::prepare(sink, &mut get)?;
    let mut entries = 0u64;
    // Table (rowid) order: a key-ordered scan would look every row up through the key index.
    let mut stmt = conn
        .prepare("SELECT key, value FROM kvStore")
        .map_err(Error::sqlite("audit scan"))?;
    let mut rows = stmt.query([]).map_err(Error::sqlite("audit scan"))?;
    while let Some(row) = rows.next().map_err(Error::sqlite("audit scan"))? {
        let key = bytes(row.get_ref(0).map_err(Error::sqlite("audit scan"))?);
        let value = bytes(row.get_ref(1).map_err(Error::sqlite("audit scan"))?);
        scanner.entry(sink, key, value);
        entries += 1;
        progress.scanned += 1;
        if progress.scanned.is_multiple_of(AUDIT_PROGRESS_INTERVAL) {
            progress.report();
        }
    }
    scanner.finish(sink);
    for &id in external {
        sink.hold(id, true, false, b"external", "external");
    }
    Ok((scanner, entries))
}

fn run(conn: &Connection, options: AuditOptions<'_>) -> Result<AuditReport> {
    let started = Instant::now();
    let mut external = Vec::with_capacity(options.external.len());
    for kref in &options.external {
        match scan::parse_kref(kref.as_bytes()) {
            Some(Kref::Counted(id)) => external.push(id),
            Some(Kref::Device) => {}
            None => return Err(Error::InvalidKref { kref: kref.clone() }),
        }
    }
    let _txn = ReadTxn::begin(conn)?;
    // The largest rowid bounds the row count and costs one index descent, unlike count(*).
    let estimate: u64 = conn
        .query_row("SELECT coalesce(max(rowid), 0) FROM kvStore", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_or(0, |n| n.max(0) as u64);
    let mut progress = Progress {
        callback: options.progress,
        scanned: 0,
        total: estimate,
    };

    let mut counter = Counter::default();
    let (scanner, entries_scanned) = pass(conn, &mut counter, &external, &mut progress)?;
    let (objects, promises, references) = (counter.objects, counter.promises, counter.references);
    let mut findings = counter.classify(&scanner);

    let mut collector = Collector {
        holders: Default::default(),
    };
    for pending in &findings {
        if let (Some(id), Some(computed)) = (pending.id, pending.finding.computed) {
            if !computed.is_zero() {
                collector.holders.insert(id, Vec::new());
            }
        }
    }
    let mut passes = 1;
    if !collector.holders.is_empty() {
        passes = 2;
        progress.total = progress.scanned + entries_scanned;
        pass(conn, &mut collector, &external, &mut progress)?;
        for holders in collector.holders.values_mut() {
            holders.sort_by(|a, b| (&a.key, a.what).cmp(&(&b.key, b.what)));
        }
        for pending in &mut findings {
            if let Some(holders) = pending.id.and_then(|id| collector.holders.get(&id)) {
                pending.finding.holders = holders.clone();
            }
        }
    }
    progress.total = progress.scanned;
    progress.report();

    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let elapsed = started.elapsed();
    let mut report = AuditReport {
        entries_scanned,
        passes,
        objects,
        promises,
        references,
        elapsed,
        entries_per_second: progress.scanned as f64 / elapsed.as_secs_f64().max(1e-9),
        errors: Vec::new(),
        warnings: Vec::new(),
        info: Vec::new(),
    };
    for Pending { finding, .. } in findings {
        match finding.kind.severity() {
            Severity::Error => report.errors.push(finding),
            Severity::Warning => report.warnings.push(finding),
            Severity::Info => report.info.push(finding),
        }
    }
    Ok(report)
}

/// By kref (objects, then promises, each by number), then findings without a kref by key.
fn sort_key(p: &Pending) -> (bool, u64, u64, Option<&str>, FindingKind, &str) {
    let (kind_bit, number) = p.id.map_or((0, 0), |id| (id & 1, id >> 1));
    (
        p.id.is_none(),
        kind_bit,
        number,
        p.finding.key.as_deref(),
        p.finding.kind,
        &p.finding.message,
    )
}
