//! Number arguments: a non-number is a `TypeError`; a number that is not an acceptable count
//! or position is refused with `ERR_INVALID_ARG_VALUE` before anything changes.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::{is_nullish, read_number, throw_type, throw_value, type_of};

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = kernel_store::ids::MAX_SAFE_INTEGER as f64;

/// A JS number, or the `TypeError` naming the argument.
unsafe fn number(env: sys::napi_env, value: sys::napi_value, name: &str) -> napi::Result<f64> {
    unsafe { read_number(env, value) }
        .ok_or_else(|| unsafe { throw_type(env, &format!("{name} must be a number")) })
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

/// A transcript position (a non-negative safe integer) named `name`, or the error saying it
/// must be `expected`.
unsafe fn position(
    env: sys::napi_env,
    value: sys::napi_value,
    name: &str,
    expected: &str,
) -> napi::Result<u64> {
    let n = unsafe { number(env, value, name)? };
    if n.fract() != 0.0 || !(0.0..=MAX_SAFE_INTEGER).contains(&n) {
        return Err(unsafe { throw_value(env, &format!("{name} must be {expected}, not {n}")) });
    }
    Ok(n as u64)
}

/// A snapshot position: a transcript position, so a non-negative safe integer.
pub struct SnapPos(pub u64);

impl FromNapiValue for SnapPos {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe { position(env, value, "snapPos", "a non-negative safe integer") }.map(SnapPos)
    }
}

/// `readFullVatTranscript(after)`: `undefined`/`null` for the start, else a transcript
/// position (a non-negative safe integer) to read past.
pub struct AfterPosition(pub Option<u64>);

impl FromNapiValue for AfterPosition {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if is_nullish(unsafe { type_of(env, value) }) {
            return Ok(AfterPosition(None));
        }
        let expected = "a transcript position (a non-negative safe integer)";
        unsafe { position(env, value, "after", expected) }.map(|n| AfterPosition(Some(n)))
    }
}

/// The first double past SQLite's integers, 2^63.
const PAST_SQLITE_INTEGERS: f64 = 9_223_372_036_854_775_808.0;

/// A deletion budget: `None` for no limit (`undefined`, `null` or `Infinity`). A number that
/// is not a budget is refused once the store is known to be open (the closed check comes
/// first, as in swing-store), so the verdict is kept rather than thrown here.
pub struct BudgetArg(pub kernel_store::Result<Option<u64>>);

impl FromNapiValue for BudgetArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if is_nullish(unsafe { type_of(env, value) }) {
            return Ok(BudgetArg(Ok(None)));
        }
        unsafe { number(env, value, "budget") }.map(|n| BudgetArg(budget(n)))
    }
}

/// swing-store's rule: `Infinity` means everything, and whatever is not at least 1 (NaN
/// included) fails its assertion; a budget SQLite cannot take as a `LIMIT` fails as SQLite
/// fails it there.
fn budget(n: f64) -> kernel_store::Result<Option<u64>> {
    if n == f64::INFINITY {
        return Ok(None);
    }
    if n.is_nan() || n < 1.0 {
        return Err(kernel_store::budget_error());
    }
    if n.fract() != 0.0 || n >= PAST_SQLITE_INTEGERS {
        return Err(kernel_store::Error::InvalidArgValue {
            message: "datatype mismatch".into(),
        });
    }
    Ok(Some(n as u64))
}

/// `readSpan`'s `startPos`: omitted, a number, or something else, judged once the store is
/// known to be open, by swing-store's rules and in its order.
pub enum SpanStartArg {
    Current,
    Number(f64),
    NotANumber,
}

impl FromNapiValue for SpanStartArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if unsafe { type_of(env, value) } == sys::ValueType::napi_undefined {
            return Ok(SpanStartArg::Current);
        }
        Ok(match unsafe { read_number(env, value) } {
            Some(n) => SpanStartArg::Number(n),
            None => SpanStartArg::NotANumber,
        })
    }
}

impl SpanStartArg {
    /// The span to read: a non-number and a negative number (NaN too) are refused; a number
    /// no span can start at (a fraction, or past the safe integers) names no span.
    pub fn start(&self, vat_id: &str) -> kernel_store::Result<kernel_store::SpanStart> {
        match *self {
            SpanStartArg::Current => Ok(kernel_store::SpanStart::Current),
            SpanStartArg::NotANumber => Err(kernel_store::Error::InvalidArgType {
                message: "position must be a number".into(),
            }),
            SpanStartArg::Number(n) if n.is_nan() || n < 0.0 => {
                Err(kernel_store::Error::InvalidArgValue {
                    message: "position must not be negative".into(),
                })
            }
            SpanStartArg::Number(n) if n.fract() == 0.0 && n <= MAX_SAFE_INTEGER => {
                Ok(kernel_store::SpanStart::At(n as u64))
            }
            SpanStartArg::Number(n) => Err(kernel_store::Error::NoTranscriptSpan {
                vat_id: vat_id.to_owned(),
                position: quote_js_number(n),
            }),
        }
    }
}

/// `q(n)` of a JS number, as swing-store's message quotes a position.
fn quote_js_number(n: f64) -> String {
    if n.is_infinite() {
        return if n > 0.0 {
            "\"[Infinity]\""
        } else {
            "\"[-Infinity]\""
        }
        .into();
    }
    let magnitude = n.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        // JS switches to exponent form here and always signs the exponent.
        let text = format!("{n:e}");
        return match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => text,
        };
    }
    if n == 0.0 {
        // -0 prints as 0.
        return "0".into();
    }
    format!("{n}")
}
