/** The handlers' bundles: esbuild as aws-lambda-nodejs runs it, cached while the inputs are unchanged. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { HANDLER_BUNDLING, lambdaEntry } from '../../lib/constructs/bridge-function';
import { bundleCacheDir, bundleHandler } from '../../lib/handler-bundle';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** A handler whose answer comes from a module it imports, so a change to either shows in the bundle. */
function handlerProject(answer: string) {
  const dir = tempDir('dynalake-handler-');
  writeFileSync(join(dir, 'answer.ts'), `export const answer = ${JSON.stringify(answer)};\n`);
  writeFileSync(join(dir, 'handler.ts'), `import { answer } from './answer';\nexport const handler = async () => answer;\n`);
  return { dir, entry: join(dir, 'handler.ts') };
}

/** What the bundle's handler returns, loaded as Lambda loads it (each bundle has a folder of its own: nothing stale in require's cache). */
async function invoke(bundleDir: string): Promise<unknown> {
  const path = join(bundleDir, 'index.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(path) as { handler: () => Promise<unknown> };
  return module.handler();
}

describe('bundleHandler', () => {
  it('bundles the entry with what it imports into index.js, and serves it from the cache while nothing it read changed', async () => {
    const { entry } = handlerProject('first');
    const cache = tempDir('dynalake-bundles-');
    const built = bundleHandler(entry, HANDLER_BUNDLING, cache);
    expect(built.cached).toBe(false);
    expect(await invoke(built.dir)).toBe('first');
    expect(bundleHandler(entry, HANDLER_BUNDLING, cache)).toEqual({ dir: built.dir, cached: true });
  });

  it('builds again when a file the entry imports changes, or goes', async () => {
    const { dir, entry } = handlerProject('first');
    const cache = tempDir('dynalake-bundles-');
    const first = bundleHandler(entry, HANDLER_BUNDLING, cache);
    writeFileSync(join(dir, 'answer.ts'), 'export const answer = "second";\n');
    const second = bundleHandler(entry, HANDLER_BUNDLING, cache);
    expect(second.cached).toBe(false);
    expect(second.dir).not.toBe(first.dir);
    expect(await invoke(second.dir)).toBe('second');
    // Back to the first contents: the first bundle again, from the cache of outputs.
    writeFileSync(join(dir, 'answer.ts'), 'export const answer = "first";\n');
    expect(bundleHandler(entry, HANDLER_BUNDLING, cache).dir).toBe(first.dir);
    rmSync(join(dir, 'answer.ts'));
    expect(() => bundleHandler(entry, HANDLER_BUNDLING, cache)).toThrow(/Could not resolve "\.\/answer"/);
  });

  it('keeps a cache per set of options, and rebuilds over a damaged manifest', () => {
    const { entry } = handlerProject('first');
    const cache = tempDir('dynalake-bundles-');
    const minified = bundleHandler(entry, HANDLER_BUNDLING, cache);
    const readable = bundleHandler(entry, { ...HANDLER_BUNDLING, minify: false }, cache);
    expect(readable.cached).toBe(false);
    expect(readFileSync(join(readable.dir, 'index.js'), 'utf8').length).toBeGreaterThan(readFileSync(join(minified.dir, 'index.js'), 'utf8').length);
    for (const manifest of readdirSync(cache).filter((name) => name.endsWith('.json'))) writeFileSync(join(cache, manifest), '{ not json');
    expect(bundleHandler(entry, HANDLER_BUNDLING, cache)).toEqual({ dir: minified.dir, cached: false });
  });

  it('gives the bytes aws-lambda-nodejs gives for a dynalake handler with the same options (the same asset hash in the template)', () => {
    const entry = lambdaEntry('refresh-follow-up');
    const stack = new Stack(new App({ outdir: tempDir('dynalake-cdk-') }), 'Bundles');
    const common = { runtime: Runtime.NODEJS_24_X };
    new NodejsFunction(stack, 'Nodejs', {
      ...common,
      entry,
      depsLockFilePath: join(__dirname, '..', '..', 'package-lock.json'),
      handler: 'handler',
      bundling: { minify: HANDLER_BUNDLING.minify, keepNames: HANDLER_BUNDLING.keepNames, target: HANDLER_BUNDLING.target, format: OutputFormat.CJS, bundleAwsSDK: true, sourceMap: false },
    });
    new LambdaFunction(stack, 'Cached', { ...common, code: Code.fromAsset(bundleHandler(entry, HANDLER_BUNDLING, tempDir('dynalake-bundles-')).dir), handler: 'index.handler' });
    const keys = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((resource) => (resource as { Properties: { Code: { S3Key: unknown } } }).Properties.Code.S3Key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toEqual(keys[1]);
  });

  it('keeps its cache under the app’s node_modules/.cache, or the temporary folder without one', () => {
    const app = tempDir('dynalake-app-');
    expect(bundleCacheDir(app)).toBe(join(tmpdir(), 'dynalake-bundles'));
    mkdirSync(join(app, 'node_modules'));
    expect(bundleCacheDir(app)).toBe(join(app, 'node_modules', '.cache', 'dynalake-bundles'));
    expect(existsSync(join(app, 'node_modules', '.cache'))).toBe(false);
  });
});
