//! One pass over `kvStore`: every key that holds a reference is recognised from its name
//! alone and turned into `hold` calls on a [`Sink`], together with the stored counts, owners
//! and export flags the comparison needs (docs/refcounts.md §3).
//!
//! Nothing here depends on the order entries arrive in. The four keys that decide how other
//! keys are read or judged — `gcActions` (which imports wait for a `retireImport`),
//! `vats.terminated` (which owners are live), and the `runQueue` / `acceptanceQueue` bounds
//! (which items are live) — are read first by key, and the owner/export pairing is settled after the pass. That lets the pass read the
//! table in rowid order: on a store whose rows were not inserted in key order, a key-ordered
//! scan looks every row up through the key index, several times slower.
//!
//! Nothing else is kept per key: memory grows with the number of krefs, pending GC actions
//! and findings, never with the number of entries.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;

use super::FindingKind;
use crate::ids::{self, KrefKind};

/// A counted kref packed into one integer: the number shifted left, the low bit set for a
/// promise. Device nodes (`kdNN`) are never counted, so they have no id.
pub(super) type KrefId = u64;

pub(super) fn is_promise(id: KrefId) -> bool {
    id & 1 == 1
}

pub(super) fn kref_string(id: KrefId) -> String {
    format!("{}{}", if is_promise(id) { "kp" } else { "ko" }, id >> 1)
}

/// A multiplicative hasher for kref ids: they are dense small integers, and SipHash would
/// cost more than the rest of the per-entry work.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub(super) type IdBuild = BuildHasherDefault<IdHasher>;

pub(super) enum Kref {
    Counted(KrefId),
    Device,
}

/// `koNN` / `kpNN` / `kdNN`, strictly (`ids::Kref`): anything else is not a kref the
/// kernel could write.
pub(super) fn parse_kref(text: &[u8]) -> Option<Kref> {
    let kref = ids::Kref::parse(text)?;
    match kref.kind {
        KrefKind::Object => Some(Kref::Counted(kref.number << 1)),
        KrefKind::Promise => Some(Kref::Counted((kref.number << 1) | 1)),
        KrefKind::Device => Some(Kref::Device),
    }
}

/// A vat number; `u32::MAX` is left out so it can mean "no vat".
fn vat_number(n: u64) -> Option<u32> {
    u32::try_from(n).ok().filter(|&n| n < u32::MAX)
}

/// `vNN` as a vat number.
fn parse_vat(text: &[u8]) -> Option<u32> {
    ids::vat_number(text).and_then(vat_number)
}

