//! Export-data rows handed over by a host's exporter: an array of `[key, value]` pairs, the
//! key a string and the value a string, or `null`/`undefined` for a deletion. Anything else
//! is refused naming the row, before any row is used.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::text::read_wtf8;
use super::{for_each_element, is_nullish, throw_type, type_of};

/// A page of export-data rows.
pub struct ExportRowsArg(pub Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl FromNapiValue for ExportRowsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut rows = Vec::new();
        unsafe {
            let not_an_array = || throw_type(env, "rows must be an array of [key, value] pairs");
            for_each_element(env, value, not_an_array, |i, row| {
                let not_a_pair =
                    || throw_type(env, &format!("rows[{i}] must be a [key, value] pair"));
                let (Some(key), value) = pair(env, row) else {
                    return Err(not_a_pair());
                };
                let key = read_wtf8(env, key)?.ok_or_else(|| {
                    throw_type(env, &format!("rows[{i}][0] (the key) must be a string"))
                })?;
                let value = match value {
                    None => None,
                    Some(field) if is_nullish(type_of(env, field)) => None,
                    Some(field) => Some(read_wtf8(env, field)?.ok_or_else(|| {
                        throw_type(
                            env,
                            &format!(
                                "rows[{i}][1] (the value) must be a string, null or undefined"
                            ),
                        )
                    })?),
                };
                rows.push((key, value));
                Ok(())
            })?;
        }
        Ok(ExportRowsArg(rows))
    }
}

/// A pair's two elements, read by index: a row's claimed length sizes nothing.
unsafe fn pair(
    env: sys::napi_env,
    row: sys::napi_value,
) -> (Option<sys::napi_value>, Option<sys::napi_value>) {
    let mut is_array = false;
    unsafe { sys::napi_is_array(env, row, &mut is_array) };
    if !is_array {
        return (None, None);
    }
    let mut len = 0u32;
    unsafe { sys::napi_get_array_length(env, row, &mut len) };
    let element = |i: u32| {
        let mut value = std::ptr::null_mut();
        (i < len
            && unsafe { sys::napi_get_element(env, row, i, &mut value) } == sys::Status::napi_ok)
            .then_some(value)
    };
    (element(0), element(1))
}
