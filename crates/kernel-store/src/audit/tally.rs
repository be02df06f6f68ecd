//! What the passes accumulate: pass one's per-kref tallies (computed counts next to the stored
//! ones, owners, export flags), their classification into findings (docs/refcounts.md §3
//! tolerances and GC-action invariants), and pass two's holder lists for the krefs found.

use std::collections::HashMap;

use super::scan::{is_promise, kref_string, GcVerb, IdBuild, KrefId, Scanner, Sink};
use super::{Count, Finding, FindingKind, Holder};

/// What `koNN.refCount` / `kpNN.refCount` held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stored {
    #[default]
    Absent,
    /// Counts in `Tally::stored`; a promise's one count is in both.
    Object,
    Promise,
    /// Already reported as malformed; not compared.
    Unreadable,
}

/// No vat: vat numbers are what the kernel allocates from 1, and `parse_vat` caps them below.
const NO_VAT: u32 = u32::MAX;

/// One kref as pass one saw it. Kept small: the table has an entry per kref and is hit in
/// table order, so its size is most of the pass's cache misses.
#[derive(Debug)]
struct Tally {
    /// Computed counts; for a promise both are the one count.
    reachable: u32,
    recognizable: u32,
    /// References from imports whose vat has a `retireImport` pending.
    tolerated: u32,
    /// `koNN.owner`, or `NO_VAT`.
    owner: u32,
    /// The vat of the export entry `vNN.c.koX = "<flag> o+…"` seen for it, or `NO_VAT`.
    exporter: u32,
    exporter_flag: u8,
    stored_kind: Stored,
    /// The stored `(reachable, recognizable)`, or `(n, n)` for a promise.
    stored: (u64, u64),
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            reachable: 0,
            recognizable: 0,
            tolerated: 0,
            owner: NO_VAT,
            exporter: NO_VAT,
            exporter_flag: 0,
            stored_kind: Stored::Absent,
            stored: (0, 0),
        }
    }
}

impl Tally {
    fn owner(&self) -> Option<u32> {
        (self.owner != NO_VAT).then_some(self.owner)
    }
}

/// A finding, still keyed by kref id for sorting and for pass two.
pub(super) struct Pending {
    pub id: Option<KrefId>,
    pub finding: Finding,
}

/// Pass one: recomputes every count from its holders.
#[derive(Default)]
pub(super) struct Counter {
    tallies: HashMap<KrefId, Tally, IdBuild>,
    /// Export entries beyond the first for one object (only a corrupt store has them): the
    /// owner may be any of the exporters, and owners and exports arrive in any order.
    extra_exporters: Vec<(KrefId, u32, u8)>,
    problems: Vec<Pending>,
    pub objects: u64,
    pub promises: u64,
    pub references: u64,
}

impl Sink for Counter {
    fn hold(
        &mut self,
        id: KrefId,
        reachable: bool,
        tolerated: bool,
        _key: &[u8],
        _what: &'static str,
    ) {
        let tally = self.tallies.entry(id).or_default();
        tally.reachable = tally.reachable.saturating_add(u32::from(reachable));
        tally.recognizable = tally.recognizable.saturating_add(1);
        tally.tolerated = tally.tolerated.saturating_add(u32::from(tolerated));
        self.references += 1;
    }

    fn object_count(&mut self, id: KrefId, reachable: u64, recognizable: u64) {
        self.objects += 1;
        let tally = self.tallies.entry(id).or_default();
        tally.stored_kind = Stored::Object;
        tally.stored = (reachable, recognizable);
    }

    fn promise_count(&mut self, id: KrefId, count: u64) {
        self.promises += 1;
        let tally = self.tallies.entry(id).or_default();
        tally.stored_kind = Stored::Promise;
        tally.stored = (count, count);
    }

    fn unreadable_count(&mut self, id: KrefId) {
        if is_promise(id) {
            self.promises += 1;
        } else {
            self.objects += 1;
        }
        self.tallies.entry(id).or_default().stored_kind = Stored::Unreadable;
    }

    fn owner(&mut self, id: KrefId, vat: u32) {
        self.tallies.entry(id).or_default().owner = vat;
    }

    fn export_entry(&mut self, vat: u32, id: KrefId, flag: u8) {
        let tally = self.tallies.entry(id).or_default();
        if tally.exporter != NO_VAT && tally.exporter != vat {
            self.extra_exporters.push((id, vat, flag));
        } else {
            tally.exporter = vat;
            tally.exporter_flag = flag;
        }
    }

    fn problem(&mut self, kind: FindingKind, key: &[u8], kref: Option<KrefId>, message: String) {
        self.problems.push(Pending {
            id: kref,
            finding: Finding {
                kind,
                kref: kref.map(kref_string),
                key: Some(String::from_utf8_lossy(key).into_owned()),
                stored: None,
                computed: None,
                holders: Vec::new(),
                message,
            },
        });
    }
}

fn count(id: KrefId, reachable: u64, recognizable: u64) -> Count {
    if is_promise(id) {
        Count::Promise(recognizable)
    } else {
        Count::Object {
            reachable,
            recognizable,
        }
    }
}

impl Counter {
    /// Compares every tally with its stored count and checks the GC-action invariants.
    pub fn classify(self, scanner: &Scanner) -> Vec<Pending> {
        let mut findings = self.problems;
        let extra: HashMap<(KrefId, u32), u8> = self
            .extra_exporters
            .iter()
            .map(|&(id, vat, flag)| ((id, vat), flag))
            .collect();
        for (&id, tally) in &self.tallies {
            // The owner's export flag (`b'R'` / `b'_'`), 0 when the owner has no export entry.
            let owner_flag = match tally.owner() {
                Some(owner) if tally.exporter == owner => tally.exporter_flag,
                Some(owner) => extra.get(&(id, owner)).copied().unwrap_or(0),
                None => 0,
            };
            classify_one(id, tally, owner_flag, scanner, &mut findings);
        }
        findings
    }
}

