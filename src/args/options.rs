//! Options bags and small objects, read property by property so that each bad field is named.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::text::read_string;
use super::{for_each_element, is_nullish, property, read_flag, read_number, throw_type, type_of};
use napi_derive::napi;

use super::instance::bytes_of;
use crate::handle::ExportCallback;

/// `value` when it is an object, `None` when nullish; anything else is refused with `expected`.
unsafe fn object_or_nullish(
    env: sys::napi_env,
    value: sys::napi_value,
    expected: &str,
) -> napi::Result<Option<sys::napi_value>> {
    let kind = unsafe { type_of(env, value) };
    if is_nullish(kind) {
        return Ok(None);
    }
    if kind != sys::ValueType::napi_object {
        return Err(unsafe { throw_type(env, expected) });
    }
    Ok(Some(value))
}

/// The kernel's `{ isExport, onlyRecognizable }` (both default false; missing bag allowed).
pub struct RefOptionsArg(pub kernel_store::RefOptions);

impl FromNapiValue for RefOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let Some(bag) = (unsafe {
            object_or_nullish(
                env,
                value,
                "options must be an object { isExport?, onlyRecognizable? }",
            )?
        }) else {
            return Ok(RefOptionsArg(kernel_store::RefOptions::default()));
        };
        let flag = |name, label| {
            unsafe { read_flag(env, bag, name, label) }.map(Option::unwrap_or_default)
        };
        Ok(RefOptionsArg(kernel_store::RefOptions {
            is_export: flag(c"isExport", "options.isExport")?,
            only_recognizable: flag(c"onlyRecognizable", "options.onlyRecognizable")?,
        }))
    }
}

/// Options of `KernelStore.open`.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct OpenOptions {
    /// Open an existing store read-only: every write fails with `ERR_READONLY`.
    pub readonly: Option<bool>,
    /// swing-store's `unsafeFastMode`: no journal and `synchronous=normal` (bulk import only).
    pub unsafe_fast_mode: Option<bool>,
    /// Keep the items of closed transcript spans (default true).
    pub keep_transcripts: Option<bool>,
    /// Keep the data of superseded snapshots (default false).
    pub keep_snapshots: Option<bool>,
    /// Called synchronously at `endCrank()` and `commit()` with the net export-data changes
    /// since the last call, sorted by key (UTF-8 byte order), `null` for deletions.
    #[napi(ts_type = "(rows: Array<[string, string | null]>) => void")]
    pub export_callback: Option<ExportCallback>,
    /// swing-store's `traceFile`: every kvStore set and delete is appended to this file.
    pub trace_file: Option<String>,
    /// Keep each span a rollover or `stopUsingTranscript` closes, with its items, for
    /// `takeClosedSpan()` (what swing-store's `archiveTranscript` callback receives).
    pub archive_transcripts: Option<bool>,
    /// Keep each saved snapshot's gzip bytes for `takeSavedSnapshot()` (what swing-store's
    /// `archiveSnapshot` callback receives).
    pub archive_snapshots: Option<bool>,
    /// swing-store's `asFile`: `dirPath` names the database file itself.
    pub as_file: Option<bool>,
    /// swing-store's `serialized`: an in-memory store loaded from this image
    /// (`dirPath` must be `null`).
    #[napi(ts_type = "Buffer")]
    pub serialized: Option<Vec<u8>>,
}

/// Options of an audit.
#[napi(object)]
pub struct AuditOptions {
    /// Krefs a host holds outside the store (e.g. the bootstrap result `kp40`), each counted
    /// as one holder named `external`.
    pub external: Option<Vec<String>>,
}

/// The counts `setObjectRefCount` writes.
#[napi(object, object_to_js = false)]
pub struct RefCounts {
    pub reachable: f64,
    pub recognizable: f64,
}

/// `KernelStore.open`'s options (a missing bag means the defaults).
pub struct OpenOptionsArg(pub OpenOptions);

