//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kernel_store::{
    ExportDataCursor, ExportRow, Exporter, KernelStore, OpenOptions, Result, RowSink,
};

pub fn memory_store() -> KernelStore {
    KernelStore::open(None, OpenOptions::default()).expect("open in-memory store")
}

pub fn memory_store_with_exports() -> KernelStore {
    KernelStore::open(
        None,
        OpenOptions {
            track_exports: true,
            ..Default::default()
        },
    )
    .expect("open in-memory store")
}

/// An export-callback stand-in that ignores the rows.
pub fn ignore(_: Vec<ExportRow>) -> Result<()> {
    Ok(())
}

pub fn commit(store: &mut KernelStore) {
    store.commit(&mut ignore).expect("commit");
}

pub fn end_crank(store: &mut KernelStore) {
    store.end_crank(&mut ignore).expect("endCrank");
}

pub fn get(store: &mut KernelStore, key: &str) -> Option<String> {
    store
        .kv_get(key)
        .expect("get")
        .map(|v| String::from_utf8(v.to_vec()).expect("UTF-8 value"))
}

pub fn next_key(store: &mut KernelStore, key: &str) -> Option<String> {
    store
        .kv_next_key(key)
        .expect("getNextKey")
        .map(|k| String::from_utf8(k).expect("UTF-8 key"))
}

/// Every entry as text.
pub fn entries(store: &mut KernelStore) -> Vec<(String, String)> {
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8");
    store
        .kv_entries()
        .expect("entries")
        .into_iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

/// A small deterministic PRNG (xorshift64*), so property tests need no extra crates.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// An export row as text: `(key, Some(value))`, or `(key, None)` for a deletion.
pub type TextRow = (String, Option<String>);

fn text_rows(rows: Vec<ExportRow>) -> Vec<TextRow> {
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 export data");
    rows.into_iter()
        .map(|(k, v)| (text(k), v.map(text)))
        .collect()
}

/// Commits, returning the export rows the callback was handed (none if it was not called).
pub fn commit_capturing(store: &mut KernelStore) -> Vec<TextRow> {
    let mut captured = Vec::new();
    store
        .commit(&mut |rows| {
            captured.extend(text_rows(rows));
            Ok(())
        })
        .expect("commit");
    captured
}

/// Ends the crank, returning the export rows the callback was handed.
pub fn end_crank_capturing(store: &mut KernelStore) -> Vec<TextRow> {
    let mut captured = Vec::new();
    store
        .end_crank(&mut |rows| {
            captured.extend(text_rows(rows));
            Ok(())
        })
        .expect("endCrank");
    captured
}

/// An export row as `row("k", Some("v"))` writes it in an expectation.
pub fn row(key: &str, value: Option<&str>) -> TextRow {
    (key.to_owned(), value.map(str::to_owned))
}

/// An in-memory store with exports tracked and the given options otherwise.
pub fn memory_store_with(options: OpenOptions) -> KernelStore {
    KernelStore::open(
        None,
        OpenOptions {
            track_exports: true,
            ..options
        },
    )
    .expect("open in-memory store")
}

/// A store in `dir` with exports tracked.
pub fn disk_store(dir: &std::path::Path) -> KernelStore {
    KernelStore::open(
        Some(dir),
        OpenOptions {
            track_exports: true,
            ..Default::default()
        },
    )
    .expect("open on-disk store")
}

/// A second, plain SQLite connection to a store's file, to look at (or damage) rows the way
/// another program would. Only committed rows are visible to it.
pub fn raw_connection(store: &KernelStore) -> rusqlite::Connection {
    rusqlite::Connection::open(store.db_path().expect("an on-disk store")).expect("open raw")
}

/// Export-data rows as strings.
#[derive(Default)]
pub struct Rows(pub Vec<(String, String)>);

impl RowSink for Rows {
    fn row(&mut self, key: &[u8], value: &[u8]) {
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
        self.0.push((text(key), text(value)));
    }
}

/// All of `exporter`'s export data, read `page` rows at a time.
pub fn export_data(exporter: &mut Exporter, page: usize) -> Vec<(String, String)> {
    let mut cursor = ExportDataCursor::default();
    let mut rows = Rows::default();
    while exporter
        .export_data_page(&mut cursor, page, &mut rows)
        .unwrap()
        > 0
    {}
    rows.0
}

/// The keys of all of `exporter`'s export data, read `page` rows at a time.
pub fn export_keys(exporter: &mut Exporter, page: usize) -> Vec<String> {
    export_data(exporter, page)
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}
