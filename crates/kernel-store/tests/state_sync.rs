//! State sync (docs/state-sync.md): the exporter's data and artifacts, the importer's checks
//! and its staged file, and metadata repair.

mod common;

use common::*;
use kernel_store::{
    ArtifactMode, ArtifactNameCursor, ExportDataCursor, ExportRow, Exporter, Facet, Importer,
    KernelStore, OpenOptions, RowSink, SnapshotWriter, DB_FILE_NAME,
};

/// A store on disk with kvStore rows of every namespace, two vats' transcripts (one rolled
/// over), a snapshot and a bundle, committed.
fn populated(dir: &std::path::Path) {
    let mut store = KernelStore::open(Some(dir), OpenOptions::default()).unwrap();
    store.kv_set(Facet::Kernel, "kernel.a", "1").unwrap();
    store.kv_set(Facet::Kernel, "local.x", "l").unwrap();
    store.kv_set(Facet::Host, "host.height", "7").unwrap();
    for vat in ["v1", "v2"] {
        store.init_transcript(vat).unwrap();
        store.add_item(vat, &format!("{vat} first")).unwrap();
    }
    store.rollover_span("v1").unwrap();
    store.add_item("v1", "v1 second").unwrap();
    let mut writer = SnapshotWriter::new();
    writer.write(b"heap image").unwrap();
    store.save_snapshot("v1", 1, writer).unwrap();
    let json = r#"{"moduleFormat":"nestedEvaluate","source":"1"}"#;
    let id = format!("b0-{}", kernel_store::hex::sha256_hex(json));
    store
        .add_bundle(
            &id,
            &kernel_store::BundleInput::B0 {
                module_format: "nestedEvaluate".into(),
                json: json.into(),
            },
        )
        .unwrap();
    commit(&mut store);
    store.close().unwrap();
}

fn artifact_names(exporter: &Exporter) -> Vec<String> {
    exporter.check_complete().unwrap();
    let mut cursor = ArtifactNameCursor::default();
    let mut names = Vec::new();
    loop {
        let page = exporter.artifact_names_page(&mut cursor, 2).unwrap();
        if page.is_empty() {
            return names;
        }
        names.extend(page);
    }
}

fn artifact(exporter: &Exporter, name: &str) -> Vec<u8> {
    let mut reader = exporter.open_artifact(name).unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = exporter.read_artifact(&mut reader, 4).unwrap() {
        bytes.extend(chunk);
    }
    bytes
}

/// Imports everything `exporter` offers into `dir` (in memory when `None`).
/// The exporter's export data as the rows an importer or a repair takes.
fn export_rows(exporter: &mut Exporter) -> Vec<ExportRow> {
    export_data(exporter, 3)
        .into_iter()
        .map(|(k, v)| (k.into_bytes(), Some(v.into_bytes())))
        .collect()
}

/// An in-memory operational importer that has taken the export data of a populated store.
fn importer_with_export_data(dir: &std::path::Path) -> Importer {
    populated(dir);
    let mut exporter = Exporter::open(dir, ArtifactMode::Operational).unwrap();
    let mut importer =
        Importer::create(None, ArtifactMode::Operational, OpenOptions::default()).unwrap();
    importer
        .add_export_data(export_rows(&mut exporter))
        .unwrap();
    importer
}

fn import(
    exporter: &mut Exporter,
    dir: Option<&std::path::Path>,
) -> kernel_store::Result<KernelStore> {
    let mut importer = Importer::create(dir, ArtifactMode::Operational, OpenOptions::default())?;
    // In pages of two rows, as a host's exporter may hand them over.
    for page in export_rows(exporter).chunks(2) {
        importer.add_export_data(page.to_vec())?;
    }
    for name in artifact_names(exporter) {
        if importer.begin_artifact(&name)? {
            importer.write_artifact(&artifact(exporter, &name))?;
            importer.finish_artifact()?;
        }
    }
    importer.finish()
}

