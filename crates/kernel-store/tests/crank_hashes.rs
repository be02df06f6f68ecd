//! The crank-hash and activity-hash vectors of docs/design.md §2, observed by
//! running @agoric/swing-store 0.10.0.

mod common;

use common::*;
use kernel_store::{ExportRow, Facet};

/// The crank hash of a crank that hashed nothing: SHA-256 of no bytes.
const EMPTY_CRANKHASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn worked_example_gives_swing_stores_hashes_and_export_rows() {
    let mut store = memory_store_with_exports();
    let mut delivered: Vec<Vec<ExportRow>> = Vec::new();

    store.start_crank().unwrap();
    store.kv_set(Facet::Kernel, "kernel.a", "1").unwrap();
    store.kv_set(Facet::Kernel, "local.x", "ignored").unwrap();
    store.kv_delete(Facet::Kernel, "kernel.b").unwrap();
    let first = store.emit_crank_hashes().unwrap();
    store
        .end_crank(&mut |rows| {
            delivered.push(rows);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        first.crankhash,
        "55b29e0f956252a026d055343b8a99c8336325732aa06428ae77194e98fc82d1"
    );
    assert_eq!(
        first.activityhash,
        "d884fd51eb3b3557d73f9b1c67a2bf99d67ee28e4e6652f9d35e13cf6cbd83af"
    );

    store.start_crank().unwrap();
    store.establish_crank_savepoint("start").unwrap();
    store.kv_set(Facet::Kernel, "kernel.a", "2").unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.kv_set(Facet::Kernel, "kernel.c", "€3").unwrap();
    store.rollback_crank("deliver").unwrap();
    let second = store.emit_crank_hashes().unwrap();
    store
        .end_crank(&mut |rows| {
            delivered.push(rows);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        second.crankhash,
        "0a6623ad922a2d2bb846fce452705c3e5636e12085e6477e62c7525b0a2b6bd4"
    );
    assert_eq!(
        second.activityhash,
        "8832bf2635437fb3c035a151e3abbc928d852ec64022fd9a61b4a9475600b158"
    );
    assert_eq!(get(&mut store, "kernel.c"), None);

    let row = |k: &str, v: Option<&str>| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()));
    assert_eq!(
        delivered,
        vec![
            vec![
                row("kv.activityhash", Some(&first.activityhash)),
                row("kv.kernel.a", Some("1")),
                row("kv.kernel.b", None),
            ],
            vec![
                row("kv.activityhash", Some(&second.activityhash)),
                row("kv.kernel.a", Some("2"))
            ],
        ]
    );
}

#[test]
fn a_crank_without_consensus_writes_hashes_the_empty_string() {
    let mut store = memory_store();
    store.start_crank().unwrap();
    store
        .kv_set(Facet::Kernel, "local.kernelStats", "{}")
        .unwrap();
    store.kv_set(Facet::Host, "host.height", "7").unwrap();
    store.kv_set(Facet::Raw, "kernel.raw", "unhashed").unwrap();
    let hashes = store.emit_crank_hashes().unwrap();
    assert_eq!(hashes.crankhash, EMPTY_CRANKHASH);
}

#[test]
fn start_crank_discards_writes_hashed_since_the_last_emit() {
    let mut a = memory_store();
    a.kv_set(Facet::Kernel, "outside", "1").unwrap();
    a.start_crank().unwrap();
    let after_reset = a.emit_crank_hashes().unwrap();
    assert_eq!(after_reset.crankhash, EMPTY_CRANKHASH);
}

#[test]
fn repeated_writes_are_each_hashed() {
    let mut once = memory_store();
    once.kv_set(Facet::Kernel, "k", "v").unwrap();
    let mut twice = memory_store();
    twice.kv_set(Facet::Kernel, "k", "v").unwrap();
    twice.kv_set(Facet::Kernel, "k", "v").unwrap();
    assert_ne!(
        once.emit_crank_hashes().unwrap().crankhash,
        twice.emit_crank_hashes().unwrap().crankhash
    );
}

#[test]
fn activity_hash_survives_commit_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = kernel_store::KernelStore::open(Some(dir.path()), Default::default()).unwrap();
    store.kv_set(Facet::Kernel, "a", "1").unwrap();
    let emitted = store.emit_crank_hashes().unwrap();
    commit(&mut store);
    store.close().unwrap();
    let mut reopened =
        kernel_store::KernelStore::open(Some(dir.path()), Default::default()).unwrap();
    assert_eq!(reopened.get_activityhash().unwrap(), emitted.activityhash);
}

#[test]
fn activity_hash_is_empty_before_the_first_emit() {
    assert_eq!(memory_store().get_activityhash().unwrap(), "");
}
