// The holder vat's next version: the same durable state, reporting itself as v2. The
// upgrade-all scenario maps one holder to this bundle to show `bundleIDs` at work.
import { makeBuildRootObject } from './holder.js';

export const buildRootObject = makeBuildRootObject('v2');
