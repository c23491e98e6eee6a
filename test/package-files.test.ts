import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * The package's `files` list ships the local runtime's compiled modules by hand. A module the
 * `dynalake-local` command comes to import without being listed fails only when installed from
 * the tarball (it did once: scripts/local/metrics). This checks every module the command's
 * source imports, as esbuild resolves them, against `files`, without building or packing.
 */

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; bin: Record<string, string> };

/** A `files` entry as npm reads it: a folder ships everything under it; `*` and `{a,b}` match within a name. */
function entryPattern(entry: string): RegExp {
  const escaped = entry.replace(/[.+^$()|[\]\\]/g, '\\$&');
  const pattern = escaped.replace(/\{([^}]*)\}/g, (_all, alternatives: string) => `(${alternatives.split(',').join('|')})`).replace(/\*/g, '[^/]*');
  return new RegExp(`^${pattern}(/.*)?$`);
}

/** The compiled path of a TypeScript source of the repository (`scripts/local/s3.ts` → `dist/scripts/local/s3.js`). */
const compiled = (source: string) => `dist/${source.replace(/\.ts$/, '.js')}`;

/** The repository's own modules the command's source imports, directly or not. */
function importClosure(entry: string): string[] {
  const result = buildSync({ entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
  return Object.keys(result.metafile.inputs).map((input) => relative(ROOT, join(ROOT, input))).filter((input) => input.endsWith('.ts') && !input.startsWith('node_modules'));
}

describe('the package', () => {
  const patterns = pkg.files.map(entryPattern);
  const ships = (path: string) => patterns.some((pattern) => pattern.test(path));

  it('ships every module the dynalake-local command imports', () => {
    const binary = pkg.bin['dynalake-local'] ?? '';
    const closure = importClosure(binary.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
    expect(closure).toContain('scripts/local/assembly-runtime.ts');
    expect(closure).toContain('lambda/refresh-follow-up.ts');
    expect(closure.map(compiled).filter((path) => !ships(path))).toEqual([]);
    expect(ships(binary)).toBe(true);
  });

  it('reads `files` entries as npm does', () => {
    expect(ships('dist/lib/constructs/lake-job.js')).toBe(true);
    expect(ships('dist/scripts/local/metrics.d.ts')).toBe(true);
    expect(ships('dist/scripts/local/pipeline.js')).toBe(false);
    expect(ships('dist/scripts/seed.js')).toBe(false);
    expect(ships('glue-scripts/dataset_to_lake.py')).toBe(true);
  });
});
