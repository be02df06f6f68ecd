'use strict';
// Upgrading every vat, kernel-unilaterally, on an unchanged @agoric/swingset-vat 0.33.0: the
// host queues one `upgradeStaticVat` per eligible vat to the vat-admin vat's root, handing back
// each vat's retained `vNN.vatParameters` (kernel-space capdata, revived with kmarshal so its
// slots travel as the same kernel objects) and its current bundle from `vNN.source`. Why each
// step holds, and the kernel facts met on the way: docs/upgrade-all.md.
//
// The plan reads only the kernel's kvStore (`get`), so the same code serves @agoric/swing-store's
// kvStore, ours, and the read-only native store the `kernel-store upgrade-plan` command opens.

const { describe, failType, failValue } = require('./errors.cjs');

/** The vat-admin vat, which performs the upgrades and so cannot be upgraded through itself. */
const VAT_ADMIN = 'vatAdmin';
const VAT_ADMIN_REASON =
  'vatAdmin is never upgraded this way: its restart wipes its table of pending upgrades, so every upgrade in flight would lose its result';

/**
 * Left alone unless the host passes its own `exclude`: comms exports only non-durable objects
 * (o+NN), and an upgrade abandons every non-durable export of the vat.
 */
const DEFAULT_EXCLUDE = Object.freeze(['comms']);
const DEFAULT_EXCLUDE_REASON =
  'excluded by default: an upgrade abandons every non-durable export, and comms exports nothing else';

const NO_RETAINED_REASON =
  'no retained vatParameters: created or last upgraded before the kernel retained them';

const OPTION_NAMES = ['bundleIDs', 'bundleStore', 'exclude', 'upgradeMessage'];
/** The bundleIDs swing-store stores: b0- and a SHA-256, b1- and a SHA-512, in lowercase hex. */
const BUNDLE_ID = /^(b0-[0-9a-f]{64}|b1-[0-9a-f]{128})$/;
const OBJECT_OR_DEVICE_KREF = /^k[od][0-9]+$/;
const PROMISE_KREF = /^kp[0-9]+$/;
/** What the kernel's `kpStatus` answers: a kernel promise's state, or 'unknown' for no promise. */
const KP_STATUSES = Object.freeze(['unresolved', 'fulfilled', 'rejected', 'unknown']);
/** What the kernel rejects a failed upgrade's result with (it withholds the vat's own error). */
const KERNEL_UPGRADE_FAILURE = 'vat-upgrade failure';

const codedError = (Constructor, code, message, extra) => Object.assign(Constructor(message), { code }, extra);
/** JSON for a message; a value JSON refuses (a BigInt, a cycle) is named by its type. */
const quote = value => {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `[${typeof value}]`;
  }
};
const isPlainObject = value =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

const checkKvStore = kvStore => {
  (kvStore !== null && typeof kvStore === 'object' && typeof kvStore.get === 'function') ||
    failType('kvStore must be the kernel\'s kvStore (an object with a get method)');
};

/** A kvStore value the kernel keeps as JSON, or `undefined` when absent; corrupt is an error. */
const readJson = (kvStore, key, expected, isExpected) => {
  const text = kvStore.get(key);
  if (text === undefined || text === null) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isExpected(value)) {
    throw codedError(Error, 'ERR_CORRUPT_VALUE', `${key} must hold ${expected}, not ${quote(text).slice(0, 200)}`, { key });
  }
  return value;
};
const isStringArray = value => Array.isArray(value) && value.every(item => typeof item === 'string');
const readList = (kvStore, key) => readJson(kvStore, key, 'a JSON array of strings', isStringArray) ?? [];
const vatNumber = vatID => Number(vatID.slice(1));

/**
 * Every vat the kernel lists: static ones by name, dynamic ones, and terminated ones whose
 * state it is still deleting (`vats.terminated`; termination takes a vat off the other lists).
 */
