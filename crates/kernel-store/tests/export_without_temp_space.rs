//! The exporter's sorted scan spills to temporary files (docs/state-sync.md). Where they do not
//! fit, the export data is read through the key index instead, as swing-store reads it, which
//! needs no temporary space. The lack of space is a file size limit (RLIMIT_FSIZE), which holds
//! for the whole process: this file is a test binary of its own, with this one test.

mod common;

use common::{commit, export_keys};
use kernel_store::{ArtifactMode, Exporter, Facet, KernelStore, OpenOptions};

/// From now on no file of this process grows past `bytes`: a write beyond fails with EFBIG,
/// as a write to a full disk fails with ENOSPC (instead of the signal that would end the
/// process).
fn limit_file_size(bytes: u64) {
    unsafe {
        assert_ne!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), libc::SIG_ERR);
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[test]
fn export_data_is_complete_and_in_key_order_when_the_sorter_has_no_room_to_spill() {
    let dir = tempfile::tempdir().unwrap();
    // Some 8 MB of rows, written out of key order: more than the sorter keeps in memory.
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    let count = 40_000;
    let mut expected = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("k.{:06}", (i * 7919) % count);
        store.kv_set(Facet::Kernel, &key, "v".repeat(200)).unwrap();
        expected.push(format!("kv.{key}"));
    }
    commit(&mut store);
    store.close().unwrap();
    expected.sort();

    // The sorter's runs are about its 2 MB memory each; the exporter itself writes nothing.
    limit_file_size(64 * 1024);
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let keys = export_keys(&mut exporter, 4096);
    assert_eq!(keys.len(), expected.len());
    assert!(keys == expected, "the rows are in key order");
}