impl FromNapiValue for OpenOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let Some(bag) = (unsafe { object_or_nullish(env, value, "options must be an object")? })
        else {
            return Ok(OpenOptionsArg(OpenOptions::default()));
        };
        let flag = |name, label| unsafe { read_flag(env, bag, name, label) };
        let callback = unsafe { property(env, bag, c"exportCallback")? };
        let export_callback = match unsafe { type_of(env, callback) } {
            sys::ValueType::napi_undefined => None,
            sys::ValueType::napi_function => {
                Some(unsafe { ExportCallback::from_napi_value(env, callback)? })
            }
            _ => {
                return Err(unsafe { throw_type(env, "options.exportCallback must be a function") })
            }
        };
        let trace = unsafe { property(env, bag, c"traceFile")? };
        let trace_file = match unsafe { type_of(env, trace) } {
            kind if is_nullish(kind) => None,
            _ => Some(unsafe { read_string(env, trace, c"options.traceFile must be a string")? }),
        };
        let image = unsafe { property(env, bag, c"serialized")? };
        let serialized = match unsafe { type_of(env, image) } {
            kind if is_nullish(kind) => None,
            _ => Some(
                unsafe { bytes_of(env, image) }
                    .ok_or_else(|| unsafe {
                        throw_type(env, "options.serialized must be a Buffer")
                    })?
                    .to_vec(),
            ),
        };
        Ok(OpenOptionsArg(OpenOptions {
            readonly: flag(c"readonly", "options.readonly")?,
            unsafe_fast_mode: flag(c"unsafeFastMode", "options.unsafeFastMode")?,
            keep_transcripts: flag(c"keepTranscripts", "options.keepTranscripts")?,
            keep_snapshots: flag(c"keepSnapshots", "options.keepSnapshots")?,
            export_callback,
            trace_file,
            archive_transcripts: flag(c"archiveTranscripts", "options.archiveTranscripts")?,
            archive_snapshots: flag(c"archiveSnapshots", "options.archiveSnapshots")?,
            as_file: flag(c"asFile", "options.asFile")?,
            serialized,
        }))
    }
}

/// An audit's options (`external` absent: `[]`).
pub struct AuditOptionsArg(pub AuditOptions);

impl FromNapiValue for AuditOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut external = Vec::new();
        let Some(bag) =
            (unsafe { object_or_nullish(env, value, "options must be an object { external? }")? })
        else {
            return Ok(AuditOptionsArg(AuditOptions { external: None }));
        };
        let list = unsafe { property(env, bag, c"external")? };
        if unsafe { type_of(env, list) } == sys::ValueType::napi_undefined {
            return Ok(AuditOptionsArg(AuditOptions { external: None }));
        }
        unsafe {
            let not_an_array = || throw_type(env, "options.external must be an array of krefs");
            for_each_element(env, list, not_an_array, |i, kref| {
                let message = format!("options.external[{i}] must be a string kref");
                if type_of(env, kref) != sys::ValueType::napi_string {
                    return Err(throw_type(env, &message));
                }
                external.push(read_string(env, kref, c"kref must be a string")?);
                Ok(())
            })?;
        }
        Ok(AuditOptionsArg(AuditOptions {
            external: Some(external),
        }))
    }
}

/// `setObjectRefCount`'s `{ reachable, recognizable }`, as JS numbers (checked as counts later).
pub struct RefCountsArg(pub RefCounts);

impl FromNapiValue for RefCountsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        const EXPECTED: &str =
            "counts must be an object { reachable: number, recognizable: number }";
        let Some(counts) = (unsafe { object_or_nullish(env, value, EXPECTED)? }) else {
            return Err(unsafe { throw_type(env, EXPECTED) });
        };
        let number = |name, label: &str| -> napi::Result<f64> {
            let field = unsafe { property(env, counts, name)? };
            unsafe { read_number(env, field) }
                .ok_or_else(|| unsafe { throw_type(env, &format!("{label} must be a number")) })
        };
        Ok(RefCountsArg(RefCounts {
            reachable: number(c"reachable", "counts.reachable")?,
            recognizable: number(c"recognizable", "counts.recognizable")?,
        }))
    }
}
