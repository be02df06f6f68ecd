//! Retained vatParameters and the vat-admin lifecycle (docs/refcounts.md, "Retained
//! vatParameters").
//! The kernel keeps `vNN.vatParameters` so it can restart or upgrade every vat by itself, and
//! holds one refcount per slot while it does. Two deliberate differences from swingset-vat
//! 0.33.0: an upgrade whose options omit `vatParameters` reuses the retained copy (upstream
//! replaces it with `undefined` and drops the counts, issue #10271), and termination releases
//! the retained slots (upstream deletes the key and leaks one count per slot).

use std::collections::BTreeSet;

use crate::batch::{Batch, KernelKv};
use crate::capdata::CapData;
use crate::error::{Error, Result};
use crate::ids;
use crate::json::{quote, string_list};
use crate::refcount::{decrement, increment, RefOptions};

/// A live vat that a kernel-driven upgrade can restart with its retained parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EligibleVat {
    pub vat_id: String,
    pub name: String,
    /// `vNN.source` as the kernel stored it (JSON text).
    pub source: String,
    pub vat_parameters: CapData,
}

/// A live vat that cannot be upgraded without the host supplying new vatParameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IneligibleVat {
    pub vat_id: String,
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradePlan {
    pub eligible: Vec<EligibleVat>,
    pub ineligible: Vec<IneligibleVat>,
}

fn vat_parameters_key(vat_id: &str) -> String {
    format!("{vat_id}.vatParameters")
}

/// The numeric part of a vatID, for ordering `v2` before `v10`.
fn vat_number(vat_id: &str) -> Result<u64> {
    ids::vat_number(vat_id.as_bytes()).ok_or_else(|| Error::InvalidArgValue {
        message: format!("vatID must be v<N>, not {}", quote(vat_id)),
    })
}

/// Reads a JSON array of strings the kernel keeps (`vat.names`, `vat.dynamicIDs`, ...).
fn stored_list(kv: &mut impl KernelKv, key: &str) -> Result<Vec<String>> {
    let Some(text) = kv.get_text(key)? else {
        return Ok(Vec::new());
    };
    string_list(&text).ok_or_else(|| Error::CorruptValue {
        key: key.to_owned(),
        expected: "a JSON array of strings",
        found: text,
    })
}

/// Queues the swap of `vNN.vatParameters` to `new` the way the kernel's vatKeeper does it:
/// increment the new slots first, then decrement the old, then store.
fn swap(batch: &mut Batch, kv: &mut impl KernelKv, vat_id: &str, new: &CapData) -> Result<()> {
    let key = vat_parameters_key(vat_id);
    for kref in &new.slots {
        increment(batch, kv, kref, key.as_str(), RefOptions::default())?;
    }
    let old = batch.get(kv, &key)?.filter(|v| !v.is_empty());
    if let Some(old) = old {
        for kref in CapData::stored_slots(&key, &old)? {
            decrement(batch, kv, &kref, key.as_str(), RefOptions::default())?;
        }
    }
    batch.set(key, new.to_json().into_bytes());
    Ok(())
}

/// The vatKeeper's `setVatParameters`: swaps the retained copy and its refcounts.
pub fn set_vat_parameters(
    kv: &mut impl KernelKv,
    vat_id: &str,
    vat_parameters: &CapData,
) -> Result<()> {
    vat_number(vat_id)?;
    if !kv.has(&format!("{vat_id}.o.nextID"))? {
        return Err(Error::VatNotInitialized {
            vat_id: vat_id.to_owned(),
        });
    }
    vat_parameters.validate_as_vat_parameters()?;
    let mut batch = Batch::default();
    swap(&mut batch, kv, vat_id, vat_parameters)?;
    kv.apply(batch)
}

/// The vatKeeper's `getVatParameters`: the retained copy, or `None` for a vat that has none.
pub fn get_vat_parameters(kv: &mut impl KernelKv, vat_id: &str) -> Result<Option<CapData>> {
    vat_number(vat_id)?;
    let key = vat_parameters_key(vat_id);
    match kv.get_text(&key)?.filter(|v| !v.is_empty()) {
        Some(json) => CapData::from_stored_json(&key, &json).map(Some),
        None => Ok(None),
    }
}

/// Retains a new vat's parameters (`createVat(bundleCap, { vatParameters })`); `None`
/// retains what the kernel retains for an omitted option, `kser(undefined)`.
pub fn create_vat(
    kv: &mut impl KernelKv,
    vat_id: &str,
    vat_parameters: Option<&CapData>,
) -> Result<CapData> {
    require_live_vat(kv, vat_id)?;
    let retained = vat_parameters.cloned().unwrap_or_else(CapData::undefined);
    set_vat_parameters(kv, vat_id, &retained)?;
    Ok(retained)
}

