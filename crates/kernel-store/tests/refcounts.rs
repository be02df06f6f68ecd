//! Kernel refcounts: the kernel's key formats, semantics and messages.

mod common;

use common::*;
use kernel_store::{Facet, KernelStore, ObjectRefCount, RefOptions};

const PLAIN: RefOptions = RefOptions {
    is_export: false,
    only_recognizable: false,
};
const RECOGNIZE: RefOptions = RefOptions {
    is_export: false,
    only_recognizable: true,
};
const EXPORT: RefOptions = RefOptions {
    is_export: true,
    only_recognizable: false,
};

fn with_promise(store: &mut KernelStore, kpid: &str, count: &str) {
    store
        .kv_set(Facet::Kernel, format!("{kpid}.refCount"), count)
        .unwrap();
}

#[test]
fn object_increment_creates_the_count_and_writes_reachable_comma_recognizable() {
    let mut store = memory_store();
    store.increment_ref_count("ko26", "t", PLAIN).unwrap();
    store.increment_ref_count("ko26", "t", RECOGNIZE).unwrap();
    assert_eq!(get(&mut store, "ko26.refCount").as_deref(), Some("1,2"));
}

#[test]
fn object_exports_do_not_count() {
    let mut store = memory_store();
    store.increment_ref_count("ko26", "t", EXPORT).unwrap();
    assert_eq!(get(&mut store, "ko26.refCount"), None);
}

#[test]
fn promises_count_exports_and_ignore_recognizability() {
    let mut store = memory_store();
    with_promise(&mut store, "kp40", "0");
    store.increment_ref_count("kp40", "t", EXPORT).unwrap();
    store.increment_ref_count("kp40", "t", RECOGNIZE).unwrap();
    assert_eq!(get(&mut store, "kp40.refCount").as_deref(), Some("2"));
}

#[test]
fn devices_are_untracked() {
    let mut store = memory_store();
    store.increment_ref_count("kd30", "t", PLAIN).unwrap();
    assert!(!store.decrement_ref_count("kd30", "t", PLAIN).unwrap());
    assert_eq!(entries(&mut store), vec![]);
}

#[test]
fn promise_decrement_to_zero_returns_true_and_marks_it_maybe_free() {
    let mut store = memory_store();
    with_promise(&mut store, "kp40", "2");
    assert!(!store.decrement_ref_count("kp40", "t", PLAIN).unwrap());
    assert!(store.decrement_ref_count("kp40", "t", PLAIN).unwrap());
    assert_eq!(get(&mut store, "kp40.refCount").as_deref(), Some("0"));
    assert_eq!(store.take_maybe_free_krefs(), ["kp40"]);
    assert!(
        store.take_maybe_free_krefs().is_empty(),
        "taking clears the set"
    );
}

#[test]
fn object_decrement_marks_maybe_free_when_either_count_reaches_zero() {
    let mut store = memory_store();
    store.increment_ref_count("ko1", "t", PLAIN).unwrap();
    store.increment_ref_count("ko1", "t", RECOGNIZE).unwrap();
    store.decrement_ref_count("ko1", "t", PLAIN).unwrap();
    assert_eq!(get(&mut store, "ko1.refCount").as_deref(), Some("0,1"));
    assert_eq!(store.take_maybe_free_krefs(), ["ko1"]);
}

#[test]
fn decrementing_a_missing_object_is_ignored() {
    let mut store = memory_store();
    assert!(!store.decrement_ref_count("ko99", "t", PLAIN).unwrap());
    assert_eq!(entries(&mut store), vec![]);
    assert!(store.take_maybe_free_krefs().is_empty());
}

#[test]
fn promise_underflow_fails_with_the_kernels_message_and_changes_nothing() {
    let mut store = memory_store();
    with_promise(&mut store, "kp40", "0");
    let err = store
        .decrement_ref_count("kp40", "gc|kp41|s0", PLAIN)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refCount underflow \"kp40\" \"gc|kp41|s0\""
    );
    assert_eq!(err.code(), "ERR_REFCOUNT_UNDERFLOW");
    assert_eq!(get(&mut store, "kp40.refCount").as_deref(), Some("0"));
}

#[test]
fn object_underflow_fails_and_changes_nothing() {
    let mut store = memory_store();
    store.increment_ref_count("ko1", "t", RECOGNIZE).unwrap();
    let err = store.decrement_ref_count("ko1", "t", PLAIN).unwrap_err();
    assert_eq!(err.to_string(), "\"ko1\" underflow -1,0");
    assert_eq!(get(&mut store, "ko1.refCount").as_deref(), Some("0,1"));
    assert!(
        store.take_maybe_free_krefs().is_empty(),
        "a failed call notes nothing"
    );
}