const listVats = kvStore => {
  const terminated = new Set(readList(kvStore, 'vats.terminated'));
  const vats = new Map();
  for (const name of readList(kvStore, 'vat.names')) {
    const vatID = kvStore.get(`vat.name.${name}`);
    if (typeof vatID !== 'string' || !/^v[0-9]+$/.test(vatID)) {
      throw codedError(Error, 'ERR_CORRUPT_VALUE', `vat.name.${name} must hold a vatID, not ${quote(vatID)}`, { key: `vat.name.${name}` });
    }
    vats.set(vatID, { vatID, name, isStatic: true });
  }
  const dynamicName = vatID => {
    let options;
    try {
      options = JSON.parse(kvStore.get(`${vatID}.options`));
    } catch {
      options = undefined;
    }
    return typeof options?.name === 'string' ? options.name : vatID;
  };
  for (const vatID of [...readList(kvStore, 'vat.dynamicIDs'), ...terminated]) {
    if (!/^v[0-9]+$/.test(vatID)) {
      throw codedError(Error, 'ERR_CORRUPT_VALUE', `the kernel lists ${quote(vatID)}, which is not a vatID`);
    }
    if (!vats.has(vatID)) vats.set(vatID, { vatID, name: dynamicName(vatID), isStatic: false });
  }
  return [...vats.values()]
    .map(vat => ({ ...vat, terminated: terminated.has(vat.vatID) }))
    .sort((a, b) => vatNumber(a.vatID) - vatNumber(b.vatID));
};

/** Which vats `key` (a vatID or a vat name) names; a key naming none is refused. */
const vatsNamedBy = (vats, key, where) => {
  const named = vats.filter(vat => vat.vatID === key || vat.name === key);
  if (named.length === 0) {
    throw codedError(Error, 'ERR_UNKNOWN_VAT', `${where} names ${quote(key)}, which is no vatID or vat name this kernel lists`);
  }
  return named;
};

const readOptions = options => {
  if (options === undefined) return {};
  isPlainObject(options) || failType(`options must be an object ({ ${OPTION_NAMES.join(', ')} })`);
  for (const name of Object.keys(options)) {
    OPTION_NAMES.includes(name) ||
      failValue(`options.${name} is not an option of upgradeAllVats (it takes ${OPTION_NAMES.join(', ')})`);
  }
  const { bundleIDs, bundleStore, exclude, upgradeMessage } = options;
  if (bundleIDs !== undefined) {
    isPlainObject(bundleIDs) || failType('options.bundleIDs must be an object mapping vatIDs or vat names to bundleIDs');
    for (const [key, bundleID] of Object.entries(bundleIDs)) {
      typeof bundleID === 'string' || failType(`options.bundleIDs[${quote(key)}] must be a string (a bundleID)`);
      BUNDLE_ID.test(bundleID) ||
        failValue(`options.bundleIDs[${quote(key)}] must be a bundleID (b1- and 128 hex digits, or b0- and 64), not ${quote(bundleID.slice(0, 140))}`);
    }
  }
  if (bundleStore !== undefined) {
    (bundleStore !== null && typeof bundleStore === 'object' && typeof bundleStore.hasBundle === 'function') ||
      failType("options.bundleStore must be the kernel's bundleStore (an object with a hasBundle method)");
  } else if (bundleIDs !== undefined && Object.keys(bundleIDs).length > 0) {
    failValue(
      "options.bundleStore (the kernel's kernelStorage.bundleStore) is required with options.bundleIDs: the kernel panics when it upgrades a vat to a bundle it does not hold",
    );
  }
  if (exclude !== undefined) {
    Array.isArray(exclude) || failType('options.exclude must be an array of vatIDs or vat names');
    for (let i = 0; i < exclude.length; i += 1) {
      typeof exclude[i] === 'string' || failType(`options.exclude[${i}] must be a string (a vatID or a vat name)`);
    }
  }
  upgradeMessage === undefined || typeof upgradeMessage === 'string' || failType('options.upgradeMessage must be a string');
  return { bundleIDs, bundleStore, exclude: exclude && [...exclude], upgradeMessage };
};

/**
 * vatID -> bundleID from `options.bundleIDs`; a vat named twice must get one bundle, and every
 * bundle must be installed (the kernel panics on an upgrade to a bundle it does not hold).
 */
