//! SQL values across the boundary, for a tool's read-only query (`internal.db`): parameters
//! in as better-sqlite3 binds them (numbers, bigints, strings, byte arrays, null), column
//! values out as it returns them (a number, a string, a `Buffer`, or `null`).

use std::ptr;

use kernel_store::SqlValue as Value;
use napi::bindgen_prelude::{FromNapiValue, ToNapiValue};
use napi::sys;

use super::instance::bytes_of;
use super::text::read_wtf8;
use super::{
    for_each_element, is_nullish, property, read_number, throw_type, throw_value, type_of,
};

/// A query's parameters: none, an array (by position) or an object (by name).
pub struct SqlParamsArg(pub kernel_store::QueryParams);

const CANNOT_BIND: &str = "SQLite3 can only bind numbers, strings, bigints, buffers, and null";

/// SQLite's most parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER`): an array claiming
/// more (a sparse one of 2^32 - 1 holes costs nothing to make) is refused before it is read.
const MAX_PARAMETERS: u32 = 32_766;

unsafe fn sql_value(env: sys::napi_env, value: sys::napi_value, name: &str) -> napi::Result<Value> {
    let kind = unsafe { type_of(env, value) };
    if is_nullish(kind) {
        return Ok(Value::Null);
    }
    match kind {
        sys::ValueType::napi_number => {
            let n = unsafe { read_number(env, value) }.unwrap_or(f64::NAN);
            Ok(
                if n.fract() == 0.0 && n.abs() <= kernel_store::ids::MAX_SAFE_INTEGER as f64 {
                    Value::Integer(n as i64)
                } else {
                    Value::Real(n)
                },
            )
        }
        sys::ValueType::napi_bigint => {
            let mut n = 0i64;
            let mut lossless = false;
            unsafe { sys::napi_get_value_bigint_int64(env, value, &mut n, &mut lossless) };
            if lossless {
                Ok(Value::Integer(n))
            } else {
                Err(unsafe {
                    throw_type(env, &format!("{name}: BigInt value is too large to bind"))
                })
            }
        }
        sys::ValueType::napi_string => {
            let bytes = unsafe { read_wtf8(env, value)? }.unwrap_or_default();
            Ok(Value::Text(String::from_utf8_lossy(&bytes).into_owned()))
        }
        _ => match unsafe { bytes_of(env, value) } {
            Some(bytes) => Ok(Value::Blob(bytes.to_vec())),
            None => Err(unsafe { throw_type(env, &format!("{name}: {CANNOT_BIND}")) }),
        },
    }
}

impl FromNapiValue for SqlParamsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let kind = unsafe { type_of(env, value) };
        if is_nullish(kind) {
            return Ok(SqlParamsArg(kernel_store::QueryParams::Positional(
                Vec::new(),
            )));
        }
        let mut is_array = false;
        unsafe { sys::napi_is_array(env, value, &mut is_array) };
        if is_array {
            let mut values = Vec::new();
            unsafe {
                let not_an_array = || throw_type(env, "params must be an array or an object");
                for_each_element(env, value, not_an_array, |i, element| {
                    if i >= MAX_PARAMETERS {
                        return Err(throw_value(
                            env,
                            &format!("params has more than {MAX_PARAMETERS} values, the most a statement takes"),
                        ));
                    }
                    values.push(sql_value(env, element, &format!("params[{i}]"))?);
                    Ok(())
                })?;
            }
            return Ok(SqlParamsArg(kernel_store::QueryParams::Positional(values)));
        }
        if kind != sys::ValueType::napi_object {
            return Err(unsafe { throw_type(env, "params must be an array or an object") });
        }
        let mut names = ptr::null_mut();
        unsafe { sys::napi_get_property_names(env, value, &mut names) };
        let mut named = Vec::new();
        unsafe {
            let not_an_array = || throw_type(env, "params must be an array or an object");
            for_each_element(env, names, not_an_array, |_, key| {
                let name = read_wtf8(env, key)?.unwrap_or_default();
                let name = String::from_utf8_lossy(&name).into_owned();
                let field = std::ffi::CString::new(name.replace('\0', "")).unwrap_or_default();
                let value = property(env, value, &field)?;
                named.push((
                    name.clone(),
                    sql_value(env, value, &format!("params.{name}"))?,
                ));
                Ok(())
            })?;
        }
        Ok(SqlParamsArg(kernel_store::QueryParams::Named(named)))
    }
}

/// A column value on its way to JS.
pub struct SqlValue(pub Value);

impl ToNapiValue for SqlValue {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            Value::Null => unsafe { ToNapiValue::to_napi_value(env, napi::bindgen_prelude::Null) },
            Value::Integer(n) => unsafe { ToNapiValue::to_napi_value(env, n as f64) },
            Value::Real(n) => unsafe { ToNapiValue::to_napi_value(env, n) },
            Value::Text(text) => unsafe { ToNapiValue::to_napi_value(env, text) },
            Value::Blob(bytes) => unsafe {
                ToNapiValue::to_napi_value(env, napi::bindgen_prelude::Buffer::from(bytes))
            },
        }
    }
}
