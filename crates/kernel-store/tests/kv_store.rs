//! The kvStore's reads and writes: namespaces, ordering, the overlay over committed rows,
//! spilling, commit and close.

mod common;

use common::*;
use kernel_store::{Facet, KernelStore, OpenOptions};

#[test]
fn get_next_key_is_strict_and_in_utf8_byte_order() {
    let mut store = memory_store();
    for key in ["z", "é", "€", "😀", "a"] {
        store.kv_set(Facet::Kernel, key, "").unwrap();
    }
    commit(&mut store);
    store.kv_set(Facet::Kernel, "b", "").unwrap();
    let mut seen = Vec::new();
    let mut key = String::new();
    while let Some(next) = next_key(&mut store, &key) {
        seen.push(next.clone());
        key = next;
    }
    assert_eq!(seen, ["a", "b", "z", "é", "€", "😀"]);
}

#[test]
fn get_next_key_skips_keys_deleted_in_the_open_block() {
    let mut store = memory_store();
    for i in 0..200 {
        store
            .kv_set(Facet::Kernel, format!("k{i:03}"), "v")
            .unwrap();
    }
    commit(&mut store);
    for i in 0..199 {
        store.kv_delete(Facet::Kernel, format!("k{i:03}")).unwrap();
    }
    assert_eq!(next_key(&mut store, "").as_deref(), Some("k199"));
    assert_eq!(next_key(&mut store, "k199"), None);
}

#[test]
fn host_and_kernel_facets_guard_their_namespaces() {
    let mut store = memory_store();
    assert_eq!(
        store
            .kv_set(Facet::Kernel, "host.x", "1")
            .unwrap_err()
            .to_string(),
        "kernelKVStore refuses host keys"
    );
    assert_eq!(
        store
            .kv_delete(Facet::Kernel, "host.x")
            .unwrap_err()
            .to_string(),
        "kernelKVStore refuses host keys"
    );
    assert_eq!(
        store
            .kv_set(Facet::Host, "kernel.x", "1")
            .unwrap_err()
            .to_string(),
        "hostKVStore requires host keys"
    );
    assert_eq!(
        store
            .kv_set(Facet::Host, "local.x", "1")
            .unwrap_err()
            .to_string(),
        "hostKVStore requires host keys"
    );
    store.kv_set(Facet::Host, "host.x", "1").unwrap();
    store.kv_set(Facet::Kernel, "hostx", "consensus").unwrap();
    assert_eq!(get(&mut store, "host.x").as_deref(), Some("1"));
    assert_eq!(get(&mut store, "hostx").as_deref(), Some("consensus"));
}

#[test]
fn empty_values_exist() {
    let mut store = memory_store();
    store.kv_set(Facet::Kernel, "", "").unwrap();
    assert!(store.kv_has("").unwrap());
    assert_eq!(
        next_key(&mut store, ""),
        None,
        "'' is not strictly after ''"
    );
}

#[test]
fn nul_bytes_and_unicode_round_trip_through_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    store.kv_set(Facet::Kernel, "a\0b", "x\0y€").unwrap();
    commit(&mut store);
    store.close().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    assert_eq!(get(&mut store, "a\0b").as_deref(), Some("x\0y€"));
}

#[test]
fn uncommitted_writes_are_gone_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    store.kv_set(Facet::Kernel, "kept", "1").unwrap();
    commit(&mut store);
    store.kv_set(Facet::Kernel, "lost", "2").unwrap();
    store.kv_set(Facet::Kernel, "kept", "changed").unwrap();
    store.close().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    assert_eq!(
        entries(&mut store),
        vec![("kept".to_owned(), "1".to_owned())]
    );
}

#[test]
fn a_block_larger_than_the_spill_threshold_goes_into_the_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        spill_threshold_bytes: 1_000,
        ..Default::default()
    };
    let mut store = KernelStore::open(Some(dir.path()), options).unwrap();
    for crank in 0..20 {
        store.start_crank().unwrap();
        store.establish_crank_savepoint("deliver").unwrap();
        for i in 0..20 {
            store
                .kv_set(
                    Facet::Kernel,
                    format!("c{crank:02}.{i:02}"),
                    "some value to fill the block",
                )
                .unwrap();
        }
        store
            .kv_delete(Facet::Kernel, format!("c{crank:02}.00"))
            .unwrap();
        if crank % 3 == 0 {
            store.rollback_crank("deliver").unwrap();
        }
        end_crank(&mut store);
    }
    let before_commit = entries(&mut store);
    assert_eq!(before_commit.len(), 13 * 19);
    commit(&mut store);
    store.close().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    assert_eq!(entries(&mut store), before_commit);
}

