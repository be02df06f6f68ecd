import '@endo/init/debug.js';
import { initSwingStore, openSwingStore } from '@agoric/swing-store';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
const a = initSwingStore(dir); const b = openSwingStore(dir);
console.log(b.kernelStorage.kvStore.get('x'));
a.kernelStorage.kvStore.set('x', '1'); await a.hostStorage.commit();
console.log('b sees', b.kernelStorage.kvStore.get('x'));
