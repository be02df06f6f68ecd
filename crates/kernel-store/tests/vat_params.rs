//! Retained vatParameters and the vat-admin lifecycle.

mod common;

use common::*;
use kernel_store::{CapData, Facet, KernelStore};

fn capdata(body: &str, slots: &[&str]) -> CapData {
    CapData {
        body: body.to_owned(),
        slots: slots.iter().map(|s| s.to_string()).collect(),
    }
}

/// A store with the keys the kernel's createVatState leaves for `v6` and a static `v1`.
fn kernel_with_vats() -> KernelStore {
    let mut store = memory_store();
    for (k, v) in [
        ("vat.names", r#"["bootstrap"]"#),
        ("vat.name.bootstrap", "v1"),
        ("vat.dynamicIDs", r#"["v6"]"#),
        ("vats.terminated", "[]"),
        ("v1.source", r#"{"bundleID":"b1-aaa"}"#),
        ("v1.o.nextID", "50"),
        ("v1.options", r#"{"name":"bootstrap"}"#),
        ("v6.source", r#"{"bundleID":"b1-bbb"}"#),
        ("v6.o.nextID", "50"),
        ("v6.options", r#"{"name":"dyn"}"#),
        ("ko26.owner", "v1"),
        ("ko26.refCount", "1,1"),
        ("ko27.refCount", "1,1"),
    ] {
        store.kv_set(Facet::Kernel, k, v).unwrap();
    }
    store
}

fn marker() -> CapData {
    capdata(
        "#{\"marker\":\"$0.Alleged: marker\",\"number\":1}",
        &["ko26"],
    )
}

#[test]
fn set_vat_parameters_stores_the_json_the_kernel_writes_and_counts_the_slots() {
    let mut store = kernel_with_vats();
    store.set_vat_parameters("v6", &marker()).unwrap();
    assert_eq!(
        get(&mut store, "v6.vatParameters").as_deref(),
        Some(r##"{"body":"#{\"marker\":\"$0.Alleged: marker\",\"number\":1}","slots":["ko26"]}"##)
    );
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("2,2"));
    assert_eq!(store.get_vat_parameters("v6").unwrap(), Some(marker()));
}

#[test]
fn set_vat_parameters_refuses_a_vat_the_kernel_never_initialized() {
    let mut store = kernel_with_vats();
    let before = entries(&mut store);
    let err = store.set_vat_parameters("v9", &marker()).unwrap_err();
    assert_eq!(err.to_string(), "v9 was not initialized");
    assert_eq!(err.code(), "ERR_UNKNOWN_VAT");
    assert_eq!(entries(&mut store), before);
}

#[test]
fn swapping_counts_the_new_slots_before_releasing_the_old() {
    let mut store = kernel_with_vats();
    store
        .set_vat_parameters("v6", &capdata("#[\"$0\",\"$1\"]", &["ko26", "ko27"]))
        .unwrap();
    store
        .set_vat_parameters("v6", &capdata("#\"$0\"", &["ko27"]))
        .unwrap();
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("1,1"));
    assert_eq!(get(&mut store, "ko27.refCount").as_deref(), Some("2,2"));
}

#[test]
fn duplicate_slots_count_twice() {
    let mut store = kernel_with_vats();
    store
        .set_vat_parameters("v6", &capdata("#[\"$0\",\"$1\"]", &["ko26", "ko26"]))
        .unwrap();
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("3,3"));
}

#[test]
fn promise_krefs_in_vat_parameters_are_refused_and_nothing_changes() {
    let mut store = kernel_with_vats();
    let before = entries(&mut store);
    let err = store
        .set_vat_parameters("v6", &capdata("#[\"$0\",\"&1\"]", &["ko26", "kp40"]))
        .unwrap_err();
    assert_eq!(err.code(), "ERR_PROMISE_IN_VATPARAMETERS");
    assert_eq!(entries(&mut store), before);
}

#[test]
fn a_failure_half_way_leaves_no_partial_count_change() {
    let mut store = kernel_with_vats();
    store
        .kv_set(Facet::Kernel, "ko27.refCount", "corrupt")
        .unwrap();
    let before = entries(&mut store);
    let err = store
        .set_vat_parameters("v6", &capdata("#[\"$0\",\"$1\"]", &["ko26", "ko27"]))
        .unwrap_err();
    assert_eq!(err.code(), "ERR_CORRUPT_VALUE");
    assert_eq!(entries(&mut store), before, "ko26 was not incremented");
}

#[test]
fn create_retains_the_parameters_and_returns_them() {
    let mut store = kernel_with_vats();
    assert_eq!(store.create_vat("v6", Some(&marker())).unwrap(), marker());
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("2,2"));
}

#[test]
fn create_without_parameters_retains_kser_undefined() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", None).unwrap();
    assert_eq!(
        get(&mut store, "v6.vatParameters").as_deref(),
        Some(r##"{"body":"#\"#undefined\"","slots":[]}"##)
    );
}

#[test]
fn upgrade_with_parameters_swaps_them() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", Some(&marker())).unwrap();
    let v2 = capdata(
        "#{\"marker\":\"$0.Alleged: marker\",\"number\":2}",
        &["ko26"],
    );
    assert_eq!(store.upgrade_vat("v6", Some(&v2)).unwrap(), v2);
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("2,2"));
    assert_eq!(store.get_vat_parameters("v6").unwrap(), Some(v2));
}

#[test]
fn upgrade_without_parameters_reuses_the_retained_copy_and_keeps_its_counts() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", Some(&marker())).unwrap();
    let before = entries(&mut store);
    assert_eq!(store.upgrade_vat("v6", None).unwrap(), marker());
    assert_eq!(entries(&mut store), before);
}

