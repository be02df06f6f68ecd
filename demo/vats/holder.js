// A dynamic vat of the upgrade-all scenario, written to be upgraded: what it must keep is
// durable (in baggage), so every incarnation finds the same token, label and counter. Each
// incarnation keeps the vatParameters its buildRootObject received, hands them back on request,
// and sends a message to every object in them, so a host can check that a kernel-driven upgrade
// gave it the same objects, still usable. `VatData` is the global liveslots gives every vat.
import { Far, E, passStyleOf } from '@endo/far';

const provide = (baggage, key, make) => {
  if (!baggage.has(key)) baggage.init(key, make());
  return baggage.get(key);
};

/** Every object in a tree of records and arrays, records in key order. */
const objectsIn = value => {
  switch (passStyleOf(value)) {
    case 'remotable':
      return [value];
    case 'copyArray':
      return value.flatMap(objectsIn);
    case 'copyRecord':
      return Object.keys(value)
        .sort()
        .flatMap(key => objectsIn(value[key]));
    default:
      return [];
  }
};

/** The buildRootObject of the holder vat's bundle `version` (holder-v2.js is another). */
export const makeBuildRootObject = version => (_vatPowers, vatParameters, baggage) => {
  const tokenKind = provide(baggage, 'tokenKind', () => VatData.makeKindHandle('token'));
  const makeToken = VatData.defineDurableKind(tokenKind, label => ({ label }), {
    ping: ({ state }) => `token ${state.label} answers`,
  });
  const label = provide(baggage, 'label', () => vatParameters.label);
  const token = provide(baggage, 'token', () => makeToken(label));
  provide(baggage, 'bumps', () => 0);

  return Far('root', {
    getToken: () => token,
    getParameters: () => vatParameters,
    pingParameters: () => Promise.all(objectsIn(vatParameters).map(object => E(object).ping())),
    bump: () => {
      baggage.set('bumps', baggage.get('bumps') + 1);
      return baggage.get('bumps');
    },
    describe: () => ({ version, label, bumps: baggage.get('bumps') }),
  });
};

export const buildRootObject = makeBuildRootObject('v1');
