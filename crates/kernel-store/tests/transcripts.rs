//! Transcripts behave as swing-store's transcriptStore: spans, the span hash chain, export
//! records, reads with their call-time and end-of-iteration errors, rollovers, termination and
//! budgeted deletion (docs/design.md §4).

mod common;

use common::*;
use kernel_store::{Deletion, Error, KernelStore, OpenOptions, SpanCursor, SpanStart};

const INITIAL_HASH: &str = "43e6be43a3a34d60c0ebeb8498b5849b094fc20fc68483a7aeb3624fa10f79f6";
const ZEROTH_HASH: &str = "92d0cf6ecd39b60b4e32dc65d4c6f343495928cb041f25b19e2825b17f4daa9a";

fn span_json(vat: &str, start: u64, end: u64, hash: &str, current: bool, inc: u64) -> String {
    format!(
        "{{\"vatID\":\"{vat}\",\"startPos\":{start},\"endPos\":{end},\"hash\":\"{hash}\",\"isCurrent\":{},\"incarnation\":{inc}}}",
        u8::from(current)
    )
}

fn sha256_hex(s: &str) -> String {
    kernel_store::hex::sha256_hex(s)
}

/// A vat with `items` in its (first) current span.
fn vat_with_items(store: &mut KernelStore, vat: &str, items: &[&str]) {
    store.init_transcript(vat).unwrap();
    for item in items {
        store.add_item(vat, item).unwrap();
    }
}

fn read(store: &KernelStore, vat: &str, start: SpanStart) -> Vec<String> {
    store.read_span(vat, start).unwrap()
}

/// The vat's current span as (startPos, endPos, hash, incarnation).
fn current_bounds(store: &KernelStore, vat: &str) -> (u64, u64, String, u64) {
    let bounds = store.get_current_span_bounds(vat).unwrap();
    (
        bounds.start_pos,
        bounds.end_pos,
        bounds.hash,
        bounds.incarnation,
    )
}

fn message<T: std::fmt::Debug>(result: kernel_store::Result<T>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn a_new_transcript_is_an_empty_current_span_at_zero_with_the_initial_hash() {
    let mut store = memory_store();
    store.init_transcript("v1").unwrap();
    assert_eq!(
        current_bounds(&store, "v1"),
        (0, 0, INITIAL_HASH.to_owned(), 0)
    );
}

#[test]
fn initialising_a_transcript_twice_fails_with_sqlites_unique_error() {
    let mut store = memory_store();
    store.init_transcript("v1").unwrap();
    assert_eq!(
        message(store.init_transcript("v1")),
        "UNIQUE constraint failed: transcriptSpans.vatID, transcriptSpans.isCurrent"
    );
}

#[test]
fn a_vat_without_a_transcript_has_no_current_span() {
    let store = memory_store();
    let err = store.get_current_span_bounds("nonexistent").unwrap_err();
    assert_eq!(err.to_string(), "no current transcript for \"nonexistent\"");
    assert_eq!(err.code(), "ERR_NO_CURRENT_TRANSCRIPT");
}

#[test]
fn the_first_item_chains_onto_the_initial_hash() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["zeroth"]);
    let bounds = store.get_current_span_bounds("v1").unwrap();
    assert_eq!((bounds.end_pos, bounds.hash.as_str()), (1, ZEROTH_HASH));
}

#[test]
fn each_item_hashes_the_prior_hash_text_followed_by_the_items_hash_text() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["zeroth", "first"]);
    let expected = sha256_hex(&format!("{ZEROTH_HASH}{}", sha256_hex("first")));
    assert_eq!(store.get_current_span_bounds("v1").unwrap().hash, expected);
}

#[test]
fn adding_to_a_vat_without_a_transcript_fails_and_writes_nothing() {
    let mut store = memory_store_with_exports();
    assert_eq!(
        message(store.add_item("v9", "x")),
        "no current transcript for \"v9\""
    );
    store.init_transcript("v9").unwrap();
    assert!(read(&store, "v9", SpanStart::At(0)).is_empty());
}

