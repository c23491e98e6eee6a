import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Validate on a worker thread started with the plugin. */
  readonly startEngineEarly?: boolean;
}

/** Synthesizes an app of one-bucket stacks, validated through the cache in `cache`. */
function synth(cache: string, { good = {}, bad, region, startEngineEarly = false }: Buckets) {
  const app = new App({ outdir: tempDir('dynalake-validation-out-'), context: flags });
  const plugin = useCachedValidation(app, { cacheDir: cache, startEngineEarly });
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

const cachedKeys = (cache: string) => readdirSync(cache).filter((name) => /^[0-9a-f]{64}$/.test(name));
const recordedTypes = (cache: string): unknown => JSON.parse(readFileSync(join(cache, 'resource-types.json'), 'utf8'));
const finding = "ERROR Foo: Additional properties are not allowed ('Foo' was unexpected) (CloudFormation Validate)\n   Bad/Bucket";

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
    expect(readdirSync(cache).filter((name) => !name.startsWith('.')).sort()).toEqual([...cachedKeys(cache), 'resource-types.json']);
    expect(cachedKeys(cache)).toHaveLength(1);
    // With the resource types of the app's templates, which an engine started early is started for.
    expect(recordedTypes(cache)).toEqual(['AWS::S3::Bucket']);
    expect(synth(cache, { good: { BucketName: 'one' } })).toEqual({ cached: 1, validated: 0, refusal: undefined });
    // Any change to the template is a template never seen.
    expect(synth(cache, { good: { BucketName: 'two' } })).toEqual({ cached: 0, validated: 1, refusal: undefined });
    expect(cachedKeys(cache)).toHaveLength(2);
  });

  it('never caches a template with a finding: it is refused on every synth, its passing sibling only once validated', () => {
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

  it('validates on a thread started early as on the app\'s own: the same findings, the same templates cached', () => {
    const early = join(tempDir('dynalake-validation-cache-'), 'early');
    const refused = synth(early, { good: { BucketName: 'five' }, bad: { Foo: 1 }, startEngineEarly: true });
    expect(refused).toMatchObject({ cached: 0, validated: 2 });
    expect(refused.refusal).toContain(finding);
    expect(cachedKeys(early)).toHaveLength(1);
    // The thread started its engine for the recorded types; the next templates are validated there too.
    expect(recordedTypes(early)).toEqual(['AWS::S3::Bucket']);
    expect(synth(early, { good: { BucketName: 'six' }, startEngineEarly: true })).toEqual({ cached: 0, validated: 1, refusal: undefined });
    expect(synth(early, { good: { BucketName: 'six' }, startEngineEarly: true })).toEqual({ cached: 1, validated: 0, refusal: undefined });
    // The same verdicts as the app's own thread, cache for cache.
    const own = join(tempDir('dynalake-validation-cache-'), 'own');
    const outdirs = (refusal?: string) => refusal?.replace(/dynalake-validation-out-\w+/g, 'OUTDIR');
    expect(outdirs(synth(own, { good: { BucketName: 'five' }, bad: { Foo: 1 } }).refusal)).toBe(outdirs(refused.refusal));
    expect(synth(own, { good: { BucketName: 'six' } })).toEqual({ cached: 0, validated: 1, refusal: undefined });
    expect(cachedKeys(own).sort()).toEqual(cachedKeys(early).sort());
  });

  it('starts a thread whatever its record says: unreadable or of types no template has, the templates are still validated', () => {
    for (const record of ['not json', JSON.stringify({ types: 'AWS::S3::Bucket' }), JSON.stringify(['AWS::SQS::Queue', 7])]) {
      const cache = tempDir('dynalake-validation-cache-');
      writeFileSync(join(cache, 'resource-types.json'), record);
      const result = synth(cache, { good: { BucketName: 'seven' }, bad: { Foo: 1 }, startEngineEarly: true });
      expect(result).toMatchObject({ cached: 0, validated: 2 });
      expect(result.refusal).toContain(finding);
      expect(recordedTypes(cache)).toEqual(['AWS::S3::Bucket']);
    }
  });

  it('validates on the app\'s thread once the engine\'s thread is stopped', async () => {
    const cache = tempDir('dynalake-validation-cache-');
    const plugin = useCachedValidation(new App(), { cacheDir: cache, startEngineEarly: true });
    await plugin.stopEngineThread();
    const result = synth(cache, { good: { BucketName: 'nine' }, bad: { Foo: 1 }, startEngineEarly: true });
    expect(result).toMatchObject({ cached: 0, validated: 2 });
    expect(result.refusal).toContain(finding);
    expect(cachedKeys(cache)).toHaveLength(1);
  });

  it('records the resource types for a cache that holds every template but no record yet', () => {
    const cache = tempDir('dynalake-validation-cache-');
    synth(cache, { good: { BucketName: 'eight' } });
    rmSync(join(cache, 'resource-types.json'));
    expect(synth(cache, { good: { BucketName: 'eight' } })).toEqual({ cached: 1, validated: 0, refusal: undefined });
    expect(recordedTypes(cache)).toEqual(['AWS::S3::Bucket']);
  });

  it('gives the apps of a process that use one folder one plugin, whose engine serves them all', () => {
    const plugin = useCachedValidation(new App(), { cacheDir: cache });
    expect(useCachedValidation(new App(), { cacheDir: cache })).toBe(plugin);
    expect(useCachedValidation(new App(), { cacheDir: tempDir('dynalake-validation-cache-') })).not.toBe(plugin);
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
