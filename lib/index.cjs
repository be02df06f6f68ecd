'use strict';
// The package entry: every named export of @agoric/swing-store 0.10.0's entry, with its call
// and result shapes (so a host, or swingset-vat itself, can import this package in its
// place), and this package's own: the native store, its audit, and upgrading every vat.

const native = require('./native.cjs');
const { initSwingStore, openSwingStore, isSwingStore } = require('./swing-store.cjs');
const { makeSwingStoreExporter } = require('./exporter.cjs');
const { importSwingStore } = require('./importer.cjs');
const { makeArchiveSnapshot, makeArchiveTranscript } = require('./archiver.cjs');
const standalone = require('./standalone.cjs');
const { upgradeAllVats, planVatUpgrades, readUpgradeOutcomes } = require('./upgrade-all.cjs');

module.exports = {
  initSwingStore,
  openSwingStore,
  isSwingStore,
  makeSwingStoreExporter,
  importSwingStore,
  makeArchiveSnapshot,
  makeArchiveTranscript,
  makeKVStore: standalone.makeKVStore,
  getKeyType: standalone.getKeyType,
  makeTranscriptStore: standalone.makeTranscriptStore,
  makeSnapStore: standalone.makeSnapStore,
  makeSnapStoreIO: standalone.makeSnapStoreIO,
  makeBundleStore: standalone.makeBundleStore,
  bundleIDFromName: standalone.bundleIDFromName,

  auditRefcounts: native.auditRefcounts,
  KernelStore: native.KernelStore,
  KvStore: native.KvStore,
  SnapshotWriter: native.SnapshotWriter,
  SnapshotReader: native.SnapshotReader,
  SpanReader: native.SpanReader,
  Exporter: native.Exporter,
  Importer: native.Importer,
  upgradeAllVats,
  planVatUpgrades,
  readUpgradeOutcomes,
};
