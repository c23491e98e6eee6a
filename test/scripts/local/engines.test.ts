import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import type { SparkJobResult } from '../../../scripts/local/glue/spark';
import { listObjects } from '../../../scripts/local/glue/s3-files';
import { CURATED_ORDERS, LAKE_TABLES } from '../../../scripts/local/lake-tables';
import { type LocalPipelineReport, runLocalPipeline } from '../../../scripts/local/pipeline';
import type { GlueEngine } from '../../../scripts/local/services';
import { startLocalS3 } from '../../../scripts/local/s3';
import { runScript } from '../../helpers/cli';
import { canonical, readLakeTable } from '../../helpers/local-lake';
import { describeWithSpark } from '../../helpers/spark';

/**
 * The two engines agree: `npm start` on the real sample, update/delete stage included, once with
 * the DuckDB twins and once with the PySpark jobs on a local Spark, then every lake table compared
 * row for row and type for type, partition by partition, and the uploads table item for item.
 */

interface EngineRun {
  readonly stateDir: string;
  readonly report: LocalPipelineReport;
}

/** `npm run glue -- args`, the way npm runs it (the swc hook). */
const glueCli = (...args: string[]) => runScript('glue.ts', args, 120_000);

async function runEngine(engine: GlueEngine): Promise<EngineRun> {
  const stateDir = mkdtempSync(join(tmpdir(), `dynalake-engine-${engine}-`));
  const report = await runLocalPipeline({ stateDir, engine, print: () => undefined });
  return { stateDir, report };
}

async function withLake<T>(run: EngineRun, work: (s3: Awaited<ReturnType<typeof startLocalS3>>) => Promise<T>): Promise<T> {
  const s3 = await startLocalS3({ path: join(run.stateDir, 's3') });
  try {
    return await work(s3);
  } finally {
    await s3.close();
  }
}

async function uploadsItems(run: EngineRun): Promise<Record<string, unknown>[]> {
  const dynamodb = await startLocalDynamoDB({ path: join(run.stateDir, 'dynamodb') });
  try {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client: dynamodb.client }, { TableName: 'dynalake-dev-uploads' })) items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
    return items;
  } finally {
    await dynamodb.close();
  }
}

