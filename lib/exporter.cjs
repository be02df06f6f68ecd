'use strict';
// swing-store's `makeSwingStoreExporter(dirPath, { artifactMode })` on the native Exporter:
// its own read-only connection, pinned to the last commit as it opens, taking no lock, so
// it runs beside the writing node (in this process or, as cosmic-swingset runs it, a child).

const { Exporter } = require('./native.cjs');
const { failType, isObject } = require('./errors.cjs');
const harden = require('./harden.cjs');
const { pages, chunks, failing } = require('./stores.cjs');
const { exportDataIterator } = require('./export-rows.cjs');

/** Types whose artifact swing-store's exporter opens only at the first step of its iterator. */
const LAZY_TYPES = new Set(['transcript', 'bundle']);

function makeSwingStoreExporter(dirPath, options = {}) {
  typeof dirPath === 'string' || failType('dirPath must be a string');
  isObject(options) || failType('options must be an object');
  const { artifactMode = 'operational' } = options;
  const exporter = Exporter.open(dirPath, artifactMode);

  let open = true;
  const getExportData = () =>
    exportDataIterator(
      () => exporter.exportData(),
      () => open,
    );

  const getArtifactNames = () => {
    // Checked now, so an incomplete store fails the call itself, as swing-store's does.
    const reader = exporter.artifactNames();
    return (async function* artifactNames() {
      yield* pages(reader);
    })();
  };

  const getArtifact = name => {
    typeof name === 'string' || failType('artifact name must be a string');
    let reader;
    try {
      reader = exporter.openArtifact(name);
    } catch (error) {
      if (LAZY_TYPES.has(name.split('.', 1)[0])) return failing(error);
      throw error;
    }
    return chunks(reader);
  };

  return harden({
    getHostKV: key => exporter.getHostKv(key),
    getExportData,
    getArtifactNames,
    getArtifact,
    close: async () => {
      open = false;
      exporter.close();
    },
  });
}

module.exports = { makeSwingStoreExporter };
