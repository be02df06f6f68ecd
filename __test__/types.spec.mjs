// The published types, checked by the TypeScript compiler: types/host.ts makes every public call
// of both entries as a host would (and the mistakes it must refuse), and types/assignable.mts
// hands the swing-store-compatible entry's results to @agoric/swing-store's own types.
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsconfig = path.join(root, '__test__/types/tsconfig.json');

/**
 * The compiler's diagnostics for the project, except those inside node_modules: swing-store's
 * types are JSDoc in its `// @ts-check` JS, which the compiler then checks as well, and which
 * (like some of its dependencies' declarations) does not pass strict checking on its own. This
 * is why the compiler runs here rather than as `tsc -p`, which has no way to leave those out.
 */
const diagnosticsOfOurFiles = configPath => {
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: diagnostic => {
      throw Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    configFileParsingDiagnostics: config.errors,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter(diagnostic => !diagnostic.file?.fileName.split('/').includes('node_modules'));
};

test('the types of both entries accept a host and refuse its mistakes, and SwingSet can take our storage', t => {
  const report = ts.formatDiagnostics(diagnosticsOfOurFiles(tsconfig), {
    getCanonicalFileName: fileName => fileName,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
  t.is(report, '');
});
