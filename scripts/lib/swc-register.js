// Runs the repository's TypeScript in Node without a build: `node -r ./scripts/lib/swc-register.js
// scripts/start.ts`. Each .ts file is transpiled by swc when it is required, as @swc/jest does for
// the tests and as ts-node did with `"swc": true` (transpile only, no type check: `npm run build`
// and the lint type-check). ts-node also loaded the TypeScript compiler to read tsconfig.json,
// about 80 MB and 0.25 s in every process (a CLI, a synth, each CLI a test spawns); this hook
// loads only swc, and only for a file it has not transpiled before: the output is kept in
// node_modules/.cache/dynalake-swc, keyed by swc's version, the options, the path and the source,
// so most processes never load swc's native binding (about 20 MB of resident memory each).
// Plain JavaScript: it is what makes TypeScript loadable.
'use strict';

const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

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

const CACHE_DIR = join(__dirname, '..', '..', 'node_modules', '.cache', 'dynalake-swc');
// What the output depends on besides the file: a new swc or new options make every key new.
const SALT = JSON.stringify([JSON.parse(readFileSync(require.resolve('@swc/core/package.json'), 'utf8')).version, OPTIONS]);

let transformSync;

/** swc's output for `source`, from the cache or transpiled now (and kept). */
function transpile(source, filename) {
  const key = createHash('sha256').update(SALT).update('\0').update(filename).update('\0').update(source).digest('hex');
  const cached = join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // Not transpiled yet.
  }
  transformSync ??= require('@swc/core').transformSync;
  const { code } = transformSync(source, { ...OPTIONS, filename });
  try {
    // Written under a unique name, then renamed: processes starting at once never read half a file.
    mkdirSync(CACHE_DIR, { recursive: true });
    const staging = join(CACHE_DIR, `.${key}.${process.pid}`);
    writeFileSync(staging, code);
    renameSync(staging, cached);
  } catch {
    // A read-only node_modules only costs the next process the transpiling.
  }
  return code;
}

process.setSourceMapsEnabled(true);

require.extensions['.ts'] = (module, filename) => {
  module._compile(transpile(readFileSync(filename, 'utf8'), filename), filename);
};
