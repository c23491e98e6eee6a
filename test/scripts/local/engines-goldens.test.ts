import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ChangeRecord } from '../../../lambda/shared/cdc';
import { lakeJobArguments } from '../../../lib/stacks/pipeline-stack';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import { dynamoDBJson } from '../../../scripts/local/dynamodb-export';
import { runCampaignProgress } from '../../../scripts/local/glue/campaign-progress';
import { runCsvToDynamoDB } from '../../../scripts/local/glue/csv-to-dynamodb';
import { type JsonRow, textOf } from '../../../scripts/local/glue/duckdb';
import type { GlueTwinContext, GlueTwinResult, JobArguments, JobMetric } from '../../../scripts/local/glue/job';
import { runDatasetToLake } from '../../../scripts/local/glue/dataset-to-lake';
import { runSalesStarSchema } from '../../../scripts/local/glue/sales-star-schema';
import { LocalSpark, preparePython } from '../../../scripts/local/glue/spark';
import { CAMPAIGN_PROGRESS, CURATED_ORDERS, type LakeTable, STAR_TABLES } from '../../../scripts/local/lake-tables';
import { ensureBuckets, type LocalS3, startLocalS3 } from '../../../scripts/local/s3';
import { itemSet, readDocumentedExports } from '../../helpers/dynamodb-export';
import { scanAll, tableDefinitions } from '../../helpers/local-dynamodb';
import { canonical, golden, itemInserts, orderInsert, orderItem, putChangeObject, readLakeTable, writeLakeTable } from '../../helpers/local-lake';
import { listKeys } from '../../helpers/local-s3';
import { describeWithSpark } from '../../helpers/spark';

/**
 * Every golden through both engines' whole job runs: the DuckDB twin and the PySpark script's
 * main() on the local Spark, with the stack's arguments, on the same inputs in one embedded S3 and
 * DynamoDB. Each writes its own lake bucket (or table); the two are held equal, row for row and
 * type for type, and to the golden. Refused inputs fail both runs with the same words.
 */

