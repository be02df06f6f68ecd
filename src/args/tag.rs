//! The debugging tag of a refcount call.

use std::ptr;

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::text::read_utf8;
use super::{clear_pending, type_of};

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
        // A Symbol (or an object whose toString throws) cannot be coerced; the error being
        // reported must not give way to that one.
        if unsafe { sys::napi_coerce_to_string(env, value, &mut text) } != sys::Status::napi_ok {
            unsafe { clear_pending(env) };
            return describe_uncoercible(env, value, kind);
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

/// What `@endo/errors` shows for a value `String()` cannot take: a symbol by its description.
fn describe_uncoercible(
    env: sys::napi_env,
    value: sys::napi_value,
    kind: sys::napi_valuetype,
) -> String {
    if kind != sys::ValueType::napi_symbol {
        return "\"[unprintable]\"".to_owned();
    }
    let description = unsafe { super::property(env, value, c"description") }
        .ok()
        .and_then(|d| unsafe { read_utf8(env, d) }.ok().flatten())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    unsafe { clear_pending(env) };
    kernel_store::json::quote(&format!("Symbol({})", description.unwrap_or_default()))
}