/// Splits `<letter><digits>.<rest>` (`v12.c.ko5`, `ko20.refCount`) after `prefix_len` bytes.
fn split_numbered(key: &[u8], prefix_len: usize) -> Option<(u64, &[u8])> {
    let after = key.get(prefix_len..)?;
    let dot = after.iter().position(|&b| b == b'.')?;
    Some((ids::canonical_number(&after[..dot])?, &after[dot + 1..]))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the pass reports. Pass one counts; the holder pass only listens to `hold`.
pub(super) trait Sink {
    /// One reference to `id` held by `key`. `reachable` is false only for a `_`-flagged vat
    /// import; `tolerated` marks an import whose vat has a `retireImport` pending.
    fn hold(
        &mut self,
        id: KrefId,
        reachable: bool,
        tolerated: bool,
        key: &[u8],
        what: &'static str,
    );
    fn object_count(&mut self, _id: KrefId, _reachable: u64, _recognizable: u64) {}
    fn promise_count(&mut self, _id: KrefId, _count: u64) {}
    /// A refCount key whose value is not a count (already reported as a problem).
    fn unreadable_count(&mut self, _id: KrefId) {}
    fn owner(&mut self, _id: KrefId, _vat: u32) {}
    /// The export entry `vNN.c.koX = "<flag> o+…"`.
    fn export_entry(&mut self, _vat: u32, _id: KrefId, _flag: u8) {}
    fn problem(
        &mut self,
        _kind: FindingKind,
        _key: &[u8],
        _kref: Option<KrefId>,
        _message: String,
    ) {
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum GcVerb {
    DropExport,
    RetireExport,
    RetireImport,
}

#[derive(Clone, Copy, Debug, Default)]
enum Bounds {
    /// No bounds key.
    #[default]
    Unseen,
    Unreadable,
    Seen {
        head: u64,
        tail: u64,
    },
}

#[derive(Debug, Default)]
struct Queue {
    bounds: Bounds,
    /// Items found in `[head, tail)`.
    live: u64,
}

const QUEUES: [&str; 2] = ["acceptanceQueue", "runQueue"];

/// The state one pass builds from the keys it has seen.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    /// `gcActions`, parsed: `(vat, verb, kref)`.
    pub gc_actions: HashSet<(u32, GcVerb, KrefId)>,
    /// `vats.terminated`, parsed.
    pub terminated: HashSet<u32>,
    queues: [Queue; 2],
}

impl Scanner {
    /// Reads the keys that decide how the others are read (`gcActions`, `vats.terminated`,
    /// the queue bounds), each by key, before the pass.
    pub fn prepare(
        sink: &mut impl Sink,
        get: &mut impl FnMut(&str) -> crate::error::Result<Option<Vec<u8>>>,
    ) -> crate::error::Result<Scanner> {
        let mut scanner = Scanner::default();
        if let Some(value) = get("gcActions")? {
            scanner.gc_actions(sink, b"gcActions", &value);
        }
        if let Some(value) = get("vats.terminated")? {
            scanner.vats_terminated(sink, b"vats.terminated", &value);
        }
        for (name, queue) in QUEUES.iter().zip(&mut scanner.queues) {
            if let Some(value) = get(name)? {
                queue.bounds = match parse_bounds(&value) {
                    Some((head, tail)) => Bounds::Seen { head, tail },
                    None => {
                        sink.problem(
                            FindingKind::Malformed,
                            name.as_bytes(),
                            None,
                            format!("{name} = {:?} is not \"[head,tail]\"", lossy(&value)),
                        );
                        Bounds::Unreadable
                    }
                };
            }
        }
        Ok(scanner)
    }

    /// Looks at one entry; anything that is not a holder, a count or an owner is skipped
    /// after a glance at its first bytes.
    pub fn entry(&mut self, sink: &mut impl Sink, key: &[u8], value: &[u8]) {
        match key.first() {
            Some(b'v') => self.vat_key(sink, key, value),
            Some(b'k') => self.kernel_key(sink, key, value),
            Some(b'd') => device_key(sink, key, value),
            Some(b'a') if key.starts_with(QUEUES[0].as_bytes()) => {
                self.queue_key(sink, 0, key, value)
            }
            Some(b'r') if key.starts_with(QUEUES[1].as_bytes()) => {
                self.queue_key(sink, 1, key, value)
            }
            Some(b'p') if key == b"pinnedObjects" => {
                comma_list(sink, key, value, "pinned");
            }
            Some(b'u') if key == b"upgradeEvents" => upgrade_events(sink, key, value),
            _ => {}
        }
    }

    /// After the last entry: a queue whose `[head, tail)` is not fully present.
    pub fn finish(&mut self, sink: &mut impl Sink) {
        for (name, queue) in QUEUES.iter().zip(&self.queues) {
            if let Bounds::Seen { head, tail } = queue.bounds {
                if queue.live < tail - head {
                    sink.problem(
                        FindingKind::MissingQueueItem,
                        name.as_bytes(),
                        None,
                        format!(
                            "{name} is [{head},{tail}] but only {} of its {} items exist",
                            queue.live,
                            tail - head
                        ),
                    );
                }
            }
        }
    }

    fn vat_key(&mut self, sink: &mut impl Sink, key: &[u8], value: &[u8]) {
        let Some((vat, rest)) = split_numbered(key, 1) else {
            return;
        };
        let Some(vat) = vat_number(vat) else { return };
        if rest.starts_with(b"c.k") {
            self.vat_clist(sink, vat, key, &rest[2..], value);
        } else if rest == b"vatParameters" {
            vat_parameters(sink, key, value);
        }
    }

    /// `vNN.c.<kref> = "<F> <vref>"` (§1.5, H1-H3).
    fn vat_clist(&mut self, sink: &mut impl Sink, vat: u32, key: &[u8], kref: &[u8], value: &[u8]) {
        let Some(id) = clist_kref(sink, key, kref) else {
            return;
        };
        let (flag, vref) = match value {
            [flag @ (b'R' | b'_'), b' ', vref @ ..] if vref.len() >= 2 => (*flag, vref),
            _ => {
                return sink.problem(
                    FindingKind::Malformed,
                    key,
                    Some(id),
                    format!(
                        "{} = {:?} is not \"R <vref>\" or \"_ <vref>\"",
                        lossy(key),
                        lossy(value)
                    ),
                )
            }
        };
        if is_promise(id) {
            return sink.hold(id, true, false, key, "vat c-list promise");
        }
        match (vref[0], vref[1]) {
            (b'o', b'-') => {
                let tolerated = self.gc_actions.contains(&(vat, GcVerb::RetireImport, id));
                let what = match (tolerated, flag) {
                    (true, _) => "vat c-list import (retireImport pending)",
                    (false, b'R') => "vat c-list import",
                    (false, _) => "vat c-list import (recognizable only)",
                };
                sink.hold(id, flag == b'R', tolerated, key, what);
            }
            (b'o', b'+') => sink.export_entry(vat, id, flag),
            _ => sink.problem(
                FindingKind::Malformed,
                key,
                Some(id),
                format!(
                    "{} = {:?}: an object c-list entry needs an o+/o- vref",
                    lossy(key),
                    lossy(value)
                ),
            ),
        }
    }

    /// `koNN.refCount`, `koNN.owner`, `kpNN.refCount`, `kpNN.queue.<i>`, `kpNN.data.slots`.
    fn kernel_key(&mut self, sink: &mut impl Sink, key: &[u8], value: &[u8]) {
        let promise = match key.get(1) {
            Some(b'o') => false,
            Some(b'p') => true,
            _ => return,
        };
        let Some((n, suffix)) = split_numbered(key, 2) else {
            return;
        };
        let id = (n << 1) | u64::from(promise);
        match (promise, suffix) {
            (_, b"refCount") => refcount(sink, id, key, value),
            (false, b"owner") => match parse_vat(value) {
                Some(vat) => sink.owner(id, vat),
                None => sink.problem(
                    FindingKind::Malformed,
                    key,
                    Some(id),
                    format!("{} = {:?} is not a vatID", lossy(key), lossy(value)),
                ),
            },
            (true, b"data.slots") => comma_list(sink, key, value, "resolution data"),
            (true, _) => {
                // `kpNN.queue.<i>`; `kpNN.queue.nextID` is the counter, not a message.
                let index = suffix.strip_prefix(b"queue.");
                if index.and_then(ids::canonical_number).is_some() {
                    promise_queue_message(sink, id, key, value);
                }
            }
            _ => {}
        }
    }

    fn queue_key(&mut self, sink: &mut impl Sink, which: usize, key: &[u8], value: &[u8]) {
        let name = QUEUES[which];
        let queue = &mut self.queues[which];
        let rest = &key[name.len()..];
        let Some(index) = rest.strip_prefix(b".").and_then(ids::canonical_number) else {
            return;
        };
        match queue.bounds {
            Bounds::Seen { head, tail } if (head..tail).contains(&index) => {
                queue.live += 1;
                match serde_json::from_slice::<Value>(value) {
                    Ok(event) => queue_event(sink, key, &event),
                    Err(e) => not_json(sink, key, value, &e),
                }
            }
            Bounds::Seen { head, tail } => sink.problem(
                FindingKind::StaleQueueItem,
                key,
                None,
                format!(
                    "{} is outside {name} [{head},{tail}]: not counted",
                    lossy(key)
                ),
            ),
            Bounds::Unseen => sink.problem(
                FindingKind::StaleQueueItem,
                key,
                None,
                format!(
                    "{} exists but {name} (its bounds) does not: not counted",
                    lossy(key)
                ),
            ),
            Bounds::Unreadable => {}
        }
    }

    /// `gcActions`: a JSON array of `"vNN verb koNN"`.
    fn gc_actions(&mut self, sink: &mut impl Sink, key: &[u8], value: &[u8]) {
        let Some(items) = string_array(sink, key, value) else {
            return;
        };
        for action in items {
            let mut parts = action.split(' ');
            let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(vat), Some(verb), Some(kref), None) => {
                    let verb = match verb {
                        "dropExport" => Some(GcVerb::DropExport),
                        "retireExport" => Some(GcVerb::RetireExport),
                        "retireImport" => Some(GcVerb::RetireImport),
                        _ => None,
                    };
                    match (parse_vat(vat.as_bytes()), verb, parse_kref(kref.as_bytes())) {
                        (Some(vat), Some(verb), Some(Kref::Counted(id))) if !is_promise(id) => {
                            Some((vat, verb, id))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match parsed {
                Some(action) => {
                    self.gc_actions.insert(action);
                }
                None => sink.problem(
                    FindingKind::Malformed,
                    key,
                    None,
                    format!("gcActions holds {action:?}, not \"vNN dropExport|retireExport|retireImport koNN\""),
                ),
            }
        }
    }

    fn vats_terminated(&mut self, sink: &mut impl Sink, key: &[u8], value: &[u8]) {
        let Some(items) = string_array(sink, key, value) else {
            return;
        };
        for vat in items {
            match parse_vat(vat.as_bytes()) {
                Some(vat) => {
                    self.terminated.insert(vat);
                }
                None => sink.problem(
                    FindingKind::Malformed,
                    key,
                    None,
                    format!("vats.terminated holds {vat:?}, not a vatID"),
                ),
            }
        }
    }
}

/// The counted kref a c-list key names; `None` for a device node (uncounted) and for a key
/// naming no kref, which is reported as malformed.
fn clist_kref(sink: &mut impl Sink, key: &[u8], kref: &[u8]) -> Option<KrefId> {
    match parse_kref(kref) {
        Some(Kref::Counted(id)) => Some(id),
        Some(Kref::Device) => None,
        None => {
            sink.problem(
                FindingKind::Malformed,
                key,
                None,
                format!("c-list key {} does not name a kref", lossy(key)),
            );
            None
        }
    }
}

/// `dNN.c.<kref> = <dref>`: imports (`o-`, `p-`) count, with no flag (§1.6, H4).
fn device_key(sink: &mut impl Sink, key: &[u8], value: &[u8]) {
    let Some((_, rest)) = split_numbered(key, 1) else {
        return;
    };
    let Some(kref) = rest.strip_prefix(b"c.") else {
        return;
    };
    if kref.first() != Some(&b'k') {
        return;
    }
    let Some(id) = clist_kref(sink, key, kref) else {
        return;
    };
    let expected = if is_promise(id) { b"p-" } else { b"o-" };
    if value.len() > 2 && value.starts_with(expected) {
        sink.hold(id, true, false, key, "device c-list import");
    } else {
        sink.problem(
            FindingKind::Malformed,
            key,
            Some(id),
            format!(
                "{} = {:?}: a device c-list entry for a kref must be an {} import",
                lossy(key),
                lossy(value),
                String::from_utf8_lossy(expected)
            ),
        );
    }
}

/// `koNN.refCount = "R,C"` (R ≤ C) or `kpNN.refCount = "N"`.
fn refcount(sink: &mut impl Sink, id: KrefId, key: &[u8], value: &[u8]) {
    if is_promise(id) {
        match ids::count(value) {
            Some(n) => sink.promise_count(id, n),
            None => unreadable_refcount(sink, id, key, value, "is not a decimal count"),
        }
        return;
    }
    let comma = value.iter().position(|&b| b == b',');
    let counts = comma.and_then(|i| Some((ids::count(&value[..i])?, ids::count(&value[i + 1..])?)));
    match counts {
        Some((reachable, recognizable)) if reachable <= recognizable => {
            sink.object_count(id, reachable, recognizable)
        }
        Some(_) => unreadable_refcount(
            sink,
            id,
            key,
            value,
            "has reachable > recognizable (the kernel's refmismatch)",
        ),
        None => unreadable_refcount(sink, id, key, value, "is not \"reachable,recognizable\""),
    }
}

/// A refCount whose stored count cannot be compared: reported malformed, with `why`.
fn unreadable_refcount(sink: &mut impl Sink, id: KrefId, key: &[u8], value: &[u8], why: &str) {
    sink.unreadable_count(id);
    sink.problem(
        FindingKind::Malformed,
        key,
        Some(id),
        format!("{} = {:?} {why}", lossy(key), lossy(value)),
    );
}

/// One reference named by a string the kernel wrote as a kref.
fn hold_kref(sink: &mut impl Sink, key: &[u8], kref: &str, what: &'static str) {
    match parse_kref(kref.as_bytes()) {
        Some(Kref::Counted(id)) => sink.hold(id, true, false, key, what),
        Some(Kref::Device) => {}
        None => sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!(
                "{} names {kref:?} ({what}), which is not a kref",
                lossy(key)
            ),
        ),
    }
}

/// `pinnedObjects` and `kpNN.data.slots`: comma-joined krefs, `""` for none.
fn comma_list(sink: &mut impl Sink, key: &[u8], value: &[u8], what: &'static str) {
    if value.is_empty() {
        return;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        return sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!("{} is not UTF-8 text", lossy(key)),
        );
    };
    for kref in text.split(',') {
        hold_kref(sink, key, kref, what);
    }
}

/// `vNN.vatParameters`: JSON capdata whose slots are held (H13).
fn vat_parameters(sink: &mut impl Sink, key: &[u8], value: &[u8]) {
    let text = String::from_utf8_lossy(value);
    match crate::capdata::CapData::stored_slots(&String::from_utf8_lossy(key), &text) {
        Ok(slots) => {
            for slot in &slots {
                hold_kref(sink, key, slot, "retained vatParameters");
            }
        }
        Err(e) => sink.problem(FindingKind::Malformed, key, None, e.to_string()),
    }
}

/// `upgradeEvents`: a JSON array of events, each counted as a queued one (H15).
fn upgrade_events(sink: &mut impl Sink, key: &[u8], value: &[u8]) {
    match serde_json::from_slice::<Value>(value) {
        Ok(Value::Array(events)) => {
            for event in &events {
                queue_event(sink, key, event);
            }
        }
        Ok(_) => sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!("upgradeEvents = {:?} is not a JSON array", lossy(value)),
        ),
        Err(e) => not_json(sink, key, value, &e),
    }
}

/// A run-queue or acceptance-queue event (H5, H7, H9-H11).
fn queue_event(sink: &mut impl Sink, key: &[u8], event: &Value) {
    fn malformed(sink: &mut impl Sink, key: &[u8], why: &str) {
        let message = format!("{} holds an event {why}", lossy(key));
        sink.problem(FindingKind::Malformed, key, None, message);
    }
    match event.get("type").and_then(Value::as_str) {
        Some("send") => {
            match event.get("target").and_then(Value::as_str) {
                Some(target) => hold_kref(sink, key, target, "send target"),
                None => malformed(sink, key, "of type send with no string target"),
            }
            match event.get("msg") {
                Some(msg) => message(sink, key, msg, "send result", "send slot"),
                None => malformed(sink, key, "of type send with no msg"),
            }
        }
        Some("notify") => match event.get("kpid").and_then(Value::as_str) {
            Some(kpid) => hold_kref(sink, key, kpid, "notify"),
            None => malformed(sink, key, "of type notify with no string kpid"),
        },
        Some(kind @ ("create-vat" | "upgrade-vat" | "startVat")) => {
            let what = match kind {
                "create-vat" => "create-vat vatParameters",
                "upgrade-vat" => "upgrade-vat vatParameters",
                _ => "startVat vatParameters",
            };
            match event.pointer("/vatParameters/slots") {
                Some(slots) => slot_array(sink, key, slots, what),
                None => malformed(
                    sink,
                    key,
                    &format!("of type {kind} with no vatParameters.slots"),
                ),
            }
        }
        Some(_) => {}
        None => malformed(sink, key, "with no string type"),
    }
}

/// `{"methargs":{"body":…,"slots":[…]},"result":…}`: the result when truthy, every slot.
fn message(
    sink: &mut impl Sink,
    key: &[u8],
    msg: &Value,
    result_what: &'static str,
    slot_what: &'static str,
) {
    match msg.get("result") {
        None | Some(Value::Null) => {}
        Some(Value::String(result)) if result.is_empty() => {}
        Some(Value::String(result)) => hold_kref(sink, key, result, result_what),
        Some(other) => sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!(
                "{} holds a message whose result {other} is not a kpid",
                lossy(key)
            ),
        ),
    }
    match msg.pointer("/methargs/slots") {
        Some(slots) => slot_array(sink, key, slots, slot_what),
        None => sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!("{} holds a message with no methargs.slots", lossy(key)),
        ),
    }
}