#[test]
fn init_exports_the_current_span_record() {
    let mut store = memory_store_with_exports();
    store.init_transcript("v1").unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![row(
            "transcript.v1.current",
            Some(&span_json("v1", 0, 0, INITIAL_HASH, true, 0))
        )]
    );
}

#[test]
fn adding_an_item_re_exports_the_current_span_record() {
    let mut store = memory_store_with_exports();
    store.init_transcript("v1").unwrap();
    commit(&mut store);
    store.add_item("v1", "zeroth").unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![row(
            "transcript.v1.current",
            Some(&span_json("v1", 0, 1, ZEROTH_HASH, true, 0))
        )]
    );
}

#[test]
fn reading_the_current_span_yields_its_items_in_order() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a", "b", "c"]);
    assert_eq!(read(&store, "v1", SpanStart::Current), ["a", "b", "c"]);
}

#[test]
fn reading_the_current_span_of_an_unknown_vat_fails_when_the_read_begins() {
    let store = memory_store();
    assert_eq!(
        message(store.begin_read_span("nonexistent", SpanStart::Current)),
        "no current transcript for \"nonexistent\""
    );
}

#[test]
fn a_start_position_naming_no_span_is_refused_with_the_position_quoted() {
    let mut store = memory_store();
    vat_with_items(&mut store, "st2", &["a", "b", "c", "d"]);
    let err = store.begin_read_span("st2", SpanStart::At(3)).unwrap_err();
    assert_eq!(err.to_string(), "no transcript span for \"st2\" at 3");
    assert_eq!(err.code(), "ERR_NO_TRANSCRIPT_SPAN");
}

#[test]
fn a_historical_span_can_be_read_by_its_start_position() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a", "b"]);
    store.rollover_span("v1").unwrap();
    store.add_item("v1", "c").unwrap();
    assert_eq!(read(&store, "v1", SpanStart::At(0)), ["a", "b"]);
    assert_eq!(read(&store, "v1", SpanStart::At(2)), ["c"]);
}

#[test]
fn an_empty_span_reads_as_nothing() {
    let mut store = memory_store();
    store.init_transcript("v1").unwrap();
    assert!(read(&store, "v1", SpanStart::Current).is_empty());
}

#[test]
fn pages_cover_the_span_in_order_and_then_come_back_empty() {
    let mut store = memory_store();
    let items: Vec<String> = (0..7).map(|i| format!("item {i}")).collect();
    store.init_transcript("v1").unwrap();
    for item in &items {
        store.add_item("v1", item).unwrap();
    }
    let mut cursor = store.begin_read_span("v1", SpanStart::Current).unwrap();
    let mut pages = Vec::new();
    loop {
        let page = store.read_span_page(&mut cursor, 3).unwrap();
        if page.is_empty() {
            break;
        }
        pages.push(page);
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.concat(), items);
    assert!(cursor.done);
    assert!(store.read_span_page(&mut cursor, 3).unwrap().is_empty());
}

#[test]
fn a_read_keeps_the_bounds_it_began_with() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a"]);
    let mut cursor = store.begin_read_span("v1", SpanStart::Current).unwrap();
    store.add_item("v1", "b").unwrap();
    assert_eq!(store.read_span_page(&mut cursor, 10).unwrap(), ["a"]);
    assert!(store.read_span_page(&mut cursor, 10).unwrap().is_empty());
}

#[test]
fn a_cursor_is_plain_data_a_binding_can_rebuild_between_pages() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a", "b", "c"]);
    let begun = store.begin_read_span("v1", SpanStart::Current).unwrap();
    let mut rebuilt = SpanCursor {
        vat_id: "v1".into(),
        start_pos: begun.start_pos,
        end_pos: begun.end_pos,
        next_pos: 1,
        items_read: 1,
        done: false,
    };
    assert_eq!(store.read_span_page(&mut rebuilt, 10).unwrap(), ["b", "c"]);
    assert!(store.read_span_page(&mut rebuilt, 10).unwrap().is_empty());
}

