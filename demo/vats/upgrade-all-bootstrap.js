// The bootstrap vat of the upgrade-all scenario (../upgrade-all-scenario.mjs). It answers the
// kernel scenario's lifecycle steps (./bootstrap.js, whose state is not durable), and builds a
// population of holder vats (./holder.js) whose vatParameters hold objects: two this vat
// exports, shared between holders, and the tokens earlier holders export. What it needs after
// an upgrade of its own is durable (in baggage). `VatData` is the global liveslots provides.
//
// It also keeps, in baggage, every object it imports: an import it stopped using would be
// dropped at the bringOutYourDead before its own upgrade only if a garbage collection had
// found it unreachable by then, which with local workers (whose vats share the host's heap) is
// not deterministic, and the scenario compares runs crank by crank.
import { Far, E } from '@endo/far';
import { buildRootObject as buildLifecycleRoot } from './bootstrap.js';

const provide = (baggage, key, make) => {
  if (!baggage.has(key)) baggage.init(key, make());
  return baggage.get(key);
};

/**
 * The holders, in creation order: each one's vatParameters from the shared objects and the
 * tokens of the holders created before it. The scenario upgrades A-E, maps E to a new bundle
 * and F to a broken one, makes L look created before retention, and terminates T.
 */
const POPULATION = [
  ['A', ({ one }) => ({ label: 'A', shared: one })],
  ['B', ({ one }, { A }) => ({ label: 'B', shared: one, peer: A })],
  ['C', ({ one, two }) => ({ label: 'C', objects: [one, two], number: 3 })],
  ['D', (_, { A, B, C }) => ({ label: 'D', peers: { a: A, b: B, c: C } })],
  ['E', ({ two }, { D }) => ({ label: 'E', shared: two, peer: D })],
  ['F', ({ two }, { C }) => ({ label: 'F', shared: two, peer: C })],
  ['L', ({ one }, { B }) => ({ label: 'L', shared: one, peer: B })],
  ['T', ({ two }, { A }) => ({ label: 'T', shared: two, peer: A })],
];

export const buildRootObject = (vatPowers, vatParameters, baggage) => {
  const lifecycle = buildLifecycleRoot(vatPowers, vatParameters);
  const sharedKind = provide(baggage, 'sharedKind', () => VatData.makeKindHandle('shared'));
  const makeShared = VatData.defineDurableKind(sharedKind, name => ({ name }), {
    ping: ({ state }) => `shared ${state.name} answers`,
  });
  const shared = provide(baggage, 'shared', () => harden({ one: makeShared('one'), two: makeShared('two') }));
  /** label -> { root, adminNode, token } */
  const holders = provide(baggage, 'holders', () => VatData.makeScalarBigMapStore('holders', { durable: true }));

  return Far('root', {
    async bootstrap(vats, devices) {
      await lifecycle.bootstrap(vats, devices);
      const { bootstrap: _ownRoot, ...otherVats } = vats;
      baggage.init('staticVats', harden(otherVats));
      baggage.init('vatAdmin', await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin));
    },
    create: () => lifecycle.create(),
    upgradeWithParameters: () => lifecycle.upgradeWithParameters(),
    upgradeWithoutParameters: () => lifecycle.upgradeWithoutParameters(),
    terminate: () => lifecycle.terminate(),

    /** Creates the holders; returns each one's label and vat name. */
    async populate() {
      const vatAdmin = baggage.get('vatAdmin');
      const bundleCap = await E(vatAdmin).getNamedBundleCap('holder');
      const tokens = {};
      for (const [label, parametersOf] of POPULATION) {
        const vatParameters = parametersOf(shared, tokens);
        const { root, adminNode } = await E(vatAdmin).createVat(bundleCap, { name: `holder-${label}`, vatParameters });
        tokens[label] = await E(root).getToken();
        holders.init(label, harden({ root, adminNode, token: tokens[label] }));
      }
      return [...holders.keys()];
    },
    terminateHolder: label => E(holders.get(label).adminNode).terminateWithFailure(Error(`holder ${label} terminated`)),
    /** What this vat's durable state holds: the holders it created, and its shared objects' answers. */
    census: () => ({ holders: [...holders.keys()], shared: [shared.one.ping(), shared.two.ping()] }),
  });
};
