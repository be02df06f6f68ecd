//! `Exporter`: swing-store's `makeSwingStoreExporter` natively, with pageable readers for its
//! export data and artifact names and a chunked reader per artifact. The JS layer turns
//! them into swing-store's async iterables; each page or chunk is one boundary crossing.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use napi::bindgen_prelude::{Either, Env, Undefined};
use napi_derive::napi;

use crate::args::{ArtifactModeArg, ArtifactName, DirPath, KeyBytes, MaxLength, PageLimit};
use crate::args::{JsBytes, JsText};
use crate::errors::{illegal_constructor, spent, to_js, JsErr};
use crate::export_page::{ExportDataPage, PageBuilder};
use crate::handle::{with_store, Shared};

type SharedExporter = Rc<RefCell<Option<kernel_store::Exporter>>>;

fn with_exporter<T>(
    shared: &SharedExporter,
    f: impl FnOnce(&mut kernel_store::Exporter) -> kernel_store::Result<T>,
) -> Result<T, JsErr> {
    let mut guard = shared.borrow_mut();
    let exporter = guard.as_mut().ok_or_else(|| spent("this exporter"))?;
    f(exporter).map_err(to_js)
}

/// What the readers read: an exporter's snapshot of a store, or a store's own connection
/// (a tool's view through swing-store's `internal` stores).
#[derive(Clone)]
pub(crate) enum Source {
    Exporter(SharedExporter),
    Store(Shared, kernel_store::ArtifactMode),
}

impl Source {
    fn export_data_page(
        &self,
        cursor: &mut kernel_store::ExportDataCursor,
        limit: usize,
    ) -> Result<ExportDataPage, JsErr> {
        let mut page = PageBuilder::default();
        match self {
            Source::Exporter(e) => {
                with_exporter(e, |e| e.export_data_page(cursor, limit, &mut page))
            }
            Source::Store(s, _) => with_store(s, |s| s.export_data_page(cursor, limit, &mut page)),
        }?;
        Ok(page.finish())
    }

    fn artifact_names_page(
        &self,
        cursor: &mut kernel_store::ArtifactNameCursor,
        limit: usize,
    ) -> Result<Vec<String>, JsErr> {
        match self {
            Source::Exporter(e) => with_exporter(e, |e| e.artifact_names_page(cursor, limit)),
            Source::Store(s, mode) => {
                with_store(s, |s| s.artifact_names_page(*mode, cursor, limit))
            }
        }
    }

    fn read_artifact(
        &self,
        reader: &mut kernel_store::ArtifactReader,
        max: usize,
    ) -> Result<Option<Vec<u8>>, JsErr> {
        match self {
            Source::Exporter(e) => with_exporter(e, |e| e.read_artifact(reader, max)),
            Source::Store(s, _) => with_store(s, |s| s.read_artifact(reader, max)),
        }
    }
}

/// A fixed view of a store's last commit, for state sync and `agd export`.
#[napi]
pub struct Exporter {
    shared: SharedExporter,
}

#[napi]
impl Exporter {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. An exporter comes from
    /// `Exporter.open`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "Exporter cannot be constructed: use Exporter.open(dirPath, artifactMode)",
        ))
    }

    /// Opens the store in `dirPath` for export, read-only and without the writer's lock, so
    /// the node (in this process or another) keeps running. Everything it yields describes
    /// one commit: the last one before it opened.
    #[napi(
        factory,
        catch_unwind,
        ts_args_type = "dirPath: string, artifactMode?: string"
    )]
    pub fn open(dir_path: DirPath, artifact_mode: ArtifactModeArg) -> Result<Exporter, JsErr> {
        let Some(dir) = dir_path.0 else {
            return Err(to_js(kernel_store::Error::InvalidArgType {
                message: "dirPath must be a string".into(),
            }));
        };
        let exporter =
            kernel_store::Exporter::open(Path::new(&dir), artifact_mode.0).map_err(to_js)?;
        Ok(Exporter {
            shared: Rc::new(RefCell::new(Some(exporter))),
        })
    }

    /// A `host.` key's value, or `undefined`; any other key is refused.
    #[napi(catch_unwind, ts_return_type = "string | undefined")]
    pub fn get_host_kv(
        &self,
        #[napi(ts_arg_type = "string")] key: KeyBytes,
    ) -> Result<Either<JsText, Undefined>, JsErr> {
        with_exporter(&self.shared, |e| e.get_host_kv(&key.0)).map(|value| match value {
            Some(v) => Either::A(JsText(v)),
            None => Either::B(()),
        })
    }

    /// A new iteration over the export data.
    #[napi(catch_unwind)]
    pub fn export_data(&self) -> Result<ExportDataReader, JsErr> {
        with_exporter(&self.shared, |_| Ok(()))?;
        Ok(ExportDataReader {
            source: Source::Exporter(self.shared.clone()),
            cursor: kernel_store::ExportDataCursor::default(),
        })
    }

    /// A new iteration over the artifact names, after checking (except in `debug` mode) that
    /// the store holds every artifact the mode requires.
    #[napi(catch_unwind)]
    pub fn artifact_names(&self) -> Result<ArtifactNameReader, JsErr> {
        with_exporter(&self.shared, |e| e.check_complete())?;
        Ok(ArtifactNameReader {
            source: Source::Exporter(self.shared.clone()),
            cursor: kernel_store::ArtifactNameCursor::default(),
        })
    }

    /// Opens artifact `name`, failing at once if the store cannot provide it.
    #[napi(catch_unwind)]
    pub fn open_artifact(
        &self,
        #[napi(ts_arg_type = "string")] name: ArtifactName,
    ) -> Result<ArtifactReader, JsErr> {
        let reader = with_exporter(&self.shared, |e| e.open_artifact(&name.0))?;
        Ok(ArtifactReader {
            source: Source::Exporter(self.shared.clone()),
            reader,
        })
    }

    /// Ends the export's read transaction and closes its connection; later calls on the
    /// exporter or its readers fail with `ERR_CLOSED`. Closing twice is allowed.
    #[napi(catch_unwind)]
    pub fn close(&self) -> Result<(), JsErr> {
        match self.shared.borrow_mut().take() {
            Some(exporter) => exporter.close().map_err(to_js),
            None => Ok(()),
        }
    }
}

