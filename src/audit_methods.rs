//! The refcount audit: on an open `KernelStore` (what it has committed) and on a database
//! path (read-only, whichever implementation wrote it).

use std::path::Path;

use napi::bindgen_prelude::{FnArgs, Function};
use napi_derive::napi;

use crate::args::{AuditOptionsArg, AuditPath, ProgressArg};
use crate::errors::{to_js, JsErr};
use crate::handle::with_store;
use crate::kernel_store::KernelStore;

/// One holder of a reference: the key that holds it and what it adds (`"R,C"` or `"N"`).
#[napi(object)]
pub struct AuditHolder {
    pub key: String,
    pub what: String,
    pub adds: String,
}

/// One discrepancy or notable record.
#[napi(object)]
pub struct AuditFinding {
    /// e.g. `deficit`, `surplus`, `missing-refcount`, `missing-drop-export`, `malformed`,
    /// `zero-count`.
    pub kind: String,
    pub kref: Option<String>,
    pub key: Option<String>,
    /// The stored count (`"R,C"` or `"N"`), or `null` when there is none.
    pub stored: Option<String>,
    /// The count recomputed from the holders.
    pub computed: Option<String>,
    pub holders: Vec<AuditHolder>,
    pub message: String,
}

/// What an audit found: errors (deficits, missing counts, broken GC invariants, malformed
/// values), warnings (surpluses) and info (legal zero counts).
#[napi(object)]
pub struct AuditReport {
    pub entries_scanned: f64,
    pub passes: u32,
    pub objects: f64,
    pub promises: f64,
    pub references: f64,
    pub elapsed_seconds: f64,
    pub entries_per_second: f64,
    pub errors: Vec<AuditFinding>,
    pub warnings: Vec<AuditFinding>,
    pub info: Vec<AuditFinding>,
}

fn findings(list: Vec<kernel_store::Finding>) -> Vec<AuditFinding> {
    list.into_iter()
        .map(|f| AuditFinding {
            kind: f.kind.as_str().to_owned(),
            kref: f.kref,
            key: f.key,
            stored: f.stored.map(|c| c.to_string()),
            computed: f.computed.map(|c| c.to_string()),
            holders: f
                .holders
                .into_iter()
                .map(|h| AuditHolder {
                    key: h.key,
                    what: h.what.to_owned(),
                    adds: h.adds.to_string(),
                })
                .collect(),
            message: f.message,
        })
        .collect()
}

fn to_js_report(r: kernel_store::AuditReport) -> AuditReport {
    AuditReport {
        entries_scanned: r.entries_scanned as f64,
        passes: r.passes,
        objects: r.objects as f64,
        promises: r.promises as f64,
        references: r.references as f64,
        elapsed_seconds: r.elapsed.as_secs_f64(),
        entries_per_second: r.entries_per_second,
        errors: findings(r.errors),
        warnings: findings(r.warnings),
        info: findings(r.info),
    }
}

pub(crate) type Progress<'a> = Function<'a, FnArgs<(f64, f64)>, ()>;

/// Runs `audit` with the JS progress callback, if any, called as `(scanned, totalEstimate)`.
fn with_progress<T>(
    progress: Option<Progress<'_>>,
    audit: impl FnOnce(Option<&mut dyn FnMut(u64, u64)>) -> T,
) -> T {
    match progress {
        Some(callback) => {
            let mut report = |scanned: u64, total: u64| {
                // A throwing progress callback must not stop the audit; it only draws a bar.
                let _ = callback.call((scanned as f64, total as f64).into());
            };
            audit(Some(&mut report))
        }
        None => audit(None),
    }
}

/// Audits the database at `path` (a store directory or its `swingstore.sqlite`) read-only:
/// every `koNN`/`kpNN` refcount is recomputed from its holders and compared.
#[napi(
    catch_unwind,
    ts_args_type = "path: string, options?: AuditOptions | undefined | null, progress?: (scanned: number, totalEstimate: number) => void"
)]
pub fn audit_refcounts(
    path: AuditPath,
    options: AuditOptionsArg,
    progress: ProgressArg<'_>,
) -> Result<AuditReport, JsErr> {
    let external = options.0.external.unwrap_or_default();
    with_progress(progress.0, |progress| {
        kernel_store::audit_refcounts_at(
            Path::new(&path.0),
            kernel_store::AuditOptions { external, progress },
        )
    })
    .map(to_js_report)
    .map_err(to_js)
}

#[napi]
impl KernelStore {
    /// Audits what this store has committed (a file-backed store is read through its own
    /// read-only connection, so an open block is not seen).
    #[napi(
        catch_unwind,
        ts_args_type = "options?: AuditOptions | undefined | null, progress?: (scanned: number, totalEstimate: number) => void"
    )]
    pub fn audit_refcounts(
        &self,
        options: AuditOptionsArg,
        progress: ProgressArg<'_>,
    ) -> Result<AuditReport, JsErr> {
        let external = options.0.external.unwrap_or_default();
        with_store(&self.shared, |s| {
            with_progress(progress.0, |progress| {
                s.audit_refcounts(kernel_store::AuditOptions { external, progress })
            })
        })
        .map(to_js_report)
    }
}
