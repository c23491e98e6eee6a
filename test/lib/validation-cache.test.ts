import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import cdkJson from '../../cdk.json';
import { useCachedValidation, validationCacheDir } from '../../lib/validation-cache';

/**
 * CloudFormation validation through the cache of passed templates: the real engine, on real
 * templates; only a template it passed with no finding is skipped the next time.
 */
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const { dynalake: _dynalake, ...flags } = cdkJson.context;

interface Buckets {
  /** Properties of the bucket in stack Good. */
  readonly good?: Record<string, unknown>;
  /** Properties of the bucket in stack Bad, if there is one. */
  readonly bad?: Record<string, unknown>;
  readonly region?: string;
}

/** Synthesizes an app of one-bucket stacks, validated through the cache in `cache`. */
function synth(cache: string, { good = {}, bad, region }: Buckets) {
  const app = new App({ outdir: tempDir('dynalake-validation-out-'), context: flags });
  const plugin = useCachedValidation(app, cache);
  const env = region === undefined ? undefined : { account: '123456789012', region };
  new CfnResource(new Stack(app, 'Good', { env }), 'Bucket', { type: 'AWS::S3::Bucket', properties: good });
  if (bad !== undefined) new CfnResource(new Stack(app, 'Bad', { env }), 'Bucket', { type: 'AWS::S3::Bucket', properties: bad });
  const refusal = (() => {
    try {
      app.synth();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  })();
  return { ...plugin.lastRun, refusal };
}

const cachedKeys = (cache: string) => readdirSync(cache).filter((name) => !name.startsWith('.'));

describe('CachedCloudFormationValidation', () => {
  // One cache for the file (one plugin, whose engine starts once); each test synthesizes templates
  // of its own, with bucket names no other test uses. The folder does not exist yet.
  let cache: string;
  beforeAll(() => {
    cache = join(tempDir('dynalake-validation-cache-'), 'nested', 'cache');
  });

  it('validates a template once, then takes it from the cache while it stays the same', () => {
    expect(synth(cache, { good: { BucketName: 'one' } })).toEqual({ cached: 0, validated: 1, refusal: undefined });
    // The folder, with its parents, holds one entry named by its key.
    expect(cachedKeys(cache)).toHaveLength(1);
    expect(cachedKeys(cache)[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(synth(cache, { good: { BucketName: 'one' } })).toEqual({ cached: 1, validated: 0, refusal: undefined });
    // Any change to the template is a template never seen.
    expect(synth(cache, { good: { BucketName: 'two' } })).toEqual({ cached: 0, validated: 1, refusal: undefined });
    expect(cachedKeys(cache)).toHaveLength(2);
  });

  it('never caches a template with a finding: it is refused on every synth, its passing sibling only once validated', () => {
    const finding = "ERROR Foo: Additional properties are not allowed ('Foo' was unexpected) (CloudFormation Validate)\n   Bad/Bucket";
    const before = cachedKeys(cache).length;
    const first = synth(cache, { good: { BucketName: 'three' }, bad: { Foo: 1 } });
    expect(first).toMatchObject({ cached: 0, validated: 2 });
    expect(first.refusal).toContain(finding);
    expect(cachedKeys(cache)).toHaveLength(before + 1);
    const second = synth(cache, { good: { BucketName: 'three' }, bad: { Foo: 1 } });
    expect(second).toMatchObject({ cached: 1, validated: 1 });
    expect(second.refusal).toContain(finding);
    // The passing template alone comes from the cache.
    expect(synth(cache, { good: { BucketName: 'three' } })).toEqual({ cached: 1, validated: 0, refusal: undefined });
  });

  it('keys a template by the account and region it is validated for', () => {
    expect(synth(cache, { good: { BucketName: 'four' }, region: 'eu-west-1' })).toMatchObject({ cached: 0, validated: 1 });
    expect(synth(cache, { good: { BucketName: 'four' }, region: 'us-east-1' })).toMatchObject({ cached: 0, validated: 1 });
    expect(synth(cache, { good: { BucketName: 'four' }, region: 'eu-west-1' })).toMatchObject({ cached: 1, validated: 0 });
  });

  it('gives the apps of a process that use one folder one plugin, whose engine serves them all', () => {
    const plugin = useCachedValidation(new App(), cache);
    expect(useCachedValidation(new App(), cache)).toBe(plugin);
    expect(useCachedValidation(new App(), tempDir('dynalake-validation-cache-'))).not.toBe(plugin);
  });
});

describe('validationCacheDir', () => {
  const saved = process.env.DYNALAKE_VALIDATION_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.DYNALAKE_VALIDATION_CACHE;
    else process.env.DYNALAKE_VALIDATION_CACHE = saved;
  });

  it('is node_modules/.cache/dynalake-validation of an app with node_modules, else under the temporary folder', () => {
    delete process.env.DYNALAKE_VALIDATION_CACHE;
    const app = tempDir('dynalake-validation-app-');
    expect(validationCacheDir(app)).toBe(join(tmpdir(), 'dynalake-validation'));
    mkdirSync(join(app, 'node_modules'));
    expect(validationCacheDir(app)).toBe(join(app, 'node_modules', '.cache', 'dynalake-validation'));
  });

  it('is $DYNALAKE_VALIDATION_CACHE when set and not empty', () => {
    const app = tempDir('dynalake-validation-app-');
    process.env.DYNALAKE_VALIDATION_CACHE = '/somewhere/else';
    expect(validationCacheDir(app)).toBe('/somewhere/else');
    process.env.DYNALAKE_VALIDATION_CACHE = '';
    expect(validationCacheDir(app)).toBe(join(tmpdir(), 'dynalake-validation'));
  });
});