/// Pages of `[key, value]` export-data rows.
#[napi]
pub struct ExportDataReader {
    pub(crate) source: Source,
    pub(crate) cursor: kernel_store::ExportDataCursor,
}

#[napi]
impl ExportDataReader {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "ExportDataReader cannot be constructed: use Exporter.exportData()",
        ))
    }

    /// Up to `limit` more rows (fewer when they are long); none at the end.
    #[napi(catch_unwind)]
    pub fn next_page(
        &mut self,
        #[napi(ts_arg_type = "number")] limit: PageLimit,
    ) -> Result<ExportDataPage, JsErr> {
        self.source.export_data_page(&mut self.cursor, limit.0)
    }

    /// Ends this iteration: later pages are empty, and the exporter's sorted scan, if this
    /// iteration holds it, is freed for the next.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.finish();
    }
}

impl ExportDataReader {
    fn finish(&mut self) {
        match &self.source {
            // Also run from the garbage collector's finalizer, possibly while a call has the
            // exporter borrowed: the scan is then left to the exporter's close.
            Source::Exporter(shared) => match shared.try_borrow_mut() {
                Ok(mut guard) => match guard.as_mut() {
                    Some(exporter) => exporter.finish_export_data(&mut self.cursor),
                    None => self.cursor.finish(),
                },
                Err(_) => self.cursor.finish(),
            },
            Source::Store(..) => self.cursor.finish(),
        }
    }
}

impl Drop for ExportDataReader {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Pages of artifact names.
#[napi]
pub struct ArtifactNameReader {
    pub(crate) source: Source,
    pub(crate) cursor: kernel_store::ArtifactNameCursor,
}

#[napi]
impl ArtifactNameReader {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "ArtifactNameReader cannot be constructed: use Exporter.artifactNames()",
        ))
    }

    /// Up to `limit` more names; `[]` at the end.
    #[napi(catch_unwind)]
    pub fn next_page(
        &mut self,
        #[napi(ts_arg_type = "number")] limit: PageLimit,
    ) -> Result<Vec<String>, JsErr> {
        self.source.artifact_names_page(&mut self.cursor, limit.0)
    }
}

/// One artifact's bytes, chunk by chunk.
#[napi]
pub struct ArtifactReader {
    pub(crate) source: Source,
    pub(crate) reader: kernel_store::ArtifactReader,
}

#[napi]
impl ArtifactReader {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "ArtifactReader cannot be constructed: use Exporter.openArtifact(name)",
        ))
    }

    /// The next chunk (about `maxLength` bytes), or `undefined` at the end.
    #[napi(catch_unwind, ts_return_type = "Buffer | undefined")]
    pub fn read_chunk(
        &mut self,
        #[napi(ts_arg_type = "number")] max_length: MaxLength,
    ) -> Result<Either<JsBytes, Undefined>, JsErr> {
        self.source
            .read_artifact(&mut self.reader, max_length.0)
            .map(|chunk| match chunk {
                Some(bytes) => Either::A(JsBytes(bytes)),
                None => Either::B(()),
            })
    }
}
