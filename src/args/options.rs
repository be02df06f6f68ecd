//! Options bags and small objects, read property by property so that each bad field is named.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::text::read_string;
use super::{for_each_element, is_nullish, property, read_flag, read_number, throw_type, type_of};
use crate::audit_methods::AuditOptions;
use crate::kernel_store::{ExportCallback, OpenOptions};
use crate::refcount_methods::RefCounts;

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
            object_or_nullish(env, value, "options must be an object { isExport?, onlyRecognizable? }")?
        }) else {
            return Ok(RefOptionsArg(kernel_store::RefOptions::default()));
        };
        let flag = |name, label| unsafe { read_flag(env, bag, name, label) }.map(Option::unwrap_or_default);
        Ok(RefOptionsArg(kernel_store::RefOptions {
            is_export: flag(c"isExport", "options.isExport")?,
            only_recognizable: flag(c"onlyRecognizable", "options.onlyRecognizable")?,
        }))
    }
}

/// `KernelStore.open`'s options (a missing bag means the defaults).
pub struct OpenOptionsArg(pub OpenOptions);

impl FromNapiValue for OpenOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let Some(bag) = (unsafe { object_or_nullish(env, value, "options must be an object")? }) else {
            return Ok(OpenOptionsArg(OpenOptions::default()));
        };
        let flag = |name, label| unsafe { read_flag(env, bag, name, label) };
        let callback = unsafe { property(env, bag, c"exportCallback")? };
        let export_callback = match unsafe { type_of(env, callback) } {
            sys::ValueType::napi_undefined => None,
            sys::ValueType::napi_function => Some(unsafe { ExportCallback::from_napi_value(env, callback)? }),
            _ => return Err(unsafe { throw_type(env, "options.exportCallback must be a function") }),
        };
        Ok(OpenOptionsArg(OpenOptions {
            readonly: flag(c"readonly", "options.readonly")?,
            unsafe_fast_mode: flag(c"unsafeFastMode", "options.unsafeFastMode")?,
            keep_transcripts: flag(c"keepTranscripts", "options.keepTranscripts")?,
            keep_snapshots: flag(c"keepSnapshots", "options.keepSnapshots")?,
            export_callback,
        }))
    }
}

/// An audit's options (`external` absent: `[]`).
pub struct AuditOptionsArg(pub AuditOptions);

impl FromNapiValue for AuditOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut external = Vec::new();
        let Some(bag) = (unsafe { object_or_nullish(env, value, "options must be an object { external? }")? }) else {
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
        Ok(AuditOptionsArg(AuditOptions { external: Some(external) }))
    }
}

/// `setObjectRefCount`'s `{ reachable, recognizable }`, as JS numbers (checked as counts later).
pub struct RefCountsArg(pub RefCounts);

impl FromNapiValue for RefCountsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        const EXPECTED: &str = "counts must be an object { reachable: number, recognizable: number }";
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
