//! Snapshots behave as swing-store's snapStore: one in-use snapshot per vat, named by the hash
//! of its uncompressed bytes, stored as valid gzip, read back with the hash checked at the end,
//! retired, pruned and deleted with swing-store's export records (docs/design.md §4).

mod common;

use std::io::Read;

use common::*;
use kernel_store::{Deletion, KernelStore, OpenOptions, SnapshotInfo, SnapshotWriter};
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    kernel_store::hex::encode(&Sha256::digest(bytes))
}

/// Some bytes that do not compress to nothing: a deterministic pseudo-random run.
fn heap(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| (rng.next() % 7) as u8).collect()
}

fn writer_with(chunks: &[&[u8]]) -> SnapshotWriter {
    let mut writer = SnapshotWriter::new();
    for chunk in chunks {
        writer.write(chunk).unwrap();
    }
    writer
}

fn save(store: &mut KernelStore, vat: &str, pos: u64, bytes: &[u8]) -> String {
    store
        .save_snapshot(vat, pos, writer_with(&[bytes]))
        .unwrap()
        .hash
}

fn load(store: &KernelStore, vat: &str) -> Vec<u8> {
    store
        .load_snapshot(vat)
        .unwrap()
        .collect::<kernel_store::Result<Vec<_>>>()
        .unwrap()
        .concat()
}

fn snapshot_json(vat: &str, pos: u64, hash: &str, in_use: bool) -> String {
    format!(
        "{{\"vatID\":\"{vat}\",\"snapPos\":{pos},\"hash\":\"{hash}\",\"inUse\":{}}}",
        u8::from(in_use)
    )
}

/// The stored gzip blob of `vat`'s snapshot at `pos` (committed rows only).
fn stored_blob(store: &KernelStore, vat: &str, pos: u64) -> Option<Vec<u8>> {
    raw_connection(store)
        .query_row(
            "SELECT compressedSnapshot FROM snapshots WHERE vatID = ? AND snapPos = ?",
            rusqlite::params![vat, pos],
            |row| row.get(0),
        )
        .unwrap()
}

fn message<T>(result: kernel_store::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn saving_reports_the_hash_and_size_of_the_uncompressed_bytes() {
    let mut store = memory_store();
    let bytes = heap(50_000, 1);
    let result = store
        .save_snapshot("v1", 5, writer_with(&[&bytes[..20_000], &bytes[20_000..]]))
        .unwrap();
    assert_eq!(result.hash, sha256_hex(&bytes));
    assert_eq!(result.uncompressed_size, 50_000);
    assert!(result.compressed_size > 0 && result.compressed_size < 50_000);
    assert!(result.compress_seconds >= 0.0 && result.db_save_seconds >= 0.0);
}

#[test]
fn the_stored_blob_is_gzip_of_the_bytes_with_nodes_header_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    let bytes = heap(10_000, 2);
    let result = store
        .save_snapshot("v1", 5, writer_with(&[&bytes]))
        .unwrap();
    commit(&mut store);
    let blob = stored_blob(&store, "v1", 5).unwrap();
    assert_eq!(blob.len() as u64, result.compressed_size);
    // Magic, deflate, no flags, mtime 0, XFL 0, OS 3 (Unix).
    assert_eq!(blob[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    let mut decompressed = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut decompressed)
        .unwrap();
    assert_eq!(decompressed, bytes);
}

#[test]
fn the_writer_is_an_io_write_sink() {
    let mut store = memory_store();
    let bytes = heap(3_000, 3);
    let mut writer = SnapshotWriter::new();
    std::io::copy(&mut &bytes[..], &mut writer).unwrap();
    let result = store.save_snapshot("v1", 1, writer).unwrap();
    assert_eq!(result.hash, sha256_hex(&bytes));
}

#[test]
fn loading_streams_back_the_uncompressed_bytes_in_chunks() {
    let mut store = memory_store();
    let bytes = heap(100_000, 4);
    save(&mut store, "v1", 5, &bytes);
    let chunks: Vec<Vec<u8>> = store
        .load_snapshot("v1")
        .unwrap()
        .collect::<kernel_store::Result<_>>()
        .unwrap();
    assert!(chunks.len() > 1);
    assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 16 * 1024));
    assert_eq!(chunks.concat(), bytes);
}

