// upgradeAllVats on a real, unchanged kernel (@agoric/swingset-vat 0.33.0): the upgrade-all
// scenario of demo/upgrade-all-scenario.mjs. Static vats and eight holder vats whose
// vatParameters hold objects (two the bootstrap vat exports and shares between holders, and
// tokens other holders export); holder L is made to look created before the kernel retained
// vatParameters, holder T is terminated (cleanup deferred, so it stays listed), holder E is
// mapped to a new bundle and holder F to one whose buildRootObject throws. Then every vat is
// upgraded twice, with checks after each round. The run is recorded once per store and worker
// type (ours and @agoric/swing-store with local workers, two rounds; ours with xs-worker, one);
// the tests below check one behaviour each on those records.
import '@endo/init/debug.js';
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import bundleSource from '@endo/bundle-source';
import { buildKernelBundles } from '@agoric/swingset-vat';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import {
  initSwingStore as initOurs,
  auditRefcounts,
  planVatUpgrades,
  readUpgradeOutcomes,
  upgradeAllVats,
} from '../lib/index.mjs';
import {
  HOLDERS,
  UPGRADE_ALL_SOURCES,
  holderVatIDs,
  incarnationOf,
  rootKref,
  send,
  settle,
  simulateCreatedBeforeRetention,
  startUpgradeAllKernel,
} from '../demo/upgrade-all-scenario.mjs';
import { makeTempDir, removeTempDirs } from './kernel-helpers.mjs';
import { makeProgress } from './support/progress.mjs';

const progress = makeProgress();
const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));

/** The holders still running their vat when the kernel upgrades: all but L and T. */
const UPGRADABLE_HOLDERS = ['A', 'B', 'C', 'D', 'E', 'F'];
/** What each holder's pingParameters answers: one answer per object in its vatParameters. */
const EXPECTED_PINGS = {
  A: ['shared one answers'],
  B: ['token A answers', 'shared one answers'],
  C: ['shared one answers', 'shared two answers'],
  D: ['token A answers', 'token B answers', 'token C answers'],
  E: ['token D answers', 'shared two answers'],
  F: ['token C answers', 'shared two answers'],
};
const KERNEL_FAILURE = 'vat-upgrade failure';

// The kernel's own bundles and the scenario's vat bundles, built once for every run.
let bundlesP;
const getBundles = () =>
  (bundlesP ??= (async () => {
    const kernelBundles = await buildKernelBundles();
    const bundles = {};
    for (const [name, source] of Object.entries(UPGRADE_ALL_SOURCES)) bundles[name] = await bundleSource(source);
    return { kernelBundles, bundles };
  })());

const mapValues = (object, fn) => Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fn(v, k)]));

/** What each listed vat looks like to the kernel: incarnation, retained vatParameters, source. */
const vatStates = (kernelStorage, vatIDs) =>
  Object.fromEntries(
    vatIDs.map(vatID => [
      vatID,
      {
        incarnation: incarnationOf(kernelStorage, vatID),
        vatParameters: kernelStorage.kvStore.get(`${vatID}.vatParameters`),
        source: kernelStorage.kvStore.get(`${vatID}.source`),
      },
    ]),
  );

/** Every kernel object's stored refCount. */
const objectRefCounts = swingStore =>
  Object.fromEntries(
    Object.entries(swingStore.debug.dump().kvEntries).filter(([key]) => /^ko\d+\.refCount$/.test(key)),
  );

