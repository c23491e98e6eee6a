import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildSync, version as esbuildVersion } from 'esbuild';

/**
 * How a handler is bundled: esbuild's options as aws-lambda-nodejs passes them for
 * {@link HandlerBundling} (`--bundle --platform=node --target --format --minify --keep-names`,
 * no externals when the AWS SDK is bundled in, no source map).
 */
export interface HandlerBundling {
  readonly target: string;
  readonly format: 'cjs';
  readonly minify: boolean;
  readonly keepNames: boolean;
  readonly sourceMap: false;
}

/** A bundle on disk: the folder that holds its `index.js`, ready for `Code.fromAsset`. */
export interface HandlerBundle {
  readonly dir: string;
  /** Whether it came from the cache (its inputs unchanged since it was built). */
  readonly cached: boolean;
}

/** What the cache keeps per entry and options: the inputs esbuild read, with their contents' hashes. */
interface CacheManifest {
  readonly inputs: Readonly<Record<string, string>>;
  readonly output: string;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Where bundles are kept between synths: `node_modules/.cache/dynalake-bundles` of the app being
 * synthesized (the convention of build tools' caches: ignored by git, gone with node_modules), or
 * the system's temporary folder for an app without node_modules.
 */
export function bundleCacheDir(cwd = process.cwd()): string {
  const nodeModules = join(cwd, 'node_modules');
  return existsSync(nodeModules) ? join(nodeModules, '.cache', 'dynalake-bundles') : join(tmpdir(), 'dynalake-bundles');
}

/** The hash of each input, or undefined as soon as one is gone. */
function hashInputs(paths: readonly string[]): Record<string, string> | undefined {
  const hashes: Record<string, string> = {};
  for (const path of paths) {
    if (!existsSync(path)) return undefined;
    hashes[path] = sha256(readFileSync(path));
  }
  return hashes;
}

/**
 * The handler at `entry` bundled with `bundling`, from the cache when no file esbuild read for the
 * last bundle has changed (compared by content), else built now and cached. A synth that changes
 * nothing a handler imports then skips esbuild: it was 2 of the app's 6 seconds of synth.
 */
export function bundleHandler(entry: string, bundling: HandlerBundling, cacheDir = bundleCacheDir()): HandlerBundle {
  const absoluteEntry = resolve(entry);
  const key = sha256(JSON.stringify({ entry: absoluteEntry, bundling, esbuild: esbuildVersion }));
  const manifestPath = join(cacheDir, `${key}.json`);
  if (existsSync(manifestPath)) {
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CacheManifest;
      const dir = join(cacheDir, manifest.output);
      const now = hashInputs(Object.keys(manifest.inputs));
      if (now !== undefined && existsSync(join(dir, 'index.js')) && Object.entries(manifest.inputs).every(([path, hash]) => now[path] === hash)) return { dir, cached: true };
    } catch {
      // A damaged manifest is rebuilt below.
    }
  }
  const result = buildSync({
    entryPoints: [absoluteEntry],
    bundle: true,
    platform: 'node',
    target: bundling.target,
    format: bundling.format,
    minify: bundling.minify,
    keepNames: bundling.keepNames,
    sourcemap: bundling.sourceMap,
    outfile: 'index.js',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild produced no bundle for ${absoluteEntry}`);
  // esbuild's input paths are relative to its working directory; node_modules' files included.
  const inputs = hashInputs(Object.keys(result.metafile.inputs).map((path) => resolve(path)));
  const outputName = sha256(output.contents);
  const dir = join(cacheDir, outputName);
  if (!existsSync(join(dir, 'index.js'))) {
    // Written aside and renamed into place: another process synthesizing at the same time finds
    // a whole bundle or none.
    mkdirSync(cacheDir, { recursive: true });
    const staging = mkdtempSync(join(cacheDir, '.staging-'));
    writeFileSync(join(staging, 'index.js'), output.contents);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (inputs !== undefined) {
    const staging = `${manifestPath}.${String(process.pid)}`;
    mkdirSync(dirname(manifestPath), { recursive: true });
    writeFileSync(staging, JSON.stringify({ inputs, output: outputName } satisfies CacheManifest));
    renameSync(staging, manifestPath);
  }
  return { dir, cached: false };
}
