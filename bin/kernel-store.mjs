#!/usr/bin/env node
// kernel-store: inspect a SwingSet kernel store, read-only. Works on databases written by
// @agoric/swing-store as well as by swingset-kernel-store.
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { renderCapData } from './smallcaps.mjs';

const require = createRequire(import.meta.url);

const EXIT_OK = 0;
const EXIT_MISMATCH = 1;
const EXIT_CANNOT_OPEN = 2;

const HELP = {
  main: `usage: kernel-store <command> [options]

commands:
  audit <dir>              recompute every koNN/kpNN refcount from its holders and compare
  vat-params <dir> [vatID] the vatParameters the kernel retained for each live vat
  upgrade-plan <dir>       which vats a kernel-wide "upgrade all vats" can restart, and why not
  demo [dir]               run the real-kernel demo (writes a store in dir, default ./.store-demo)

Every command but demo opens the store read-only and never writes.
'kernel-store <command> --help' describes a command.`,
  audit: `usage: kernel-store audit <dir> [--json] [--external kp40,ko22,...]

Recomputes every kernel object and promise refcount from all of its holders in the kvStore
(c-lists, queues, promise data, pinned objects, retained vatParameters, upgradeEvents) and
compares with what is stored. Deficits are errors, surpluses warnings.
  --external LIST  krefs a host holds outside the store (each counts as one holder)
  --json           print the report as JSON
exit status: 0 clean, 1 mismatches found, 2 the store cannot be opened`,
  'vat-params': `usage: kernel-store vat-params <dir> [vatID] [--json]

Shows the vatParameters the kernel retained for each live vat (or for vatID), with the
smallcaps body rendered readably. Vats created before the kernel retained vatParameters are
marked: they cannot be upgraded without new parameters.
exit status: 0, or 2 when the store cannot be opened`,
  'upgrade-plan': `usage: kernel-store upgrade-plan <dir> [--json] [--exclude VATS] [--bundle VAT=BUNDLEID]...

Shows exactly what upgradeAllVats(controller, kvStore, options) would do on this store with the
same options: the vats it would queue an upgrade for (with the bundle and the retained
vatParameters it would hand back), and every other live or still-listed terminated vat, with
the reason it is left alone. vatAdmin is always left alone.
  --exclude VATS          vatIDs or names to leave alone, comma-separated (replaces the default, comms)
  --bundle VAT=BUNDLEID   upgrade VAT (a vatID or name) to BUNDLEID, which the store must hold
  --json                  print the plan as JSON ({ eligible, ineligible })
exit status: 0, or 2 when the store cannot be opened or an option is refused`,
  demo: `usage: kernel-store demo [dir]

Runs a real SwingSet kernel on an on-disk store in dir (default ./.store-demo, erased first):
a dynamic vat with an object in its vatParameters is created, upgraded with and without
vatParameters and terminated, printing what is retained and counted at each step; then every
vat of that kernel is upgraded by upgradeAllVats with its retained vatParameters, printing the
plan and each vat's outcome.`,
};

/** What the demo imports beyond this package (its vats import @endo/far). */
const DEMO_NEEDS = ['@agoric/swingset-vat', '@agoric/kmarshal', '@endo/init', '@endo/far'];

const parseArgs = argv => {
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--json' || arg === '--help' || arg === '-h') flags[arg.replace(/^-+/, '')] = true;
    else if (arg === '--external') flags.external = argv[(i += 1)] ?? '';
    else if (arg.startsWith('--external=')) flags.external = arg.slice('--external='.length);
    else if (arg === '--exclude') flags.exclude = argv[(i += 1)] ?? '';
    else if (arg === '--bundle') flags.bundles = [...(flags.bundles ?? []), argv[(i += 1)] ?? ''];
    else if (arg.startsWith('-')) throw Error(`unknown option ${arg}`);
    else positional.push(arg);
  }
  return { positional, flags };
};