#[test]
fn export_data_lists_consensus_rows_then_snapshots_spans_and_bundles_in_swing_stores_order() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let keys = export_keys(&mut exporter, 3);
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with("kv."))
            .cloned()
            .collect::<Vec<_>>(),
        ["kv.kernel.a"]
    );
    let tags: Vec<&str> = keys.iter().map(|k| k.split('.').next().unwrap()).collect();
    assert_eq!(
        tags,
        [
            "kv",
            "snapshot",
            "snapshot",
            "transcript",
            "transcript",
            "transcript",
            "bundle"
        ]
    );
    assert_eq!(keys[1..3], ["snapshot.v1.1", "snapshot.v1.current"]);
    assert_eq!(
        keys[3..6],
        [
            "transcript.v1.0",
            "transcript.v1.current",
            "transcript.v2.current"
        ]
    );
}

/// A store whose kvStore rows lie in another order than their keys, with host and local
/// keys among them; the consensus keys, in key order.
fn shuffled_kv(dir: &std::path::Path) -> Vec<String> {
    let mut store = KernelStore::open(Some(dir), OpenOptions::default()).unwrap();
    let mut keys = Vec::new();
    for i in 0..40 {
        let key = format!("k.{:02}", (i * 17) % 40);
        store
            .kv_set(Facet::Kernel, &key, format!("value {i}"))
            .unwrap();
        store
            .kv_set(Facet::Kernel, format!("local.{i}"), "l")
            .unwrap();
        store.kv_set(Facet::Host, format!("host.{i}"), "h").unwrap();
        keys.push(format!("kv.{key}"));
    }
    commit(&mut store);
    store.close().unwrap();
    keys.sort();
    keys
}

/// Reads one more page of `limit` rows of `cursor`'s iteration: its keys.
fn page_keys(exporter: &mut Exporter, cursor: &mut ExportDataCursor, limit: usize) -> Vec<String> {
    let mut rows = Rows::default();
    exporter.export_data_page(cursor, limit, &mut rows).unwrap();
    rows.0.into_iter().map(|(key, _)| key).collect()
}

#[test]
fn export_data_yields_the_kvstore_in_key_order_whatever_order_its_rows_were_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let keys = shuffled_kv(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let exported = export_keys(&mut exporter, 3);
    assert_eq!(exported, keys);
}

#[test]
fn two_iterations_at_once_each_yield_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let keys = shuffled_kv(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let (mut first, mut second) = (ExportDataCursor::default(), ExportDataCursor::default());
    let (mut from_first, mut from_second) = (Vec::new(), Vec::new());
    loop {
        let a = page_keys(&mut exporter, &mut first, 3);
        let b = page_keys(&mut exporter, &mut second, 5);
        if a.is_empty() && b.is_empty() {
            break;
        }
        from_first.extend(a);
        from_second.extend(b);
    }
    assert_eq!(from_first, keys);
    assert_eq!(from_second, keys);
}

#[test]
fn an_iteration_finished_early_yields_nothing_more_and_the_next_one_yields_everything() {
    let dir = tempfile::tempdir().unwrap();
    let keys = shuffled_kv(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let mut early = ExportDataCursor::default();
    assert_eq!(page_keys(&mut exporter, &mut early, 4), keys[..4]);
    exporter.finish_export_data(&mut early);
    assert!(page_keys(&mut exporter, &mut early, 4).is_empty());
    let exported = export_keys(&mut exporter, 3);
    assert_eq!(exported, keys);
}

/// Takes rows until it holds `room`.
struct SmallPage(Rows, usize);

impl RowSink for SmallPage {
    fn row(&mut self, key: &[u8], value: &[u8]) {
        self.0.row(key, value);
    }

    fn is_full(&self) -> bool {
        self.0 .0.len() >= self.1
    }
}

#[test]
fn a_page_ends_when_the_sink_is_full_and_the_next_goes_on_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let keys = shuffled_kv(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let mut cursor = ExportDataCursor::default();
    let mut exported = Vec::new();
    loop {
        let mut page = SmallPage(Rows::default(), 2);
        let count = exporter
            .export_data_page(&mut cursor, 100, &mut page)
            .unwrap();
        assert!(count <= 2);
        if count == 0 {
            break;
        }
        exported.extend(page.0 .0.into_iter().map(|(k, _)| k));
    }
    assert_eq!(exported, keys);
}

#[test]
fn get_host_kv_reads_host_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    assert_eq!(
        exporter.get_host_kv(b"host.height").unwrap(),
        Some(b"7".to_vec())
    );
    let err = exporter.get_host_kv(b"kernel.a").unwrap_err();
    assert_eq!(err.to_string(), "getHostKV requires host keys");
    assert_eq!(err.code(), "ERR_HOST_KEY_REQUIRED");
}

