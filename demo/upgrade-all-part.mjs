// The demo's ending (see main.mjs): on the same kernel, the bootstrap vat creates eight holder
// vats whose vatParameters hold objects; the host makes holder L look created before the kernel
// retained vatParameters and terminates holder T (cleanup deferred), then upgrades every vat
// with upgradeAllVats (holder E to a new bundle, holder F to one that fails) and prints each
// vat's incarnation and vatParameters before and after, the outcomes, and the refcount audit.
import { auditRefcounts, planVatUpgrades, readUpgradeOutcomes, upgradeAllVats } from '../lib/index.mjs';
import { renderCapData } from '../bin/smallcaps.mjs';
import { holderVatIDs, incarnationOf, send, settle, simulateCreatedBeforeRetention } from './upgrade-all-scenario.mjs';

const oneLine = text => text.replace(/\s*\n\s*/g, ' ');
const renderRetained = json => (json === undefined ? '(none retained)' : oneLine(renderCapData(JSON.parse(json))));

/** Runs the ending on a started kernel of the upgrade-all scenario, stored in `dir`. */
export async function upgradeAllPart({ controller, swingStore, dir, bootstrapKpid }) {
  const { kernelStorage } = swingStore;
  const { kvStore } = kernelStorage;
  const say = (label, value) => console.log(`  ${label.padEnd(24)} ${value}`);

  console.log('\nupgrading every vat of this kernel, with its retained vatParameters:');
  await send(controller, swingStore, [['bootstrap', 'populate']]);
  const holders = holderVatIDs(kvStore);
  for (const [label, vatID] of Object.entries(holders)) say(`holder-${label} ${vatID}`, renderRetained(kvStore.get(`${vatID}.vatParameters`)));
  simulateCreatedBeforeRetention(kernelStorage, holders.L);
  await swingStore.hostStorage.commit();
  say(`holder-L ${holders.L}`, 'made to look created before retention: vatParameters deleted, their counts taken off');
  await send(controller, swingStore, [['bootstrap', 'terminateHolder', ['T']]]);
  say(`holder-T ${holders.T}`, 'terminated (its cleanup deferred, so the kernel still lists it)');

  const options = {
    bundleIDs: { 'holder-E': kvStore.get('namedBundleID.holder-v2'), 'holder-F': kvStore.get('namedBundleID.broken') },
    bundleStore: kernelStorage.bundleStore,
  };
  const { eligible, ineligible } = planVatUpgrades(kvStore, options);
  const listed = [...eligible, ...ineligible].sort((a, b) => Number(a.vatID.slice(1)) - Number(b.vatID.slice(1)));
  const before = new Map(listed.map(({ vatID }) => [vatID, [incarnationOf(kernelStorage, vatID), kvStore.get(`${vatID}.vatParameters`)]]));

  const result = upgradeAllVats(controller, kvStore, options);
  console.log(`upgradeAllVats queued ${result.queued.length} upgrades (holder-E to holder-v2, holder-F to broken); controller.run()...`);
  await settle(controller, swingStore);
  const outcomes = new Map(readUpgradeOutcomes(controller, kvStore, result.queued).map(o => [o.vatID, o]));
  await swingStore.hostStorage.commit();
  const reasons = new Map(result.ineligible.map(v => [v.vatID, v.reason]));

  for (const { vatID, name } of listed) {
    const [incarnation, vatParameters] = before.get(vatID);
    const outcome = outcomes.get(vatID);
    const verdict = outcome
      ? `${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}${outcome.strandedCounts?.length ? ` (stranded: ${outcome.strandedCounts.join(', ')})` : ''}`
      : `not upgraded: ${reasons.get(vatID)}`;
    console.log(`${vatID} ${name}: ${verdict}`);
    say('incarnation', `${incarnation ?? '-'} -> ${incarnationOf(kernelStorage, vatID) ?? '-'}`);
    say('vatParameters before', renderRetained(vatParameters));
    say('vatParameters after', renderRetained(kvStore.get(`${vatID}.vatParameters`)));
  }

  const stranded = new Map([...outcomes.values()].flatMap(o => (o.strandedCounts ?? []).map(kref => [kref, o.name])));
  const report = auditRefcounts(dir, { external: [bootstrapKpid] });
  console.log(
    `audit (auditRefcounts, the host holding ${bootstrapKpid}): ${report.errors.length} errors (deficits), ${report.warnings.length} warnings (surpluses)`,
  );
  for (const finding of report.errors) say(`error ${finding.kref ?? finding.key}`, finding.message);
  for (const { kref, stored, computed } of report.warnings) {
    const why = stranded.has(kref)
      ? `the kernel's hold for ${stranded.get(kref)}'s failed upgrade, released in the crank the failure unwound`
      : 'not explained by this demo';
    say(`surplus ${kref}`, `stored ${stored}, holders ${computed}: ${why}`);
  }
}