const openReadOnly = dir => {
  const { KernelStore } = require('../lib/index.cjs');
  try {
    return KernelStore.open(dir, { readonly: true });
  } catch (e) {
    console.error(`kernel-store: cannot open ${dir}: ${e.message}${e.code ? ` (${e.code})` : ''}`);
    process.exit(EXIT_CANNOT_OPEN);
  }
};

const requireDir = (command, dir) => {
  if (!dir) {
    console.error(`kernel-store ${command}: missing <dir>\n\n${HELP[command]}`);
    process.exit(EXIT_CANNOT_OPEN);
  }
  return dir;
};

/** A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal. */
const makeProgressBar = () => {
  if (!process.stderr.isTTY) return undefined;
  return (scanned, total) => {
    const fraction = total > 0 ? Math.min(1, scanned / total) : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${scanned.toLocaleString()} / ~${total.toLocaleString()} entries`,
    );
  };
};

const renderFinding = f =>
  [
    `  ${f.kind}${f.kref ? ` ${f.kref}` : ''}${f.key && !f.kref ? ` ${f.key}` : ''}: ${f.message}`,
    ...(f.stored !== null || f.computed !== null ? [`    stored ${f.stored ?? '(none)'}, computed ${f.computed ?? '(none)'}`] : []),
    ...f.holders.map(h => `    held by ${h.key} (${h.what}, +${h.adds})`),
  ].join('\n');

/** upgradeAllVats' options from upgrade-plan's flags; mapped bundles are checked in `store`. */
const upgradeOptions = (flags, store) => {
  const options = {};
  if (flags.exclude !== undefined) options.exclude = flags.exclude.split(',').map(s => s.trim()).filter(Boolean);
  if (flags.bundles) {
    options.bundleIDs = {};
    for (const mapping of flags.bundles) {
      const [, vat, bundleID] = /^([^=]+)=(.*)$/.exec(mapping) ?? [];
      if (!vat) throw Error(`--bundle takes VAT=BUNDLEID, not ${JSON.stringify(mapping)}`);
      options.bundleIDs[vat] = bundleID;
    }
    options.bundleStore = { hasBundle: bundleID => store.hasBundle(bundleID) };
  }
  return options;
};

const commands = {
  audit: ({ positional: [dir], flags }) => {
    const { auditRefcounts } = require('../lib/index.cjs');
    const external = flags.external ? flags.external.split(',').map(s => s.trim()).filter(Boolean) : [];
    const progress = flags.json ? undefined : makeProgressBar();
    let report;
    try {
      report = auditRefcounts(requireDir('audit', dir), { external }, progress);
    } catch (e) {
      if (progress) process.stderr.write('\n');
      console.error(`kernel-store: cannot audit ${dir}: ${e.message}${e.code ? ` (${e.code})` : ''}`);
      return EXIT_CANNOT_OPEN;
    }
    if (progress) process.stderr.write('\n');
    const clean = report.errors.length === 0 && report.warnings.length === 0;
    if (flags.json) {
      console.log(JSON.stringify({ clean, ...report }, null, 2));
    } else {
      console.log(
        `${report.entriesScanned.toLocaleString()} entries, ${report.objects.toLocaleString()} objects, ` +
          `${report.promises.toLocaleString()} promises audited in ${report.elapsedSeconds.toFixed(2)} s ` +
          `(${Math.round(report.entriesPerSecond).toLocaleString()} entries/s)`,
      );
      for (const [title, list] of [
        ['errors', report.errors],
        ['warnings', report.warnings],
        ['info', report.info],
      ]) {
        if (list.length) console.log(`${title} (${list.length}):\n${list.map(renderFinding).join('\n')}`);
      }
      console.log(clean ? 'clean: every refcount equals the count of its holders' : 'MISMATCHES FOUND');
    }
    return clean ? EXIT_OK : EXIT_MISMATCH;
  },
  'vat-params': ({ positional: [dir, onlyVat], flags }) => {
    const store = openReadOnly(requireDir('vat-params', dir));
    const plan = store.planUpgradeAll();
    const vats = [...plan.eligible, ...plan.ineligible]
      .map(({ vatID, name }) => ({ vatID, name, vatParameters: store.getVatParameters(vatID) }))
      .filter(v => !onlyVat || v.vatID === onlyVat)
      .sort((a, b) => Number(a.vatID.slice(1)) - Number(b.vatID.slice(1)));
    store.close();
    if (onlyVat && vats.length === 0) {
      console.error(`kernel-store vat-params: ${onlyVat} is not a live vat in ${dir}`);
      return EXIT_CANNOT_OPEN;
    }
    if (flags.json) {
      console.log(JSON.stringify(vats.map(v => ({ ...v, retained: v.vatParameters !== undefined })), null, 2));
      return EXIT_OK;
    }
    for (const { vatID, name, vatParameters } of vats) {
      if (vatParameters === undefined) {
        console.log(`${vatID} (${name}): no retained vatParameters (legacy vat, created before retention)`);
      } else {
        console.log(`${vatID} (${name}): ${renderCapData(vatParameters)}`);
        if (vatParameters.slots.length) console.log(`  slots: ${vatParameters.slots.join(', ')}`);
      }
    }
    return EXIT_OK;
  },
  'upgrade-plan': ({ positional: [dir], flags }) => {
    const { planVatUpgrades } = require('../lib/upgrade-all.cjs');
    const store = openReadOnly(requireDir('upgrade-plan', dir));
    let plan;
    try {
      plan = planVatUpgrades(store.kvStore, upgradeOptions(flags, store));
    } catch (e) {
      console.error(`kernel-store upgrade-plan: ${e.message}${e.code ? ` (${e.code})` : ''}`);
      return EXIT_CANNOT_OPEN;
    } finally {
      store.close();
    }
    if (flags.json) {
      console.log(JSON.stringify(plan, null, 2));
      return EXIT_OK;
    }
    console.log(`eligible (${plan.eligible.length}):`);
    for (const v of plan.eligible) {
      console.log(`  ${v.vatID} ${v.name} bundle ${v.bundleID}: ${renderCapData(v.vatParameters, '  ')}`);
    }
    console.log(`ineligible (${plan.ineligible.length}):`);
    for (const v of plan.ineligible) console.log(`  ${v.vatID} ${v.name}: ${v.reason}`);
    return EXIT_OK;
  },
  demo: ({ positional: [dir] }) => {
    const demo = fileURLToPath(new URL('../demo/main.mjs', import.meta.url));
    // An installed copy has the demo but not its kernel: that is the host's to install.
    const fromDemo = createRequire(demo);
    const missing = DEMO_NEEDS.filter(name => {
      try {
        fromDemo.resolve(name);
        return false;
      } catch {
        return true;
      }
    });
    if (missing.length > 0) {
      console.error(
        `kernel-store demo runs a real SwingSet kernel and needs ${missing.join(', ')} installed alongside swingset-kernel-store:\n` +
          `  npm install @agoric/swingset-vat@0.33.0 @agoric/kmarshal @endo/init @endo/far`,
      );
      return 2;
    }
    return spawnSync(process.execPath, [demo, ...(dir ? [dir] : [])], { stdio: 'inherit' }).status ?? 1;
  },
};

const main = argv => {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main);
    return command ? EXIT_OK : EXIT_CANNOT_OPEN;
  }
  const run = commands[command];
  if (!run) {
    console.error(`kernel-store: unknown command ${command}\n\n${HELP.main}`);
    return EXIT_CANNOT_OPEN;
  }
  let args;
  try {
    args = parseArgs(rest);
  } catch (e) {
    console.error(`kernel-store ${command}: ${e.message}\n\n${HELP[command]}`);
    return EXIT_CANNOT_OPEN;
  }
  if (args.flags.help) {
    console.log(HELP[command]);
    return EXIT_OK;
  }
  return run(args);
};

process.exitCode = main(process.argv.slice(2));