#[test]
fn a_reader_returns_chunks_of_at_most_the_size_asked_for() {
    let mut store = memory_store();
    save(&mut store, "v1", 5, b"hello world");
    let mut reader = store.load_snapshot("v1").unwrap();
    assert_eq!(reader.read_chunk(4).unwrap().unwrap(), b"hell");
    let mut rest = Vec::new();
    while let Some(chunk) = reader.read_chunk(4).unwrap() {
        rest.extend(chunk);
    }
    assert_eq!(rest, b"o world");
    assert_eq!(reader.read_chunk(4).unwrap(), None);
}

#[test]
fn an_empty_snapshot_round_trips() {
    let mut store = memory_store();
    let hash = save(&mut store, "v1", 0, b"");
    assert_eq!(hash, sha256_hex(b""));
    assert!(load(&store, "v1").is_empty());
}

#[test]
fn a_vat_without_a_snapshot_has_none_to_load() {
    let store = memory_store();
    let err = store.load_snapshot("v1").err().unwrap();
    assert_eq!(err.to_string(), "no snapshot available for vat \"v1\"");
    assert_eq!(err.code(), "ERR_NO_SNAPSHOT");
}

#[test]
fn a_pruned_snapshot_cannot_be_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    save(&mut store, "v1", 5, b"heap");
    commit(&mut store);
    raw_connection(&store)
        .execute(
            "UPDATE snapshots SET compressedSnapshot = NULL WHERE vatID = 'v1'",
            [],
        )
        .unwrap();
    assert_eq!(
        message(store.load_snapshot("v1")),
        "no snapshot available for vat \"v1\""
    );
}

#[test]
fn data_not_matching_the_recorded_hash_fails_when_the_reading_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    let actual = save(&mut store, "v1", 5, b"heap");
    commit(&mut store);
    let wrong = "0".repeat(64);
    raw_connection(&store)
        .execute("UPDATE snapshots SET hash = ? WHERE vatID = 'v1'", [&wrong])
        .unwrap();
    let mut reader = store.load_snapshot("v1").unwrap();
    assert_eq!(reader.read_chunk(1024).unwrap().unwrap(), b"heap");
    let err = reader.read_chunk(1024).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("actual hash \"{actual}\" !== expected \"{wrong}\"")
    );
    assert_eq!(err.code(), "ERR_SNAPSHOT_HASH_MISMATCH");
    assert_eq!(reader.read_chunk(1024).unwrap(), None);
}

/// The error reading v1's snapshot of `data` back after `damage` (SQL) changed its stored row.
fn reading_after(data: &[u8], damage: &str) -> kernel_store::Error {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    save(&mut store, "v1", 5, data);
    commit(&mut store);
    raw_connection(&store).execute(damage, []).unwrap();
    store
        .load_snapshot("v1")
        .unwrap()
        .collect::<kernel_store::Result<Vec<_>>>()
        .unwrap_err()
}

#[test]
fn stored_data_that_is_not_gzip_fails_as_nodes_zlib_does() {
    let err = reading_after(
        b"heap",
        "UPDATE snapshots SET compressedSnapshot = x'00112233445566778899aabbccddeeff'",
    );
    assert_eq!(err.code(), "Z_DATA_ERROR");
}

#[test]
fn a_truncated_gzip_stream_fails_with_nodes_message() {
    let err = reading_after(
        &heap(10_000, 5),
        "UPDATE snapshots SET compressedSnapshot = substr(compressedSnapshot, 1, 100)",
    );
    assert_eq!(err.to_string(), "unexpected end of file");
    assert_eq!(err.code(), "Z_BUF_ERROR");
}

