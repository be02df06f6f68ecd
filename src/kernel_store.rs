//! `KernelStore`: the native store handle. One database connection, one transaction, shared
//! with every `KvStore` facet handed out, all failing with `ERR_CLOSED` once it is closed.

use std::path::Path;

use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::args::{DirPath, JsText, LateString, OpenOptions, OpenOptionsArg};
use crate::errors::{closed, illegal_constructor, reentrant, to_js, JsErr};
use crate::handle::{delivering, share, with_store, with_store_typed, ExportCallback, Shared};
use crate::kv_store::KvStore;

/// `emitCrankHashes()`'s result.
#[napi(object)]
pub struct CrankHashes {
    /// SHA-256 (hex) of this crank's consensus kvStore writes.
    pub crankhash: String,
    /// The chained activity hash, now stored under `activityhash`.
    pub activityhash: String,
}

/// A SwingSet kernel store: a SQLite database laid out exactly as `@agoric/swing-store`
/// 0.10.0 lays it out, whose kvStore, cranks and hashes behave identically.
#[napi]
pub struct KernelStore {
    pub(crate) shared: Shared,
    export_callback: Option<ExportCallback>,
}

impl KernelStore {
    /// A store the binding opened some other way (an import), with the host's export callback.
    pub(crate) fn from_core(
        store: kernel_store::KernelStore,
        export_callback: Option<ExportCallback>,
    ) -> KernelStore {
        KernelStore {
            shared: share(store),
            export_callback,
        }
    }
}

