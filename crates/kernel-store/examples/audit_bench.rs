//! Times the refcount audit on a large, consistent store.
//!
//! `cargo run --release -p kernel-store --example audit_bench [entries]`
//!
//! Builds a kernel-shaped kvStore (vats with export and import c-lists, owned objects,
//! unresolved and settled promises, promise queues, run/acceptance queues, a device c-list,
//! pins, retained vatParameters and vatstore rows) whose refcounts it computes itself,
//! inserts the rows in shuffled order (so rowid order is unrelated to key order, as on a
//! long-lived chain database), and audits it. The audit must come out clean.

use std::time::Instant;

use kernel_store::{audit_refcounts_at, AuditOptions, KernelStore, OpenOptions, DB_FILE_NAME};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Store {
    rows: Vec<(String, String)>,
    /// (reachable, recognizable) per object index; ko number = 20 + index.
    objects: Vec<(u64, u64)>,
    promises: Vec<u64>,
}

impl Store {
    fn put(&mut self, key: String, value: impl Into<String>) {
        self.rows.push((key, value.into()));
    }

    fn hold_object(&mut self, index: usize, reachable: bool) {
        self.objects[index].0 += u64::from(reachable);
        self.objects[index].1 += 1;
    }
}

fn ko(index: usize) -> String {
    format!("ko{}", 20 + index)
}

fn kp(index: usize) -> String {
    format!("kp{}", 40 + index)
}

