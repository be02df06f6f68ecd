//! Property test: random streams of kvStore and crank operations give the same reads,
//! contents and hashes as a plain in-memory model of swing-store's semantics (a map, a stack
//! of copies for savepoints, a SHA-256 over every kernel consensus write).

mod common;

use std::collections::BTreeMap;

use common::*;
use kernel_store::{hex, Facet, KernelStore, OpenOptions};
use sha2::{Digest, Sha256};

#[derive(Default)]
struct Model {
    map: BTreeMap<String, String>,
    savepoints: Vec<(String, BTreeMap<String, String>)>,
    in_crank: bool,
    hashed: Vec<u8>,
}

impl Model {
    fn write(&mut self, facet: Facet, key: &str, value: Option<&str>) -> bool {
        let host = key.starts_with("host.");
        if (facet == Facet::Kernel && host) || (facet == Facet::Host && !host) {
            return false;
        }
        match value {
            Some(v) => self.map.insert(key.to_owned(), v.to_owned()),
            None => self.map.remove(key),
        };
        if facet == Facet::Kernel && !host && !key.starts_with("local.") {
            match value {
                Some(v) => self.hashed.extend(format!("add\n{key}\n{v}\n").bytes()),
                None => self.hashed.extend(format!("delete\n{key}\n").bytes()),
            }
        }
        true
    }

    fn next_key(&self, prev: &str) -> Option<String> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.map
            .range::<str, _>((Excluded(prev), Unbounded))
            .next()
            .map(|(k, _)| k.clone())
    }

    fn emit(&mut self) -> (String, String) {
        let crankhash = hex::encode(&Sha256::digest(&self.hashed));
        self.hashed.clear();
        let old = self.map.get("activityhash").map_or("", String::as_str);
        let activityhash = hex::sha256_hex(&format!("activityhash\n{old}\n{crankhash}\n"));
        self.map.insert("activityhash".into(), activityhash.clone());
        (crankhash, activityhash)
    }
}

const KEYS: &[&str] = &[
    "a",
    "activityhash",
    "b",
    "ko20.refCount",
    "local.x",
    "host.y",
    "é",
    "€",
    "😀",
    "",
    "v1.c.ko1",
    "v1.c.o+1",
    "z",
];
const VALUES: &[&str] = &["", "1", "1,1", "R o+1", "€uro", "x\0y"];
const NAMES: &[&str] = &["start", "deliver", "deliver"];

fn run(seed: u64, mut store: KernelStore, ops: usize) -> (KernelStore, Model) {
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    for step in 0..ops {
        let facet = *rng.pick(&[
            Facet::Kernel,
            Facet::Kernel,
            Facet::Kernel,
            Facet::Host,
            Facet::Raw,
        ]);
        let key = *rng.pick(KEYS);
        match rng.below(14) {
            0..=3 => {
                let value = *rng.pick(VALUES);
                let ok = store.kv_set(facet, key, value).is_ok();
                assert_eq!(
                    ok,
                    model.write(facet, key, Some(value)),
                    "step {step}: set {key}"
                );
            }
            4 => {
                let ok = store.kv_delete(facet, key).is_ok();
                assert_eq!(
                    ok,
                    model.write(facet, key, None),
                    "step {step}: delete {key}"
                );
            }
            5 | 6 => assert_eq!(
                get(&mut store, key),
                model.map.get(key).cloned(),
                "step {step}: get {key}"
            ),
            7 => assert_eq!(
                next_key(&mut store, key),
                model.next_key(key),
                "step {step}: next {key}"
            ),
            8 => {
                let ok = store.start_crank().is_ok();
                assert_eq!(ok, !model.in_crank);
                if ok {
                    model.in_crank = true;
                    model.hashed.clear();
                }
            }
            9 => {
                let name = *rng.pick(NAMES);
                let ok = store.establish_crank_savepoint(name).is_ok();
                assert_eq!(ok, model.in_crank);
                if ok {
                    model.savepoints.push((name.to_owned(), model.map.clone()));
                }
            }
            10 => {
                let name = *rng.pick(NAMES);
                let ok = store.rollback_crank(name).is_ok();
                let target = model.savepoints.iter().position(|(n, _)| n == name);
                assert_eq!(
                    ok,
                    model.in_crank && target.is_some(),
                    "step {step}: rollback {name}"
                );
                if let (true, Some(i)) = (ok, target) {
                    model.map = model.savepoints[i].1.clone();
                    model.savepoints.truncate(i);
                }
            }
            11 => {
                let ok = store.end_crank(&mut ignore).is_ok();
                assert_eq!(ok, model.in_crank);
                model.in_crank = false;
                model.savepoints.clear();
            }
            12 => {
                let ours = store.emit_crank_hashes().unwrap();
                assert_eq!(
                    (ours.crankhash, ours.activityhash),
                    model.emit(),
                    "step {step}: emit"
                );
            }
            _ => {
                if !model.in_crank {
                    commit(&mut store);
                }
            }
        }
    }
    let expected: Vec<(String, String)> = model
        .map
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(entries(&mut store), expected);
    (store, model)
}

#[test]
fn random_operation_streams_match_the_model_in_memory() {
    for seed in 1..=20 {
        run(seed, memory_store(), 2_000);
    }
}

#[test]
fn random_operation_streams_match_the_model_on_disk_with_spills_and_reopen() {
    for seed in 100..105 {
        let dir = tempfile::tempdir().unwrap();
        let options = OpenOptions {
            spill_threshold_bytes: 64,
            ..Default::default()
        };
        let store = KernelStore::open(Some(dir.path()), options).unwrap();
        let (mut store, model) = run(seed, store, 3_000);
        if store.in_crank() {
            end_crank(&mut store);
        }
        commit(&mut store);
        store.close().unwrap();
        let mut reopened = KernelStore::open(Some(dir.path()), OpenOptions::default()).unwrap();
        let expected: Vec<(String, String)> = model.map.into_iter().collect();
        assert_eq!(entries(&mut reopened), expected);
    }
}