/// `adminNode.upgrade(bundleCap, { vatParameters })`: swaps in new parameters, or, when
/// the option is omitted (`None`), reuses the retained copy. Returns what the new
/// incarnation gets.
pub fn upgrade_vat(
    kv: &mut impl KernelKv,
    vat_id: &str,
    vat_parameters: Option<&CapData>,
) -> Result<CapData> {
    require_live_vat(kv, vat_id)?;
    match vat_parameters {
        Some(new) => {
            set_vat_parameters(kv, vat_id, new)?;
            Ok(new.clone())
        }
        None => get_vat_parameters(kv, vat_id)?.ok_or_else(|| Error::NoRetainedVatParameters {
            vat_id: vat_id.to_owned(),
        }),
    }
}

/// Releases a terminating vat's retained parameters: every slot is decremented (krefs
/// reaching zero become maybe-free) and the copy is deleted. Returns what was released.
pub fn terminate_vat(kv: &mut impl KernelKv, vat_id: &str) -> Result<Option<CapData>> {
    require_live_vat(kv, vat_id)?;
    let Some(retained) = get_vat_parameters(kv, vat_id)? else {
        return Ok(None);
    };
    let key = vat_parameters_key(vat_id);
    let mut batch = Batch::default();
    for kref in &retained.slots {
        decrement(&mut batch, kv, kref, key.as_str(), RefOptions::default())?;
    }
    batch.delete(key);
    kv.apply(batch)?;
    Ok(Some(retained))
}

/// Every live vat (static and dynamic, minus `vats.terminated`) in vatID order, split into
/// those a kernel-driven upgrade can restart with their retained parameters and those it
/// cannot, with the reason.
pub fn plan_upgrade_all(kv: &mut impl KernelKv) -> Result<UpgradePlan> {
    let terminated: BTreeSet<String> = stored_list(kv, "vats.terminated")?.into_iter().collect();
    let mut vats: Vec<(u64, String, Option<String>)> = Vec::new();
    for name in stored_list(kv, "vat.names")? {
        let key = format!("vat.name.{name}");
        let vat_id = kv.get_text(&key)?.ok_or(Error::MissingKey { key })?;
        vats.push((vat_number(&vat_id)?, vat_id, Some(name)));
    }
    for vat_id in stored_list(kv, "vat.dynamicIDs")? {
        vats.push((vat_number(&vat_id)?, vat_id, None));
    }
    vats.sort();
    vats.dedup_by(|a, b| a.1 == b.1);

    let mut plan = UpgradePlan::default();
    for (_, vat_id, static_name) in vats {
        if terminated.contains(&vat_id) {
            continue;
        }
        let name = match static_name {
            Some(name) => name,
            None => dynamic_vat_name(kv, &vat_id)?,
        };
        let source = kv.get_text(&format!("{vat_id}.source"))?;
        match (get_vat_parameters(kv, &vat_id), source) {
            (Ok(Some(vat_parameters)), Some(source)) => {
                plan.eligible.push(EligibleVat { vat_id, name, source, vat_parameters })
            }
            (Ok(None), _) => plan.ineligible.push(IneligibleVat {
                vat_id,
                name,
                reason: "no retained vatParameters: created or last upgraded before the kernel retained them"
                    .to_owned(),
            }),
            (Ok(Some(_)), None) => plan.ineligible.push(IneligibleVat {
                reason: format!("no {} recorded", quote(&format!("{vat_id}.source"))),
                vat_id,
                name,
            }),
            (Err(e), _) => plan.ineligible.push(IneligibleVat { vat_id, name, reason: e.to_string() }),
        }
    }
    Ok(plan)
}

/// A dynamic vat's name from its options (`vNN.options.name`), or its vatID.
fn dynamic_vat_name(kv: &mut impl KernelKv, vat_id: &str) -> Result<String> {
    let options = kv
        .get_text(&format!("{vat_id}.options"))?
        .unwrap_or_default();
    let name = serde_json::from_str::<serde_json::Value>(&options)
        .ok()
        .and_then(|o| o.get("name").and_then(|n| n.as_str()).map(str::to_owned));
    Ok(name.unwrap_or_else(|| vat_id.to_owned()))
}

/// A vat is live while the kernel has recorded it (`vNN.options`) and not terminated it.
fn require_live_vat(kv: &mut impl KernelKv, vat_id: &str) -> Result<()> {
    vat_number(vat_id)?;
    if !kv.has(&format!("{vat_id}.options"))? {
        return Err(Error::UnknownVat {
            vat_id: vat_id.to_owned(),
        });
    }
    if stored_list(kv, "vats.terminated")?
        .iter()
        .any(|v| v == vat_id)
    {
        return Err(Error::VatTerminated {
            vat_id: vat_id.to_owned(),
        });
    }
    Ok(())
}
