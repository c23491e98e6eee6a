import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { JsonRow } from '../../scripts/local/glue/duckdb';
import { CURATED_ORDERS } from '../../scripts/local/lake-tables';
import { localBucketNames, localLayout } from '../../scripts/local/layout';
import { startLocalS3 } from '../../scripts/local/s3';
import { type CliRun, runScript } from '../helpers/cli';
import { golden, useTempDirs, writeLakeTable } from '../helpers/local-lake';

const orders = (golden('sales_star_schema') as { input: { orders: JsonRow[] } }).input.orders;

/** Runs `npm run query -- args` the way npm does (the swc hook), from the repository (its cdk.json names the buckets). */
function query(...args: string[]): Promise<CliRun> {
  return runScript('query.ts', args);
}

describe('npm run query', () => {
  const tempDir = useTempDirs();
  let state: string;
  // The CLI runs start together (each spends seconds loading its modules); each test reads its own.
  let runs: Record<'json' | 'table' | 'badSql' | 'noState' | 'help', CliRun>;

  beforeAll(async () => {
    // A local state as `npm start` leaves it: s3rver's folder with the lake bucket holding curated orders.
    state = tempDir('state');
    const local = await startLocalS3({ path: localLayout(state).s3Dir });
    try {
      const bucket = localBucketNames({ prefix: 'dynalake', stage: 'dev' }).lake;
      await local.client.send(new CreateBucketCommand({ Bucket: bucket }));
      await writeLakeTable(local, bucket, CURATED_ORDERS, orders);
    } finally {
      await local.close();
    }
    const [json, table, badSql, noState, help] = await Promise.all([
      query('SELECT invoice_no, line_no, unit_price, invoice_ts, customer_id, invoice_day FROM orders WHERE quantity > 20 ORDER BY invoice_no, line_no', '--json', '--state', state),
      query("SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' ORDER BY table_name", '--state', state),
      query('SELECT nope FROM orders', '--state', state),
      query('SELECT 1', '--state', join(state, 'none')),
      query('--help'),
    ]);
    runs = { json, table, badSql, noState, help };
  }, 60_000);

  it('prints the rows as one JSON array with --json, decimals as exact strings', () => {
    const result = runs.json;
    expect(result.stderr).not.toMatch(/error/);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { invoice_no: '536370', line_no: 1, unit_price: '2.950', invoice_ts: '2010-12-03T08:45:00', customer_id: 12583, invoice_day: '2010-12-03' },
      { invoice_no: '536370', line_no: 2, unit_price: '3.750', invoice_ts: '2010-12-03T08:45:00', customer_id: 12583, invoice_day: '2010-12-03' },
    ]);
  });

  it('prints an aligned table by default, every catalog table a view', () => {
    const result = runs.table;
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      ['table_name', '-----------------', 'campaign_progress', 'curated_orders', 'dim_country', 'dim_customer', 'dim_date', 'dim_product', 'fact_sales', 'orders', '(8 rows)', ''].join('\n'),
    );
  });

  it('exits 2 with DuckDB’s message for bad SQL', () => {
    const result = runs.badSql;
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: Binder Error: Referenced column "nope" not found/m);
    expect(result.stdout).toBe('');
  });

  it('exits 2 and says to run npm start when there is no local state', () => {
    const result = runs.noState;
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no local lake in');
    expect(result.stderr).toContain('run `npm start` first');
  });

  it('explains itself with --help', () => {
    const result = runs.help;
    expect(result.status).toBe(0);
    for (const text of ['--json', '--state', 'curated_orders', 'orders (another name for curated_orders)', 'DECIMAL as strings']) expect(result.stdout).toContain(text);
  });
});