/** The bad calls of upgradeAllVats the local run makes on its live kernel, each with what it must throw. */
const refusals = ({ controller, kvStore, bundleStore, bundleIDs }) => [
  ['a controller without queueToVatRoot', () => upgradeAllVats({}, kvStore), TypeError, 'ERR_INVALID_ARG_TYPE', /^controller /],
  ['no kvStore', () => upgradeAllVats(controller, undefined), TypeError, 'ERR_INVALID_ARG_TYPE', /^kvStore /],
  ['options that are not an object', () => upgradeAllVats(controller, kvStore, 'all'), TypeError, 'ERR_INVALID_ARG_TYPE', /^options /],
  ['a misspelt option', () => upgradeAllVats(controller, kvStore, { exlude: ['A'] }), Error, 'ERR_INVALID_ARG_VALUE', /options\.exlude/],
  ['exclude not an array', () => upgradeAllVats(controller, kvStore, { exclude: 'comms' }), TypeError, 'ERR_INVALID_ARG_TYPE', /options\.exclude /],
  ['exclude naming no vat', () => upgradeAllVats(controller, kvStore, { exclude: ['holder-Z'] }), Error, 'ERR_UNKNOWN_VAT', /options\.exclude .*"holder-Z"/],
  [
    'a mapping to something that is not a bundleID',
    () => upgradeAllVats(controller, kvStore, { bundleIDs: { 'holder-A': 'b1-nope' }, bundleStore }),
    Error,
    'ERR_INVALID_ARG_VALUE',
    /options\.bundleIDs\["holder-A"\]/,
  ],
  [
    'a mapping without the bundleStore to check it',
    () => upgradeAllVats(controller, kvStore, { bundleIDs }),
    Error,
    'ERR_INVALID_ARG_VALUE',
    /options\.bundleStore/,
  ],
  [
    'a mapping to a bundle the kernel does not hold',
    () => upgradeAllVats(controller, kvStore, { bundleIDs: { 'holder-A': `b1-${'0'.repeat(128)}` }, bundleStore }),
    Error,
    'ERR_BUNDLE_NOT_FOUND',
    /options\.bundleIDs\["holder-A"\]/,
  ],
  [
    'a mapping for no vat',
    () => upgradeAllVats(controller, kvStore, { bundleIDs: { 'holder-Z': bundleIDs['holder-E'] }, bundleStore }),
    Error,
    'ERR_UNKNOWN_VAT',
    /options\.bundleIDs .*"holder-Z"/,
  ],
  [
    'two mappings of one vat to different bundles',
    () => upgradeAllVats(controller, kvStore, { bundleIDs: { ...bundleIDs, [holderVatIDs(kvStore).F]: bundleIDs['holder-E'] }, bundleStore }),
    Error,
    'ERR_INVALID_ARG_VALUE',
    /maps v\d+ twice/,
  ],
  ['an upgradeMessage that is not a string', () => upgradeAllVats(controller, kvStore, { upgradeMessage: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE', /options\.upgradeMessage/],
];

/** Makes each refused call; records what it threw and whether the kernel state moved. */
const tryRefusals = context =>
  refusals(context).map(([label, call, Expected, code, message]) => {
    const { kvStore, kernelStorage } = context;
    const state = () => [kernelStorage.getActivityhash(), ...['kp.nextID', 'runQueue', 'acceptanceQueue'].map(k => kvStore.get(k))];
    const before = state();
    let thrown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    return { label, thrown, Expected, code, message, unchanged: JSON.stringify(state()) === JSON.stringify(before) };
  });

/** One round: upgrade all, run, read the outcomes, then ask every upgradable holder and the bootstrap vat. */
async function upgradeRound(context, round, step) {
  const { controller, swingStore, kernelStorage, kvStore, options, holders, audit } = context;
  const listed = (({ eligible, ineligible }) => [...eligible, ...ineligible].map(v => v.vatID))(planVatUpgrades(kvStore, options));
  const before = vatStates(kernelStorage, listed);
  const result = upgradeAllVats(controller, kvStore, options);
  await swingStore.hostStorage.commit();
  step(`round ${round}: queued`);
  await settle(controller, swingStore);
  step(`round ${round}: ran`);
  const outcomes = readUpgradeOutcomes(controller, kvStore, result.queued);
  await swingStore.hostStorage.commit();
  step(`round ${round}: outcomes read`);
  const after = vatStates(kernelStorage, listed);
  const auditReport = audit();
  const questions = UPGRADABLE_HOLDERS.flatMap(label =>
    ['getParameters', 'pingParameters', 'describe', 'bump'].map(method => [label, method]),
  );
  const replies = await send(controller, swingStore, [
    ...questions.map(([label, method]) => [rootKref(kvStore, holders[label]), method]),
    ['bootstrap', 'census'],
  ]);
  step(`round ${round}: holders asked`);
  const answers = {};
  for (const [i, [label, method]] of questions.entries()) {
    answers[label] ??= {};
    answers[label][method] = replies[i];
  }
  return { result, outcomes, before, after, audit: auditReport, answers, census: replies.at(-1), refCounts: objectRefCounts(swingStore) };
}

/** Runs the whole scenario on a fresh on-disk store and records what the tests check. */
async function runScenario(initSwingStore, label, managerType, { rounds, tryBadCalls = false }) {
  const dir = makeTempDir(`upgrade-all-${label}-${managerType}`);
  const swingStore = initSwingStore(dir);
  const { kernelStorage } = swingStore;
  const { kvStore } = kernelStorage;
  const { kernelBundles, bundles } = await getBundles();
  const { controller, bootstrapKpid } = await startUpgradeAllKernel(swingStore, managerType, { kernelBundles, bundles });
  const record = { dir, hashes: [], rounds: [] };
  const step = name => {
    record.hashes.push({ step: name, activityhash: kernelStorage.getActivityhash() });
    progress.tick();
  };
  // The host holds the bootstrap result for good; every other kpid it read, releasing it.
  const audit = () => auditRefcounts(dir, { external: [bootstrapKpid] });
  try {
    step('started');
    record.populated = (await send(controller, swingStore, [['bootstrap', 'populate']]))[0].value;
    step('populated');
    const holders = holderVatIDs(kvStore);
    record.holders = holders;
    record.createdWith = mapValues(holders, vatID => JSON.parse(kvStore.get(`${vatID}.vatParameters`)));
    await send(controller, swingStore, HOLDERS.map(holder => [rootKref(kvStore, holders[holder]), 'bump']));
    step('bumped');
    const countsOfL = () => record.createdWith.L.slots.map(kref => kvStore.get(`${kref}.refCount`));
    record.simulation = { countsBefore: countsOfL() };
    simulateCreatedBeforeRetention(kernelStorage, holders.L);
    await swingStore.hostStorage.commit();
    Object.assign(record.simulation, { countsAfter: countsOfL(), retained: kvStore.get(`${holders.L}.vatParameters`), audit: audit() });
    step('L made to look created before retention');
    await send(controller, swingStore, [['bootstrap', 'terminateHolder', ['T']]]);
    step('T terminated');

    const bundleIDs = {
      'holder-E': kvStore.get('namedBundleID.holder-v2'),
      'holder-F': kvStore.get('namedBundleID.broken'),
    };
    const options = { bundleIDs, bundleStore: kernelStorage.bundleStore };
    record.bundleIDs = bundleIDs;
    record.plan = planVatUpgrades(kvStore, options);
    record.nativePlan = swingStore.kernelStore?.planUpgradeAll();
    const cliArgs = Object.entries(bundleIDs).flatMap(([vat, bundleID]) => ['--bundle', `${vat}=${bundleID}`]);
    record.cli = spawnSync(process.execPath, [cli, 'upgrade-plan', dir, '--json', ...cliArgs], { encoding: 'utf8' });

    const context = { controller, swingStore, kernelStorage, kvStore, options, holders, audit, bundleIDs, bundleStore: options.bundleStore };
    for (let round = 1; round <= rounds; round += 1) record.rounds.push(await upgradeRound(context, round, step));
    if (tryBadCalls) record.refusals = tryRefusals(context);
    return record;
  } finally {
    await controller.shutdown();
    await swingStore.hostStorage.close();
  }
}

// The runs, each started by the first test that needs it; tests are serial, so one kernel runs at
// a time. A test waits for its run as long as the run makes progress (a kernel step at a time),
// however long that takes.
const runs = new Map();
const getRun = (t, label, managerType) => {
  progress.watch(t);
  const key = `${label} ${managerType}`;
  if (!runs.has(key)) {
    const init = label === 'ours' ? initOurs : initTheirs;
    const rounds = managerType === 'local' ? 2 : 1;
    runs.set(key, runScenario(init, label, managerType, { rounds, tryBadCalls: key === 'ours local' }));
  }
  return runs.get(key);
};

test.after.always(removeTempDirs);

/** The vats each round queues, in vatID order: three static vats, then the upgradable holders. */
const expectedQueue = ({ holders, bundleIDs, plan }) => {
  const current = vatID => plan.eligible.find(v => v.vatID === vatID).source.bundleID;
  const statics = plan.eligible.filter(v => ['bootstrap', 'vattp', 'timer'].includes(v.name));
  return [
    ...statics.map(({ vatID, name }) => ({ vatID, name, bundleID: current(vatID) })),
    ...UPGRADABLE_HOLDERS.map(label => {
      const vatID = holders[label];
      const name = `holder-${label}`;
      return { vatID, name, bundleID: bundleIDs[name] ?? current(vatID) };
    }),
  ];
};

for (const managerType of ['local', 'xs-worker']) {
  test.serial(`${managerType}: every eligible vat is queued, and all but F reach their next incarnation`, async t => {
    const run = await getRun(t, 'ours', managerType);
    t.deepEqual(run.populated, HOLDERS);
    for (const [i, { result, outcomes, before, after }] of run.rounds.entries()) {
      const where = `round ${i + 1}`;
      t.deepEqual(result.queued.map(({ kpid, ...rest }) => rest), expectedQueue(run), where);
      for (const { vatID, name, kpid } of result.queued) {
        t.regex(kpid, /^kp\d+$/);
        const outcome = outcomes.find(o => o.kpid === kpid);
        if (name === 'holder-F') continue;
        t.like(outcome, { vatID, status: 'upgraded', incarnationNumber: before[vatID].incarnation + 1 }, `${where} ${name}`);
        t.is(after[vatID].incarnation, before[vatID].incarnation + 1, `${where} ${name}: its transcript's incarnation`);
      }
    }
  });

  test.serial(`${managerType}: each upgraded vat's buildRootObject got the vatParameters it was created with`, async t => {
    const run = await getRun(t, 'ours', managerType);
    for (const [i, { answers, before, after, result }] of run.rounds.entries()) {
      for (const label of UPGRADABLE_HOLDERS) {
        // Kernel-space capdata: the same body, and the same krefs, as the kernel retained at creation.
        t.deepEqual(answers[label].getParameters.capdata, run.createdWith[label], `round ${i + 1} holder ${label}`);
      }
      for (const { vatID, name } of result.queued) {
        t.is(after[vatID].vatParameters, before[vatID].vatParameters, `round ${i + 1} ${name}: the retained copy`);
      }
    }
  });

  test.serial(`${managerType}: every object in an upgraded vat's vatParameters answers a message from it`, async t => {
    const run = await getRun(t, 'ours', managerType);
    for (const [i, { answers }] of run.rounds.entries()) {
      for (const label of UPGRADABLE_HOLDERS) {
        t.like(answers[label].pingParameters, { status: 'fulfilled', value: EXPECTED_PINGS[label] }, `round ${i + 1} holder ${label}`);
      }
    }
  });

  test.serial(`${managerType}: durable state survives the upgrades, and a mapped vat runs its new bundle`, async t => {
    const run = await getRun(t, 'ours', managerType);
    for (const [i, { answers, census }] of run.rounds.entries()) {
      for (const label of UPGRADABLE_HOLDERS) {
        // bumped once before the first round, and once more after each round's questions
        const version = label === 'E' ? 'v2' : 'v1';
        t.deepEqual(answers[label].describe.value, { version, label, bumps: i + 1 }, `round ${i + 1} holder ${label}`);
        t.is(answers[label].bump.value, i + 2);
      }
      // the bootstrap vat, upgraded too, still has the holders it created and the objects it shares
      t.deepEqual(census.value, { holders: HOLDERS, shared: ['shared one answers', 'shared two answers'] });
    }
  });

  test.serial(`${managerType}: the upgrade to a failing bundle is reported with the kernel's error, and the vat keeps its old incarnation`, async t => {
    const run = await getRun(t, 'ours', managerType);
    const vatID = run.holders.F;
    for (const [i, { outcomes, before, after, answers }] of run.rounds.entries()) {
      const outcome = outcomes.find(o => o.vatID === vatID);
      t.like(outcome, { name: 'holder-F', bundleID: run.bundleIDs['holder-F'], status: 'failed', error: KERNEL_FAILURE });
      t.deepEqual([...outcome.strandedCounts].sort(), [...run.createdWith.F.slots].sort());
      t.is(after[vatID].incarnation, before[vatID].incarnation, `round ${i + 1}: still incarnation ${before[vatID].incarnation}`);
      t.is(after[vatID].source, before[vatID].source, `round ${i + 1}: still its old bundle`);
      t.deepEqual(answers.F.describe.value.version, 'v1', `round ${i + 1}: the old incarnation answers`);
    }
  });

  test.serial(`${managerType}: ineligible vats are reported with their reasons and left untouched`, async t => {
    const run = await getRun(t, 'ours', managerType);
    const { L, T } = run.holders;
    for (const [i, { result, before, after }] of run.rounds.entries()) {
      const reasons = Object.fromEntries(result.ineligible.map(v => [v.name, v.reason]));
      t.deepEqual(Object.keys(reasons), ['vatAdmin', 'comms', 'holder-L', 'holder-T'], `round ${i + 1}`);
      t.regex(reasons.vatAdmin, /^vatAdmin is never upgraded this way: its restart wipes its table of pending upgrades/);
      t.regex(reasons.comms, /^excluded by default: an upgrade abandons every non-durable export/);
      t.regex(reasons['holder-L'], /^no retained vatParameters: created or last upgraded before the kernel retained them/);
      t.regex(reasons['holder-T'], /^terminated/);
      for (const { vatID, name } of result.ineligible) {
        t.deepEqual(after[vatID], before[vatID], `round ${i + 1} ${name}: incarnation, vatParameters and source unchanged`);
      }
      t.is(after[L].vatParameters, undefined);
      t.is(after[T].incarnation, undefined, 'T has no transcript any more');
    }
  });

  test.serial(`${managerType}: the audit finds no deficit, and a surplus only of the failed upgrade's stranded counts`, async t => {
    const run = await getRun(t, 'ours', managerType);
    for (const [i, { audit, outcomes }] of run.rounds.entries()) {
      t.deepEqual(audit.errors, [], `round ${i + 1}`);
      const stranded = outcomes.flatMap(o => o.strandedCounts ?? []);
      t.deepEqual(audit.warnings.map(w => w.kref).sort(), [...stranded].sort(), `round ${i + 1}: surpluses`);
      for (const warning of audit.warnings) {
        const [stored, computed] = [warning.stored, warning.computed].map(c => c.split(',').map(Number));
        // one count per failed round so far, reachable and recognizable
        t.deepEqual(stored, computed.map(n => n + i + 1), `${warning.kref} round ${i + 1}`);
      }
    }
  });
}

test.serial('local: L is made to look created before retention with refcounts the audit finds consistent', async t => {
  const { simulation, createdWith } = await getRun(t, 'ours', 'local');
  t.is(simulation.retained, undefined);
  t.is(createdWith.L.slots.length, 2, 'a shared object and a token');
  const lessOne = count => count.split(',').map(n => `${Number(n) - 1}`).join(',');
  t.deepEqual(simulation.countsAfter, simulation.countsBefore.map(lessOne));
  t.deepEqual([...simulation.audit.errors, ...simulation.audit.warnings], []);
});

test.serial('local: ours and swing-store give identical activity hashes after every step', async t => {
  const ours = await getRun(t, 'ours', 'local');
  const theirs = await getRun(t, 'theirs', 'local');
  t.is(ours.hashes.length, 5 + 4 * 2);
  t.deepEqual(ours.hashes.map(h => h.step), theirs.hashes.map(h => h.step));
  for (const [i, { step, activityhash }] of ours.hashes.entries()) {
    t.regex(activityhash, /^[0-9a-f]{64}$/);
    t.is(activityhash, theirs.hashes[i].activityhash, step);
  }
});

test.serial('local: the same calls on swing-store queue, report and settle the same', async t => {
  const ours = await getRun(t, 'ours', 'local');
  const theirs = await getRun(t, 'theirs', 'local');
  t.deepEqual(theirs.plan, ours.plan);
  for (const [i, round] of ours.rounds.entries()) {
    t.deepEqual(theirs.rounds[i].result, round.result, `round ${i + 1}: queued and ineligible`);
    t.deepEqual(theirs.rounds[i].outcomes, round.outcomes, `round ${i + 1}: outcomes`);
    t.deepEqual(theirs.rounds[i].audit.warnings, round.audit.warnings, `round ${i + 1}: the audit's surpluses`);
  }
});

test.serial('local: a second upgrade-all leaks nothing: refcounts equal the first round\'s but for one more stranded count', async t => {
  const run = await getRun(t, 'ours', 'local');
  const [first, second] = run.rounds.map(r => r.refCounts);
  t.deepEqual(Object.keys(second).sort(), Object.keys(first).sort(), 'the same objects exist');
  const stranded = new Set(run.rounds[1].outcomes.flatMap(o => o.strandedCounts ?? []));
  t.true(stranded.size > 0);
  for (const key of Object.keys(first)) {
    const kref = key.slice(0, -'.refCount'.length);
    const expected = stranded.has(kref) ? first[key].split(',').map(n => `${Number(n) + 1}`).join(',') : first[key];
    t.is(second[key], expected, key);
  }
});

test.serial('local: upgrade-plan --json and planVatUpgrades say exactly what upgradeAllVats queued and reported', async t => {
  const run = await getRun(t, 'ours', 'local');
  t.is(run.cli.status, 0, run.cli.stderr);
  const cliPlan = JSON.parse(run.cli.stdout);
  t.deepEqual(cliPlan, JSON.parse(JSON.stringify(run.plan)));
  const { result } = run.rounds[0];
  const queuedAsPlanned = result.queued.map(({ vatID, name, bundleID }) => ({ vatID, name, bundleID }));
  t.deepEqual(cliPlan.eligible.map(({ vatID, name, bundleID }) => ({ vatID, name, bundleID })), queuedAsPlanned);
  t.deepEqual(cliPlan.ineligible, result.ineligible);
  for (const { vatID, vatParameters } of cliPlan.eligible) t.is(JSON.stringify(vatParameters), run.rounds[0].before[vatID].vatParameters);
});

test.serial('local: the plan agrees with the native planUpgradeAll on every vat both consider', async t => {
  const { plan, nativePlan, holders } = await getRun(t, 'ours', 'local');
  // The native plan lists live vats only, and excludes none; the terminated T is listed here only.
  const native = new Map([...nativePlan.eligible, ...nativePlan.ineligible].map(v => [v.vatID, v]));
  const ours = [...plan.eligible, ...plan.ineligible];
  t.deepEqual(ours.filter(v => v.vatID !== holders.T).map(v => v.vatID).sort(), [...native.keys()].sort());
  for (const { vatID, name, vatParameters } of plan.eligible) t.like(native.get(vatID), { name, vatParameters });
  t.deepEqual(nativePlan.ineligible, plan.ineligible.filter(v => v.vatID === holders.L));
});

test.serial('local: bad arguments are refused with coded errors naming the argument, and queue nothing', async t => {
  const run = await getRun(t, 'ours', 'local');
  t.is(run.refusals.length, 12);
  for (const { label, thrown, Expected, code, message, unchanged } of run.refusals) {
    t.true(thrown instanceof Expected, `${label}: ${thrown}`);
    t.is(thrown?.code, code, label);
    t.regex(thrown?.message ?? '', message, label);
    t.true(unchanged, `${label}: the kernel state did not move`);
  }
});