#[test]
fn operational_artifacts_are_current_spans_in_use_snapshots_and_bundles() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let names = artifact_names(&exporter);
    assert_eq!(
        names[..3],
        ["snapshot.v1.1", "transcript.v1.1.2", "transcript.v2.0.1"]
    );
    assert!(names[3].starts_with("bundle.b0-"));
    assert_eq!(artifact(&exporter, "snapshot.v1.1"), b"heap image");
    assert_eq!(artifact(&exporter, "transcript.v1.1.2"), b"v1 second\n");
    let archival = Exporter::open(dir.path(), ArtifactMode::Archival).unwrap();
    assert!(artifact_names(&archival).contains(&"transcript.v1.0.1".to_owned()));
}

#[test]
fn the_exporter_sees_the_commit_before_its_first_read_while_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let before = export_data(&mut exporter, 3);
    let mut writer = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    writer.kv_set(Facet::Kernel, "kernel.b", "2").unwrap();
    commit(&mut writer);
    assert_eq!(export_data(&mut exporter, 3), before);
    let mut fresh = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    assert_eq!(export_data(&mut fresh, 3).len(), before.len() + 1);
}

#[test]
fn an_exporter_never_creates_a_store_where_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let err = Exporter::open(dir.path(), ArtifactMode::Operational)
        .err()
        .unwrap();
    assert_eq!(err.code(), "ERR_NOT_A_SWING_STORE");
    assert!(!dir.path().join(DB_FILE_NAME).exists());
}

#[test]
fn an_import_reproduces_the_export_and_becomes_the_store_only_at_its_first_commit() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    populated(from.path());
    let mut exporter = Exporter::open(from.path(), ArtifactMode::Operational).unwrap();
    let target = to.path().join("store");
    let mut imported = import(&mut exporter, Some(&target)).unwrap();
    assert!(
        !target.join(DB_FILE_NAME).exists(),
        "not a store before the commit"
    );
    commit(&mut imported);
    assert!(target.join(DB_FILE_NAME).exists());
    imported.close().unwrap();
    let mut again = Exporter::open(&target, ArtifactMode::Operational).unwrap();
    assert_eq!(export_data(&mut again, 3), export_data(&mut exporter, 3));
    assert_eq!(artifact(&again, "transcript.v1.1.2"), b"v1 second\n");
}

#[test]
fn an_import_closed_before_any_commit_leaves_no_file_behind() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    populated(from.path());
    let mut exporter = Exporter::open(from.path(), ArtifactMode::Operational).unwrap();
    let imported = import(&mut exporter, Some(to.path())).unwrap();
    imported.close().unwrap();
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

#[test]
fn a_span_artifact_that_does_not_hash_to_its_record_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut importer = importer_with_export_data(dir.path());
    assert!(importer.begin_artifact("transcript.v2.0.1").unwrap());
    importer.write_artifact(b"forged\n").unwrap();
    let err = importer.finish_artifact().unwrap_err();
    assert_eq!(err.code(), "ERR_ARTIFACT_HASH_MISMATCH");
    assert!(
        err.to_string()
            .starts_with("artifact \"transcript.v2.0.1\" hash is"),
        "{err}"
    );
}

