//! Property test: random sequences of vat lifecycle calls and explicit increments and
//! decrements. After every call, whether it succeeded or was refused, each stored
//! `koNN.refCount` equals the count recomputed from its holders (the retained vatParameters
//! of every vat, plus the explicit increments minus the explicit decrements), never negative,
//! reachable never above recognizable; a refused call changes nothing.

mod common;

use std::collections::BTreeMap;

use common::*;
use kernel_store::{CapData, Facet, KernelStore, RefOptions};

const KREFS: &[&str] = &["ko20", "ko21", "ko22", "ko23"];
const VATS: &[&str] = &["v1", "v2", "v3", "v4"];

#[derive(Default, Clone)]
struct Model {
    /// Net explicit (reachable, recognizable) per object, for objects that exist.
    explicit: BTreeMap<String, (i64, i64)>,
    retained: BTreeMap<String, Vec<String>>,
    terminated: Vec<String>,
}

impl Model {
    fn expected(&self, kref: &str) -> Option<(i64, i64)> {
        let (r, c) = *self.explicit.get(kref)?;
        let held = self
            .retained
            .values()
            .flatten()
            .filter(|s| *s == kref)
            .count() as i64;
        Some((r + held, c + held))
    }

    fn valid(&self) -> bool {
        KREFS.iter().all(|k| {
            self.expected(k)
                .is_none_or(|(r, c)| r >= 0 && c >= 0 && r <= c)
        })
    }

    fn touch(&mut self, kref: &str) {
        self.explicit.entry(kref.to_owned()).or_insert((0, 0));
    }
}

fn random_capdata(rng: &mut Rng) -> CapData {
    let n = rng.below(4) as usize;
    let slots: Vec<String> = (0..n).map(|_| rng.pick(KREFS).to_string()).collect();
    let body = format!(
        "#[{}]",
        (0..n)
            .map(|i| format!("\"${i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    CapData { body, slots }
}

fn check(store: &mut KernelStore, model: &Model, step: usize, what: &str) {
    for kref in KREFS {
        let stored = store.get_object_ref_count(kref).unwrap();
        match model.expected(kref) {
            None => assert!(
                !stored.exists,
                "step {step} ({what}): {kref} should not exist"
            ),
            Some((r, c)) => {
                assert!(stored.exists, "step {step} ({what}): {kref} should exist");
                assert_eq!(
                    (stored.reachable as i64, stored.recognizable as i64),
                    (r, c),
                    "step {step} ({what}): {kref}"
                );
                assert!(stored.reachable <= stored.recognizable);
            }
        }
    }
}

/// Returns how many calls succeeded and how many were refused.
fn run(seed: u64, steps: usize) -> (usize, usize) {
    let mut outcomes = (0, 0);
    let mut rng = Rng::new(seed);
    let mut store = memory_store();
    for vat in VATS {
        store
            .kv_set(Facet::Kernel, format!("{vat}.o.nextID"), "50")
            .unwrap();
        store
            .kv_set(Facet::Kernel, format!("{vat}.options"), "{}")
            .unwrap();
    }
    store
        .kv_set(Facet::Kernel, "vats.terminated", "[]")
        .unwrap();
    let mut model = Model::default();

    for step in 0..steps {
        let vat = *rng.pick(VATS);
        let kref = *rng.pick(KREFS);
        let only_recognizable = rng.below(3) == 0;
        let options = RefOptions {
            is_export: false,
            only_recognizable,
        };
        let mut next = model.clone();
        let live = !model.terminated.iter().any(|v| v == vat);
        let (what, result): (String, Result<(), kernel_store::Error>) = match rng.below(7) {
            0 | 1 => {
                next.touch(kref);
                let e = next.explicit.get_mut(kref).unwrap();
                e.0 += i64::from(!only_recognizable);
                e.1 += 1;
                (
                    format!("increment {kref}"),
                    store.increment_ref_count(kref, "t", options),
                )
            }
            2 | 3 => {
                if let Some(e) = next.explicit.get_mut(kref) {
                    e.0 -= i64::from(!only_recognizable);
                    e.1 -= 1;
                }
                (
                    format!("decrement {kref}"),
                    store.decrement_ref_count(kref, "t", options).map(|_| ()),
                )
            }
            4 => {
                let cd = random_capdata(&mut rng);
                cd.slots.iter().for_each(|s| next.touch(s));
                next.retained.insert(vat.to_owned(), cd.slots.clone());
                (
                    format!("create {vat} {:?}", cd.slots),
                    store.create_vat(vat, Some(&cd)).map(|_| ()),
                )
            }
            5 => {
                let cd = (rng.below(2) == 0).then(|| random_capdata(&mut rng));
                if let Some(cd) = &cd {
                    cd.slots.iter().for_each(|s| next.touch(s));
                    next.retained.insert(vat.to_owned(), cd.slots.clone());
                }
                let r = store.upgrade_vat(vat, cd.as_ref());
                if cd.is_none() && live && model.retained.contains_key(vat) {
                    assert_eq!(
                        r.as_ref().unwrap().slots,
                        model.retained[vat],
                        "step {step}: reuse returns the retained copy"
                    );
                }
                (
                    format!("upgrade {vat} {:?}", cd.map(|c| c.slots)),
                    r.map(|_| ()),
                )
            }
            _ => {
                next.retained.remove(vat);
                next.terminated.push(vat.to_owned());
                let r = store.terminate_vat(vat).map(|_| ());
                if r.is_ok() {
                    store
                        .kv_set(
                            Facet::Kernel,
                            "vats.terminated",
                            format!("{:?}", next.terminated).replace(' ', ""),
                        )
                        .unwrap();
                }
                (format!("terminate {vat}"), r)
            }
        };
        let legacy_upgrade = what.starts_with("upgrade")
            && what.ends_with("None")
            && !model.retained.contains_key(vat);
        let lifecycle = !what.starts_with("increment") && !what.starts_with("decrement");
        let should_succeed = next.valid() && (live || !lifecycle) && !legacy_upgrade;
        match &result {
            Ok(()) => {
                assert!(
                    should_succeed,
                    "step {step} ({what}) succeeded but the model refuses it"
                );
                model = next;
                outcomes.0 += 1;
            }
            Err(e) => {
                outcomes.1 += 1;
                assert!(
                    !should_succeed,
                    "step {step} ({what}) failed unexpectedly: {e}"
                );
                if legacy_upgrade && live {
                    assert_eq!(e.code(), "ERR_NO_RETAINED_VATPARAMETERS");
                }
            }
        }
        check(&mut store, &model, step, &what);
    }
    outcomes
}

#[test]
fn stored_counts_always_equal_the_counts_recomputed_from_their_holders() {
    let (mut succeeded, mut refused) = (0, 0);
    for seed in 1..=40 {
        let (s, r) = run(seed, 400);
        succeeded += s;
        refused += r;
    }
    assert!(
        succeeded > 4_000 && refused > 1_000,
        "both outcomes exercised: {succeeded} ok, {refused} refused"
    );
}
