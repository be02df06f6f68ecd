//! `KvStore`: one facet (kernel, host or internal) of a `KernelStore`'s kvStore, with
//! swing-store's `has/get/getNextKey/set/delete` and messages.

use napi::bindgen_prelude::{Either, Undefined};
use napi_derive::napi;

use crate::args::{Key, PreviousKey, Value};
use crate::errors::JsErr;
use crate::kernel_store::{with_store, Shared};

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

fn or_undefined(value: Option<String>) -> Either<String, Undefined> {
    match value {
        Some(v) => Either::A(v),
        None => Either::B(()),
    }
}

#[napi]
impl KvStore {
    /// Whether `key` has a value (`''` counts).
    #[napi(catch_unwind)]
    pub fn has(&self, #[napi(ts_arg_type = "string")] key: Key) -> Result<bool, JsErr> {
        with_store(&self.shared, |s| s.kv_has(&key.0))
    }

    /// The value stored under `key`, or `undefined`.
    #[napi(catch_unwind)]
    pub fn get(&self, #[napi(ts_arg_type = "string")] key: Key) -> Result<Either<String, Undefined>, JsErr> {
        with_store(&self.shared, |s| s.kv_get(&key.0).map(|v| v.map(str::to_owned))).map(or_undefined)
    }

    /// The smallest key strictly greater than `previousKey` in UTF-8 byte order, or
    /// `undefined`; pass `''` to start at the first key.
    #[napi(catch_unwind)]
    pub fn get_next_key(
        &self,
        #[napi(ts_arg_type = "string")] previous_key: PreviousKey,
    ) -> Result<Either<String, Undefined>, JsErr> {
        with_store(&self.shared, |s| s.kv_next_key(&previous_key.0)).map(or_undefined)
    }

    /// Stores `value` under `key`. A third argument (swing-store's unused `bypassHash`) is ignored.
    #[napi(catch_unwind)]
    pub fn set(
        &self,
        #[napi(ts_arg_type = "string")] key: Key,
        #[napi(ts_arg_type = "string")] value: Value,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.kv_set(self.facet, &key.0, &value.0))
    }

    /// Deletes `key` (deleting an absent key is allowed and still hashed by the kernel facet).
    #[napi(catch_unwind)]
    pub fn delete(&self, #[napi(ts_arg_type = "string")] key: Key) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.kv_delete(self.facet, &key.0))
    }
}