#[test]
fn upgrade_with_parameters_encoding_undefined_replaces() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", Some(&marker())).unwrap();
    store
        .upgrade_vat("v6", Some(&CapData::undefined()))
        .unwrap();
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("1,1"));
}

#[test]
fn a_legacy_vat_without_a_retained_copy_cannot_be_upgraded_without_parameters() {
    let mut store = kernel_with_vats();
    let before = entries(&mut store);
    let err = store.upgrade_vat("v6", None).unwrap_err();
    assert_eq!(err.code(), "ERR_NO_RETAINED_VATPARAMETERS");
    assert_eq!(entries(&mut store), before);
}

#[test]
fn terminate_releases_the_retained_slots_and_deletes_the_copy() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", Some(&marker())).unwrap();
    store
        .decrement_ref_count("ko26", "other holder", Default::default())
        .unwrap();
    store.take_maybe_free_krefs();
    assert_eq!(store.terminate_vat("v6").unwrap(), Some(marker()));
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("0,0"));
    assert_eq!(get(&mut store, "v6.vatParameters"), None);
    assert_eq!(store.take_maybe_free_krefs(), ["ko26"]);
}

#[test]
fn lifecycle_calls_refuse_unknown_and_terminated_vats() {
    let mut store = kernel_with_vats();
    assert_eq!(
        store.create_vat("v9", None).unwrap_err().code(),
        "ERR_UNKNOWN_VAT"
    );
    assert_eq!(
        store.create_vat("vat6", None).unwrap_err().code(),
        "ERR_INVALID_ARG_VALUE"
    );
    store
        .kv_set(Facet::Kernel, "vats.terminated", r#"["v6"]"#)
        .unwrap();
    assert_eq!(
        store.upgrade_vat("v6", Some(&marker())).unwrap_err().code(),
        "ERR_VAT_TERMINATED"
    );
    assert_eq!(
        store.terminate_vat("v6").unwrap_err().code(),
        "ERR_VAT_TERMINATED"
    );
}

#[test]
fn corrupt_retained_parameters_name_their_key() {
    let mut store = kernel_with_vats();
    store
        .kv_set(Facet::Kernel, "v6.vatParameters", "{not json")
        .unwrap();
    let err = store.get_vat_parameters("v6").unwrap_err();
    assert_eq!(err.code(), "ERR_CORRUPT_VALUE");
    assert!(err.to_string().contains("\"v6.vatParameters\""));
}

#[test]
fn the_upgrade_plan_splits_live_vats_by_whether_they_retained_parameters() {
    let mut store = kernel_with_vats();
    store.create_vat("v6", Some(&marker())).unwrap();
    let plan = store.plan_upgrade_all().unwrap();
    assert_eq!(plan.eligible.len(), 1);
    assert_eq!(plan.eligible[0].vat_id, "v6");
    assert_eq!(plan.eligible[0].name, "dyn");
    assert_eq!(plan.eligible[0].source, r#"{"bundleID":"b1-bbb"}"#);
    assert_eq!(plan.eligible[0].vat_parameters, marker());
    assert_eq!(plan.ineligible.len(), 1);
    assert_eq!(
        (
            plan.ineligible[0].vat_id.as_str(),
            plan.ineligible[0].name.as_str()
        ),
        ("v1", "bootstrap")
    );
}

#[test]
fn the_upgrade_plan_orders_vats_numerically_and_skips_terminated_ones() {
    let mut store = kernel_with_vats();
    for v in ["v10", "v2"] {
        store
            .kv_set(Facet::Kernel, format!("{v}.o.nextID"), "50")
            .unwrap();
        store
            .kv_set(Facet::Kernel, format!("{v}.options"), "{}")
            .unwrap();
        store
            .kv_set(Facet::Kernel, format!("{v}.source"), "{}")
            .unwrap();
        store.set_vat_parameters(v, &CapData::undefined()).unwrap();
    }
    store
        .kv_set(Facet::Kernel, "vat.dynamicIDs", r#"["v10","v6","v2"]"#)
        .unwrap();
    store
        .kv_set(Facet::Kernel, "vats.terminated", r#"["v6"]"#)
        .unwrap();
    let plan = store.plan_upgrade_all().unwrap();
    let ids: Vec<&str> = plan.eligible.iter().map(|v| v.vat_id.as_str()).collect();
    assert_eq!(ids, ["v2", "v10"]);
    assert_eq!(
        plan.eligible[0].name, "v2",
        "a dynamic vat without options.name is named by its vatID"
    );
}
