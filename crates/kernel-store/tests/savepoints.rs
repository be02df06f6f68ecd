//! Crank savepoints restore the kvStore and the export notes exactly, with swing-store's
//! naming rules and messages.

mod common;

use common::*;
use kernel_store::{Error, Facet};

#[test]
fn rollback_restores_overwritten_and_deleted_keys() {
    let mut store = memory_store();
    store.kv_set(Facet::Kernel, "a", "1").unwrap();
    store.kv_set(Facet::Kernel, "b", "2").unwrap();
    store.start_crank().unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.kv_set(Facet::Kernel, "a", "changed").unwrap();
    store.kv_delete(Facet::Kernel, "b").unwrap();
    store.kv_set(Facet::Kernel, "c", "new").unwrap();
    store.rollback_crank("deliver").unwrap();
    assert_eq!(get(&mut store, "a").as_deref(), Some("1"));
    assert_eq!(get(&mut store, "b").as_deref(), Some("2"));
    assert_eq!(get(&mut store, "c"), None);
}

#[test]
fn rollback_restores_committed_rows_shadowed_in_the_crank() {
    let mut store = memory_store();
    store.kv_set(Facet::Kernel, "a", "committed").unwrap();
    commit(&mut store);
    store.start_crank().unwrap();
    store.establish_crank_savepoint("s").unwrap();
    store.kv_delete(Facet::Kernel, "a").unwrap();
    assert_eq!(next_key(&mut store, ""), None);
    store.rollback_crank("s").unwrap();
    assert_eq!(get(&mut store, "a").as_deref(), Some("committed"));
    assert_eq!(next_key(&mut store, "").as_deref(), Some("a"));
}

#[test]
fn rollback_goes_to_the_oldest_savepoint_with_that_name() {
    let mut store = memory_store();
    store.start_crank().unwrap();
    store.establish_crank_savepoint("x").unwrap();
    store.kv_set(Facet::Kernel, "a", "1").unwrap();
    store.establish_crank_savepoint("x").unwrap();
    store.kv_set(Facet::Kernel, "b", "2").unwrap();
    store.rollback_crank("x").unwrap();
    assert_eq!(get(&mut store, "a"), None);
    assert_eq!(get(&mut store, "b"), None);
    assert!(matches!(
        store.rollback_crank("x"),
        Err(Error::NoSuchSavepoint { .. })
    ));
}

#[test]
fn inner_rollback_keeps_the_outer_savepoints_writes() {
    let mut store = memory_store();
    store.start_crank().unwrap();
    store.establish_crank_savepoint("start").unwrap();
    store.kv_set(Facet::Kernel, "a", "outer").unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.kv_set(Facet::Kernel, "a", "inner").unwrap();
    store.rollback_crank("deliver").unwrap();
    assert_eq!(get(&mut store, "a").as_deref(), Some("outer"));
    store.rollback_crank("start").unwrap();
    assert_eq!(get(&mut store, "a"), None);
}

#[test]
fn a_savepoint_taken_after_a_rollback_to_the_first_works_like_a_new_first() {
    let mut store = memory_store();
    store.start_crank().unwrap();
    store.establish_crank_savepoint("a").unwrap();
    store.kv_set(Facet::Kernel, "k", "1").unwrap();
    store.rollback_crank("a").unwrap();
    store.establish_crank_savepoint("b").unwrap();
    store.kv_set(Facet::Kernel, "k", "2").unwrap();
    end_crank(&mut store);
    commit(&mut store);
    assert_eq!(get(&mut store, "k").as_deref(), Some("2"));
}

#[test]
fn rollback_undoes_export_notes() {
    let mut store = memory_store_with_exports();
    store.start_crank().unwrap();
    store.kv_set(Facet::Kernel, "kept", "1").unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.kv_set(Facet::Kernel, "dropped", "2").unwrap();
    store.kv_set(Facet::Kernel, "kept", "overwritten").unwrap();
    store.rollback_crank("deliver").unwrap();
    let mut rows = Vec::new();
    store
        .end_crank(&mut |r| {
            let _: () = rows = r;
            Ok(())
        })
        .unwrap();
    assert_eq!(rows, vec![(b"kv.kept".to_vec(), Some(b"1".to_vec()))]);
}

#[test]
fn crank_methods_in_the_wrong_state_fail_with_swing_stores_messages() {
    let mut store = memory_store();
    let message = |r: kernel_store::Result<()>| r.unwrap_err().to_string();
    assert_eq!(
        message(store.establish_crank_savepoint("x")),
        "establishCrankSavepoint outside of crank"
    );
    assert_eq!(
        message(store.rollback_crank("x")),
        "rollbackCrank outside of crank"
    );
    assert_eq!(
        message(store.end_crank(&mut ignore)),
        "endCrank outside of crank"
    );
    store.start_crank().unwrap();
    assert_eq!(
        message(store.start_crank()),
        "startCrank while already in a crank"
    );
    assert_eq!(
        message(store.rollback_crank("nope")),
        "no such savepoint as \"\"nope\"\""
    );
}

#[test]
fn every_error_carries_a_stable_code() {
    let mut store = memory_store();
    assert_eq!(
        store.end_crank(&mut ignore).unwrap_err().code(),
        "ERR_CRANK_STATE"
    );
    assert_eq!(
        store
            .kv_set(Facet::Kernel, "host.x", "1")
            .unwrap_err()
            .code(),
        "ERR_HOST_KEY_REFUSED"
    );
    assert_eq!(
        store
            .kv_set(Facet::Host, "local.x", "1")
            .unwrap_err()
            .code(),
        "ERR_HOST_KEY_REQUIRED"
    );
    store.start_crank().unwrap();
    assert_eq!(
        store.rollback_crank("nope").unwrap_err().code(),
        "ERR_NO_SUCH_SAVEPOINT"
    );
}