#[test]
fn a_second_writer_gets_a_busy_error_and_the_first_is_unaffected() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    first.kv_set(Facet::Kernel, "a", "1").unwrap();
    let err = KernelStore::open(Some(dir.path()), OpenOptions::default())
        .err()
        .expect("second writer refused");
    assert_eq!(err.code(), "ERR_STORE_BUSY");
    commit(&mut first);
    assert_eq!(get(&mut first, "a").as_deref(), Some("1"));
}

#[test]
fn a_second_writer_is_refused_even_between_the_first_writers_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    first.kv_set(Facet::Kernel, "a", "1").unwrap();
    commit(&mut first);
    let started = std::time::Instant::now();
    let err = KernelStore::open(Some(dir.path()), OpenOptions::default())
        .err()
        .expect("second writer refused");
    assert_eq!(err.code(), "ERR_STORE_BUSY");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(4),
        "waited for the busy timeout"
    );
}

#[test]
fn closing_the_writer_lets_the_next_writer_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    first.kv_set(Facet::Kernel, "a", "1").unwrap();
    commit(&mut first);
    first.close().unwrap();
    let mut second = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    assert_eq!(get(&mut second, "a").as_deref(), Some("1"));
}

#[test]
fn a_readonly_opener_reads_while_the_writer_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    writer.kv_set(Facet::Kernel, "a", "1").unwrap();
    commit(&mut writer);
    writer.kv_set(Facet::Kernel, "a", "2").unwrap();
    let readonly = OpenOptions {
        readonly: true,
        ..OpenOptions::default()
    };
    let mut reader = KernelStore::open(Some(dir.path()), readonly).unwrap();
    assert_eq!(
        get(&mut reader, "a").as_deref(),
        Some("1"),
        "only committed data is visible"
    );
    commit(&mut writer);
    assert_eq!(get(&mut reader, "a").as_deref(), Some("2"));
}

#[test]
fn a_readonly_store_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    KernelStore::open(Some(dir.path()), OpenOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let mut ro = KernelStore::open(
        Some(dir.path()),
        OpenOptions {
            readonly: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        ro.kv_set(Facet::Kernel, "a", "1").unwrap_err().code(),
        "ERR_READONLY"
    );
}

#[test]
fn the_schema_is_swing_stores_ddl() {
    let dir = tempfile::tempdir().unwrap();
    KernelStore::open(Some(dir.path()), OpenOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("swingstore.sqlite")).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        names,
        [
            "pendingExports",
            "sqlite_autoindex_pendingExports_1",
            "kvStore",
            "sqlite_autoindex_kvStore_1",
            "transcriptItems",
            "sqlite_autoindex_transcriptItems_1",
            "transcriptSpans",
            "sqlite_autoindex_transcriptSpans_1",
            "sqlite_autoindex_transcriptSpans_2",
            "currentTranscriptIndex",
            "snapshots",
            "sqlite_autoindex_snapshots_1",
            "sqlite_autoindex_snapshots_2",
            "bundles",
            "sqlite_autoindex_bundles_1",
        ]
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn lone_surrogates_are_stored_as_wtf8_and_hashed_as_replacement_characters() {
    let mut store = memory_store();
    let key: &[u8] = b"k\xED\xA0\x80";
    store.kv_set(Facet::Kernel, key, b"v").unwrap();
    assert_eq!(store.kv_get(key).unwrap(), Some(&b"v"[..]));
    assert_eq!(
        store.kv_get("k\u{FFFD}").unwrap(),
        None,
        "a lone surrogate is not U+FFFD"
    );
    let mut replaced = memory_store();
    replaced.kv_set(Facet::Kernel, "k\u{FFFD}", "v").unwrap();
    assert_eq!(
        store.emit_crank_hashes().unwrap().crankhash,
        replaced.emit_crank_hashes().unwrap().crankhash
    );
}

#[test]
fn another_connections_commit_is_seen_by_a_store_that_cached_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    let readonly = OpenOptions {
        readonly: true,
        ..OpenOptions::default()
    };
    let mut reader = KernelStore::open(Some(dir.path()), readonly).unwrap();
    assert_eq!(get(&mut reader, "x"), None);
    writer.kv_set(Facet::Kernel, "x", "1").unwrap();
    commit(&mut writer);
    assert_eq!(get(&mut reader, "x").as_deref(), Some("1"));
    assert_eq!(next_key(&mut reader, "").as_deref(), Some("x"));
}

#[test]
fn a_readonly_open_of_a_missing_store_fails_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let options = OpenOptions {
        readonly: true,
        ..Default::default()
    };
    let err = KernelStore::open(Some(&missing), options)
        .err()
        .expect("refused");
    assert_eq!(err.code(), "ERR_NOT_A_SWING_STORE");
    assert!(
        err.to_string().contains("swingstore.sqlite does not exist"),
        "{err}"
    );
    assert!(!missing.exists());
}