/// Scales every population so the store has about `target` entries.
fn build(target: usize) -> Store {
    let unit = target / 1_000;
    let vats = 100usize;
    let n_objects = unit * 125;
    let n_promises = unit * 20;
    let n_run = unit * 5;
    let n_accept = unit * 3;
    let n_vatstore = unit * 50;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut s = Store {
        rows: Vec::with_capacity(target + target / 8),
        objects: vec![(0, 0); n_objects],
        promises: vec![0; n_promises],
    };
    let mut next_export = vec![1u64; vats + 1];
    let mut next_import = vec![50u64; vats + 1];
    let mut next_promise = vec![60u64; vats + 1];
    let vat_of = |i: usize| 1 + i % vats;

    for (k, v) in [
        ("version", "3"),
        ("crankNumber", "12345"),
        ("gcActions", "[]"),
        ("reapQueue", "[]"),
        ("vats.terminated", "[]"),
        ("vat.dynamicIDs", "[]"),
        ("device.nextID", "8"),
        ("kd.nextID", "31"),
        ("kd30.owner", "d7"),
        ("d7.c.kd30", "d+0"),
        ("d7.c.d+0", "kd30"),
    ] {
        s.put(k.to_owned(), v);
    }
    s.put("ko.nextID".into(), (20 + n_objects).to_string());
    s.put("kp.nextID".into(), (40 + n_promises).to_string());

    // Objects: owner, export c-list entry, one reachable importer, sometimes a second
    // recognize-only importer, sometimes a device import.
    let mut device_next = 10u64;
    for i in 0..n_objects {
        let owner = vat_of(i);
        let vref = format!("o+{}", next_export[owner]);
        next_export[owner] += 1;
        s.put(format!("{}.owner", ko(i)), format!("v{owner}"));
        s.put(format!("v{owner}.c.{}", ko(i)), format!("R {vref}"));
        s.put(format!("v{owner}.c.{vref}"), ko(i));
        let mut importers = vec![(1 + (owner % vats), true)];
        if rng.below(4) == 0 {
            importers.push((1 + ((owner + 1) % vats), false));
        }
        for (vat, reachable) in importers {
            let vref = format!("o-{}", next_import[vat]);
            next_import[vat] += 1;
            let flag = if reachable { "R" } else { "_" };
            s.put(format!("v{vat}.c.{}", ko(i)), format!("{flag} {vref}"));
            s.put(format!("v{vat}.c.{vref}"), ko(i));
            s.hold_object(i, reachable);
        }
        if rng.below(200) == 0 {
            let dref = format!("o-{device_next}");
            device_next += 1;
            s.put(format!("d7.c.{}", ko(i)), dref.clone());
            s.put(format!("d7.c.{dref}"), ko(i));
            s.hold_object(i, true);
        }
    }

    // Promises: half unresolved (decided by a vat that exports them, sometimes with queued
    // messages), half settled (data.slots naming an object, imported by one vat).
    for p in 0..n_promises {
        let vat = vat_of(p * 7);
        let vpref = format!(
            "p{}{}",
            if p % 2 == 0 { '+' } else { '-' },
            next_promise[vat]
        );
        next_promise[vat] += 1;
        s.put(format!("v{vat}.c.{}", kp(p)), format!("R {vpref}"));
        s.put(format!("v{vat}.c.{vpref}"), kp(p));
        s.promises[p] += 1;
        if p % 2 == 0 {
            s.put(format!("{}.state", kp(p)), "unresolved");
            s.put(format!("{}.decider", kp(p)), format!("v{vat}"));
            s.put(format!("{}.subscribers", kp(p)), "");
            let queued = if rng.below(10) == 0 { 2 } else { 0 };
            s.put(format!("{}.queue.nextID", kp(p)), queued.to_string());
            for q in 0..queued {
                let slot = rng.below(n_objects as u64) as usize;
                s.put(
                    format!("{}.queue.{q}", kp(p)),
                    format!(
                        r##"{{"methargs":{{"body":"#[\"foo\",[\"$0.Alleged: thing\"]]","slots":["{}"]}},"result":null}}"##,
                        ko(slot)
                    ),
                );
                s.promises[p] += 1;
                s.hold_object(slot, true);
            }
        } else {
            let slot = rng.below(n_objects as u64) as usize;
            s.put(format!("{}.state", kp(p)), "fulfilled");
            s.put(
                format!("{}.data.body", kp(p)),
                "#\"$0.Alleged: resolution\"",
            );
            s.put(format!("{}.data.slots", kp(p)), ko(slot));
            s.hold_object(slot, true);
        }
    }

    // Queues: sends with a result promise and an object slot, and notifies.
    for (name, n, head) in [
        ("runQueue", n_run, 1000usize),
        ("acceptanceQueue", n_accept, 77),
    ] {
        s.put(name.into(), format!("[{head},{}]", head + n));
        for i in head..head + n {
            let event = if i % 3 == 0 {
                let p = rng.below(n_promises as u64) as usize;
                s.promises[p] += 1;
                format!(r#"{{"type":"notify","vatID":"v1","kpid":"{}"}}"#, kp(p))
            } else {
                let (target, slot) = (
                    rng.below(n_objects as u64) as usize,
                    rng.below(n_objects as u64) as usize,
                );
                let result = rng.below(n_promises as u64) as usize;
                s.hold_object(target, true);
                s.hold_object(slot, true);
                s.promises[result] += 1;
                format!(
                    r##"{{"type":"send","target":"{}","msg":{{"methargs":{{"body":"#[\"go\",[\"$0.Alleged: x\"]]","slots":["{}"]}},"result":"{}"}}}}"##,
                    ko(target),
                    ko(slot),
                    kp(result)
                )
            };
            s.put(format!("{name}.{i}"), event);
        }
    }

    // Vats: counters, options, retained vatParameters naming an object, vatstore rows.
    for vat in 1..=vats {
        let marker = rng.below(n_objects as u64) as usize;
        s.hold_object(marker, true);
        s.put(
            format!("v{vat}.vatParameters"),
            format!(
                r##"{{"body":"#{{\"marker\":\"$0.Alleged: marker\",\"number\":{vat}}}","slots":["{}"]}}"##,
                ko(marker)
            ),
        );
        s.put(format!("v{vat}.o.nextID"), next_import[vat].to_string());
        s.put(format!("v{vat}.p.nextID"), next_promise[vat].to_string());
        s.put(format!("v{vat}.d.nextID"), "70");
        s.put(
            format!("v{vat}.options"),
            r#"{"name":"bench","reapDirtThreshold":{}}"#,
        );
        s.put(format!("v{vat}.source"), r#"{"bundleID":"b1-0000"}"#);
        s.put(
            format!("v{vat}.reapDirt"),
            r#"{"deliveries":3,"gcKrefs":0,"computrons":1000}"#,
        );
    }
    for i in 0..n_vatstore {
        let vat = vat_of(i);
        s.put(
            format!("v{vat}.vs.vom.o+d{}/{}", 10 + i % 7, i),
            format!(r##"{{"label":"{{\"#tag\":\"item\",\"payload\":{i}}}","slots":[]}}"##),
        );
    }

    let pins: Vec<String> = (0..10).map(|i| ko(i * 3)).collect();
    let mut sorted_pins = pins.clone();
    sorted_pins.sort();
    for i in 0..10 {
        s.hold_object(i * 3, true);
    }
    s.put("pinnedObjects".into(), sorted_pins.join(","));

    // The bootstrap result, held outside the store (passed as external).
    s.promises[0] += 1;

    for i in 0..n_objects {
        let (r, c) = s.objects[i];
        s.put(format!("{}.refCount", ko(i)), format!("{r},{c}"));
    }
    for p in 0..n_promises {
        let n = s.promises[p];
        s.put(format!("{}.refCount", kp(p)), n.to_string());
    }
    s
}

fn main() {
    let target: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("entries: a number"))
        .unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let started = Instant::now();
    let mut store = build(target);
    let mut rng = Rng(0x0ddb_a11c_afe0_0042);
    for i in (1..store.rows.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        store.rows.swap(i, j);
    }
    KernelStore::open(Some(dir.path()), OpenOptions::default())
        .and_then(KernelStore::close)
        .expect("create the schema");
    let path = dir.path().join(DB_FILE_NAME);
    {
        let mut conn = rusqlite::Connection::open(&path).expect("open for loading");
        let txn = conn.transaction().expect("begin");
        {
            let mut insert = txn
                .prepare("INSERT INTO kvStore (key, value) VALUES (?, ?)")
                .expect("prepare");
            for (k, v) in &store.rows {
                insert.execute([k, v]).expect("insert");
            }
        }
        txn.commit().expect("commit");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }
    let entries = store.rows.len();
    drop(store);
    println!(
        "built {entries} entries in {:.2}s ({} MB on disk)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&path).map_or(0, |m| m.len() >> 20)
    );

    let mut rates = Vec::new();
    for run in 1..=3 {
        let mut ticks = 0;
        let mut progress = |_done: u64, _total: u64| ticks += 1;
        let report = audit_refcounts_at(
            dir.path(),
            AuditOptions {
                external: vec!["kp40".into()],
                progress: Some(&mut progress),
            },
        )
        .expect("audit");
        assert!(
            report.is_clean(),
            "the generated store must audit clean: {:#?}",
            report
                .errors
                .iter()
                .chain(&report.warnings)
                .take(5)
                .collect::<Vec<_>>()
        );
        assert_eq!(report.entries_scanned as usize, entries);
        println!(
            "run {run}: {} entries, {} objects, {} promises, {} references, {} passes, {} progress calls: {:.3}s = {:.0} entries/s",
            report.entries_scanned,
            report.objects,
            report.promises,
            report.references,
            report.passes,
            ticks,
            report.elapsed.as_secs_f64(),
            report.entries_per_second
        );
        rates.push(report.entries_per_second);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} entries/s", rates[rates.len() / 2]);

    // One wrong count: the audit reads the store a second time to list that kref's holders.
    rusqlite::Connection::open(&path)
        .and_then(|conn| {
            conn.execute(
                "UPDATE kvStore SET value = '99,99' WHERE key = 'ko20.refCount'",
                [],
            )
        })
        .expect("corrupt one count");
    let report = audit_refcounts_at(
        dir.path(),
        AuditOptions {
            external: vec!["kp40".into()],
            progress: None,
        },
    )
    .expect("audit");
    assert_eq!(report.warnings.len(), 1);
    println!(
        "with one surplus (ko20, {} holders): {} passes, {:.3}s = {:.0} entries/s read",
        report.warnings[0].holders.len(),
        report.passes,
        report.elapsed.as_secs_f64(),
        report.entries_per_second
    );
}
