// The package entry is @agoric/swing-store 0.10.0's: every name its entry exports is exported
// here too, from `import` and from `require`, as a value of the same kind. The list is read
// from the real package at run time, so a name it has and we lack cannot go unnoticed.
import '@endo/init/debug.js';
import test from 'ava';
import { createRequire } from 'node:module';
import * as theirs from '@agoric/swing-store';
import * as oursImported from '../lib/index.mjs';

const require = createRequire(import.meta.url);
const oursRequired = require('../lib/index.cjs');

const theirNames = Object.keys(theirs).filter(name => name !== 'default');

test('swing-store 0.10.0 exports names to compare with', t => {
  t.true(theirNames.length >= 14, theirNames.join(', '));
});

for (const [label, ours] of [
  ['import', oursImported],
  ['require', oursRequired],
]) {
  test(`every name swing-store exports is exported by ${label}, as the same kind of value`, t => {
    const missing = theirNames.filter(name => !(name in ours));
    t.deepEqual(missing, [], 'missing exports');
    const differing = theirNames
      .filter(name => name in ours && typeof ours[name] !== typeof theirs[name])
      .map(name => `${name}: ${typeof ours[name]} where swing-store has ${typeof theirs[name]}`);
    t.deepEqual(differing, [], 'exports of another kind');
  });
}
