//! Number arguments: a non-number is a `TypeError`; a number that is not an acceptable count
//! or position is refused with `ERR_INVALID_ARG_VALUE` before anything changes.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::{is_nullish, read_number, throw_type, throw_value, type_of};

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS number, or the `TypeError` naming the argument.
unsafe fn number(env: sys::napi_env, value: sys::napi_value, name: &str) -> napi::Result<f64> {
    unsafe { read_number(env, value) }.ok_or_else(|| unsafe { throw_type(env, &format!("{name} must be a number")) })
}

macro_rules! size_arg {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        pub struct $name(pub usize);

        impl FromNapiValue for $name {
            unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
                let n = unsafe { number(env, value, $label)? };
                if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
                    return Err(unsafe {
                        throw_value(env, &format!(concat!($label, " must be an integer from 0 to 4294967295, not {}"), n))
                    });
                }
                // Zero asks for the least that makes progress.
                Ok($name((n as usize).max(1)))
            }
        }
    };
}

size_arg!(
    /// `readChunk(maxLength)`: bytes per chunk.
    MaxLength,
    "maxLength"
);
size_arg!(
    /// `nextPage(limit)`: items per page.
    PageLimit,
    "limit"
);

/// A snapshot position: a transcript position, so a non-negative safe integer.
pub struct SnapPos(pub u64);

impl FromNapiValue for SnapPos {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let n = unsafe { number(env, value, "snapPos")? };
        if n.fract() != 0.0 || !(0.0..=MAX_SAFE_INTEGER).contains(&n) {
            return Err(unsafe {
                throw_value(env, &format!("snapPos must be a non-negative safe integer, not {n}"))
            });
        }
        Ok(SnapPos(n as u64))
    }
}

/// A deletion budget: `undefined` (or `null`) for no limit, else a number the core checks.
pub struct BudgetArg(pub Option<f64>);

impl FromNapiValue for BudgetArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if is_nullish(unsafe { type_of(env, value) }) {
            return Ok(BudgetArg(None));
        }
        unsafe { number(env, value, "budget") }.map(|n| BudgetArg(Some(n)))
    }
}
