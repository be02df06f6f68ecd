//! `KernelStore`'s retained-vatParameters methods, shaped like the vatKeeper and vat-admin
//! calls. Each is all-or-nothing and crosses the boundary once, whatever the slot count.

use napi::bindgen_prelude::{Either, Undefined};
use napi_derive::napi;

use crate::args::{CapDataArg, VatId, VatOptionsArg};
use crate::errors::JsErr;
use crate::handle::with_store;
use crate::kernel_store::KernelStore;

/// Capdata: a marshalled body and the krefs its slots refer to.
#[napi(object, js_name = "CapData")]
pub struct CapDataJs {
    pub body: String,
    pub slots: Vec<String>,
}

impl From<kernel_store::CapData> for CapDataJs {
    fn from(c: kernel_store::CapData) -> Self {
        CapDataJs {
            body: c.body,
            slots: c.slots,
        }
    }
}

/// Capdata, or `undefined` (as the vatKeeper's `getVatParameters` returns for none).
fn or_undefined(capdata: Option<kernel_store::CapData>) -> Either<CapDataJs, Undefined> {
    match capdata {
        Some(c) => Either::A(c.into()),
        None => Either::B(()),
    }
}

/// A live vat a kernel-driven upgrade can restart with its retained vatParameters.
#[napi(object)]
pub struct EligibleVat {
    #[napi(js_name = "vatID")]
    pub vat_id: String,
    /// The static vat's name, or a dynamic vat's `options.name` (else its vatID).
    pub name: String,
    /// `vNN.source` as the kernel stored it, e.g. `{ bundleID }`.
    pub source: serde_json::Value,
    pub vat_parameters: CapDataJs,
}

/// A live vat that cannot be upgraded by the kernel alone, and why.
#[napi(object)]
pub struct IneligibleVat {
    #[napi(js_name = "vatID")]
    pub vat_id: String,
    pub name: String,
    pub reason: String,
}

/// `planUpgradeAll()`'s result, each list in vatID order.
#[napi(object)]
pub struct UpgradePlan {
    pub eligible: Vec<EligibleVat>,
    pub ineligible: Vec<IneligibleVat>,
}

fn to_js_plan(plan: kernel_store::UpgradePlan) -> Result<UpgradePlan, JsErr> {
    let eligible = plan
        .eligible
        .into_iter()
        .map(|v| {
            let source =
                serde_json::from_str(&v.source).unwrap_or(serde_json::Value::String(v.source));
            EligibleVat {
                vat_id: v.vat_id,
                name: v.name,
                source,
                vat_parameters: v.vat_parameters.into(),
            }
        })
        .collect();
    let ineligible = plan
        .ineligible
        .into_iter()
        .map(|v| IneligibleVat {
            vat_id: v.vat_id,
            name: v.name,
            reason: v.reason,
        })
        .collect();
    Ok(UpgradePlan {
        eligible,
        ineligible,
    })
}

#[napi]
impl KernelStore {
    /// The vatKeeper's `setVatParameters`: increments the new slots, then decrements the
    /// previously retained ones, then stores the exact JSON the JS kernel writes. Promise
    /// krefs and malformed capdata are refused before anything changes.
    #[napi(catch_unwind)]
    pub fn set_vat_parameters(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "CapData")] vat_parameters: CapDataArg,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| {
            s.set_vat_parameters(&vat_id.0, &vat_parameters.0)
        })
    }

    /// The vatKeeper's `getVatParameters`: the retained copy, or `undefined` for a vat that
    /// has none (created before retention existed).
    #[napi(catch_unwind, ts_return_type = "CapData | undefined")]
    pub fn get_vat_parameters(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<Either<CapDataJs, Undefined>, JsErr> {
        with_store(&self.shared, |s| s.get_vat_parameters(&vat_id.0)).map(or_undefined)
    }

    // createVat and upgradeVat convert the same arguments and results around different core
    // calls: each must be its own #[napi] method, so their few lines of plumbing repeat.

    /// `createVat(bundleCap, { vatParameters })` for a vat the kernel has recorded
    /// (`vNN.options` exists, not terminated): retains the parameters and counts their slots.
    /// Omitted parameters retain `kser(undefined)`, as the kernel does. Returns what was retained.
    #[napi(catch_unwind, ts_return_type = "CapData")]
    pub fn create_vat(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "{ vatParameters?: CapData }")] options: Option<VatOptionsArg>,
    ) -> Result<CapDataJs, JsErr> {
        let vat_parameters = options.and_then(|o| o.0);
        with_store(&self.shared, |s| {
            s.create_vat(&vat_id.0, vat_parameters.as_ref())
        })
        .map(CapDataJs::from)
    }

    /// `adminNode.upgrade(bundleCap, { vatParameters })`: with `vatParameters`, swaps the
    /// retained copy (new slots counted before old ones are released); without it, reuses and
    /// returns the retained copy, or fails with `ERR_NO_RETAINED_VATPARAMETERS` for a vat
    /// that has none. Returns what the new incarnation gets.
    #[napi(catch_unwind, ts_return_type = "CapData")]
    pub fn upgrade_vat(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "{ vatParameters?: CapData }")] options: Option<VatOptionsArg>,
    ) -> Result<CapDataJs, JsErr> {
        let vat_parameters = options.and_then(|o| o.0);
        with_store(&self.shared, |s| {
            s.upgrade_vat(&vat_id.0, vat_parameters.as_ref())
        })
        .map(CapDataJs::from)
    }

    /// Releases a terminating (still live) vat's retained vatParameters: decrements every
    /// slot (those reaching zero join the maybe-free set) and deletes the copy. Returns what
    /// was released, or `undefined` if the vat had none.
    #[napi(catch_unwind, ts_return_type = "CapData | undefined")]
    pub fn terminate_vat(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<Either<CapDataJs, Undefined>, JsErr> {
        with_store(&self.shared, |s| s.terminate_vat(&vat_id.0)).map(or_undefined)
    }

    /// Every live vat (static and dynamic, minus `vats.terminated`), split into those a
    /// kernel-wide "upgrade all vats" can restart with their retained vatParameters and those
    /// it cannot, with the reason.
    #[napi(catch_unwind)]
    pub fn plan_upgrade_all(&self) -> Result<UpgradePlan, JsErr> {
        with_store(&self.shared, |s| s.plan_upgrade_all()).and_then(to_js_plan)
    }
}
