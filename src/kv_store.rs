//! `KvStore`: one facet (kernel, host or internal) of a `KernelStore`'s kvStore, with
//! swing-store's `has/get/getNextKey/set/delete` and messages.

use napi::bindgen_prelude::{Either, Env, Undefined};
use napi_derive::napi;

use crate::args::{JsText, KeyBytes, LateString};
use crate::errors::{illegal_constructor, JsErr};
use crate::handle::{with_store, with_store_typed, Shared};

/// A kvStore facet. Misses are `undefined`, never `null`.
#[napi]
pub struct KvStore {
    shared: Shared,
    facet: kernel_store::Facet,
}

impl KvStore {
    pub(crate) fn new(shared: Shared, facet: kernel_store::Facet) -> KvStore {
        KvStore { shared, facet }
    }
}

fn or_undefined(value: Option<Vec<u8>>) -> Either<JsText, Undefined> {
    match value {
        Some(v) => Either::A(JsText(v)),
        None => Either::B(()),
    }
}

#[napi]
impl KvStore {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. A store's facets are its
    /// `kvStore`, `hostKvStore` and `internalKvStore`.
    #[napi(constructor)]
    pub fn new_from_js(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(&env, "KvStore cannot be constructed: use a KernelStore's kvStore, hostKvStore or internalKvStore"))
    }

    /// Whether `key` has a value (`''` counts).
    #[napi(catch_unwind)]
    pub fn has(&self, #[napi(ts_arg_type = "string")] key: KeyBytes) -> Result<bool, JsErr> {
        with_store(&self.shared, |s| s.kv_has(&key.0))
    }

    /// The value stored under `key`, or `undefined`.
    #[napi(catch_unwind, ts_return_type = "string | undefined")]
    pub fn get(
        &self,
        #[napi(ts_arg_type = "string")] key: KeyBytes,
    ) -> Result<Either<JsText, Undefined>, JsErr> {
        with_store(&self.shared, |s| {
            s.kv_get(&key.0).map(|v| v.map(<[u8]>::to_vec))
        })
        .map(or_undefined)
    }

    /// The smallest key strictly greater than `previousKey` in UTF-8 byte order, or
    /// `undefined`; pass `''` to start at the first key.
    #[napi(catch_unwind, ts_return_type = "string | undefined")]
    pub fn get_next_key(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] previous_key: LateString,
    ) -> Result<Either<JsText, Undefined>, JsErr> {
        with_store_typed(&env, &self.shared, |s| {
            s.kv_next_key(previous_key.require("previousKey")?)
        })
        .map(or_undefined)
    }

    /// Stores `value` under `key`. The namespace is checked before the value's type, as in
    /// swing-store. A third argument (swing-store's unused `bypassHash`) is ignored.
    #[napi(catch_unwind)]
    pub fn set(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] key: KeyBytes,
        #[napi(ts_arg_type = "string")] value: LateString,
    ) -> Result<(), JsErr> {
        with_store_typed(&env, &self.shared, |s| {
            self.facet.check_writable(&key.0)?;
            s.kv_set(self.facet, &key.0, value.require("value")?)
        })
    }

    /// Deletes `key` (deleting an absent key is allowed and still hashed by the kernel facet).
    #[napi(catch_unwind)]
    pub fn delete(&self, #[napi(ts_arg_type = "string")] key: KeyBytes) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.kv_delete(self.facet, &key.0))
    }

    /// Throws the facet's namespace error for a key it may not write (the kernel facet
    /// refuses `host.` keys, the host facet requires them); writes nothing. With
    /// `recordWrite`, this lets a facet be layered over a wrapped raw kvStore, as swing-store's
    /// `wrapKvStore` option does: check, write through the wrapper, record.
    #[napi(catch_unwind)]
    pub fn check_writable(
        &self,
        #[napi(ts_arg_type = "string")] key: KeyBytes,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |_| self.facet.check_writable(&key.0))
    }

    /// Does what `set(key, value)` (or, with `value` omitted or null, `delete(key)`) does
    /// besides storing: the kernel facet crank-hashes and export-notes a consensus key. For a
    /// write another layer has stored through the internal facet; see `checkWritable`.
    #[napi(catch_unwind, ts_args_type = "key: string, value?: string | null")]
    pub fn record_write(
        &self,
        env: Env,
        key: KeyBytes,
        value: Option<LateString>,
    ) -> Result<(), JsErr> {
        with_store_typed(&env, &self.shared, |s| {
            let value = value.map(|v| v.require("value")).transpose()?;
            s.kv_record_write(self.facet, &key.0, value.as_deref())
        })
    }
}
