//! String arguments, read with the status of the one UTF-8 read N-API does anyway: a
//! non-string is refused with `TypeError(<name> must be a string)`, as swing-store refuses a
//! non-string key, carrying `code: 'ERR_INVALID_ARG_TYPE'`.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Status};
use napi::sys;

use super::{is_nullish, throw_type, throw_value, type_of};

/// Reads a JS string as UTF-8 (lone surrogates become U+FFFD, as in Node's hashing), or
/// throws `TypeError(<what> must be a string)`.
pub(super) unsafe fn read_string(
    env: sys::napi_env,
    value: sys::napi_value,
    message: &std::ffi::CStr,
) -> napi::Result<String> {
    match unsafe { read_utf8(env, value)? } {
        // N-API writes well-formed UTF-8 (lone surrogates already replaced).
        Some(bytes) => Ok(unsafe { String::from_utf8_unchecked(bytes) }),
        None => Err(unsafe { throw_type(env, &message.to_string_lossy()) }),
    }
}

/// N-API's UTF-8 reading of a JS string, or `None` when the value is not a string. Most
/// arguments fit a small buffer: one N-API read instead of a length query and a copy.
pub(super) unsafe fn read_utf8(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<Option<Vec<u8>>> {
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
pub(super) unsafe fn read_wtf8(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<Option<Vec<u8>>> {
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
            None => Err(unsafe { throw_type(env, "key must be a string") }),
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

/// Bytes handed to JS as a `Buffer` whose memory V8 owns (a copy): a stream of chunks then
/// costs V8 the memory it can see and free at once, where a `Buffer` over Rust memory is
/// only freed by a finalizer that runs later, letting a fast stream pile up hundreds of
/// megabytes that V8 never counted.
pub struct JsBytes(pub Vec<u8>);

impl napi::bindgen_prelude::ToNapiValue for JsBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut out = ptr::null_mut();
        let status = unsafe {
            sys::napi_create_buffer_copy(
                env,
                val.0.len(),
                val.0.as_ptr().cast(),
                ptr::null_mut(),
                &mut out,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(
                Status::from(status),
                "cannot create buffer".to_owned(),
            ));
        }
        Ok(out)
    }
}

impl napi::bindgen_prelude::TypeName for JsBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

/// Numbers handed to JS as a `Uint32Array` over memory V8 owns (a copy), for the same reason
/// as [`JsBytes`].
pub struct JsU32s(pub Vec<u32>);

impl napi::bindgen_prelude::ToNapiValue for JsU32s {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let failed = |status: sys::napi_status| {
            napi::Error::new(Status::from(status), "cannot create Uint32Array".to_owned())
        };
        let bytes = std::mem::size_of_val(val.0.as_slice());
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let status = unsafe { sys::napi_create_arraybuffer(env, bytes, &mut data, &mut buffer) };
        if status != sys::Status::napi_ok {
            return Err(failed(status));
        }
        if bytes > 0 {
            // V8 allocated `bytes` at `data`, aligned for any element type.
            unsafe { ptr::copy_nonoverlapping(val.0.as_ptr(), data.cast::<u32>(), val.0.len()) };
        }
        let mut out = ptr::null_mut();
        let status = unsafe {
            sys::napi_create_typedarray(
                env,
                sys::TypedarrayType::uint32_array,
                val.0.len(),
                buffer,
                0,
                &mut out,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(failed(status));
        }
        Ok(out)
    }
}

impl napi::bindgen_prelude::TypeName for JsU32s {
    fn type_name() -> &'static str {
        "Uint32Array"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
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
        if is_nullish(unsafe { type_of(env, value) }) {
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
/// A vat ID (`vNN`). One with a `.` is refused: export-data keys (`transcript.v1.0`) are
/// dot-separated, so its records could not be read back (by an import or a repair).
pub struct VatId(pub String);

impl FromNapiValue for VatId {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let vat_id = unsafe { read_string(env, value, c"vatID must be a string") }?;
        if vat_id.contains('.') {
            return Err(unsafe {
                throw_value(
                    env,
                    &format!(
                        "vatID must not contain '.' (export-data keys are dot-separated), not {}",
                        kernel_store::json::quote(&vat_id)
                    ),
                )
            });
        }
        Ok(VatId(vat_id))
    }
}
string_arg!(
    /// A bundle ID (`b0-…` or `b1-…`).
    BundleId,
    c"bundleID must be a string"
);
string_arg!(
    /// A bundle's `moduleFormat`.
    ModuleFormat,
    c"moduleFormat must be a string"
);
string_arg!(
    /// A `b0-` bundle as its `JSON.stringify` text.
    B0BundleJson,
    c"bundle JSON must be a string"
);
string_arg!(
    /// A `b1-` bundle's `endoZipBase64`.
    EndoZipBase64,
    c"endoZipBase64 must be a string"
);
string_arg!(
    /// A `b1-` bundle's `endoZipBase64Sha512`.
    EndoZipBase64Sha512,
    c"endoZipBase64Sha512 must be a string"
);
string_arg!(
    /// A transcript item.
    TranscriptItem,
    c"item must be a string"
);
string_arg!(
    /// A store directory or database file to audit.
    AuditPath,
    c"path must be a string"
);
string_arg!(
    /// An artifact name (`transcript.v1.0.5`, `snapshot.v1.5`, `bundle.b1-...`).
    ArtifactName,
    c"artifact name must be a string"
);

string_arg!(
    /// A snapshot's hash (hex SHA-256).
    SnapshotHash,
    c"hash must be a string"
);
string_arg!(
    /// A tool's SQL statement.
    SqlText,
    c"sql must be a string"
);
string_arg!(
    /// An export-data key (`transcript.v1.0`, `snapshot.v1.5`, `bundle.b1-...`).
    RecordKey,
    c"key must be a string"
);
string_arg!(
    /// An export-data value (the record's JSON, or a bundle ID).
    RecordValue,
    c"value must be a string"
);

/// An artifact mode (`undefined` is `operational`), checked before anything is opened.
pub struct ArtifactModeArg(pub kernel_store::ArtifactMode);

impl FromNapiValue for ArtifactModeArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if unsafe { type_of(env, value) } == sys::ValueType::napi_undefined {
            return Ok(ArtifactModeArg(kernel_store::ArtifactMode::default()));
        }
        let mode = unsafe { read_string(env, value, c"artifactMode must be a string")? };
        kernel_store::ArtifactMode::parse(&mode)
            .map(ArtifactModeArg)
            .map_err(|e| unsafe { super::throw_value(env, &e.to_string()) })
    }
}

/// Which store a tool's call is about: `snapshot`, `transcript` or `bundle`, or all of them
/// when omitted.
pub struct ScopeArg(pub kernel_store::Scope);

impl FromNapiValue for ScopeArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        if is_nullish(unsafe { type_of(env, value) }) {
            return Ok(ScopeArg(kernel_store::Scope::All));
        }
        let scope = unsafe { read_string(env, value, c"scope must be a string")? };
        match scope.as_str() {
            "snapshot" => Ok(ScopeArg(kernel_store::Scope::Snapshots)),
            "transcript" => Ok(ScopeArg(kernel_store::Scope::Transcripts)),
            "bundle" => Ok(ScopeArg(kernel_store::Scope::Bundles)),
            other => Err(unsafe {
                super::throw_value(
                    env,
                    &format!(
                        "scope must be 'snapshot', 'transcript' or 'bundle', not {}",
                        kernel_store::json::quote(other)
                    ),
                )
            }),
        }
    }
}
