// swing-store's replacer options (wrapKvStore and friends) on the swing-store-compatible
// entry: the same operations through @agoric/swing-store 0.10.0 and through ours, each with
// the same wrappers, must give the same wrapper calls, results, errors, hashes and contents.
import '@endo/init/debug.js';
import test from 'ava';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs, openSwingStore as openOurs } from '../lib/index.mjs';
import { tmpDir } from './support/files.mjs';

/** A wrapKvStore that logs every call it sees and refuses to store values starting with "!". */
const tracingWrapper = log => inner => ({
  has: key => (log.push(['has', key]), inner.has(key)),
  get: key => (log.push(['get', key]), inner.get(key)),
  getNextKey: key => (log.push(['getNextKey', key]), inner.getNextKey(key)),
  set: (key, value) => {
    log.push(['set', key, value]);
    if (value.startsWith('!')) throw Error(`wrapper refuses ${value}`);
    inner.set(key, value);
  },
  delete: key => (log.push(['delete', key]), inner.delete(key)),
});

const attempt = f => {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e.message };
  }
};

/** Kernel and host traffic, including refused namespaces and a write the wrapper refuses. */
const exercise = ({ kernelStorage, hostStorage, internal }) => {
  const kv = kernelStorage.kvStore;
  const host = hostStorage.kvStore;
  const results = [];
  kernelStorage.startCrank();
  results.push(attempt(() => kv.set('kernel.a', '1')));
  results.push(attempt(() => kv.set('local.b', '2')));
  results.push(attempt(() => kv.set('host.c', '3')));
  results.push(attempt(() => kv.set('kernel.refused', '!no')));
  results.push(attempt(() => kv.get('kernel.a')));
  results.push(attempt(() => kv.has('local.b')));
  results.push(attempt(() => kv.getNextKey('kernel.a')));
  results.push(attempt(() => kv.delete('kernel.a')));
  results.push(attempt(() => kv.delete('host.c')));
  results.push(attempt(() => host.set('host.h', 'x')));
  results.push(attempt(() => host.set('kernel.h', 'x')));
  results.push(attempt(() => host.get('host.h')));
  results.push(attempt(() => internal.kvStore.set('kernel.raw', 'r')));
  const { crankhash } = kernelStorage.emitCrankHashes();
  kernelStorage.endCrank();
  return { results, crankhash, activityhash: kernelStorage.getActivityhash() };
};

const contents = ({ kernelStorage }) => {
  const entries = [];
  for (let key = kernelStorage.kvStore.getNextKey(''); key !== undefined; key = kernelStorage.kvStore.getNextKey(key)) {
    entries.push([key, kernelStorage.kvStore.get(key)]);
  }
  return entries;
};

const run = init => {
  const log = [];
  const swingStore = init(null, { wrapKvStore: tracingWrapper(log) });
  const outcome = exercise(swingStore);
  const calls = log.splice(0);
  return { ...outcome, calls, contents: contents(swingStore) };
};

test('with wrapKvStore, every kernel and host facet call goes through the wrapper as in swing-store', t => {
  const theirs = run(initTheirs);
  const ours = run(initOurs);
  t.deepEqual(ours.calls, theirs.calls);
  t.true(ours.calls.some(([op, key]) => op === 'set' && key === 'host.h'), 'host facet writes are wrapped');
  t.false(ours.calls.some(([, key]) => key === 'host.c'), 'a refused namespace never reaches the wrapper');
});

test('with wrapKvStore, results, errors, crank hashes and contents match swing-store', t => {
  const theirs = run(initTheirs);
  const ours = run(initOurs);
  t.deepEqual(ours.results, theirs.results);
  t.is(ours.crankhash, theirs.crankhash);
  t.is(ours.activityhash, theirs.activityhash);
  t.deepEqual(ours.contents, theirs.contents);
});

test('the other replacers wrap the stores the kernel facets use, as in swing-store', t => {
  const seen = [];
  const spy = name => s => (seen.push(name), s);
  const { kernelStorage } = initOurs(null, {
    wrapTranscriptStore: spy('transcriptStore'),
    wrapSnapStore: spy('snapStore'),
    wrapBundleStore: spy('bundleStore'),
  });
  t.deepEqual(seen.sort(), ['bundleStore', 'snapStore', 'transcriptStore']);
  t.is(typeof kernelStorage.transcriptStore.initTranscript, 'function');
});

for (const name of ['wrapKvStore', 'wrapTranscriptStore', 'wrapSnapStore', 'wrapBundleStore']) {
  test(`a ${name} that is not a function is refused with a coded TypeError`, t => {
    const err = t.throws(() => initOurs(null, { [name]: 'nope' }), { instanceOf: TypeError });
    t.is(err.code, 'ERR_INVALID_ARG_TYPE');
    t.regex(err.message, new RegExp(name));
  });
}

test('a replacer that throws or returns no object closes the store it was given, releasing the directory', t => {
  const dir = tmpDir(t, 'wrap');
  const thrown = Error('wrapper failed');
  t.is(t.throws(() => initOurs(dir, { wrapSnapStore: () => { throw thrown; } })), thrown);
  const err = t.throws(() => openOurs(dir, { wrapBundleStore: () => undefined }));
  t.is(err.code, 'ERR_INVALID_ARG_VALUE');
  // A lock left behind is never released: this open would fail with ERR_STORE_BUSY.
  const { hostStorage } = openOurs(dir);
  hostStorage.close();
  t.pass();
});
