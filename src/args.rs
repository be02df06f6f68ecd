//! String arguments that reject non-strings with a `TypeError` naming the argument, exactly as
//! swing-store's `key must be a string`, and carrying `code: 'ERR_INVALID_ARG_TYPE'`. The check
//! costs nothing extra: it is the status of the one UTF-8 read N-API does anyway.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Status};
use napi::sys;

const INVALID_ARG_TYPE: &std::ffi::CStr = c"ERR_INVALID_ARG_TYPE";

/// Reads a JS string as UTF-8 (lone surrogates become U+FFFD, as in Node's hashing), or
/// throws `TypeError(<what> must be a string)`.
unsafe fn read_string(env: sys::napi_env, value: sys::napi_value, message: &std::ffi::CStr) -> napi::Result<String> {
    let mut len = 0;
    let status = unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
    if status == sys::Status::napi_string_expected {
        unsafe { sys::napi_throw_type_error(env, INVALID_ARG_TYPE.as_ptr(), message.as_ptr()) };
        return Err(napi::Error::from_status(Status::PendingException));
    }
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(Status::from(status), "cannot read string argument".to_owned()));
    }
    let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
    let mut written = 0;
    let status =
        unsafe { sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), len + 1, &mut written) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(Status::from(status), "cannot read string argument".to_owned()));
    }
    unsafe {
        buf.set_len(written);
        Ok(String::from_utf8_unchecked(buf))
    }
}

macro_rules! string_arg {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        pub struct $name(pub String);

        impl FromNapiValue for $name {
            unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
                unsafe { read_string(env, value, $message) }.map($name)
            }
        }
    };
}

string_arg!(
    /// A kvStore key.
    Key,
    c"key must be a string"
);
string_arg!(
    /// A kvStore value.
    Value,
    c"value must be a string"
);
string_arg!(
    /// `getNextKey`'s argument.
    PreviousKey,
    c"previousKey must be a string"
);
string_arg!(
    /// A crank savepoint's label.
    SavepointName,
    c"savepoint name must be a string"
);

/// `dirPath`: a string, or `null`/`undefined` for an in-memory store.
pub struct DirPath(pub Option<String>);

impl FromNapiValue for DirPath {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut kind = 0;
        unsafe { sys::napi_typeof(env, value, &mut kind) };
        if kind == sys::ValueType::napi_null || kind == sys::ValueType::napi_undefined {
            return Ok(DirPath(None));
        }
        unsafe { read_string(env, value, c"dirPath must be a string, null or undefined") }.map(|s| DirPath(Some(s)))
    }
}
