// The main job until the real-kernel demo lands: open an on-disk store, run a few cranks the
// way the SwingSet kernel does (savepoints, an aborted delivery rolled back, hashes emitted),
// commit, reopen, and print what each crank produced.
//
//   npm run demo [-- <dir>]     (default: ./.store-demo)
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { KernelStore } = require('../index.js');

const dir = resolve(process.argv[2] ?? '.store-demo');
const exported = [];
const store = KernelStore.open(dir, { exportCallback: rows => exported.push(...rows) });
const kv = store.kvStore;
console.log(`store: ${store.dbPath}`);
console.log(`activityhash at open: ${store.getActivityhash() || '(none yet)'}`);

const cranks = [
  {
    label: 'export an object',
    run: () => {
      kv.set('v1.c.ko20', 'R o+10');
      kv.set('v1.c.o+10', 'ko20');
      kv.set('ko20.owner', 'v1');
      kv.set('ko20.refCount', '0,0');
    },
  },
  {
    label: 'import it into v2',
    run: () => {
      kv.set('v2.c.ko20', 'R o-50');
      kv.set('v2.c.o-50', 'ko20');
      kv.set('ko20.refCount', '1,1');
      kv.set('local.kernelStats', '{"cranks":2}');
    },
  },
  {
    label: 'aborted delivery (rolled back)',
    run: () => {
      store.establishCrankSavepoint('deliver');
      kv.set('ko20.refCount', '2,2');
      kv.delete('v2.c.ko20');
      store.rollbackCrank('deliver');
    },
  },
];

for (const { label, run } of cranks) {
  store.startCrank();
  store.establishCrankSavepoint('start');
  run();
  const { crankhash, activityhash } = store.emitCrankHashes();
  store.endCrank();
  console.log(`crank "${label}"\n  crankhash    ${crankhash}\n  activityhash ${activityhash}`);
}
store.commit();
console.log(`committed; ${exported.length} export-data rows delivered`);
store.close();

const reopened = KernelStore.open(dir, { readonly: true });
console.log(`reopened: ko20.refCount = ${reopened.kvStore.get('ko20.refCount')}, v2.c.ko20 = ${reopened.kvStore.get('v2.c.ko20')}`);
console.log(`activityhash after reopen: ${reopened.getActivityhash()}`);
reopened.close();
