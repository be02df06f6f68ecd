// bench/kernel.mjs's pinger vat: sends batches of pings to the ponger vat, each carrying the
// same object reference (so every message moves c-list entries and refcounts), and awaits all
// the answers.
import { Far, E } from '@endo/far';

export const buildRootObject = () => {
  const token = Far('token', {});
  let ponger;
  return Far('root', {
    setPonger(p) {
      ponger = p;
    },
    /** Sends pings start..start+count-1 at once; answers the sum of the replies. */
    async pingBatch(start, count) {
      const replies = [];
      for (let i = start; i < start + count; i += 1) replies.push(E(ponger).ping(i, token));
      const answers = await Promise.all(replies);
      return answers.reduce((a, b) => a + b, 0);
    },
  });
};
