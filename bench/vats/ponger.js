// bench/kernel.mjs's ponger vat: answers each ping, and remembers the token it was shown.
import { Far } from '@endo/far';

export const buildRootObject = () => {
  let seen = 0;
  let lastToken;
  return Far('root', {
    ping(i, token) {
      seen += 1;
      lastToken = token;
      return i + (lastToken ? 1 : 0);
    },
    seen: () => seen,
  });
};