#[test]
fn snapshot_info_describes_the_in_use_snapshot() {
    let mut store = memory_store();
    let result = store
        .save_snapshot("v1", 5, writer_with(&[b"heap"]))
        .unwrap();
    assert_eq!(
        store.get_snapshot_info("v1").unwrap(),
        Some(SnapshotInfo {
            snap_pos: 5,
            hash: result.hash,
            uncompressed_size: Some(4),
            compressed_size: Some(result.compressed_size),
        })
    );
}

#[test]
fn a_vat_without_a_snapshot_has_no_snapshot_info() {
    let store = memory_store();
    assert_eq!(store.get_snapshot_info("v1").unwrap(), None);
}

#[test]
fn saving_exports_the_snapshot_record_and_points_current_at_it() {
    let mut store = memory_store_with_exports();
    let hash = save(&mut store, "v1", 5, b"heap");
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row("snapshot.v1.5", Some(&snapshot_json("v1", 5, &hash, true))),
            row("snapshot.v1.current", Some("snapshot.v1.5")),
        ]
    );
}

#[test]
fn a_new_snapshot_retires_the_previous_one() {
    let mut store = memory_store_with_exports();
    let first = save(&mut store, "v1", 5, b"first");
    commit(&mut store);
    let second = save(&mut store, "v1", 9, b"second");
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row(
                "snapshot.v1.5",
                Some(&snapshot_json("v1", 5, &first, false))
            ),
            row(
                "snapshot.v1.9",
                Some(&snapshot_json("v1", 9, &second, true))
            ),
            row("snapshot.v1.current", Some("snapshot.v1.9")),
        ]
    );
    assert_eq!(load(&store, "v1"), b"second");
}

#[test]
fn saving_again_at_the_same_position_replaces_the_snapshot() {
    let mut store = memory_store();
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 5, b"second");
    assert_eq!(load(&store, "v1"), b"second");
    assert_eq!(store.get_snapshot_info("v1").unwrap().unwrap().snap_pos, 5);
}

#[test]
fn a_retired_snapshot_loses_its_data_but_keeps_its_hash_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 9, b"second");
    commit(&mut store);
    let (hash, size, data): (String, i64, Option<Vec<u8>>) = raw_connection(&store)
        .query_row(
            "SELECT hash, uncompressedSize, compressedSnapshot FROM snapshots \
             WHERE vatID = 'v1' AND snapPos = 5",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((hash, size, data), (sha256_hex(b"first"), 5, None));
}

#[test]
fn with_keep_snapshots_a_retired_snapshot_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = KernelStore::open(
        Some(dir.path()),
        OpenOptions {
            keep_snapshots: true,
            ..Default::default()
        },
    )
    .unwrap();
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 9, b"second");
    commit(&mut store);
    let blob = stored_blob(&store, "v1", 5).unwrap();
    let mut decompressed = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut decompressed)
        .unwrap();
    assert_eq!(decompressed, b"first");
}

#[test]
fn stopping_use_of_the_last_snapshot_retires_it_and_removes_current() {
    let mut store = memory_store_with_exports();
    let hash = save(&mut store, "v1", 5, b"heap");
    commit(&mut store);
    store.stop_using_last_snapshot("v1").unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row("snapshot.v1.5", Some(&snapshot_json("v1", 5, &hash, false))),
            row("snapshot.v1.current", None),
        ]
    );
    assert_eq!(store.get_snapshot_info("v1").unwrap(), None);
    assert!(store.load_snapshot("v1").is_err());
}

#[test]
fn stopping_use_again_or_for_a_vat_without_snapshots_does_nothing() {
    let mut store = memory_store_with_exports();
    save(&mut store, "v1", 5, b"heap");
    store.stop_using_last_snapshot("v1").unwrap();
    commit(&mut store);
    store.stop_using_last_snapshot("v1").unwrap();
    store.stop_using_last_snapshot("v2").unwrap();
    assert_eq!(commit_capturing(&mut store), vec![]);
}