fn classify_one(id: KrefId, t: &Tally, owner_flag: u8, scanner: &Scanner, out: &mut Vec<Pending>) {
    let kref = kref_string(id);
    let computed = count(id, t.reachable.into(), t.recognizable.into());
    let (r, c) = t.stored;
    let stored = match t.stored_kind {
        Stored::Unreadable => return,
        Stored::Object => Some(Count::Object {
            reachable: r,
            recognizable: c,
        }),
        Stored::Promise => Some(Count::Promise(r)),
        Stored::Absent => None,
    };
    let mut push = |kind, message: String| {
        out.push(Pending {
            id: Some(id),
            finding: Finding {
                kind,
                kref: Some(kref.clone()),
                key: None,
                stored,
                computed: Some(computed),
                holders: Vec::new(),
                message,
            },
        })
    };

    let Some(stored_count) = stored else {
        if t.recognizable == 0 {
            if let Some(owner) = t.owner() {
                push(
                    FindingKind::OwnerWithoutRefCount,
                    format!("{kref}.owner = v{owner} remains, but {kref}.refCount (whether the object exists) is gone"),
                );
            }
        } else if !is_promise(id) && t.tolerated == t.recognizable {
            push(
                FindingKind::PendingRetireImport,
                format!("{kref} is deleted; its importers' c-list entries wait for the retireImport pending in gcActions"),
            );
        } else {
            push(
                FindingKind::MissingRefCount,
                format!("{kref} has no {kref}.refCount, but its holders account for {computed}"),
            );
        }
        return;
    };

    if stored_count != computed {
        let deficit = match (stored_count, computed) {
            (
                Count::Object {
                    reachable: r,
                    recognizable: c,
                },
                Count::Object {
                    reachable: cr,
                    recognizable: cc,
                },
            ) => r < cr || c < cc,
            (Count::Promise(n), Count::Promise(cn)) => n < cn,
            _ => false,
        };
        if deficit {
            push(
                FindingKind::Deficit,
                format!("{kref}.refCount is {stored_count} but its holders account for {computed}: the kernel may free it while it is still held"),
            );
        } else {
            push(
                FindingKind::Surplus,
                format!("{kref}.refCount is {stored_count} but its holders account for {computed}: a holder outside the kvStore, or a leaked count"),
            );
        }
    }

    match t.stored_kind {
        Stored::Object => {
            let live_owner = t.owner().filter(|v| !scanner.terminated.contains(v));
            let pending = |vat, verb| scanner.gc_actions.contains(&(vat, verb, id));
            match live_owner {
                Some(v) => {
                    if owner_flag == 0 {
                        push(
                            FindingKind::MissingOwnerExport,
                            format!("{kref} is owned by live vat v{v}, but v{v}.c.{kref} (its export entry) is missing"),
                        );
                    }
                    if r == 0 && owner_flag == b'R' && !pending(v, GcVerb::DropExport) {
                        push(
                            FindingKind::MissingDropExport,
                            format!("{kref} is unreachable ({stored_count}) and v{v} still holds its export as reachable, but gcActions lacks \"v{v} dropExport {kref}\""),
                        );
                    }
                    if c == 0 {
                        if pending(v, GcVerb::RetireExport) {
                            push(
                                FindingKind::ZeroCount,
                                format!("{kref}.refCount is 0,0 with live owner v{v}, waiting for the pending retireExport"),
                            );
                        } else {
                            push(
                                FindingKind::MissingRetireExport,
                                format!("{kref} is unrecognizable ({stored_count}) with live owner v{v}, but gcActions lacks \"v{v} retireExport {kref}\""),
                            );
                        }
                    }
                }
                None if r == 0 => {
                    let whose = match t.owner() {
                        Some(v) => format!("its owner v{v} is terminated"),
                        None => "it has no owner".to_owned(),
                    };
                    push(
                        FindingKind::ZeroCount,
                        format!("{kref}.refCount is {stored_count} and {whose}: freed outside a crank and left for the next processRefcounts"),
                    );
                }
                None => {}
            }
        }
        Stored::Promise if r == 0 => push(
            FindingKind::ZeroCount,
            format!("{kref}.refCount is 0: freed outside a crank (e.g. by kpResolution) and left for the next processRefcounts"),
        ),
        _ => {}
    }
}

/// Pass two: the holders of the krefs pass one found something about.
pub(super) struct Collector {
    pub holders: HashMap<KrefId, Vec<Holder>, IdBuild>,
}

impl Sink for Collector {
    fn hold(
        &mut self,
        id: KrefId,
        reachable: bool,
        _tolerated: bool,
        key: &[u8],
        what: &'static str,
    ) {
        let Some(list) = self.holders.get_mut(&id) else {
            return;
        };
        let adds = count(id, u64::from(reachable), 1);
        match list.last_mut() {
            // One key holding the same kref in the same role twice (duplicate slots).
            Some(last) if last.what == what && last.key.as_bytes() == key => {
                last.adds = last.adds.plus(adds);
            }
            _ => list.push(Holder {
                key: String::from_utf8_lossy(key).into_owned(),
                what,
                adds,
            }),
        }
    }
}