#[test]
fn a_pruned_span_fails_the_count_check_when_its_iteration_ends() {
    let mut store = memory_store_with(OpenOptions {
        keep_transcripts: false,
        ..Default::default()
    });
    vat_with_items(&mut store, "v1", &["a", "b"]);
    store.rollover_span("v1").unwrap();
    let mut cursor = store.begin_read_span("v1", SpanStart::At(0)).unwrap();
    let err = store.read_span_page(&mut cursor, 10).unwrap_err();
    assert_eq!(err.to_string(), "read 0 transcript entries (expected 2)");
    assert_eq!(err.code(), "ERR_INCOMPLETE_TRANSCRIPT_SPAN");
    assert!(store.read_span_page(&mut cursor, 10).unwrap().is_empty());
}

#[test]
fn a_span_missing_some_items_yields_those_it_has_and_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    vat_with_items(&mut store, "v1", &["a", "b", "c"]);
    commit(&mut store);
    raw_connection(&store)
        .execute(
            "DELETE FROM transcriptItems WHERE vatID = 'v1' AND position = 1",
            [],
        )
        .unwrap();
    let mut cursor = store.begin_read_span("v1", SpanStart::Current).unwrap();
    assert_eq!(store.read_span_page(&mut cursor, 10).unwrap(), ["a", "c"]);
    assert_eq!(
        message(store.read_span_page(&mut cursor, 10)),
        "read 2 transcript entries (expected 3)"
    );
}

#[test]
fn rolling_over_a_span_keeps_the_incarnation_and_starts_a_fresh_chain_at_the_old_end() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["zeroth"]);
    assert_eq!(store.rollover_span("v1").unwrap().incarnation, 0);
    assert_eq!(
        current_bounds(&store, "v1"),
        (1, 1, INITIAL_HASH.to_owned(), 0)
    );
}

#[test]
fn rolling_over_an_incarnation_returns_the_next_one() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a"]);
    assert_eq!(store.rollover_incarnation("v1").unwrap().incarnation, 1);
    store.add_item("v1", "b").unwrap();
    assert_eq!(store.rollover_incarnation("v1").unwrap().incarnation, 2);
    assert_eq!(store.get_current_span_bounds("v1").unwrap().incarnation, 2);
}

#[test]
fn rolling_over_an_empty_span_is_refused_and_changes_nothing() {
    let mut store = memory_store_with_exports();
    vat_with_items(&mut store, "v1", &["a"]);
    store.rollover_span("v1").unwrap();
    commit(&mut store);
    let before = store.get_current_span_bounds("v1").unwrap();
    for rollover in [
        KernelStore::rollover_span,
        KernelStore::rollover_incarnation,
    ] {
        let err = rollover(&mut store, "v1").unwrap_err();
        assert_eq!(err.code(), "ERR_EMPTY_TRANSCRIPT_SPAN", "{err}");
        assert!(err.to_string().contains("\"v1\""), "{err}");
    }
    assert_eq!(store.get_current_span_bounds("v1").unwrap(), before);
    assert_eq!(commit_capturing(&mut store), vec![], "nothing to export");
}

#[test]
fn rolling_over_exports_the_closed_span_and_the_new_current_one() {
    let mut store = memory_store_with_exports();
    vat_with_items(&mut store, "v1", &["zeroth"]);
    commit(&mut store);
    store.rollover_incarnation("v1").unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row(
                "transcript.v1.0",
                Some(&span_json("v1", 0, 1, ZEROTH_HASH, false, 0))
            ),
            row(
                "transcript.v1.current",
                Some(&span_json("v1", 1, 1, INITIAL_HASH, true, 1))
            ),
        ]
    );
}

#[test]
fn rolling_over_a_vat_without_a_transcript_fails() {
    let mut store = memory_store();
    assert_eq!(
        message(store.rollover_span("v1")),
        "no current transcript for \"v1\""
    );
    assert_eq!(
        message(store.rollover_incarnation("v1")),
        "no current transcript for \"v1\""
    );
}