const mapBundles = (vats, bundleIDs = {}, bundleStore) => {
  const mapped = new Map();
  for (const [key, bundleID] of Object.entries(bundleIDs)) {
    const named = vatsNamedBy(vats, key, 'options.bundleIDs');
    if (!bundleStore.hasBundle(bundleID)) {
      throw codedError(
        Error,
        'ERR_BUNDLE_NOT_FOUND',
        `options.bundleIDs[${quote(key)}] is ${bundleID}, which the kernel's bundleStore does not hold (install it first, e.g. with controller.validateAndInstallBundle)`,
      );
    }
    for (const { vatID } of named) {
      if (mapped.has(vatID) && mapped.get(vatID).bundleID !== bundleID) {
        failValue(`options.bundleIDs maps ${vatID} twice, to different bundles (by ${quote(mapped.get(vatID).key)} and by ${quote(key)})`);
      }
      mapped.set(vatID, { key, bundleID });
    }
  }
  return mapped;
};

/** vatID -> why it is excluded. */
const excludedVats = (vats, exclude) => {
  const excluded = new Map();
  if (exclude === undefined) {
    for (const vat of vats) if (vat.isStatic && DEFAULT_EXCLUDE.includes(vat.name)) excluded.set(vat.vatID, DEFAULT_EXCLUDE_REASON);
    return excluded;
  }
  for (const key of exclude) {
    for (const { vatID } of vatsNamedBy(vats, key, 'options.exclude')) excluded.set(vatID, `excluded by options.exclude (${quote(key)})`);
  }
  return excluded;
};

/** The retained capdata, or why it cannot be handed back (absent, unreadable, holds a promise). */
const readRetained = (kvStore, vatID) => {
  const key = `${vatID}.vatParameters`;
  const text = kvStore.get(key);
  if (text === undefined || text === null || text === '') return { reason: NO_RETAINED_REASON };
  let capdata;
  try {
    capdata = JSON.parse(text);
  } catch {
    capdata = undefined;
  }
  if (!capdata || typeof capdata.body !== 'string' || !isStringArray(capdata.slots) || Object.keys(capdata).length !== 2) {
    return { reason: `${key} is not capdata ({ body, slots }): ${quote(text).slice(0, 200)}` };
  }
  const promise = capdata.slots.find(slot => PROMISE_KREF.test(slot));
  if (promise) {
    return { reason: `${key} holds the promise ${promise}, which vat-admin cannot pass to its device (callNow refuses promises)` };
  }
  const odd = capdata.slots.find(slot => !OBJECT_OR_DEVICE_KREF.test(slot));
  if (odd !== undefined) return { reason: `${key} holds ${quote(odd)}, which is not a kernel object or device kref` };
  return { vatParameters: { body: capdata.body, slots: [...capdata.slots] } };
};

/** The vat's current bundleID (`vNN.source` = `{ bundleID }`), or why there is none. */
const currentBundle = (kvStore, vatID) => {
  const key = `${vatID}.source`;
  const text = kvStore.get(key);
  let source;
  try {
    source = JSON.parse(text);
  } catch {
    source = undefined;
  }
  if (typeof source?.bundleID === 'string' && source.bundleID !== '') return { source, bundleID: source.bundleID };
  const found = text === undefined || text === null ? 'absent' : quote(text).slice(0, 120);
  return { source, reason: `${key} names no bundleID (${found}); map the vat to one in options.bundleIDs` };
};

/**
 * What `upgradeAllVats(controller, kvStore, options)` queues and what it reports ineligible,
 * without queueing anything. Every live vat and every terminated vat still listed appears in
 * exactly one list, each in vatID order. Bad options and unreadable vat lists throw.
 */
function planVatUpgrades(kvStore, options) {
  checkKvStore(kvStore);
  return planFrom(kvStore, readOptions(options));
}