#[test]
fn deleting_all_of_a_vats_snapshots_notes_each_record_and_current_deleted() {
    let mut store = memory_store_with_exports();
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 9, b"second");
    save(&mut store, "v2", 1, b"other");
    commit(&mut store);
    assert_eq!(
        store.delete_vat_snapshots("v1", None).unwrap(),
        Deletion {
            done: true,
            cleanups: 2
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row("snapshot.v1.5", None),
            row("snapshot.v1.9", None),
            row("snapshot.v1.current", None),
        ]
    );
    assert_eq!(store.get_snapshot_info("v1").unwrap(), None);
    assert_eq!(load(&store, "v2"), b"other");
}

#[test]
fn deleting_all_snapshots_of_a_vat_that_has_none_still_notes_current_deleted() {
    let mut store = memory_store_with_exports();
    assert_eq!(
        store.delete_vat_snapshots("v1", None).unwrap(),
        Deletion {
            done: true,
            cleanups: 0
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("snapshot.v1.current", None)]
    );
}

#[test]
fn a_snapshot_budget_of_zero_is_refused() {
    let mut store = memory_store();
    save(&mut store, "v1", 5, b"heap");
    assert_eq!(
        message(store.delete_vat_snapshots("v1", Some(0))),
        "budget must be undefined or positive"
    );
    assert!(store.get_snapshot_info("v1").unwrap().is_some());
}

#[test]
fn budgeted_snapshot_deletion_takes_the_newest_first() {
    let mut store = memory_store_with_exports();
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 9, b"second");
    commit(&mut store);
    assert_eq!(
        store.delete_vat_snapshots("v1", Some(1)).unwrap(),
        Deletion {
            done: false,
            cleanups: 1
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("snapshot.v1.9", None), row("snapshot.v1.current", None)]
    );
    assert_eq!(
        store.delete_vat_snapshots("v1", Some(1)).unwrap(),
        Deletion {
            done: true,
            cleanups: 1
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("snapshot.v1.5", None)]
    );
}

#[test]
fn budgeted_deletion_of_only_retired_snapshots_leaves_current_alone() {
    let mut store = memory_store_with_exports();
    save(&mut store, "v1", 5, b"first");
    store.stop_using_last_snapshot("v1").unwrap();
    commit(&mut store);
    store.delete_vat_snapshots("v1", Some(5)).unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("snapshot.v1.5", None)]
    );
}

#[test]
fn deleting_all_unused_snapshots_keeps_the_in_use_ones_and_notes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    save(&mut store, "v1", 5, b"first");
    save(&mut store, "v1", 9, b"second");
    save(&mut store, "v2", 1, b"other");
    store.stop_using_last_snapshot("v2").unwrap();
    commit(&mut store);
    store.delete_all_unused_snapshots().unwrap();
    assert_eq!(commit_capturing(&mut store), vec![]);
    let remaining: Vec<(String, i64)> = raw_connection(&store)
        .prepare("SELECT vatID, snapPos FROM snapshots ORDER BY vatID, snapPos")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(remaining, [("v1".to_owned(), 9)]);
}

#[test]
fn rolling_back_a_crank_undoes_a_saved_snapshot_and_its_records() {
    let mut store = memory_store_with_exports();
    save(&mut store, "v1", 5, b"first");
    commit(&mut store);
    store.start_crank().unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    save(&mut store, "v1", 9, b"second");
    store.rollback_crank("deliver").unwrap();
    assert_eq!(end_crank_capturing(&mut store), vec![]);
    assert_eq!(store.get_snapshot_info("v1").unwrap().unwrap().snap_pos, 5);
    assert_eq!(load(&store, "v1"), b"first");
}

#[test]
fn a_reopened_store_reads_back_its_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    let bytes = heap(40_000, 6);
    save(&mut store, "v1", 5, &bytes);
    let info = store.get_snapshot_info("v1").unwrap();
    commit(&mut store);
    store.close().unwrap();

    let store = disk_store(dir.path());
    assert_eq!(store.get_snapshot_info("v1").unwrap(), info);
    assert_eq!(load(&store, "v1"), bytes);
}
