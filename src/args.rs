//! String arguments that reject non-strings with a `TypeError` naming the argument, exactly as
//! swing-store's `key must be a string`, and carrying `code: 'ERR_INVALID_ARG_TYPE'`. The check
//! costs nothing extra: it is the status of the one UTF-8 read N-API does anyway.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Status};
use napi::sys;

const INVALID_ARG_TYPE: &std::ffi::CStr = c"ERR_INVALID_ARG_TYPE";

/// Reads a JS string as UTF-8 (lone surrogates become U+FFFD, as in Node's hashing), or
/// throws `TypeError(<what> must be a string)`.
unsafe fn read_string(
    env: sys::napi_env,
    value: sys::napi_value,
    message: &std::ffi::CStr,
) -> napi::Result<String> {
    match unsafe { read_utf8(env, value)? } {
        // N-API writes well-formed UTF-8 (lone surrogates already replaced).
        Some(bytes) => Ok(unsafe { String::from_utf8_unchecked(bytes) }),
        None => {
            unsafe { sys::napi_throw_type_error(env, INVALID_ARG_TYPE.as_ptr(), message.as_ptr()) };
            Err(napi::Error::from_status(Status::PendingException))
        }
    }
}

/// N-API's UTF-8 reading of a JS string, or `None` when the value is not a string. Most
/// arguments fit a small buffer: one N-API read instead of a length query and a copy.
unsafe fn read_utf8(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Option<Vec<u8>>> {
    const SMALL: usize = 128;
    let mut small = [0u8; SMALL];
    let mut written = 0;
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, value, small.as_mut_ptr().cast(), SMALL, &mut written)
    };
    if status == sys::Status::napi_string_expected {
        return Ok(None);
    }
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(
            Status::from(status),
            "cannot read string argument".to_owned(),
        ));
    }
    // V8 stops before a character that would not fit, so only a read that left room for the
    // longest UTF-8 character (4 bytes) and the NUL is known to be whole.
    if written + 4 < SMALL - 1 {
        return Ok(Some(small[..written].to_vec()));
    }
    let mut len = 0;
    unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
    let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
    unsafe {
        sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), len + 1, &mut written);
        buf.set_len(written);
    }
    Ok(Some(buf))
}

/// Reads a JS string as WTF-8, the bytes V8 hands better-sqlite3: lone surrogates keep their
/// own 3-byte sequences instead of collapsing into U+FFFD. Only strings whose UTF-8 reading
/// contains U+FFFD are read a second time, as UTF-16, to tell the two apart.
unsafe fn read_wtf8(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Option<Vec<u8>>> {
    let Some(buf) = (unsafe { read_utf8(env, value)? }) else {
        return Ok(None);
    };
    if !buf.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD]) {
        return Ok(Some(buf));
    }
    let mut units_len = 0;
    let mut written = 0;
    unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut units_len) };
    let mut units: Vec<u16> = Vec::with_capacity(units_len + 1);
    unsafe {
        sys::napi_get_value_string_utf16(
            env,
            value,
            units.as_mut_ptr(),
            units_len + 1,
            &mut written,
        );
        units.set_len(written);
    }
    Ok(Some(kernel_store::wtf8::from_utf16(&units)))
}

/// A kvStore key as WTF-8, or a `TypeError('key must be a string')`.
pub struct KeyBytes(pub Vec<u8>);

impl FromNapiValue for KeyBytes {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        match unsafe { read_wtf8(env, value)? } {
            Some(bytes) => Ok(KeyBytes(bytes)),
            None => Err(unsafe { throw(env, true, INVALID_ARG_TYPE, "key must be a string") }),
        }
    }
}

/// A JS string argument whose type is checked later, so that the checks swing-store makes
/// first (namespaces, crank state) report first; `None` when it is not a string.
pub struct LateString(pub Option<Vec<u8>>);

impl FromNapiValue for LateString {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe { read_wtf8(env, value) }.map(LateString)
    }
}

impl LateString {
    /// The bytes, or the `TypeError` (`ERR_INVALID_ARG_TYPE`) naming the argument.
    pub fn require(self, what: &str) -> kernel_store::Result<Vec<u8>> {
        self.0.ok_or_else(|| kernel_store::Error::InvalidArgType {
            message: format!("{what} must be a string"),
        })
    }
}

/// A JS string made from stored WTF-8 bytes; V8 decodes them as it decodes better-sqlite3's.
pub struct JsText(pub Vec<u8>);

impl napi::bindgen_prelude::ToNapiValue for JsText {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut out = ptr::null_mut();
        let status = unsafe {
            sys::napi_create_string_utf8(env, val.0.as_ptr().cast(), val.0.len() as isize, &mut out)
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(
                Status::from(status),
                "cannot create string".to_owned(),
            ));
        }
        Ok(out)
    }
}

impl napi::bindgen_prelude::TypeName for JsText {
    fn type_name() -> &'static str {
        "string"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::String
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

/// `dirPath`: a string, or `null`/`undefined` for an in-memory store.
pub struct DirPath(pub Option<String>);

impl FromNapiValue for DirPath {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut kind = 0;
        unsafe { sys::napi_typeof(env, value, &mut kind) };
        if kind == sys::ValueType::napi_null || kind == sys::ValueType::napi_undefined {
            return Ok(DirPath(None));
        }
        unsafe { read_string(env, value, c"dirPath must be a string, null or undefined") }
            .map(|s| DirPath(Some(s)))
    }
}