#[test]
fn closed_spans_keep_their_items_by_default() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a", "b"]);
    store.rollover_span("v1").unwrap();
    assert_eq!(read(&store, "v1", SpanStart::At(0)), ["a", "b"]);
}

#[test]
fn without_keep_transcripts_closing_a_span_deletes_only_its_items() {
    let mut store = memory_store_with(OpenOptions {
        keep_transcripts: false,
        ..Default::default()
    });
    vat_with_items(&mut store, "v1", &["a", "b"]);
    store.rollover_span("v1").unwrap();
    store.add_item("v1", "c").unwrap();
    assert!(store.read_span("v1", SpanStart::At(0)).is_err());
    assert_eq!(read(&store, "v1", SpanStart::Current), ["c"]);
}

#[test]
fn stopping_a_transcript_closes_its_span_and_removes_the_current_record() {
    let mut store = memory_store_with_exports();
    vat_with_items(&mut store, "v1", &["zeroth"]);
    commit(&mut store);
    store.stop_using_transcript("v1").unwrap();
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row(
                "transcript.v1.0",
                Some(&span_json("v1", 0, 1, ZEROTH_HASH, false, 0))
            ),
            row("transcript.v1.current", None),
        ]
    );
    assert!(store.get_current_span_bounds("v1").is_err());
    assert_eq!(read(&store, "v1", SpanStart::At(0)), ["zeroth"]);
}

#[test]
fn stopping_a_transcript_again_or_for_an_unknown_vat_does_nothing() {
    let mut store = memory_store_with_exports();
    vat_with_items(&mut store, "v1", &["a"]);
    store.stop_using_transcript("v1").unwrap();
    commit(&mut store);
    store.stop_using_transcript("v1").unwrap();
    store.stop_using_transcript("nonexistent").unwrap();
    assert_eq!(commit_capturing(&mut store), vec![]);
}

/// v1 with spans [0,1) and [1,2) closed and [2,3) current.
fn vat_with_three_spans(store: &mut KernelStore) {
    vat_with_items(store, "v1", &["a"]);
    store.rollover_span("v1").unwrap();
    store.add_item("v1", "b").unwrap();
    store.rollover_span("v1").unwrap();
    store.add_item("v1", "c").unwrap();
}

#[test]
fn deleting_all_of_a_vats_transcript_notes_every_span_record_deleted() {
    let mut store = memory_store_with_exports();
    vat_with_three_spans(&mut store);
    vat_with_items(&mut store, "v2", &["other"]);
    commit(&mut store);
    assert_eq!(
        store.delete_vat_transcripts("v1", None).unwrap(),
        Deletion {
            done: true,
            cleanups: 3
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![
            row("transcript.v1.0", None),
            row("transcript.v1.1", None),
            row("transcript.v1.current", None),
        ]
    );
    assert!(store.begin_read_span("v1", SpanStart::At(0)).is_err());
    assert_eq!(read(&store, "v2", SpanStart::Current), ["other"]);
}

#[test]
fn a_budget_of_zero_is_refused() {
    let mut store = memory_store();
    vat_with_items(&mut store, "v1", &["a"]);
    let err = store.delete_vat_transcripts("v1", Some(0)).unwrap_err();
    assert_eq!(err.to_string(), "budget must be undefined or positive");
    assert!(store.get_current_span_bounds("v1").is_ok());
}

#[test]
fn budgeted_deletion_takes_the_newest_spans_first() {
    let mut store = memory_store_with_exports();
    vat_with_three_spans(&mut store);
    commit(&mut store);
    assert_eq!(
        store.delete_vat_transcripts("v1", Some(1)).unwrap(),
        Deletion {
            done: false,
            cleanups: 1
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("transcript.v1.current", None)]
    );
    assert!(store.get_current_span_bounds("v1").is_err());
    assert_eq!(read(&store, "v1", SpanStart::At(1)), ["b"]);

    assert_eq!(
        store.delete_vat_transcripts("v1", Some(1)).unwrap(),
        Deletion {
            done: false,
            cleanups: 1
        }
    );
    assert_eq!(
        commit_capturing(&mut store),
        vec![row("transcript.v1.1", None)]
    );
    assert_eq!(read(&store, "v1", SpanStart::At(0)), ["a"]);
}

#[test]
fn budgeted_deletion_is_done_once_no_span_remains() {
    let mut store = memory_store();
    vat_with_three_spans(&mut store);
    assert_eq!(
        store.delete_vat_transcripts("v1", Some(2)).unwrap(),
        Deletion {
            done: false,
            cleanups: 2
        }
    );
    assert_eq!(
        store.delete_vat_transcripts("v1", Some(2)).unwrap(),
        Deletion {
            done: true,
            cleanups: 1
        }
    );
    assert_eq!(
        store.delete_vat_transcripts("v1", Some(2)).unwrap(),
        Deletion {
            done: true,
            cleanups: 0
        }
    );
}

#[test]
fn budgeted_deletion_removes_the_deleted_spans_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    vat_with_three_spans(&mut store);
    store.delete_vat_transcripts("v1", Some(2)).unwrap();
    commit(&mut store);
    let positions: Vec<i64> = raw_connection(&store)
        .prepare("SELECT position FROM transcriptItems WHERE vatID = 'v1' ORDER BY position")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(positions, [0]);
}

