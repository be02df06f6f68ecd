//! Capdata arguments: vatParameters, alone or in a vat-admin options bag.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::text::read_string;
use super::{for_each_element, is_nullish, property, throw, throw_type, type_of};

/// Capdata `{ body: string, slots: string[] }`, checked field by field so a malformed value
/// is refused with `ERR_INVALID_CAPDATA` and a message naming what is wrong.
pub struct CapDataArg(pub kernel_store::CapData);

const INVALID_CAPDATA: &std::ffi::CStr = c"ERR_INVALID_CAPDATA";

impl CapDataArg {
    unsafe fn read(env: sys::napi_env, value: sys::napi_value, what: &str) -> napi::Result<Self> {
        let bad = |message: String| unsafe { throw(env, false, INVALID_CAPDATA, &message) };
        if unsafe { type_of(env, value) } != sys::ValueType::napi_object {
            return Err(bad(format!(
                "{what} must be capdata {{ body: string, slots: string[] }}"
            )));
        }
        let body = unsafe { property(env, value, c"body")? };
        if unsafe { type_of(env, body) } != sys::ValueType::napi_string {
            return Err(bad(format!("{what}.body must be a string")));
        }
        let body = unsafe { read_string(env, body, c"body must be a string")? };
        let slots_value = unsafe { property(env, value, c"slots")? };
        let mut slots = Vec::new();
        let not_an_array = || bad(format!("{what}.slots must be an array of krefs"));
        unsafe {
            for_each_element(env, slots_value, not_an_array, |i, slot| {
                if type_of(env, slot) != sys::ValueType::napi_string {
                    return Err(bad(format!("{what}.slots[{i}] must be a string kref")));
                }
                slots.push(read_string(env, slot, c"slot must be a string")?);
                Ok(())
            })?;
        }
        Ok(CapDataArg(kernel_store::CapData { body, slots }))
    }
}

impl FromNapiValue for CapDataArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe { CapDataArg::read(env, value, "vatParameters") }
    }
}

/// The options bag of `createVat` / `upgradeVat`: `vatParameters` absent (or `undefined`)
/// is `None`, which upgradeVat reads as "reuse the retained copy".
pub struct VatOptionsArg(pub Option<kernel_store::CapData>);

impl FromNapiValue for VatOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let kind = unsafe { type_of(env, value) };
        if is_nullish(kind) {
            return Ok(VatOptionsArg(None));
        }
        if kind != sys::ValueType::napi_object {
            return Err(unsafe { throw_type(env, "options must be an object { vatParameters? }") });
        }
        let vat_parameters = unsafe { property(env, value, c"vatParameters")? };
        if unsafe { type_of(env, vat_parameters) } == sys::ValueType::napi_undefined {
            return Ok(VatOptionsArg(None));
        }
        unsafe { CapDataArg::read(env, vat_parameters, "options.vatParameters") }
            .map(|c| VatOptionsArg(Some(c.0)))
    }
}
