// The dynamic vat of the kernel scenario: it reports the vatParameters each incarnation got.
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters) =>
  Far('root', {
    describe: () =>
      vatParameters === undefined
        ? 'vatParameters: undefined'
        : `vatParameters: number=${vatParameters.number}, marker=${vatParameters.marker === undefined ? 'none' : 'present'}`,
  });