describeWithSpark('the DuckDB twins and the PySpark jobs give the same lake (npm start on the real sample)', () => {
  let duckdb: EngineRun;
  let spark: EngineRun;

  beforeAll(async () => {
    duckdb = await runEngine('duckdb');
    spark = await runEngine('spark');
  }, 600_000);

  afterAll(() => {
    for (const run of [duckdb, spark] as (EngineRun | undefined)[]) if (run) rmSync(run.stateDir, { recursive: true, force: true });
  });

  it('ran every job of the Spark run on Spark, with one Spark start for the whole run', () => {
    expect(spark.report.engine).toBe('spark');
    expect(spark.report.sparkStartupSeconds).toBeGreaterThan(0);
    const jobs = new Set(spark.report.jobRuns.map((run) => run.jobName));
    expect([...jobs].sort()).toEqual(['dynalake-dev-campaign-progress', 'dynalake-dev-csv-to-dynamodb', 'dynalake-dev-orders-to-lake', 'dynalake-dev-sales-star-schema']);
    for (const run of spark.report.jobRuns) {
      expect(run.state).toBe('SUCCEEDED');
      expect((run.result as SparkJobResult).engine).toBe('spark');
    }
    expect(duckdb.report.sparkStartupSeconds).toBeUndefined();
  });

  it.each(LAKE_TABLES.map((table) => [table.name, table] as const))('%s: same rows, same column types', async (_name, table) => {
    const [twin, job] = await Promise.all([duckdb, spark].map((run) => withLake(run, (s3) => readLakeTable(s3, duckdb.report.buckets.lake, table))));
    expect(job?.rows.length).toBeGreaterThan(0);
    expect(job?.types).toEqual(twin?.types);
    expect(canonical(job?.rows ?? [])).toEqual(canonical(twin?.rows ?? []));
  });

  it.each(LAKE_TABLES.filter((table) => table.partition !== undefined).map((table) => [table.name, table] as const))('%s: same partitions', async (_name, table) => {
    const partitions = await Promise.all(
      [duckdb, spark].map((run) =>
        withLake(run, async (s3) => {
          const objects = await listObjects(s3.client, run.report.buckets.lake, table.prefix);
          return [...new Set(objects.filter((object) => object.key.endsWith('.parquet')).map((object) => object.key.slice(table.prefix.length).split('/')[0]))].sort();
        }),
      ),
    );
    expect(partitions[1]?.length).toBeGreaterThan(0);
    expect(partitions[1]).toEqual(partitions[0]);
  });

  it('keeps one state format: npm run glue finds nothing new for either engine in the other’s lake, and writes nothing', async () => {
    const [sparkOnTwinLake, twinOnSparkLake, noState, noJob] = await Promise.all([
      glueCli('orders_to_lake', '--engine', 'spark', '--state', duckdb.stateDir),
      glueCli('campaign_progress', '--state', spark.stateDir),
      glueCli('orders_to_lake', '--state', join(spark.stateDir, 'none')),
      glueCli('orders', '--state', spark.stateDir),
    ]);
    expect(sparkOnTwinLake.stdout).toMatch(/^orders_to_lake: no new change objects in s3:\/\/\S+ since the last run \(\d+ merged before\): nothing to do; Spark [\d.]+ s: \d+ objects? staged in, 0 objects written, 0 deleted/m);
    expect(sparkOnTwinLake.status).toBe(0);
    expect(twinOnSparkLake.stdout).toMatch(/^campaign_progress: no new change objects since the last run: nothing to do/m);
    expect(twinOnSparkLake.status).toBe(0);
    expect(noState.stderr).toMatch(/holds no local pipeline: run npm start first/);
    expect(noState.status).toBe(2);
    expect(noJob.stderr).toMatch(/name one job: orders_to_lake, campaign_progress, sales_star_schema, csv_to_dynamodb/);
    expect(noJob.status).toBe(2);
  }, 120_000);

  it('csv_to_dynamodb: the same uploads items (the ingestion time aside, which is each run’s own)', async () => {
    const [twin, job] = await Promise.all([duckdb, spark].map((run) => uploadsItems(run)));
    const withoutTime = (items: Record<string, unknown>[] | undefined) => (items ?? []).map(({ ingestion_timestamp: time, ...item }) => ({ ...item, timed: typeof time === 'string' && !Number.isNaN(Date.parse(time)) }));
    expect(job?.length).toBeGreaterThan(1000);
    expect(canonical(withoutTime(job))).toEqual(canonical(withoutTime(twin)));
  });

  it('orders_to_lake MODE=backfill (npm run glue): an export of the orders table gives each engine’s state the lake its incremental runs gave', async () => {
    // The twin backfills both states: over the Spark run's lake too, so the backfill is held to
    // the PySpark jobs' incremental lake at the sample's scale. The PySpark backfill itself runs
    // on the goldens (engines-goldens.test.ts), where a Spark session is already up.
    const curated = (run: EngineRun) => withLake(run, (s3) => readLakeTable(s3, run.report.buckets.lake, CURATED_ORDERS));
    const incremental = await Promise.all([duckdb, spark].map(curated));
    const runs = await Promise.all([duckdb, spark].map((run) => glueCli('orders_to_lake', '--arg', 'MODE=backfill', '--state', run.stateDir)));
    const backfilled = await Promise.all([duckdb, spark].map(curated));
    for (const [index, state] of ['duckdb', 'spark'].entries()) {
      expect([state, runs[index]?.status, runs[index]?.stderr]).toEqual([state, 0, expect.any(String) as unknown]);
      expect(runs[index]?.stdout).toMatch(/^orders_to_lake: backfill from s3:\/\/\S+\/dynamodb-exports\/orders\/AWSDynamoDB\/\S+\/manifest-summary\.json: read ([\d,]+) items, wrote \1 rows \(= items read\)/m);
      expect([state, backfilled[index]?.types]).toEqual([state, incremental[index]?.types]);
      expect([state, backfilled[index]?.rows.length]).toEqual([state, incremental[index]?.rows.length]);
      expect([state, canonical(backfilled[index]?.rows ?? [])]).toEqual([state, canonical(incremental[index]?.rows ?? [])]);
    }
  }, 120_000);
});
