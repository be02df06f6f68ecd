//! Arguments napi-rs converts for us (class instances, byte views), with its errors replaced
//! by a coded `TypeError`: its own say `Failed to recover \`SnapshotWriter\` type` under the
//! code `InvalidArg`.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::{is_nullish, throw_type, type_of};
use crate::audit_methods::Progress;
use crate::snapshot_methods::SnapshotWriter;

/// An audit's progress callback, if any.
pub struct ProgressArg<'a>(pub Option<Progress<'a>>);

impl FromNapiValue for ProgressArg<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        match unsafe { type_of(env, value) } {
            kind if is_nullish(kind) => Ok(ProgressArg(None)),
            sys::ValueType::napi_function => {
                unsafe { Progress::from_napi_value(env, value) }.map(|f| ProgressArg(Some(f)))
            }
            _ => Err(unsafe { throw_type(env, "progress must be a function") }),
        }
    }
}

/// `saveSnapshot`'s writer.
pub struct WriterArg<'a>(pub &'a mut SnapshotWriter);

impl FromNapiValue for WriterArg<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe { <&mut SnapshotWriter>::from_napi_value(env, value) }
            .map(WriterArg)
            .map_err(|_| unsafe { throw_type(env, "writer must be a SnapshotWriter") })
    }
}

/// A chunk of snapshot bytes: a `Uint8Array` (a `Buffer` is one).
pub struct ChunkArg<'a>(pub &'a [u8]);

impl FromNapiValue for ChunkArg<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe { bytes_of(env, value) }
            .map(ChunkArg)
            .ok_or_else(|| unsafe { throw_type(env, "chunk must be a Uint8Array") })
    }
}

/// The bytes a `Uint8Array` (a `Buffer` is one) views, or `None` for any other value. The
/// view lives as long as the call: the argument keeps its buffer alive.
pub(super) unsafe fn bytes_of<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a [u8]> {
    let mut is_typed_array = false;
    unsafe { sys::napi_is_typedarray(env, value, &mut is_typed_array) };
    if !is_typed_array {
        return None;
    }
    let mut kind = sys::TypedarrayType::int8_array;
    let mut length = 0;
    let mut data = std::ptr::null_mut();
    let mut buffer = std::ptr::null_mut();
    let mut offset = 0;
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut length,
            &mut data,
            &mut buffer,
            &mut offset,
        )
    };
    if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
        return None;
    }
    Some(if length == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), length) }
    })
}