#[test]
fn an_artifact_offered_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut importer = importer_with_export_data(dir.path());
    importer.begin_artifact("snapshot.v1.1").unwrap();
    importer.write_artifact(b"heap image").unwrap();
    importer.finish_artifact().unwrap();
    let err = importer.begin_artifact("snapshot.v1.1").unwrap_err();
    assert_eq!(err.code(), "ERR_DUPLICATE_ARTIFACT");
}

#[test]
fn an_import_missing_a_required_artifact_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let importer = importer_with_export_data(dir.path());
    let err = importer.finish().err().unwrap();
    assert_eq!(err.code(), "ERR_INCOMPLETE_ARTIFACTS");
    assert!(err.to_string().starts_with("missing bundles for:"), "{err}");
}

#[test]
fn an_unknown_export_data_type_is_refused_on_import() {
    let mut importer =
        Importer::create(None, ArtifactMode::Operational, OpenOptions::default()).unwrap();
    importer
        .add_export_data(vec![(b"unknown.x".to_vec(), Some(b"1".to_vec()))])
        .unwrap();
    let err = importer.install_records().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown export-data type \"unknown\" on import"
    );
}

/// A row of export data, as an exporter hands it over.
fn row(key: &str, value: &str) -> ExportRow {
    (key.as_bytes().to_vec(), Some(value.as_bytes().to_vec()))
}

#[test]
fn a_page_with_a_host_key_fails_its_call_and_none_of_its_rows_are_imported() {
    let mut importer =
        Importer::create(None, ArtifactMode::Operational, OpenOptions::default()).unwrap();
    importer
        .add_export_data(vec![row("kv.before", "1")])
        .unwrap();
    let refused = importer.add_export_data(vec![
        row("kv.same.page", "2"),
        row("bundle.b0-x", "{}"),
        row("kv.host.height", "3"),
    ]);
    assert_eq!(refused.unwrap_err().code(), "ERR_HOST_KEY_REFUSED");
    importer
        .add_export_data(vec![row("kv.after", "4")])
        .unwrap();
    importer.install_records().unwrap();
    let mut store = importer.finish().unwrap();
    assert_eq!(store.kv_get("before").unwrap(), Some(&b"1"[..]));
    assert_eq!(store.kv_get("same.page").unwrap(), None);
    assert_eq!(store.kv_get("after").unwrap(), Some(&b"4"[..]));
}

#[test]
fn repair_restores_lost_span_records_and_refuses_disagreeing_ones() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let rows = export_rows(&mut exporter);
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    store
        .query(
            "SELECT COUNT(*) FROM transcriptSpans",
            &kernel_store::QueryParams::Positional(vec![]),
        )
        .unwrap();
    let repair = store.begin_repair().unwrap();
    store.repair_export_data(&repair, &rows).unwrap();
    store.finish_repair(repair).unwrap();

    let mut forged = rows.clone();
    for (key, value) in &mut forged {
        if key == b"transcript.v2.current" {
            *value = Some(
                String::from_utf8(value.take().unwrap())
                    .unwrap()
                    .replace("\"endPos\":1", "\"endPos\":2")
                    .into_bytes(),
            );
        }
    }
    let repair = store.begin_repair().unwrap();
    store.repair_export_data(&repair, &forged).unwrap();
    let err = store.finish_repair(repair).unwrap_err();
    assert_eq!(err.code(), "ERR_REPAIR_MISMATCH");
    assert!(
        err.to_string()
            .starts_with("repairTranscriptSpanRecord metadata mismatch"),
        "{err}"
    );
}

