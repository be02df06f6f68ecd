'use strict';
// swing-store's `importSwingStore(exporter, dirPath, options)` on the native Importer. The
// exporter may be ours, swing-store's, or a host's plain object reading files (its
// iterables sync or async); every artifact is checked natively as it streams in. A failed
// import leaves nothing behind: on disk, the new store is written without a journal into a
// side file that only becomes `swingstore.sqlite` at its first commit (so swing-store's
// `unsafeFastMode` speed comes without its risk; the option applies after that commit).

const { Importer } = require('./native.cjs');
const { failType, isObject } = require('./errors.cjs');
const harden = require('./harden.cjs');
const { checkExporter, callExporter, closeExporter, exporterItems, feedExportData } = require('./feed.cjs');
const { feedChunks } = require('./stores.cjs');
const { makeFacets, nativeOptions } = require('./swing-store.cjs');

async function importSwingStore(exporter, dirPath = null, options = {}) {
  if (dirPath && typeof dirPath !== 'string') failType('dirPath must be a string');
  isObject(options) || failType('options must be an object');
  checkExporter(exporter, ['getExportData', 'getArtifactNames', 'getArtifact', 'close']);
  const { artifactMode = 'operational', ...storeOptions } = options;
  const importer = Importer.create(dirPath || null, artifactMode, nativeOptions(storeOptions));
  let store;
  try {
    await feedExportData(exporter, rows => importer.addExportData(rows));
    const names = exporterItems(callExporter(exporter, 'getArtifactNames'), 'getArtifactNames()');
    for await (const name of names) {
      if (importer.beginArtifact(name)) {
        const chunks = exporterItems(callExporter(exporter, 'getArtifact', name), `getArtifact(${JSON.stringify(name)})`);
        await feedChunks(chunks, name, chunk => importer.writeArtifact(chunk));
        importer.finishArtifact();
      }
    }
    store = importer.finish();
  } catch (error) {
    importer.abort();
    throw error;
  }
  try {
    await closeExporter(exporter);
  } catch (error) {
    store.close();
    throw error;
  }
  const { hostStorage, debug } = makeFacets(store, dirPath || null, storeOptions);
  return harden({ hostStorage, debug });
}

module.exports = { importSwingStore };
