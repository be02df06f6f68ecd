// Node module hooks for the copied suite's AVA workers (registered by register-stand-ins.mjs).
// A module the suite imports that its installed dependency does not ship resolves to the
// harness's own stand-in; only when the real one is missing, so a dependency that ships it wins.
const STAND_INS = {
  '@agoric/internal/tools/ava-assertions.js': new URL('./harness-utilities.mjs', import.meta.url).href,
};

const NOT_SHIPPED = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);

export const resolve = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const standIn = STAND_INS[specifier];
    if (!standIn || !NOT_SHIPPED.has(error?.code)) throw error;
    return { url: standIn, shortCircuit: true };
  }
};
