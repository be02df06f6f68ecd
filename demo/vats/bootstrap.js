// The bootstrap vat of the kernel scenario: it creates a dynamic vat whose vatParameters hold
// an object (`marker`), upgrades it with and without vatParameters, and terminates it.
import { Far, E } from '@endo/far';

export const buildRootObject = () => {
  const marker = Far('marker', {});
  let vatAdmin;
  let bundleCap;
  let root;
  let adminNode;

  return Far('root', {
    async bootstrap(vats, devices) {
      vatAdmin = await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);
      bundleCap = await E(vatAdmin).getNamedBundleCap('dynamic');
    },
    async create() {
      ({ root, adminNode } = await E(vatAdmin).createVat(bundleCap, {
        vatParameters: { marker, number: 1 },
      }));
      return E(root).describe();
    },
    async upgradeWithParameters() {
      await E(adminNode).upgrade(bundleCap, { vatParameters: { marker, number: 2 } });
      return E(root).describe();
    },
    async upgradeWithoutParameters() {
      await E(adminNode).upgrade(bundleCap, {});
      return E(root).describe();
    },
    async terminate() {
      await E(adminNode).terminateWithFailure(Error('scenario done'));
      return 'terminated';
    },
  });
};
