//! State sync: the exporter (a fixed view of a store's last commit, read while the node runs),
//! the importer (a new store built from any exporter, validated artifact by artifact) and
//! metadata repair, as swing-store's `makeSwingStoreExporter`, `importSwingStore` and
//! `hostStorage.repairMetadata` do them. The per-store halves (records, artifacts,
//! completeness) live with each store; this module sequences them.

mod artifact_import;
mod exporter;
mod importer;
mod kv_scan;
mod loader;
mod metadata;
mod mode;
mod repair;

pub use artifact_import::{ArtifactImport, Landing};
pub(crate) use exporter::{artifact_names_page, export_data_page, open_artifact, read_artifact};
pub use exporter::{ArtifactNameCursor, ArtifactReader, ExportDataCursor, Exporter, Scope};
pub use importer::Importer;
pub use kv_scan::RowSink;
pub use mode::ArtifactMode;
pub use repair::Repair;

use crate::db::Db;
use crate::error::Result;

/// swing-store's `assertComplete`: every bundle populated, the transcripts `mode` requires
/// complete, every in-use snapshot populated, checked in that order.
pub(crate) fn assert_complete(db: &Db, mode: ArtifactMode) -> Result<()> {
    crate::bundle::artifacts::assert_complete(db)?;
    crate::transcript::artifacts::assert_complete(db, mode)?;
    crate::snapshot::artifacts::assert_complete(db)
}

/// The completeness check of one store, as its `assertComplete(checkMode)` makes it.
pub(crate) fn assert_store_complete(db: &Db, scope: Scope, mode: ArtifactMode) -> Result<()> {
    match scope {
        Scope::All => assert_complete(db, mode),
        Scope::Bundles => crate::bundle::artifacts::assert_complete(db),
        Scope::Transcripts => crate::transcript::artifacts::assert_complete(db, mode),
        Scope::Snapshots => crate::snapshot::artifacts::assert_complete(db),
    }
}

/// A single export-data record installed as an import installs it (`importXRecord`), or
/// checked as a repair checks it (`repairXRecord`), by the store its key names.
pub(crate) fn install_record(db: &mut Db, key: &str, value: &str, repair: bool) -> Result<()> {
    use crate::error::Error;
    use crate::json::quote;
    match (metadata::tag(key), repair) {
        ("bundle", false) => crate::bundle::artifacts::import_record(db, key, value),
        ("bundle", true) => crate::bundle::artifacts::repair_record(db, key, value),
        ("snapshot", false) => crate::snapshot::artifacts::import_record(db, key, value),
        ("snapshot", true) => crate::snapshot::artifacts::repair_record(db, key, value),
        ("transcript", false) => crate::transcript::artifacts::import_record(db, key, value),
        ("transcript", true) => crate::transcript::artifacts::repair_record(db, key, value),
        (other, false) => Err(Error::InvalidExportData {
            message: format!("unknown export-data type {} on import", quote(other)),
        }),
        (_, true) => Err(Error::InvalidExportData {
            message: format!(
                "unknown export-data type in key {} on repairMetadata",
                quote(key)
            ),
        }),
    }
}