#[test]
fn counts_past_the_largest_exact_js_integer_are_refused_and_change_nothing() {
    let mut store = memory_store();
    let largest = kernel_store::ids::MAX_SAFE_INTEGER.to_string();
    with_promise(&mut store, "kp40", &largest);
    store
        .kv_set(Facet::Kernel, "ko1.refCount", format!("1,{largest}"))
        .unwrap();
    for (kref, options) in [("kp40", PLAIN), ("ko1", RECOGNIZE)] {
        let err = store.increment_ref_count(kref, "t", options).unwrap_err();
        assert_eq!(err.code(), "ERR_REFCOUNT_OVERFLOW", "{kref}");
        assert!(err
            .to_string()
            .starts_with(&format!("\"{kref}.refCount\" would pass")));
    }
    assert_eq!(get(&mut store, "kp40.refCount"), Some(largest.clone()));
    assert_eq!(
        get(&mut store, "ko1.refCount"),
        Some(format!("1,{largest}"))
    );
}

#[test]
fn a_promise_without_a_count_is_a_missing_required_key() {
    let mut store = memory_store();
    let err = store.increment_ref_count("kp41", "t", PLAIN).unwrap_err();
    assert_eq!(
        err.to_string(),
        "storage lacks required key \"kp41.refCount\""
    );
    assert_eq!(err.code(), "ERR_MISSING_KEY");
}

#[test]
fn empty_and_malformed_krefs_are_refused() {
    let mut store = memory_store();
    assert_eq!(
        store
            .increment_ref_count("", "tag", PLAIN)
            .unwrap_err()
            .to_string(),
        "incrementRefCount called with empty kref, tag=\"tag\""
    );
    assert_eq!(
        store
            .decrement_ref_count("", "tag", PLAIN)
            .unwrap_err()
            .to_string(),
        "decrementRefCount called with empty kernelSlot, tag=\"tag\""
    );
    assert_eq!(
        store
            .increment_ref_count("o+5", "t", PLAIN)
            .unwrap_err()
            .to_string(),
        "invalid kernelSlot \"o+5\""
    );
}

#[test]
fn reading_reachable_above_recognizable_is_a_mismatch() {
    let mut store = memory_store();
    store.kv_set(Facet::Kernel, "ko1.refCount", "2,1").unwrap();
    let err = store.get_object_ref_count("ko1").unwrap_err();
    assert_eq!(err.to_string(), "refmismatch(get) \"ko1\" 2,1");
    assert_eq!(err.code(), "ERR_REFCOUNT_MISMATCH");
}

#[test]
fn setting_reachable_above_recognizable_is_a_mismatch() {
    let mut store = memory_store();
    assert_eq!(
        store
            .set_object_ref_count("ko1", 2, 1)
            .unwrap_err()
            .to_string(),
        "refmismatch(set) \"ko1\" 2,1"
    );
    assert_eq!(
        store
            .set_object_ref_count("ko1", -1, 1)
            .unwrap_err()
            .to_string(),
        "\"ko1\" underflow -1,1"
    );
    assert_eq!(get(&mut store, "ko1.refCount"), None);
}

#[test]
fn a_corrupt_count_names_its_key() {
    let mut store = memory_store();
    store
        .kv_set(Facet::Kernel, "ko1.refCount", "banana")
        .unwrap();
    let err = store.increment_ref_count("ko1", "t", PLAIN).unwrap_err();
    assert_eq!(err.code(), "ERR_CORRUPT_VALUE");
    assert!(err.to_string().contains("\"ko1.refCount\""), "{err}");
}

#[test]
fn object_existence_is_the_presence_of_its_count() {
    let mut store = memory_store();
    assert!(!store.kernel_object_exists("ko1").unwrap());
    assert_eq!(
        store.get_object_ref_count("ko1").unwrap(),
        ObjectRefCount::default()
    );
    store.set_object_ref_count("ko1", 0, 0).unwrap();
    assert!(store.kernel_object_exists("ko1").unwrap());
    assert_eq!(
        store.get_object_ref_count("ko1").unwrap(),
        ObjectRefCount {
            exists: true,
            reachable: 0,
            recognizable: 0
        }
    );
}

#[test]
fn maybe_free_accepts_only_objects_and_comes_back_sorted() {
    let mut store = memory_store();
    store.add_maybe_free_kref("ko30").unwrap();
    store.add_maybe_free_kref("ko4").unwrap();
    store.add_maybe_free_kref("ko30").unwrap();
    assert_eq!(
        store.add_maybe_free_kref("kp40").unwrap_err().code(),
        "ERR_INVALID_ARG_VALUE"
    );
    assert_eq!(store.take_maybe_free_krefs(), ["ko30", "ko4"]);
}

#[test]
fn refcount_writes_are_crank_hashed_like_any_kernel_write() {
    let mut native = memory_store();
    native.increment_ref_count("ko1", "t", PLAIN).unwrap();
    let mut by_hand = memory_store();
    by_hand
        .kv_set(Facet::Kernel, "ko1.refCount", "1,1")
        .unwrap();
    assert_eq!(
        native.emit_crank_hashes().unwrap(),
        by_hand.emit_crank_hashes().unwrap()
    );
}