/// A fresh store holding `transcript.v1.current` for a span of two items, and the count of
/// v1's stored items.
fn store_expecting_a_span() -> (KernelStore, impl Fn(&mut KernelStore) -> usize) {
    let mut store = KernelStore::open(None, OpenOptions::default()).unwrap();
    let hash = "0000000000000000000000000000000000000000000000000000000000000000";
    let record = format!(
        r#"{{"vatID":"v1","startPos":0,"endPos":2,"hash":"{hash}","isCurrent":1,"incarnation":0}}"#
    );
    store
        .install_record("transcript.v1.current", &record, false)
        .unwrap();
    let items = |store: &mut KernelStore| {
        let rows = store
            .query(
                "SELECT count(*) FROM transcriptItems WHERE vatID = 'v1'",
                &kernel_store::QueryParams::Positional(vec![]),
            )
            .unwrap()
            .rows;
        match rows[0][0] {
            kernel_store::SqlValue::Integer(n) => n as usize,
            ref other => panic!("{other:?}"),
        }
    };
    (store, items)
}

#[test]
fn a_span_artifact_stores_nothing_before_it_checks_whole_and_nothing_when_it_fails() {
    let (mut store, items) = store_expecting_a_span();
    let mut import = store
        .begin_artifact_import("transcript.v1.0.2", ArtifactMode::Debug)
        .unwrap()
        .unwrap();
    store.write_artifact_import(&mut import, b"a\nX\n").unwrap();
    assert_eq!(items(&mut store), 0);
    let err = store.finish_artifact_import(import).unwrap_err();
    assert_eq!(err.code(), "ERR_ARTIFACT_HASH_MISMATCH");
    assert_eq!(items(&mut store), 0);
}

#[test]
fn an_abandoned_span_artifact_leaves_none_of_its_items() {
    let (mut store, items) = store_expecting_a_span();
    let mut import = store
        .begin_artifact_import("transcript.v1.0.2", ArtifactMode::Debug)
        .unwrap()
        .unwrap();
    store.write_artifact_import(&mut import, b"a\n").unwrap();
    store.abandon_artifact_import(import).unwrap();
    assert_eq!(items(&mut store), 0);
}

#[test]
fn a_span_artifact_that_checks_whole_lands_its_items() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let span = artifact(&exporter, "transcript.v2.0.1");
    let mut store = KernelStore::open(None, OpenOptions::default()).unwrap();
    for (key, value) in export_data(&mut exporter, 3) {
        if key.starts_with("transcript.v2.") {
            store.install_record(&key, &value, false).unwrap();
        }
    }
    let mut import = store
        .begin_artifact_import("transcript.v2.0.1", ArtifactMode::Operational)
        .unwrap()
        .unwrap();
    store.write_artifact_import(&mut import, &span).unwrap();
    store.finish_artifact_import(import).unwrap();
    let items: Vec<(u64, String)> = store.full_vat_transcript("v2", None, 10).unwrap();
    assert_eq!(items, [(0, "v2 first".to_owned())]);
}

#[test]
fn a_repair_that_fails_adds_none_of_its_records() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let mut exporter = Exporter::open(dir.path(), ArtifactMode::Operational).unwrap();
    let rows = export_rows(&mut exporter);
    let mut store = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
    store.stop_using_last_snapshot("v1").unwrap();
    store.delete_vat_snapshots("v1", None).unwrap();
    commit(&mut store);

    let repair = store.begin_repair().unwrap();
    store.repair_export_data(&repair, &rows).unwrap();
    let err = store.finish_repair(repair).unwrap_err();
    assert_eq!(err.code(), "ERR_INCOMPLETE_ARTIFACTS");
    assert!(
        store.dump_snapshots(true).unwrap().is_empty(),
        "the snapshot records the repair added are gone again"
    );
}

#[test]
fn an_import_with_a_trace_file_it_cannot_open_changes_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kept"), "x").unwrap();
    let options = OpenOptions {
        trace_file: Some(dir.path().join("no-such-dir").join("trace")),
        ..OpenOptions::default()
    };
    let err = Importer::create(Some(dir.path()), ArtifactMode::Operational, options)
        .err()
        .unwrap();
    assert_eq!(err.code(), "ERR_TRACE_FILE");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["kept"]);
}
