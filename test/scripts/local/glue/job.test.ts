import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { thrownBy } from '../../../helpers/errors';
import { count, counted, type GlueTwinContext, jobLogger, jobMetrics, lakeFreshnessSeconds, metricsNamespaceArgument, requireArguments, withScratch } from '../../../../scripts/local/glue/job';

describe('the twins’ shared job helpers', () => {
  it('counts with thousands separators, and says one thing in the singular', () => {
    expect([count(541909), counted(1, 'change object'), counted(0, 'partition'), counted(1071, 'row'), counted(2, 'entry', 'entries')]).toEqual([
      '541,909',
      '1 change object',
      '0 partitions',
      '1,071 rows',
      '2 entries',
    ]);
  });

  it('returns the required arguments, or names every missing or empty one with its --', () => {
    expect(requireArguments('orders_to_lake', { LAKE_BUCKET: 'lake', EXTRA: 'x' }, ['LAKE_BUCKET'])).toEqual({ LAKE_BUCKET: 'lake' });
    expect(thrownBy(() => requireArguments('orders_to_lake', { LAKE_BUCKET: '' }, ['LAKE_BUCKET', 'CDC_PREFIX']))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: 'orders_to_lake: missing job arguments --LAKE_BUCKET, --CDC_PREFIX',
    });
  });

  it('names a single missing argument in the singular', () => {
    expect(thrownBy(() => requireArguments('orders_to_lake', { LAKE_BUCKET: 'lake' }, ['LAKE_BUCKET', 'CDC_PREFIX']))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: 'orders_to_lake: missing job argument --CDC_PREFIX',
    });
  });
});

describe('jobLogger', () => {
  const s3 = new S3Client({ region: 'us-east-1' });

  it('prefixes each line with the job’s name', () => {
    const lines: string[] = [];
    const log = jobLogger({ s3, scratchDir: '/unused', log: (line) => lines.push(line) }, 'orders_to_lake');
    log('read 3 change objects');
    log('wrote 2 partitions');
    expect(lines).toEqual(['orders_to_lake: read 3 change objects', 'orders_to_lake: wrote 2 partitions']);
  });

  it('is silent without a log', () => {
    const log = jobLogger({ s3, scratchDir: '/unused' }, 'orders_to_lake');
    expect(() => {
      log('read 3 change objects');
    }).not.toThrow();
  });
});

describe('withScratch', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dynalake-scratch-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A context whose scratch folder does not exist yet, two levels below `root`. */
  const context = (): GlueTwinContext => ({ s3: new S3Client({ region: 'us-east-1' }), scratchDir: join(root, 'not', 'yet') });

  it('runs the work in a fresh folder of its own under the scratch folder (made with its parents), named after the job, and removes it with its files', async () => {
    let seen = '';
    const result = await withScratch(context(), 'orders_to_lake', async (dir) => {
      seen = dir;
      writeFileSync(join(dir, 'changes.parquet'), 'rows');
      return Promise.resolve(42);
    });
    expect(result).toBe(42);
    expect(dirname(seen)).toBe(context().scratchDir);
    expect(basename(seen)).toMatch(/^orders_to_lake-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(existsSync(seen)).toBe(false);
    expect(readdirSync(context().scratchDir)).toEqual([]);
  });

  it('gives each run a folder of its own', async () => {
    const dirs = await Promise.all([1, 2].map(() => withScratch(context(), 'orders_to_lake', (dir) => Promise.resolve(dir))));
    expect(new Set(dirs).size).toBe(2);
  });

  it('lets the work remove its folder itself', async () => {
    let seen = '';
    await expect(
      withScratch(context(), 'orders_to_lake', async (dir) => {
        seen = dir;
        await rm(dir, { recursive: true });
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(existsSync(seen)).toBe(false);
  });

  it('removes the folder and its files when the work fails, and passes the failure on', async () => {
    let seen = '';
    const failure = new DynalakeError('LOAD_FAILED', 'orders_to_lake: the lake is gone');
    await expect(
      withScratch(context(), 'orders_to_lake', (dir) => {
        seen = dir;
        writeFileSync(join(dir, 'changes.parquet'), 'rows');
        return Promise.reject(failure);
      }),
    ).rejects.toBe(failure);
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });
});

describe('the figures a twin publishes as its job would', () => {
  it('gives each figure its unit and the dimensions, in the order given', () => {
    expect(jobMetrics('dynalake-dev', 'orders_to_lake', 'orders', { RowsRead: 4, RunDurationSeconds: 1.25, LakeFreshnessSeconds: 0 })).toEqual([
      { namespace: 'dynalake-dev', name: 'RowsRead', unit: 'Count', value: 4, service: 'orders_to_lake', dataset: 'orders' },
      { namespace: 'dynalake-dev', name: 'RunDurationSeconds', unit: 'Seconds', value: 1.25, service: 'orders_to_lake', dataset: 'orders' },
      { namespace: 'dynalake-dev', name: 'LakeFreshnessSeconds', unit: 'Seconds', value: 0, service: 'orders_to_lake', dataset: 'orders' },
    ]);
  });

  it('publishes to the METRICS_NAMESPACE argument, dynalake\'s by default', () => {
    expect(metricsNamespaceArgument({ METRICS_NAMESPACE: 'shop-prod' })).toBe('shop-prod');
    expect(metricsNamespaceArgument({})).toBe('dynalake');
  });

  it('measures freshness from the newest change merged, 0 when none was or when it is stamped after now', () => {
    expect(lakeFreshnessSeconds(1714521600, 1714521690.5)).toBe(90.5);
    expect(lakeFreshnessSeconds(undefined, 1714521690.5)).toBe(0);
    expect(lakeFreshnessSeconds(1714521700, 1714521690.5)).toBe(0);
  });
});