#[napi]
impl KernelStore {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. A store comes from `KernelStore.open`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "KernelStore cannot be constructed: use KernelStore.open(dirPath, options)",
        ))
    }

    /// Opens the store in directory `dirPath` (file `swingstore.sqlite`, created with its
    /// directory if missing), or an in-memory store when `dirPath` is `null`. A writer has
    /// the directory to itself until it closes: another writer waits up to 5 s for it, then
    /// fails with `ERR_STORE_BUSY`. Read-only openers need no lock and see the last commit.
    #[napi(
        factory,
        catch_unwind,
        ts_args_type = "dirPath: string | null, options?: OpenOptions | undefined | null"
    )]
    pub fn open(dir_path: DirPath, options: OpenOptionsArg) -> Result<KernelStore, JsErr> {
        let options = options.0;
        let image = options.serialized.as_deref();
        let location = match (
            dir_path.0.as_deref(),
            image,
            options.as_file.unwrap_or(false),
        ) {
            (None, None, _) => kernel_store::StoreLocation::InMemory,
            (None, Some(image), _) => kernel_store::StoreLocation::Image(image),
            (Some(_), Some(_), _) => {
                return Err(to_js(kernel_store::Error::InvalidArgValue {
                    message: "options.serialized makes an in-memory store: dirPath must be null"
                        .into(),
                }))
            }
            (Some(path), None, true) => kernel_store::StoreLocation::File(Path::new(path)),
            (Some(path), None, false) => kernel_store::StoreLocation::Directory(Path::new(path)),
        };
        let store =
            kernel_store::KernelStore::open_at(location, core_options(&options)).map_err(to_js)?;
        Ok(KernelStore::from_core(store, options.export_callback))
    }

    /// The kernel's kvStore facet: consensus writes are crank-hashed and exported, `local.*`
    /// writes are neither, `host.*` writes are refused.
    #[napi(getter)]
    pub fn kv_store(&self) -> KvStore {
        KvStore::new(self.shared.clone(), kernel_store::Facet::Kernel)
    }

    /// The host's kvStore facet: reads everything, writes only `host.*` keys, never hashed.
    #[napi(getter)]
    pub fn host_kv_store(&self) -> KvStore {
        KvStore::new(self.shared.clone(), kernel_store::Facet::Host)
    }

    /// swing-store's `internal.kvStore`: writes any key, never hashed or exported.
    #[napi(getter)]
    pub fn internal_kv_store(&self) -> KvStore {
        KvStore::new(self.shared.clone(), kernel_store::Facet::Raw)
    }

    /// Starts a crank and resets the crank hasher.
    #[napi(catch_unwind)]
    pub fn start_crank(&self) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.start_crank())
    }

    /// Establishes a savepoint inside the crank (`SAVEPOINT t<n>`); names may repeat.
    #[napi(catch_unwind)]
    pub fn establish_crank_savepoint(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] name: LateString,
    ) -> Result<(), JsErr> {
        with_store_typed(&env, &self.shared, |s| {
            s.require_crank("establishCrankSavepoint")?;
            s.establish_crank_savepoint(name.require("savepoint name")?)
        })
    }

    /// Rolls back to the oldest savepoint called `name`. Rolled-back writes stay in the
    /// crank hash, as in swing-store.
    #[napi(catch_unwind)]
    pub fn rollback_crank(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] name: LateString,
    ) -> Result<(), JsErr> {
        with_store_typed(&env, &self.shared, |s| {
            s.require_crank("rollbackCrank")?;
            s.rollback_crank(name.require("savepoint name")?)
        })
    }

    /// Ends the crank: releases its savepoints and delivers export notes. Does not commit.
    #[napi(catch_unwind)]
    pub fn end_crank(&self, env: Env) -> Result<(), JsErr> {
        delivering(
            &env,
            &self.shared,
            self.export_callback.as_ref(),
            |s, deliver| s.end_crank(deliver),
        )
    }

    /// Finishes the crank hash and chains it into the activity hash (stored and exported
    /// under `activityhash`). Allowed outside a crank.
    #[napi(catch_unwind)]
    pub fn emit_crank_hashes(&self) -> Result<CrankHashes, JsErr> {
        with_store(&self.shared, |s| s.emit_crank_hashes()).map(|h| CrankHashes {
            crankhash: h.crankhash,
            activityhash: h.activityhash,
        })
    }

    /// The stored activity hash, or `''` before the first `emitCrankHashes()`.
    #[napi(catch_unwind)]
    pub fn get_activityhash(&self) -> Result<String, JsErr> {
        with_store(&self.shared, |s| s.get_activityhash())
    }

    /// Delivers pending export notes, then writes the block and COMMITs. If the export
    /// callback throws, nothing is committed and the transaction stays open.
    #[napi(catch_unwind)]
    pub fn commit(&self, env: Env) -> Result<(), JsErr> {
        delivering(
            &env,
            &self.shared,
            self.export_callback.as_ref(),
            |s, deliver| s.commit(deliver),
        )
    }

    /// Closes the database, abandoning any uncommitted writes. Every later call on this
    /// store or its facets fails with `ERR_CLOSED`.
    #[napi(catch_unwind)]
    pub fn close(&self) -> Result<(), JsErr> {
        let open = self
            .shared
            .try_borrow_mut()
            .map_err(|_| reentrant())?
            .take()
            .ok_or_else(closed)?;
        open.store.close().map_err(to_js)
    }

    /// Whether `close()` has been called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared
            .try_borrow()
            .map(|s| s.is_none())
            .unwrap_or(false)
    }

    /// The database file's path, or `null` for an in-memory store.
    #[napi(getter, catch_unwind)]
    pub fn db_path(&self) -> Result<Option<String>, JsErr> {
        with_store(&self.shared, |s| {
            Ok(s.db_path().map(|p| p.to_string_lossy().into_owned()))
        })
    }

    /// Every kvStore entry (all namespaces) in key order, as the open transaction sees them.
    #[napi(catch_unwind, ts_return_type = "Array<[string, string]>")]
    pub fn dump_kv(&self) -> Result<Vec<(JsText, JsText)>, JsErr> {
        with_store(&self.shared, |s| s.kv_entries()).map(|entries| {
            entries
                .into_iter()
                .map(|(k, v)| (JsText(k), JsText(v)))
                .collect()
        })
    }
}

/// The core's options from the JS ones.
pub(crate) fn core_options(options: &OpenOptions) -> kernel_store::OpenOptions {
    kernel_store::OpenOptions {
        readonly: options.readonly.unwrap_or(false),
        durability: if options.unsafe_fast_mode.unwrap_or(false) {
            kernel_store::Durability::UnsafeFast
        } else {
            kernel_store::Durability::Full
        },
        track_exports: options.export_callback.is_some(),
        keep_transcripts: options.keep_transcripts.unwrap_or(true),
        keep_snapshots: options.keep_snapshots.unwrap_or(false),
        archive_transcripts: options.archive_transcripts.unwrap_or(false),
        archive_snapshots: options.archive_snapshots.unwrap_or(false),
        trace_file: options.trace_file.as_deref().map(Into::into),
        ..Default::default()
    }
}