fn slot_array(sink: &mut impl Sink, key: &[u8], slots: &Value, what: &'static str) {
    let Some(slots) = slots.as_array() else {
        return sink.problem(
            FindingKind::Malformed,
            key,
            None,
            format!("{} holds slots that are not an array", lossy(key)),
        );
    };
    for slot in slots {
        match slot.as_str() {
            Some(kref) => hold_kref(sink, key, kref, what),
            None => sink.problem(
                FindingKind::Malformed,
                key,
                None,
                format!("{} holds a slot {slot} that is not a string", lossy(key)),
            ),
        }
    }
}

/// `kpNN.queue.<i>`: the promise itself (as target), the result and the slots (H6).
fn promise_queue_message(sink: &mut impl Sink, id: KrefId, key: &[u8], value: &[u8]) {
    sink.hold(id, true, false, key, "queued message target");
    match serde_json::from_slice::<Value>(value) {
        Ok(msg) => message(
            sink,
            key,
            &msg,
            "queued message result",
            "queued message slot",
        ),
        Err(e) => not_json(sink, key, value, &e),
    }
}

/// `"[head,tail]"` with head ≤ tail.
fn parse_bounds(value: &[u8]) -> Option<(u64, u64)> {
    let bounds: Value = serde_json::from_slice(value).ok()?;
    match bounds.as_array()?.as_slice() {
        [head, tail] => {
            let (head, tail) = (head.as_u64()?, tail.as_u64()?);
            (head <= tail).then_some((head, tail))
        }
        _ => None,
    }
}