#[test]
fn rolling_back_a_crank_undoes_its_transcript_rows_and_records() {
    let mut store = memory_store_with_exports();
    vat_with_items(&mut store, "v1", &["a"]);
    commit(&mut store);
    store.start_crank().unwrap();
    store.establish_crank_savepoint("deliver").unwrap();
    store.add_item("v1", "b").unwrap();
    store.rollover_incarnation("v1").unwrap();
    store.add_item("v1", "c").unwrap();
    store.rollback_crank("deliver").unwrap();
    assert_eq!(end_crank_capturing(&mut store), vec![]);
    let bounds = store.get_current_span_bounds("v1").unwrap();
    assert_eq!(
        (bounds.start_pos, bounds.end_pos, bounds.incarnation),
        (0, 1, 0)
    );
    assert_eq!(read(&store, "v1", SpanStart::Current), ["a"]);
    store.add_item("v1", "b").unwrap();
    assert_eq!(read(&store, "v1", SpanStart::Current), ["a", "b"]);
}

#[test]
fn a_reopened_store_reads_back_its_spans_and_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    vat_with_items(&mut store, "v1", &["zeroth"]);
    store.rollover_incarnation("v1").unwrap();
    store.add_item("v1", "next").unwrap();
    let before = store.get_current_span_bounds("v1").unwrap();
    commit(&mut store);
    store.close().unwrap();

    let store = disk_store(dir.path());
    assert_eq!(store.get_current_span_bounds("v1").unwrap(), before);
    assert_eq!(read(&store, "v1", SpanStart::At(0)), ["zeroth"]);
    assert_eq!(read(&store, "v1", SpanStart::Current), ["next"]);
}

#[test]
fn uncommitted_transcript_writes_are_gone_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    vat_with_items(&mut store, "v1", &["a"]);
    commit(&mut store);
    store.add_item("v1", "b").unwrap();
    store.close().unwrap();

    let store = disk_store(dir.path());
    assert_eq!(read(&store, "v1", SpanStart::Current), ["a"]);
}

#[test]
fn a_read_only_store_reads_transcripts_but_refuses_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = disk_store(dir.path());
    vat_with_items(&mut store, "v1", &["a"]);
    commit(&mut store);
    store.close().unwrap();

    let mut store = KernelStore::open(
        Some(dir.path()),
        OpenOptions {
            readonly: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(read(&store, "v1", SpanStart::Current), ["a"]);
    assert!(matches!(store.add_item("v1", "b"), Err(Error::ReadOnly)));
}
