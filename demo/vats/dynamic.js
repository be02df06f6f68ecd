// The dynamic vat of the kernel scenario: it reports the vatParameters each incarnation got.
import { Far } from '@endo/far';

// Held here so the root object stays strongly reachable from the vat itself (see bootstrap.js).
let root;

export const buildRootObject = (_vatPowers, vatParameters) => {
  root = Far('root', {
    describe: () =>
      vatParameters === undefined
        ? 'vatParameters: undefined'
        : `vatParameters: number=${vatParameters.number}, marker=${vatParameters.marker === undefined ? 'none' : 'present'}`,
  });
  return root;
};
