// Runs the repository's TypeScript in Node without a build: `node -r ./scripts/lib/swc-register.js
// scripts/start.ts`. Each .ts file is transpiled by swc when it is required, as @swc/jest does for
// the tests and as ts-node did with `"swc": true` (transpile only, no type check: `npm run build`
// and the lint type-check). ts-node also loaded the TypeScript compiler to read tsconfig.json,
// about 80 MB and 0.25 s in every process (a CLI, a synth, each CLI a test spawns); this hook
// loads only swc. Plain JavaScript: it is what makes TypeScript loadable.
'use strict';

const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

// tsconfig.json's compilerOptions as ts-node gave them to swc: ES2022 (class fields defined, as
// TypeScript's useDefineForClassFields does for that target), CommonJS with esModuleInterop,
// strict mode, class names kept; source maps inline, so stack traces name the .ts lines.
const OPTIONS = {
  swcrc: false,
  sourceMaps: 'inline',
  module: { type: 'commonjs', noInterop: false, strictMode: true },
  jsc: {
    parser: { syntax: 'typescript' },
    target: 'es2022',
    keepClassNames: true,
    transform: { useDefineForClassFields: true },
  },
};

process.setSourceMapsEnabled(true);

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...OPTIONS, filename });
  module._compile(code, filename);
};
