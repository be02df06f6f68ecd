//! Argument conversion. Every reader refuses a bad value with a JS `TypeError` for a wrong
//! type (`ERR_INVALID_ARG_TYPE`) or an `Error` for an unacceptable value, whose message names
//! the argument. None relies on napi-rs's own conversions (their errors carry N-API status
//! names such as `StringExpected` as codes), and none sizes an allocation from a length a JS
//! value claims (a sparse array can claim 2^32 - 1 elements).
//!
//! This module is the binding's one `unsafe` zone. Reading a JS value without napi-rs's
//! conversions means calling N-API directly, and every such call is `unsafe` because its
//! `napi_env` and `napi_value` must belong to the current call. They do here: each reader runs
//! inside napi-rs's `FromNapiValue`, on the arguments of the call being converted, and keeps
//! nothing past it (byte views of a `Uint8Array` are used before the call returns, while the
//! argument keeps its buffer alive). Every N-API status is checked, and a failed read becomes a
//! coded JS exception rather than a panic. Nothing outside `args/` (and the export callback's
//! rethrow in `handle.rs`) uses `unsafe`.

mod capdata;
mod instance;
mod number;
mod options;
mod rows;
mod sql;
mod tag;
mod text;

pub use capdata::{CapDataArg, VatOptionsArg};
pub use instance::{ChunkArg, ProgressArg, WriterArg};
pub use number::{AfterPosition, BudgetArg, MaxLength, PageLimit, SnapPos, SpanStartArg};
pub use options::{AuditOptionsArg, OpenOptions, OpenOptionsArg, RefCountsArg, RefOptionsArg};
pub use rows::ExportRowsArg;
pub use sql::{SqlParamsArg, SqlValue};
pub use tag::Tag;
pub use text::{
    ArtifactModeArg, ArtifactName, AuditPath, B0BundleJson, BundleId, DirPath, EndoZipBase64,
    EndoZipBase64Sha512, JsBytes, JsText, JsU32s, KeyBytes, Kref, LateString, ModuleFormat,
    RecordKey, RecordValue, ScopeArg, SnapshotHash, SqlText, TranscriptItem, VatId,
};

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::Status;
use napi::sys;

const INVALID_ARG_TYPE: &CStr = c"ERR_INVALID_ARG_TYPE";
const INVALID_ARG_VALUE: &CStr = c"ERR_INVALID_ARG_VALUE";

/// Throws a JS `Error` (or `TypeError`) carrying `code`, for a conversion that failed. An
/// exception left pending by the failed read (a throwing getter, say) gives way to it.
unsafe fn throw(env: sys::napi_env, type_error: bool, code: &CStr, message: &str) -> napi::Error {
    unsafe { clear_pending(env) };
    let message = std::ffi::CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    unsafe {
        if type_error {
            sys::napi_throw_type_error(env, code.as_ptr(), message.as_ptr());
        } else {
            sys::napi_throw_error(env, code.as_ptr(), message.as_ptr());
        }
    }
    napi::Error::from_status(Status::PendingException)
}

unsafe fn throw_type(env: sys::napi_env, message: &str) -> napi::Error {
    unsafe { throw(env, true, INVALID_ARG_TYPE, message) }
}

unsafe fn throw_value(env: sys::napi_env, message: &str) -> napi::Error {
    unsafe { throw(env, false, INVALID_ARG_VALUE, message) }
}

unsafe fn clear_pending(env: sys::napi_env) {
    let mut pending = false;
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if pending {
        let mut discarded = ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut discarded) };
    }
}

unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
    let mut kind = sys::ValueType::napi_undefined;
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    kind
}

fn is_nullish(kind: sys::napi_valuetype) -> bool {
    kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null
}

/// `object[name]`; a throwing getter's exception stays pending and fails the call.
unsafe fn property(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
) -> napi::Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let status = unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut value) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_status(Status::PendingException));
    }
    Ok(value)
}

/// A JS number's value, or `None` for any other type.
unsafe fn read_number(env: sys::napi_env, value: sys::napi_value) -> Option<f64> {
    let mut number = 0.0;
    (unsafe { sys::napi_get_value_double(env, value, &mut number) } == sys::Status::napi_ok)
        .then_some(number)
}

/// A JS boolean option: `undefined` is `None`, anything but a boolean a `TypeError`.
unsafe fn read_flag(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
    label: &str,
) -> napi::Result<Option<bool>> {
    let value = unsafe { property(env, object, name)? };
    match unsafe { type_of(env, value) } {
        sys::ValueType::napi_undefined => Ok(None),
        sys::ValueType::napi_boolean => {
            let mut flag = false;
            unsafe { sys::napi_get_value_bool(env, value, &mut flag) };
            Ok(Some(flag))
        }
        _ => Err(unsafe { throw_type(env, &format!("{label} must be a boolean")) }),
    }
}

/// A switch swing-store reads by JavaScript truthiness (`includeHistorical`, `repair`):
/// `undefined` leaves it to the call's default (`None`); every other value is accepted as
/// `if (flag)` accepts it, and none can throw.
pub struct Truthy(pub Option<bool>);

impl napi::bindgen_prelude::FromNapiValue for Truthy {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if unsafe { type_of(env, value) } == sys::ValueType::napi_undefined {
            return Ok(Truthy(None));
        }
        let mut coerced = ptr::null_mut();
        let mut flag = false;
        unsafe {
            sys::napi_coerce_to_bool(env, value, &mut coerced);
            sys::napi_get_value_bool(env, coerced, &mut flag);
        }
        Ok(Truthy(Some(flag)))
    }
}

/// Calls `each` with every element of a JS array in order; a non-array is refused with the
/// error `not_an_array` throws. Nothing is allocated from the array's claimed length.
unsafe fn for_each_element(
    env: sys::napi_env,
    value: sys::napi_value,
    not_an_array: impl FnOnce() -> napi::Error,
    mut each: impl FnMut(u32, sys::napi_value) -> napi::Result<()>,
) -> napi::Result<()> {
    let mut is_array = false;
    unsafe { sys::napi_is_array(env, value, &mut is_array) };
    if !is_array {
        return Err(not_an_array());
    }
    let mut len = 0u32;
    unsafe { sys::napi_get_array_length(env, value, &mut len) };
    for i in 0..len {
        let mut element = ptr::null_mut();
        if unsafe { sys::napi_get_element(env, value, i, &mut element) } != sys::Status::napi_ok {
            return Err(napi::Error::from_status(Status::PendingException));
        }
        each(i, element)?;
    }
    Ok(())
}
