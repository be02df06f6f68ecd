//! `Importer`: swing-store's `importSwingStore` natively, fed by the JS layer from any
//! exporter object (ours, swing-store's, or a host's own reading of files): pages of export
//! data, then each artifact the import wants, chunk by chunk. `finish` hands back the new
//! store; `abort` (or any failure the host does not recover from) leaves nothing behind.

use std::cell::RefCell;
use std::path::Path;

use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::args::{
    ArtifactModeArg, ArtifactName, ChunkArg, DirPath, ExportRowsArg, OpenOptionsArg,
};
use crate::errors::{illegal_constructor, spent, to_js, JsErr};
use crate::handle::ExportCallback;
use crate::kernel_store::{core_options, KernelStore};

/// A store being imported.
#[napi]
pub struct Importer {
    inner: RefCell<Option<kernel_store::Importer>>,
    export_callback: RefCell<Option<ExportCallback>>,
}

impl Importer {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut kernel_store::Importer) -> kernel_store::Result<T>,
    ) -> Result<T, JsErr> {
        let mut guard = self.inner.borrow_mut();
        let importer = guard.as_mut().ok_or_else(|| spent("this importer"))?;
        f(importer).map_err(to_js)
    }
}

#[napi]
impl Importer {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. An importer comes from
    /// `Importer.create`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "Importer cannot be constructed: use Importer.create(dirPath, artifactMode, options)",
        ))
    }

    /// Starts an import into `dirPath` (emptied first, as swing-store does) or, for `null`,
    /// into memory. `options` are the new store's, as for `KernelStore.open`. On disk the
    /// import is written without a journal into a side file that only becomes the store at
    /// its first commit; `unsafeFastMode` applies from then on.
    #[napi(
        factory,
        catch_unwind,
        ts_args_type = "dirPath: string | null, artifactMode?: string, options?: OpenOptions | undefined | null"
    )]
    pub fn create(
        dir_path: DirPath,
        artifact_mode: ArtifactModeArg,
        options: OpenOptionsArg,
    ) -> Result<Importer, JsErr> {
        let mut options = options.0;
        let importer = kernel_store::Importer::create(
            dir_path.0.as_deref().map(Path::new),
            artifact_mode.0,
            core_options(&options),
        )
        .map_err(to_js)?;
        Ok(Importer {
            inner: RefCell::new(Some(importer)),
            export_callback: RefCell::new(options.export_callback.take()),
        })
    }

    /// Takes a page of export-data rows (`[key, value]`, `null` deleting).
    #[napi(
        catch_unwind,
        ts_args_type = "rows: Array<[string, string | null | undefined]>"
    )]
    pub fn add_export_data(&self, rows: ExportRowsArg) -> Result<(), JsErr> {
        self.with(|i| i.add_export_data(rows.0))
    }

    /// Offers artifact `name`: `true` when the import wants its bytes, `false` when its mode
    /// leaves it out (do not fetch it).
    #[napi(catch_unwind)]
    pub fn begin_artifact(
        &self,
        #[napi(ts_arg_type = "string")] name: ArtifactName,
    ) -> Result<bool, JsErr> {
        self.with(|i| i.begin_artifact(&name.0))
    }

    /// The next bytes of the artifact begun last.
    #[napi(catch_unwind)]
    pub fn write_artifact(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] chunk: ChunkArg<'_>,
    ) -> Result<(), JsErr> {
        self.with(|i| i.write_artifact(chunk.0))
    }

    /// The artifact has ended: it is checked against its export-data record and kept.
    #[napi(catch_unwind)]
    pub fn finish_artifact(&self) -> Result<(), JsErr> {
        self.with(|i| i.finish_artifact())
    }

    /// Checks the import is complete for its mode and returns the new store (uncommitted:
    /// on disk it becomes `swingstore.sqlite` at its first commit). The importer is spent.
    #[napi(catch_unwind)]
    pub fn finish(&self) -> Result<KernelStore, JsErr> {
        let importer = self
            .inner
            .borrow_mut()
            .take()
            .ok_or_else(|| spent("this importer"))?;
        let store = importer.finish().map_err(to_js)?;
        Ok(KernelStore::from_core(
            store,
            self.export_callback.borrow_mut().take(),
        ))
    }

    /// Abandons the import, leaving no store behind. Aborting twice (or after `finish`) is
    /// allowed.
    #[napi(catch_unwind)]
    pub fn abort(&self) -> Result<(), JsErr> {
        match self.inner.borrow_mut().take() {
            Some(importer) => importer.abort().map_err(to_js),
            None => Ok(()),
        }
    }
}