const LANDING = 'golden-landing';
const LAKES = { duckdb: 'golden-lake-duckdb', spark: 'golden-lake-spark' } as const;
type Engine = keyof typeof LAKES;
const ENGINES: readonly Engine[] = ['duckdb', 'spark'];
/** The stack's arguments of each job, over the test's buckets: each test overrides only the bucket or prefix it moves. */
const stackArgs = (engine: Engine) =>
  lakeJobArguments({ landingBucket: LANDING, lakeBucket: LAKES[engine], assetsBucket: LANDING, ordersTableArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/orders', uploadsTableName: `golden-uploads-${engine}` }, { dynamoWritePercent: 0.5, prefix: 'golden', stage: engine });

describeWithSpark('the goldens through both engines’ job runs', () => {
  let s3: LocalS3;
  let dynamodb: LocalDynamoDB;
  let spark: LocalSpark;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'dynalake-engine-goldens-'));
    s3 = await startLocalS3();
    dynamodb = await startLocalDynamoDB();
    await ensureBuckets(s3.client, [LANDING, ...Object.values(LAKES)]);
    spark = await LocalSpark.start({ python: preparePython(), mirrorDir: join(scratch, 'mirror'), buckets: [LANDING, ...Object.values(LAKES)], s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint });
  }, 120_000);

  afterAll(async () => {
    await spark.close();
    await s3.close();
    await dynamodb.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const context = (): GlueTwinContext => ({ s3: s3.client, dynamodb: dynamodb.client, scratchDir: join(scratch, 'twins') });

  /**
   * Runs `job` on each engine, with `argsFor(engine)`; resolves with each run's error message, if
   * any. When both succeed, they must have published the same figures: each engine in its own
   * namespace, the same values but for the run's duration and the freshness (a moment apart).
   */
  async function runBoth(job: string, twin: (context: GlueTwinContext, args: JobArguments) => Promise<unknown>, argsFor: (engine: Engine) => JobArguments): Promise<Record<Engine, string | undefined>> {
    const outcome = (run: Promise<unknown>) => run.then((result) => ({ metrics: (result as GlueTwinResult).metrics, error: undefined }), (error: unknown) => ({ metrics: undefined, error: (error as Error).message }));
    const onDuckDB = await outcome(twin(context(), argsFor('duckdb')));
    const onSpark = await outcome(spark.run(job, `golden-${job}`, argsFor('spark')));
    if (onDuckDB.error === undefined && onSpark.error === undefined) {
      const figures = (engine: Engine, metrics: readonly JobMetric[] | undefined) => {
        expect(metrics?.length).toBeGreaterThan(0);
        return Object.fromEntries(
          (metrics ?? []).map((metric) => {
            expect(metric.namespace).toBe(argsFor(engine).METRICS_NAMESPACE);
            // Time-bound figures: the duration is the run's own; the freshness is compared below.
            const value = metric.name === 'RunDurationSeconds' ? metric.value > 0 && metric.value < performance.now() / 1000 : metric.name === 'LakeFreshnessSeconds' ? metric.value >= 0 : metric.value;
            return [metric.name, { unit: metric.unit, service: metric.service, dataset: metric.dataset, value }];
          }),
        );
      };
      expect(figures('spark', onSpark.metrics)).toEqual(figures('duckdb', onDuckDB.metrics));
      const freshness = (metrics: readonly JobMetric[] | undefined) => metrics?.find((metric) => metric.name === 'LakeFreshnessSeconds')?.value ?? 0;
      // The same newest change, merged a run apart (Spark's run started after the twin's ended).
      expect(Math.abs(freshness(onSpark.metrics) - freshness(onDuckDB.metrics))).toBeLessThan(300);
    }
    return { duckdb: onDuckDB.error, spark: onSpark.error };
  }

  async function expectSameTable(table: LakeTable, expectedRows: readonly JsonRow[]): Promise<void> {
    const [twin, job] = await Promise.all(ENGINES.map((engine) => readLakeTable(s3, LAKES[engine], table)));
    expect(job?.types).toEqual(twin?.types);
    expect(canonical(job?.rows ?? [])).toEqual(canonical(twin?.rows ?? []));
    expect(canonical(job?.rows ?? [])).toEqual(canonical(expectedRows));
  }

  it('orders_to_lake: the golden batch merged into the golden table', async () => {
    const { input, expected } = golden('orders_to_lake') as { input: { current: JsonRow[]; changes: ChangeRecord[] }; expected: { rows: JsonRow[] } };
    await putChangeObject(s3, LANDING, 'cdc/orders/dt=2024-05-01/a-1-5.jsonl.gz', input.current.map((row, index) => orderInsert(row, String(index + 1))));
    await putChangeObject(s3, LANDING, 'cdc/orders/dt=2024-05-02/b-999999999999999999999-1000000000000000000080.jsonl.gz', input.changes);
    const args = (engine: Engine) => stackArgs(engine).orders_to_lake;
    expect(await runBoth('orders_to_lake', runDatasetToLake, args)).toEqual({ duckdb: undefined, spark: undefined });
    await expectSameTable(CURATED_ORDERS, expected.rows);
  }, 120_000);

  it('campaign_progress: the golden histories as the golden rows', async () => {
    const { input, expected } = golden('campaign_progress') as { input: { user_campaign_changes: ChangeRecord[]; campaign_info_changes: ChangeRecord[] }; expected: { rows: JsonRow[] } };
    await putChangeObject(s3, LANDING, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', input.user_campaign_changes);
    await putChangeObject(s3, LANDING, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', input.campaign_info_changes);
    const args = (engine: Engine) => stackArgs(engine).campaign_progress;
    expect(await runBoth('campaign_progress', runCampaignProgress, args)).toEqual({ duckdb: undefined, spark: undefined });
    await expectSameTable(CAMPAIGN_PROGRESS, expected.rows);
  }, 120_000);

  it('sales_star_schema: the golden orders as the golden star', async () => {
    const { input, expected } = golden('sales_star_schema') as { input: { orders: JsonRow[] }; expected: Record<string, JsonRow[]> };
    for (const engine of ENGINES) await writeLakeTable(s3, LAKES[engine], { ...CURATED_ORDERS, prefix: 'star-input/orders/' }, input.orders);
    const args = (engine: Engine) => ({ ...stackArgs(engine).sales_star_schema, CURATED_PREFIX: 'star-input/orders/' });
    expect(await runBoth('sales_star_schema', runSalesStarSchema, args)).toEqual({ duckdb: undefined, spark: undefined });
    for (const table of STAR_TABLES) await expectSameTable(table, expected[table.name] ?? []);
  }, 120_000);

  it('csv_to_dynamodb: the golden file as the golden items, rows of the wrong width rejected by both', async () => {
    const { input, expected } = golden('csv_to_dynamodb') as { input: { csv: string; source_file: string }; expected: { items: Record<string, string>[] } };
    const key = 'raw/online retail [2010].csv';
    const csv = `${input.csv.replace(/\n$/, '')}\n536999,22728\n536999,22728,X,1,2010-12-01T08:26:00,1.5,17850,France,extra\n`;
    await s3.client.send(new PutObjectCommand({ Bucket: LANDING, Key: key, Body: Buffer.from(csv, 'latin1') }));
    const tables = { duckdb: 'golden-uploads-duckdb', spark: 'golden-uploads-spark' };
    for (const TableName of Object.values(tables)) {
      await dynamodb.client.send(new CreateTableCommand({ TableName, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
    }
    const args = (engine: Engine) => ({ ...stackArgs(engine).csv_to_dynamodb, S3_KEY: key });
    expect(await runBoth('csv_to_dynamodb', runCsvToDynamoDB, args)).toEqual({ duckdb: undefined, spark: undefined });
    const items = await Promise.all(
      ENGINES.map(async (engine) => (await scanAll(dynamodb, tables[engine])).map((item) => ({ ...(unmarshall(item) as Record<string, string>), ingestion_timestamp: 'each run’s own', source_file: input.source_file }))),
    );
    const golden_ = expected.items.map((item) => ({ ...item, ingestion_timestamp: 'each run’s own' }));
    expect(canonical(items[1] ?? [])).toEqual(canonical(items[0] ?? []));
    expect(canonical(items[1] ?? [])).toEqual(canonical(golden_));
  }, 120_000);

  it('a refresh on an empty lake succeeds on both engines, and gives the same empty, well-typed star', async () => {
    // A fresh stage: no curated order yet (under prefixes nothing else in this file writes).
    const args = (engine: Engine) => ({ ...stackArgs(engine).sales_star_schema, LAKE_BUCKET: LAKES[engine], CURATED_PREFIX: 'empty/curated/orders/', WAREHOUSE_PREFIX: 'empty/warehouse/' });
    expect(await runBoth('sales_star_schema', runSalesStarSchema, args)).toEqual({ duckdb: undefined, spark: undefined });
    for (const table of STAR_TABLES) {
      const prefix = `empty/warehouse/${table.name}/`;
      const [twin, job] = await Promise.all(ENGINES.map((engine) => readLakeTable(s3, LAKES[engine], table, prefix)));
      expect([table.name, canonical(job?.rows ?? []), job?.types]).toEqual([table.name, canonical(twin?.rows ?? []), twin?.types]);
    }
    const dimCustomer = STAR_TABLES.find((table) => table.name === 'dim_customer');
    if (!dimCustomer) throw new Error('the star has dim_customer');
    expect((await readLakeTable(s3, LAKES.spark, dimCustomer, 'empty/warehouse/dim_customer/')).rows).toEqual([{ customer_key: 0, customer_id: null, country: null }]);
  }, 120_000);

  it('a refresh with campaign changes only (no order yet) succeeds on both engines: campaigns curated, an empty star', async () => {
    const { input, expected } = golden('campaign_progress') as { input: { user_campaign_changes: ChangeRecord[]; campaign_info_changes: ChangeRecord[] }; expected: { rows: JsonRow[] } };
    const at = 'campaigns-only/';
    await putChangeObject(s3, LANDING, `${at}cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz`, input.user_campaign_changes);
    await putChangeObject(s3, LANDING, `${at}cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz`, input.campaign_info_changes);
    const moved = (args: Record<string, string>) => Object.fromEntries(Object.entries(args).map(([name, value]) => [name, name.endsWith("_PREFIX") ? `${at}${value}` : value]));
    // The refresh workflow's jobs in its order, each with the stack's arguments under `at`.
    expect(await runBoth('orders_to_lake', runDatasetToLake, (engine) => moved(stackArgs(engine).orders_to_lake))).toEqual({ duckdb: undefined, spark: undefined });
    expect(await runBoth('campaign_progress', runCampaignProgress, (engine) => moved(stackArgs(engine).campaign_progress))).toEqual({ duckdb: undefined, spark: undefined });
    expect(await runBoth('sales_star_schema', runSalesStarSchema, (engine) => moved(stackArgs(engine).sales_star_schema))).toEqual({ duckdb: undefined, spark: undefined });
    await expectSameTable({ ...CAMPAIGN_PROGRESS, prefix: `${at}${CAMPAIGN_PROGRESS.prefix}` }, expected.rows);
    for (const table of STAR_TABLES) {
      const [twin, job] = await Promise.all(ENGINES.map((engine) => readLakeTable(s3, LAKES[engine], table, `${at}warehouse/${table.name}/`)));
      expect([table.name, canonical(job?.rows ?? []), job?.types]).toEqual([table.name, canonical(twin?.rows ?? []), twin?.types]);
      if (table.name === 'fact_sales') expect(job?.rows).toEqual([]);
    }
  }, 180_000);

  it('refuses the same bad values on both engines, naming the record, the field and the value', async () => {
    const refused = (name: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'etl', name, 'refused.json'), 'utf8')) as { cases: { case: string; error: string }[] };
    const orders = refused('orders_to_lake').cases as { case: string; record: ChangeRecord; error: string }[];
    for (const [index, refusal] of orders.filter((candidate) => /date that does not exist|flag written as text|fractional quantity|price it would round/.test(candidate.case)).entries()) {
      const prefix = `cdc/refused-orders-${String(index)}/`;
      await putChangeObject(s3, LANDING, `${prefix}dt=2024-05-01/a.jsonl.gz`, [refusal.record]);
      const args = (engine: Engine) => ({ ...stackArgs(engine).orders_to_lake, CDC_PREFIX: prefix, CURATED_PREFIX: `refused/orders-${String(index)}/`, STATE_PREFIX: `refused/state-${String(index)}/` });
      const errors = await runBoth('orders_to_lake', runDatasetToLake, args);
      for (const engine of ENGINES) {
        expect([refusal.case, engine, errors[engine]]).toEqual([refusal.case, engine, expect.stringContaining(refusal.error)]);
        expect(errors[engine]).toContain('orders change 536370/1');
      }
    }
  }, 180_000);

  /** A fresh table shaped as the orders table, holding `items`; resolves to its ARN. */
  async function ordersTable(name: string, items: readonly Record<string, AttributeValue>[]): Promise<string> {
    await dynamodb.client.send(new CreateTableCommand({ ...tableDefinitions().orders, TableName: name }));
    for (const item of items) await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: item }));
    return `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;
  }

  /** orders_to_lake MODE=backfill of `tableArn` into `curated`, each engine exporting under its own prefix. */
  const backfillArgs = (tableArn: string, curated: string) => (engine: Engine) => ({
    ...stackArgs(engine).orders_to_lake,
    MODE: 'backfill',
    SOURCE_TABLE_ARN: tableArn,
    CURATED_PREFIX: curated,
    EXPORT_PREFIX: `${curated.replace(/\/$/, '')}-exports/${engine}/`,
  });

  const parquetKeys = async (engine: Engine, prefix: string) => (await listKeys(s3, LAKES[engine], prefix)).filter((key) => key.endsWith('.parquet'));

  it('orders_to_lake MODE=backfill: an export of the table gives both engines the lake an incremental run gives, in place of a stale one', async () => {
    const { input, expected } = golden('orders_to_lake') as { input: { current: JsonRow[] }; expected: { rows: JsonRow[] } };
    const items = expected.rows.map(orderItem);
    const tableArn = await ordersTable('backfill-golden', items);
    // The reference: the same items' inserts, as the stream bridge writes them, merged by each engine.
    await putChangeObject(s3, LANDING, 'cdc/backfill-reference/dt=2024-05-01/a.jsonl.gz', itemInserts(items));
    const incremental = (engine: Engine) => ({ ...stackArgs(engine).orders_to_lake, CDC_PREFIX: 'cdc/backfill-reference/', CURATED_PREFIX: 'backfill/incremental/', STATE_PREFIX: 'backfill/state/' });
    expect(await runBoth('orders_to_lake', runDatasetToLake, incremental)).toEqual({ duckdb: undefined, spark: undefined });
    // The stale lake: the golden's older table, a day the table no longer has included.
    for (const engine of ENGINES) await writeLakeTable(s3, LAKES[engine], { ...CURATED_ORDERS, prefix: 'backfill/orders/' }, input.current);

    const args = backfillArgs(tableArn, 'backfill/orders/');
    const twin = await runDatasetToLake(context(), { ...args('duckdb'), MODE: 'backfill' });
    await spark.run('orders_to_lake', 'golden-orders_to_lake', args('spark'));
    expect(twin.summary).toMatch(/read 8 items, wrote 8 rows \(= items read\)/);

    const days = [...new Set(expected.rows.map((row) => textOf(row.invoice_day)))].sort();
    for (const engine of ENGINES) {
      const [backfilled, merged] = await Promise.all([readLakeTable(s3, LAKES[engine], CURATED_ORDERS, 'backfill/orders/'), readLakeTable(s3, LAKES[engine], CURATED_ORDERS, 'backfill/incremental/')]);
      expect([engine, backfilled.types]).toEqual([engine, merged.types]);
      expect([engine, canonical(backfilled.rows)]).toEqual([engine, canonical(merged.rows)]);
      expect([engine, (await parquetKeys(engine, 'backfill/orders/')).map((key) => key.split('/')[2]).sort()]).toEqual([engine, days.map((day) => `invoice_day=${day}`)]);
      // What each engine's export wrote, held to DynamoDB's documented layout.
      const [exported, ...others] = await readDocumentedExports(s3, LANDING, `backfill/orders-exports/${engine}/`, tableArn);
      expect(others).toEqual([]);
      expect(itemSet(exported?.items ?? [])).toEqual(itemSet((await scanAll(dynamodb, 'backfill-golden')).map((item) => Object.fromEntries(Object.entries(item).map(([name, value]) => [name, dynamoDBJson(value)])))));
    }
    await expectSameTable({ ...CURATED_ORDERS, prefix: 'backfill/orders/' }, expected.rows);
  }, 180_000);

  it('orders_to_lake MODE=backfill of an empty table leaves both engines an empty lake', async () => {
    const { input } = golden('orders_to_lake') as { input: { current: JsonRow[] } };
    const tableArn = await ordersTable('backfill-empty', []);
    for (const engine of ENGINES) await writeLakeTable(s3, LAKES[engine], { ...CURATED_ORDERS, prefix: 'backfill-empty/orders/' }, input.current);
    expect(await runBoth('orders_to_lake', runDatasetToLake, backfillArgs(tableArn, 'backfill-empty/orders/'))).toEqual({ duckdb: undefined, spark: undefined });
    for (const engine of ENGINES) expect([engine, await parquetKeys(engine, 'backfill-empty/orders/')]).toEqual([engine, []]);
  }, 120_000);

  it('orders_to_lake MODE=backfill refuses an item the lake cannot hold with the same words on both engines, and leaves the lake as it was', async () => {
    const { input } = golden('orders_to_lake') as { input: { current: JsonRow[] } };
    const refused = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'etl', 'orders_to_lake', 'refused.json'), 'utf8')) as { cases: { case: string; record: ChangeRecord; error: string }[] };
    const [good] = input.current;
    if (!good) throw new Error('the golden has rows');
    for (const [index, refusal] of refused.cases.filter((candidate) => candidate.case === 'a price it would round').entries()) {
      const image = refusal.record.newImage ?? {};
      // The item as the table would hold it: the price a number (N), the rest as the record has it.
      const item = { ...marshall(image), UnitPrice: { N: String(image.UnitPrice) } };
      const tableArn = await ordersTable(`backfill-refused-${String(index)}`, [orderItem(good), item]);
      const curated = `backfill-refused-${String(index)}/orders/`;
      for (const engine of ENGINES) await writeLakeTable(s3, LAKES[engine], { ...CURATED_ORDERS, prefix: curated }, input.current);
      // Both refuse before they write: the twin converts every item first, the job counts its
      // converted rows before the static overwrite deletes the old table.
      const errors = await runBoth('orders_to_lake', runDatasetToLake, backfillArgs(tableArn, curated));
      for (const engine of ENGINES) {
        expect([refusal.case, engine, errors[engine]]).toEqual([refusal.case, engine, expect.stringContaining(refusal.error)]);
        expect(errors[engine]).toContain('orders change 536370/1');
        const left = await readLakeTable(s3, LAKES[engine], CURATED_ORDERS, curated);
        expect([refusal.case, engine, canonical(left.rows)]).toEqual([refusal.case, engine, canonical(input.current)]);
      }
    }
  }, 180_000);
});
