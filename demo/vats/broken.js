// A bundle whose buildRootObject throws: an upgrade to it fails in startVat, and the kernel
// rolls the vat back to its previous incarnation.
export const buildRootObject = () => {
  throw Error('this bundle fails in buildRootObject');
};