string_arg!(
    /// A kernel reference (`koNN`, `kpNN`, `kdNN`).
    Kref,
    c"kref must be a string"
);
string_arg!(
    /// A vat ID (`vNN`).
    VatId,
    c"vatID must be a string"
);

unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
    let mut kind = sys::ValueType::napi_undefined;
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    kind
}

fn is_nullish(kind: sys::napi_valuetype) -> bool {
    kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null
}

unsafe fn property(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &std::ffi::CStr,
) -> napi::Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let status = unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut value) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_status(Status::PendingException));
    }
    Ok(value)
}

/// Throws a JS `Error` (or `TypeError`) carrying `code`, for a conversion that failed.
unsafe fn throw(
    env: sys::napi_env,
    type_error: bool,
    code: &std::ffi::CStr,
    message: &str,
) -> napi::Error {
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

/// A refcount call's debugging tag, read only if an error message needs it (the kernel never
/// stores tags, and reading one costs as much as a small refcount update).
#[derive(Default)]
pub enum Tag {
    Given {
        env: sys::napi_env,
        value: sys::napi_value,
    },
    #[default]
    Missing,
}

impl FromNapiValue for Tag {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Tag::Given { env, value })
    }
}

impl kernel_store::RefTag for Tag {
    /// As `@endo/errors` renders a substituted value: strings quoted, `undefined` as
    /// `"[undefined]"`, numbers and booleans bare.
    fn render(&self) -> String {
        let &Tag::Given { env, value } = self else {
            return "\"[undefined]\"".to_owned();
        };
        let kind = unsafe { type_of(env, value) };
        let mut text = ptr::null_mut();
        if unsafe { sys::napi_coerce_to_string(env, value, &mut text) } != sys::Status::napi_ok {
            return "\"[unprintable]\"".to_owned();
        }
        let text = unsafe { read_utf8(env, text) }
            .ok()
            .flatten()
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        match kind {
            sys::ValueType::napi_string
            | sys::ValueType::napi_symbol
            | sys::ValueType::napi_object => kernel_store::json::quote(&text),
            _ => text.into_owned(),
        }
    }
}

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
        let mut is_array = false;
        unsafe { sys::napi_is_array(env, slots_value, &mut is_array) };
        if !is_array {
            return Err(bad(format!("{what}.slots must be an array of krefs")));
        }
        let mut len = 0u32;
        unsafe { sys::napi_get_array_length(env, slots_value, &mut len) };
        let mut slots = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut slot = ptr::null_mut();
            if unsafe { sys::napi_get_element(env, slots_value, i, &mut slot) }
                != sys::Status::napi_ok
            {
                return Err(napi::Error::from_status(Status::PendingException));
            }
            if unsafe { type_of(env, slot) } != sys::ValueType::napi_string {
                return Err(bad(format!("{what}.slots[{i}] must be a string kref")));
            }
            slots.push(unsafe { read_string(env, slot, c"slot must be a string")? });
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
            return Err(unsafe {
                throw(
                    env,
                    true,
                    INVALID_ARG_TYPE,
                    "options must be an object { vatParameters? }",
                )
            });
        }
        let vat_parameters = unsafe { property(env, value, c"vatParameters")? };
        if unsafe { type_of(env, vat_parameters) } == sys::ValueType::napi_undefined {
            return Ok(VatOptionsArg(None));
        }
        unsafe { CapDataArg::read(env, vat_parameters, "options.vatParameters") }
            .map(|c| VatOptionsArg(Some(c.0)))
    }
}

/// The kernel's `{ isExport, onlyRecognizable }` (both default false; missing bag allowed).
pub struct RefOptionsArg(pub kernel_store::RefOptions);

impl FromNapiValue for RefOptionsArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let kind = unsafe { type_of(env, value) };
        if is_nullish(kind) {
            return Ok(RefOptionsArg(kernel_store::RefOptions::default()));
        }
        if kind != sys::ValueType::napi_object {
            return Err(unsafe {
                throw(
                    env,
                    true,
                    INVALID_ARG_TYPE,
                    "options must be an object { isExport?, onlyRecognizable? }",
                )
            });
        }
        let flag = |name: &std::ffi::CStr, label: &str| -> napi::Result<bool> {
            let v = unsafe { property(env, value, name)? };
            match unsafe { type_of(env, v) } {
                sys::ValueType::napi_undefined => Ok(false),
                sys::ValueType::napi_boolean => {
                    let mut b = false;
                    unsafe { sys::napi_get_value_bool(env, v, &mut b) };
                    Ok(b)
                }
                _ => Err(unsafe {
                    throw(
                        env,
                        true,
                        INVALID_ARG_TYPE,
                        &format!("options.{label} must be a boolean"),
                    )
                }),
            }
        };
        Ok(RefOptionsArg(kernel_store::RefOptions {
            is_export: flag(c"isExport", "isExport")?,
            only_recognizable: flag(c"onlyRecognizable", "onlyRecognizable")?,
        }))
    }
}