/** `planVatUpgrades` on options already read. */
function planFrom(kvStore, { bundleIDs, bundleStore, exclude }) {
  const vats = listVats(kvStore);
  const mapped = mapBundles(vats, bundleIDs, bundleStore);
  const excluded = excludedVats(vats, exclude);
  const eligible = [];
  const ineligible = [];
  for (const vat of vats) {
    const { vatID, name } = vat;
    const refuse = reason => ineligible.push({ vatID, name, reason });
    if (vat.terminated) {
      refuse('terminated: the kernel is deleting its state');
    } else if (vat.isStatic && name === VAT_ADMIN) {
      refuse(VAT_ADMIN_REASON);
    } else if (excluded.has(vatID)) {
      refuse(excluded.get(vatID));
    } else {
      const retained = readRetained(kvStore, vatID);
      const current = currentBundle(kvStore, vatID);
      const bundleID = mapped.get(vatID)?.bundleID ?? current.bundleID;
      if (retained.reason) refuse(retained.reason);
      else if (!bundleID) refuse(current.reason);
      else eligible.push({ vatID, name, bundleID, source: current.source, vatParameters: retained.vatParameters });
    }
  }
  return { eligible, ineligible };
}

/** kmarshal, as the kernel's host has it (loaded on first use: only queueing needs it). */
const loadKmarshal = () => {
  try {
    return require('@agoric/kmarshal');
  } catch (cause) {
    throw codedError(
      Error,
      'ERR_MISSING_DEPENDENCY',
      'upgradeAllVats needs @agoric/kmarshal (installed with @agoric/swingset-vat) and a Node.js that can require ES modules (20.19 or newer)',
      { cause },
    );
  }
};

/** The retained capdata as a value whose slots are kmarshal's stand-ins for the same krefs. */
const revive = (kunser, vatID, vatParameters) => {
  try {
    return kunser(vatParameters);
  } catch (cause) {
    throw codedError(Error, 'ERR_CORRUPT_VALUE', `${vatID}.vatParameters cannot be decoded: ${cause?.message}`, {
      key: `${vatID}.vatParameters`,
      cause,
    });
  }
};

/**
 * Queues an upgrade of every eligible vat through the vat-admin vat (see `planVatUpgrades` for
 * which are eligible) and returns `{ queued: [{ vatID, name, bundleID, kpid }], ineligible }`.
 * Nothing runs until the host runs the kernel; each kpid then holds `{ incarnationNumber }` or
 * the upgrade's error (`readUpgradeOutcomes` reads them). Everything is checked before the first
 * upgrade is queued, so bad arguments queue nothing.
 */
function upgradeAllVats(controller, kvStore, options) {
  (controller !== null && typeof controller === 'object' && typeof controller.queueToVatRoot === 'function') ||
    failType('controller must be a SwingSet controller (with queueToVatRoot)');
  checkKvStore(kvStore);
  const parsed = readOptions(options);
  const plan = planFrom(kvStore, parsed);
  const { upgradeMessage } = parsed;
  if (typeof kvStore.get(`vat.name.${VAT_ADMIN}`) !== 'string') {
    throw codedError(Error, 'ERR_UNKNOWN_VAT', 'this kernel has no vatAdmin vat (vat.name.vatAdmin), through which upgrades go');
  }
  const { kunser } = loadKmarshal();
  const upgrades = plan.eligible.map(vat => ({
    vat,
    upgradeOptions: {
      vatParameters: revive(kunser, vat.vatID, vat.vatParameters),
      ...(upgradeMessage !== undefined && { upgradeMessage }),
    },
  }));
  const queued = [];
  for (const { vat, upgradeOptions } of upgrades) {
    const { vatID, name, bundleID } = vat;
    let kpid;
    try {
      // 'ignore' still allocates the result promise and registers the host's interest in it.
      kpid = controller.queueToVatRoot(VAT_ADMIN, 'upgradeStaticVat', [vatID, null, bundleID, upgradeOptions], 'ignore');
    } catch (cause) {
      throw codedError(Error, 'ERR_UPGRADE_NOT_QUEUED', `the kernel refused to queue the upgrade of ${vatID}: ${cause?.message}`, {
        cause,
        queued,
      });
    }
    queued.push({ vatID, name, bundleID, kpid });
  }
  return { queued, ineligible: plan.ineligible };
}

