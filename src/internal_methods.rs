//! The export and import halves of each store, on a store's own connection: what
//! swing-store's `internal.snapStore` / `internal.transcriptStore` / `internal.bundleStore`
//! offer tools (`getExportRecords`, `getArtifactNames`, `export*`, `import*Record`,
//! `populate*`, `assertComplete`, `repair*Record`). The readers are the exporter's.

use std::cell::RefCell;

use napi::bindgen_prelude::{Either, Env, Undefined};
use napi_derive::napi;

use crate::args::{
    ArtifactModeArg, ArtifactName, ChunkArg, RecordKey, RecordValue, ScopeArg, Truthy,
};
use crate::errors::{illegal_constructor, spent, JsErr};
use crate::exporter::{ArtifactNameReader, ArtifactReader, ExportDataReader, Source};
use crate::handle::{with_store, Shared};
use crate::kernel_store::KernelStore;

#[napi]
impl KernelStore {
    /// Export-data rows of this store, or of one of its stores (`scope`: `snapshot`,
    /// `transcript` or `bundle`); without `includeHistorical` only in-use snapshots and
    /// current spans. Reads what this connection sees, uncommitted block included.
    #[napi(
        catch_unwind,
        ts_args_type = "scope?: 'snapshot' | 'transcript' | 'bundle', includeHistorical?: boolean"
    )]
    pub fn export_records(
        &self,
        scope: ScopeArg,
        include_historical: Truthy,
    ) -> Result<ExportDataReader, JsErr> {
        with_store(&self.shared, |_| Ok(()))?;
        Ok(ExportDataReader {
            source: Source::Store(self.shared.clone(), kernel_store::ArtifactMode::default()),
            cursor: kernel_store::ExportDataCursor::only(
                scope.0,
                include_historical.0.unwrap_or(true),
            ),
        })
    }

    /// The artifact names an export in `artifactMode` would offer, of all stores or one.
    #[napi(
        catch_unwind,
        ts_args_type = "artifactMode?: string, scope?: 'snapshot' | 'transcript' | 'bundle'"
    )]
    pub fn store_artifact_names(
        &self,
        artifact_mode: ArtifactModeArg,
        scope: ScopeArg,
    ) -> Result<ArtifactNameReader, JsErr> {
        with_store(&self.shared, |_| Ok(()))?;
        Ok(ArtifactNameReader {
            source: Source::Store(self.shared.clone(), artifact_mode.0),
            cursor: kernel_store::ArtifactNameCursor::only(scope.0),
        })
    }

    /// One artifact of this store, read as an export reads it.
    #[napi(catch_unwind)]
    pub fn open_store_artifact(
        &self,
        #[napi(ts_arg_type = "string")] name: ArtifactName,
    ) -> Result<ArtifactReader, JsErr> {
        let reader = with_store(&self.shared, |s| s.open_artifact(&name.0))?;
        Ok(ArtifactReader {
            source: Source::Store(self.shared.clone(), kernel_store::ArtifactMode::default()),
            reader,
        })
    }

    /// The completeness check an import or export makes, for all stores or one.
    #[napi(
        catch_unwind,
        ts_args_type = "artifactMode: string, scope?: 'snapshot' | 'transcript' | 'bundle'"
    )]
    pub fn assert_complete(
        &self,
        artifact_mode: ArtifactModeArg,
        scope: ScopeArg,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| {
            s.assert_complete(scope.0, artifact_mode.0)
        })
    }

    /// Installs one export-data record as an import does, or (`repair`) checks it as
    /// `repairMetadata` does.
    #[napi(catch_unwind)]
    pub fn install_record(
        &self,
        #[napi(ts_arg_type = "string")] key: RecordKey,
        #[napi(ts_arg_type = "string")] value: RecordValue,
        #[napi(ts_arg_type = "boolean | undefined")] repair: Truthy,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| {
            s.install_record(&key.0, &value.0, repair.0.unwrap_or(false))
        })
    }

    /// Starts taking artifact `name`'s bytes into this store, or `undefined` when
    /// `artifactMode` leaves it out.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, artifactMode?: string",
        ts_return_type = "ArtifactImport | undefined"
    )]
    pub fn begin_artifact_import(
        &self,
        name: ArtifactName,
        artifact_mode: ArtifactModeArg,
    ) -> Result<Either<ArtifactImport, Undefined>, JsErr> {
        let import = with_store(&self.shared, |s| {
            s.begin_artifact_import(&name.0, artifact_mode.0)
        })?;
        Ok(match import {
            Some(import) => Either::A(ArtifactImport {
                shared: self.shared.clone(),
                import: RefCell::new(Some(import)),
            }),
            None => Either::B(()),
        })
    }
}

/// An artifact arriving into a store.
#[napi]
pub struct ArtifactImport {
    shared: Shared,
    import: RefCell<Option<kernel_store::ArtifactImport>>,
}

#[napi]
impl ArtifactImport {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "ArtifactImport cannot be constructed: use KernelStore.beginArtifactImport(name)",
        ))
    }

    /// The artifact's next bytes.
    #[napi(catch_unwind)]
    pub fn write(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] chunk: ChunkArg<'_>,
    ) -> Result<(), JsErr> {
        let mut guard = self.import.borrow_mut();
        let import = guard
            .as_mut()
            .ok_or_else(|| spent("this artifact import"))?;
        let written = with_store(&self.shared, |s| s.write_artifact_import(import, chunk.0));
        if written.is_err() {
            // A failed artifact has removed what it stored; it takes nothing more.
            guard.take();
        }
        written
    }

    /// The artifact has ended: checked against its record and kept.
    #[napi(catch_unwind)]
    pub fn finish(&self) -> Result<(), JsErr> {
        let import = self
            .import
            .borrow_mut()
            .take()
            .ok_or_else(|| spent("this artifact import"))?;
        with_store(&self.shared, |s| s.finish_artifact_import(import))
    }

    /// The artifact's source failed: what it stored so far is removed, and the import is spent.
    /// Abandoning a spent import does nothing.
    #[napi(catch_unwind)]
    pub fn abandon(&self) -> Result<(), JsErr> {
        match self.import.borrow_mut().take() {
            Some(import) => with_store(&self.shared, |s| s.abandon_artifact_import(import)),
            None => Ok(()),
        }
    }
}
