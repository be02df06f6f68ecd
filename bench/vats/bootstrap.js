// bench/kernel.mjs's bootstrap vat: introduces the pinger to the ponger, and runs
// create -> upgrade with vatParameters -> upgrade without -> terminate cycles of a dynamic vat
// through vat-admin (the kernel scenario of demo/, looped).
import { Far, E } from '@endo/far';

export const buildRootObject = () => {
  const marker = Far('marker', {});
  let vatAdmin;
  let bundleCap;

  return Far('root', {
    async bootstrap(vats, devices) {
      vatAdmin = await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);
      bundleCap = await E(vatAdmin).getNamedBundleCap('dynamic');
      await E(vats.pinger).setPonger(vats.ponger);
    },
    /** `n` full cycles, one after the other; answers how many ran. */
    async cycles(n) {
      for (let i = 0; i < n; i += 1) {
        const { root, adminNode } = await E(vatAdmin).createVat(bundleCap, {
          vatParameters: { marker, number: i },
        });
        await E(root).describe();
        await E(adminNode).upgrade(bundleCap, { vatParameters: { marker, number: i + 1 } });
        await E(root).describe();
        await E(adminNode).upgrade(bundleCap, {});
        await E(root).describe();
        await E(adminNode).terminateWithFailure(Error('cycle done'));
      }
      return n;
    },
  });
};
