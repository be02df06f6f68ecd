// The bootstrap vat of the kernel scenario: it creates a dynamic vat whose vatParameters hold
// an object (`marker`), upgrades it with and without vatParameters, and terminates it.
import { Far, E } from '@endo/far';

// Held here so the root object stays strongly reachable from the vat itself: with local
// workers, a garbage collection at the wrong moment was observed to leave liveslots without it
// ("I don't remember allocating o+0") and the kernel then terminated this vat.
let root;

export const buildRootObject = () => {
  const marker = Far('marker', {});
  let vatAdmin;
  let bundleCap;
  let dynamicRoot;
  let adminNode;

  root = Far('root', {
    async bootstrap(vats, devices) {
      vatAdmin = await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);
      bundleCap = await E(vatAdmin).getNamedBundleCap('dynamic');
    },
    async create() {
      ({ root: dynamicRoot, adminNode } = await E(vatAdmin).createVat(bundleCap, {
        vatParameters: { marker, number: 1 },
      }));
      return E(dynamicRoot).describe();
    },
    async upgradeWithParameters() {
      await E(adminNode).upgrade(bundleCap, { vatParameters: { marker, number: 2 } });
      return E(dynamicRoot).describe();
    },
    async upgradeWithoutParameters() {
      await E(adminNode).upgrade(bundleCap, {});
      return E(dynamicRoot).describe();
    },
    async terminate() {
      await E(adminNode).terminateWithFailure(Error('scenario done'));
      return 'terminated';
    },
  });
  return root;
};
