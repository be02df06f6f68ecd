//! `KernelStore`'s refcount methods: the kernel's names and semantics, one boundary crossing
//! per operation.

use napi_derive::napi;

use crate::args::{Kref, RefCountsArg, RefOptionsArg, Tag};
use crate::errors::JsErr;
use crate::handle::with_store;
use crate::kernel_store::KernelStore;

/// A kernel object's counts, as `getObjectRefCount` reports them.
#[napi(object)]
pub struct ObjectRefCount {
    /// Whether `koNN.refCount` exists (the object has not been deleted).
    pub exists: bool,
    pub reachable: f64,
    pub recognizable: f64,
}

/// A JS number that must be an integer count, checked before any write.
fn count(value: f64, name: &str) -> Result<i128, JsErr> {
    if value.fract() != 0.0 || !value.is_finite() || value.abs() > 9_007_199_254_740_991.0 {
        return Err(JsErr::new(
            "ERR_INVALID_ARG_VALUE",
            format!("{name} must be an integer, not {value}"),
        ));
    }
    Ok(value as i128)
}

#[napi]
impl KernelStore {
    /// The kernel's `incrementRefCount(kref, tag, { isExport, onlyRecognizable })`: promises
    /// `+1` (a missing `kpNN.refCount` is an error); objects `R+1` (unless
    /// `onlyRecognizable`) and `C+1`, creating `0,0` if missing, nothing for an export;
    /// devices untracked.
    #[napi(catch_unwind)]
    pub fn increment_ref_count(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
        #[napi(ts_arg_type = "string")] tag: Option<Tag>,
        #[napi(ts_arg_type = "{ isExport?: boolean; onlyRecognizable?: boolean }")] options: Option<
            RefOptionsArg,
        >,
    ) -> Result<(), JsErr> {
        let options = options.map(|o| o.0).unwrap_or_default();
        let tag = tag.unwrap_or_default();
        with_store(&self.shared, |s| {
            s.increment_ref_count(&kref.0, &tag, options)
        })
    }

    /// The kernel's `decrementRefCount`: refuses to go below zero; krefs whose count reaches
    /// zero (objects: either count) join the maybe-free set. Returns `true` when a promise's
    /// count reached zero. A missing object is ignored, as the kernel does.
    #[napi(catch_unwind)]
    pub fn decrement_ref_count(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
        #[napi(ts_arg_type = "string")] tag: Option<Tag>,
        #[napi(ts_arg_type = "{ isExport?: boolean; onlyRecognizable?: boolean }")] options: Option<
            RefOptionsArg,
        >,
    ) -> Result<bool, JsErr> {
        let options = options.map(|o| o.0).unwrap_or_default();
        let tag = tag.unwrap_or_default();
        with_store(&self.shared, |s| {
            s.decrement_ref_count(&kref.0, &tag, options)
        })
    }

    /// `koNN.refCount` as the kernel reads it: a missing key reads `0,0` with `exists: false`.
    #[napi(catch_unwind)]
    pub fn get_object_ref_count(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
    ) -> Result<ObjectRefCount, JsErr> {
        with_store(&self.shared, |s| s.get_object_ref_count(&kref.0)).map(|c| ObjectRefCount {
            exists: c.exists,
            reachable: c.reachable as f64,
            recognizable: c.recognizable as f64,
        })
    }

    /// Overwrites `koNN.refCount` after the kernel's checks (never negative, reachable ≤
    /// recognizable).
    #[napi(catch_unwind)]
    pub fn set_object_ref_count(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
        #[napi(ts_arg_type = "RefCounts")] counts: RefCountsArg,
    ) -> Result<(), JsErr> {
        let reachable = count(counts.0.reachable, "reachable")?;
        let recognizable = count(counts.0.recognizable, "recognizable")?;
        with_store(&self.shared, |s| {
            s.set_object_ref_count(&kref.0, reachable, recognizable)
        })
    }

    /// The kernel's `kernelObjectExists`: whether `koNN.refCount` exists.
    #[napi(catch_unwind)]
    pub fn kernel_object_exists(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
    ) -> Result<bool, JsErr> {
        with_store(&self.shared, |s| s.kernel_object_exists(&kref.0))
    }

    /// The kernel's `addMaybeFreeKref` (objects only).
    #[napi(catch_unwind)]
    pub fn add_maybe_free_kref(
        &self,
        #[napi(ts_arg_type = "string")] kref: Kref,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.add_maybe_free_kref(&kref.0))
    }

    /// The krefs that may now be free, sorted; the set is cleared.
    #[napi(catch_unwind)]
    pub fn take_maybe_free_krefs(&self) -> Result<Vec<String>, JsErr> {
        with_store(&self.shared, |s| Ok(s.take_maybe_free_krefs()))
    }
}
