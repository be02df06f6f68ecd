'use strict';
// swing-store's `hostStorage.repairMetadata(exporter)`: the store's lost artifact records
// come back from another node's export data (agoric-sdk #8025), checked natively; the
// repairs wait in the open block for the host's commit.

const { checkExporter, closeExporter, feedExportData } = require('./feed.cjs');

const repairMetadata = async (store, exporter) => {
  checkExporter(exporter, ['getExportData', 'close']);
  const repair = store.beginRepair();
  await feedExportData(exporter, rows => repair.addExportData(rows));
  repair.finish();
  await closeExporter(exporter);
};

module.exports = { repairMetadata };