#[test]
fn an_open_with_a_trace_file_it_cannot_open_creates_no_store_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("new-store");
    let options = OpenOptions {
        trace_file: Some(dir.path().join("no-such-dir").join("trace")),
        ..Default::default()
    };
    let err = KernelStore::open(Some(&store_dir), options)
        .err()
        .expect("refused");
    assert_eq!(err.code(), "ERR_TRACE_FILE");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(!store_dir.exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_a_clear_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("swingstore.sqlite"),
        "this is not a database, just text\n".repeat(200),
    )
    .unwrap();
    let options = OpenOptions {
        readonly: true,
        ..Default::default()
    };
    let err = KernelStore::open(Some(dir.path()), options)
        .err()
        .expect("refused");
    assert_eq!(err.code(), "ERR_CORRUPT", "{err}");
    let file = dir.path().join("swingstore.sqlite");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_truncated_database_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    for i in 0..5000 {
        store
            .kv_set(
                Facet::Kernel,
                format!("kernel.k{i}").as_str(),
                "x".repeat(100).as_str(),
            )
            .unwrap();
    }
    commit(&mut store);
    store.close().unwrap();
    let file = dir.path().join("swingstore.sqlite");
    let size = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(size / 2)
        .unwrap();
    let err = KernelStore::open(Some(dir.path()), OpenOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.code(), "ERR_CORRUPT", "{err}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    let err = kernel_store::audit_refcounts_at(dir.path(), Default::default())
        .expect_err("the audit refuses it too");
    assert_eq!(err.code(), "ERR_CORRUPT", "{err}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_write_stored_through_the_raw_facet_then_recorded_hashes_as_a_kernel_write() {
    let mut direct = memory_store();
    direct.kv_set(Facet::Kernel, "kernel.a", "1").unwrap();
    direct.kv_delete(Facet::Kernel, "kernel.b").unwrap();
    direct.kv_set(Facet::Kernel, "local.c", "2").unwrap();

    let mut layered = memory_store();
    layered.kv_set(Facet::Raw, "kernel.a", "1").unwrap();
    layered
        .kv_record_write(Facet::Kernel, "kernel.a", Some(b"1"))
        .unwrap();
    layered.kv_delete(Facet::Raw, "kernel.b").unwrap();
    layered
        .kv_record_write(Facet::Kernel, "kernel.b", None)
        .unwrap();
    layered.kv_set(Facet::Raw, "local.c", "2").unwrap();
    layered
        .kv_record_write(Facet::Kernel, "local.c", Some(b"2"))
        .unwrap();

    assert_eq!(entries(&mut layered), entries(&mut direct));
    assert_eq!(
        layered.emit_crank_hashes().unwrap(),
        direct.emit_crank_hashes().unwrap()
    );
}

#[test]
fn recording_a_write_checks_the_namespace_and_stores_nothing() {
    let mut store = memory_store();
    let err = store
        .kv_record_write(Facet::Kernel, "host.x", Some(b"1"))
        .unwrap_err();
    assert_eq!(err.code(), "ERR_HOST_KEY_REFUSED");
    store
        .kv_record_write(Facet::Host, "host.x", Some(b"1"))
        .unwrap();
    store
        .kv_record_write(Facet::Kernel, "kernel.y", Some(b"1"))
        .unwrap();
    assert_eq!(entries(&mut store), Vec::<(String, String)>::new());
}
