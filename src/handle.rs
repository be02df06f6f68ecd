//! The handle every JS object of one store shares (the `KernelStore`, its `KvStore` facets,
//! its readers): the open store, or nothing once closed, behind a `RefCell` so that a call
//! from inside the store's own export callback is refused rather than aliased.

use std::cell::RefCell;
use std::rc::Rc;

use napi::bindgen_prelude::{Env, FunctionRef};

use crate::args::JsText;
use crate::errors::{closed, pending, reentrant, to_js, to_js_typed, JsErr};

/// An open store and what it has produced for the host's archive callbacks.
pub(crate) struct Open {
    pub store: kernel_store::KernelStore,
    /// The span a rollover or `stopUsingTranscript` just closed (archiving stores only).
    pub closed_span: Option<kernel_store::ClosedSpan>,
    /// The export key and gzip bytes of the snapshot just saved (archiving stores only).
    pub saved_snapshot: Option<(String, Vec<u8>)>,
}

impl Open {
    pub fn new(store: kernel_store::KernelStore) -> Open {
        Open {
            store,
            closed_span: None,
            saved_snapshot: None,
        }
    }
}

pub(crate) type Shared = Rc<RefCell<Option<Open>>>;

pub(crate) fn share(store: kernel_store::KernelStore) -> Shared {
    Rc::new(RefCell::new(Some(Open::new(store))))
}

/// Runs `f` on the open store; `ERR_CLOSED` after close, `ERR_REENTRANT` from inside the
/// store's own export callback (never a panic).
pub(crate) fn with_store<T>(
    shared: &Shared,
    f: impl FnOnce(&mut kernel_store::KernelStore) -> kernel_store::Result<T>,
) -> Result<T, JsErr> {
    with_open(shared, |open| f(&mut open.store))
}

/// [`with_store`] for calls whose argument-type errors must be thrown as `TypeError`s.
pub(crate) fn with_store_typed<T>(
    env: &Env,
    shared: &Shared,
    f: impl FnOnce(&mut kernel_store::KernelStore) -> kernel_store::Result<T>,
) -> Result<T, JsErr> {
    try_with_open(shared, |open| f(&mut open.store))?.map_err(|e| to_js_typed(env, e))
}

/// [`with_store`] with the archive slots too.
pub(crate) fn with_open<T>(
    shared: &Shared,
    f: impl FnOnce(&mut Open) -> kernel_store::Result<T>,
) -> Result<T, JsErr> {
    try_with_open(shared, f)?.map_err(to_js)
}

fn try_with_open<T>(
    shared: &Shared,
    f: impl FnOnce(&mut Open) -> kernel_store::Result<T>,
) -> Result<kernel_store::Result<T>, JsErr> {
    let mut guard = shared.try_borrow_mut().map_err(|_| reentrant())?;
    let open = guard.as_mut().ok_or_else(closed)?;
    let result = f(open);
    Ok(result.map_err(|e| e.in_database(open.store.db_path())))
}

/// One export-data record: `[key, value]`, `value` `null` for a deletion.
pub(crate) type ExportRows = Vec<(JsText, Option<JsText>)>;
pub(crate) type ExportCallback = FunctionRef<ExportRows, ()>;

pub(crate) fn export_rows(rows: Vec<kernel_store::ExportRow>) -> ExportRows {
    rows.into_iter()
        .map(|(k, v)| (JsText(k), v.map(JsText)))
        .collect()
}

/// Runs a store call that may hand rows to the export callback. If the callback throws,
/// its own exception is what the caller sees.
pub(crate) fn delivering(
    env: &Env,
    shared: &Shared,
    callback: Option<&ExportCallback>,
    call: impl FnOnce(
        &mut kernel_store::KernelStore,
        &mut dyn FnMut(Vec<kernel_store::ExportRow>) -> kernel_store::Result<()>,
    ) -> kernel_store::Result<()>,
) -> Result<(), JsErr> {
    let mut thrown: Option<napi::Error> = None;
    let result = with_store(shared, |s| {
        call(s, &mut |rows| {
            let Some(callback) = callback else {
                return Ok(());
            };
            callback
                .borrow_back(env)
                .and_then(|f| f.call(export_rows(rows)))
                .map_err(|e| {
                    thrown = Some(e);
                    kernel_store::Error::ExportCallback
                })
        })
    });
    if let (Err(_), Some(error)) = (&result, thrown) {
        unsafe { napi::bindgen_prelude::JsError::from(error).throw_into(env.raw()) };
        return Err(JsErr::new(pending(), String::new()));
    }
    result
}