/** A rejection's text: an Error's message, or the body of whatever else it was. */
const describeRejection = (kunser, capdata) => {
  try {
    const reason = kunser(capdata);
    return reason instanceof Error ? reason.message : JSON.stringify(reason) ?? String(reason);
  } catch {
    return capdata.body;
  }
};

/** The distinct slots of a vat's retained vatParameters, or `undefined` once they are gone. */
const retainedSlots = (kvStore, vatID) => {
  const { vatParameters } = readRetained(kvStore, vatID);
  return vatParameters && [...new Set(vatParameters.slots)];
};

/**
 * The outcome of each upgrade `upgradeAllVats` queued, once the kernel has run:
 * - `upgraded`, with the new `incarnationNumber`;
 * - `failed`, with the `error` (the kernel says only "vat-upgrade failure"; the vat's own error
 *   goes to the kernel's console) and `strandedCounts`: in swingset-vat 0.33.0 the kernel's
 *   hold on each vatParameters slot for the upgrade event is released inside the crank the
 *   failure unwinds, so each of these krefs keeps one count that nothing holds;
 * - `lost`: the vat was terminated before its upgrade ran, and the kernel never settles such
 *   an upgrade; its hold on the slots stays too (`strandedCounts`, while the vat's retained
 *   copy still says which they are);
 * - `unresolved` (not run yet), or `unknown` (already read).
 * A resolution is read once, which releases the host's interest in the kpid: call this once
 * per kernel run that settled them, and commit afterwards.
 */
function readUpgradeOutcomes(controller, kvStore, queued) {
  (controller !== null && typeof controller === 'object' && ['kpStatus', 'kpResolution'].every(m => typeof controller[m] === 'function')) ||
    failType('controller must be a SwingSet controller (with kpStatus and kpResolution)');
  checkKvStore(kvStore);
  Array.isArray(queued) || failType('queued must be the queued list upgradeAllVats returned');
  const entries = [];
  // Indexed, not queued.every(): a sparse array claiming 2^32 - 1 elements fails at its first hole.
  for (let i = 0; i < queued.length; i += 1) {
    const q = queued[i];
    (q !== null && typeof q === 'object' && typeof q.kpid === 'string' && typeof q.vatID === 'string') ||
      failType(`queued[${i}] must be an entry of the queued list upgradeAllVats returned ({ vatID, name, bundleID, kpid })`);
    entries.push(q);
  }
  const { kunser } = loadKmarshal();
  const live = new Set(listVats(kvStore).filter(vat => !vat.terminated).map(vat => vat.vatID));
  // Every status is checked before the first resolution is read: reading one releases the
  // host's interest in its kpid, which a refusal must not have done.
  const statuses = entries.map(({ kpid }) => {
    const status = controller.kpStatus(kpid);
    KP_STATUSES.includes(status) ||
      failValue(
        `controller.kpStatus(${quote(kpid)}) returned ${describe(status)}, which is none of the kernel's promise statuses (${KP_STATUSES.join(', ')}): controller must be a SwingSet controller`,
      );
    return status;
  });
  return entries.map(({ vatID, name, bundleID, kpid }, i) => {
    const outcome = { vatID, name, bundleID, kpid };
    const status = statuses[i];
    if (status === 'unresolved' && !live.has(vatID)) {
      const strandedCounts = retainedSlots(kvStore, vatID);
      return { ...outcome, status: 'lost', ...(strandedCounts && { strandedCounts }) };
    }
    if (status !== 'fulfilled' && status !== 'rejected') return { ...outcome, status };
    const capdata = controller.kpResolution(kpid, { incref: false });
    if (status === 'fulfilled') return { ...outcome, status: 'upgraded', incarnationNumber: kunser(capdata)?.incarnationNumber };
    const error = describeRejection(kunser, capdata);
    const strandedCounts = (error === KERNEL_UPGRADE_FAILURE && retainedSlots(kvStore, vatID)) || [];
    return { ...outcome, status: 'failed', error, strandedCounts };
  });
}

module.exports = { planVatUpgrades, upgradeAllVats, readUpgradeOutcomes };