fn string_array(sink: &mut impl Sink, key: &[u8], value: &[u8]) -> Option<Vec<String>> {
    match std::str::from_utf8(value)
        .ok()
        .and_then(crate::json::string_list)
    {
        Some(items) => Some(items),
        None => {
            sink.problem(
                FindingKind::Malformed,
                key,
                None,
                format!(
                    "{} = {:?} is not a JSON array of strings",
                    lossy(key),
                    lossy(value)
                ),
            );
            None
        }
    }
}

fn not_json(sink: &mut impl Sink, key: &[u8], value: &[u8], error: &serde_json::Error) {
    sink.problem(
        FindingKind::Malformed,
        key,
        None,
        format!("{} = {:?} is not JSON ({error})", lossy(key), lossy(value)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krefs_are_strict() {
        assert!(matches!(parse_kref(b"ko20"), Some(Kref::Counted(40))));
        assert!(matches!(parse_kref(b"kp40"), Some(Kref::Counted(81))));
        assert!(matches!(parse_kref(b"kd30"), Some(Kref::Device)));
        for bad in [&b"ko"[..], b"ko020", b"k20", b"ko-1", b"kx1", b"o+1", b""] {
            assert!(parse_kref(bad).is_none(), "{bad:?}");
        }
        assert_eq!(kref_string(81), "kp40");
    }

    #[test]
    fn bounds_need_head_before_tail() {
        assert_eq!(parse_bounds(b"[1,3]"), Some((1, 3)));
        assert_eq!(parse_bounds(b"[3,1]"), None);
        assert_eq!(parse_bounds(b"[1]"), None);
    }
}
