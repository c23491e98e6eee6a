import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Stack } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-glue';
import { DynalakeError } from '../../../lambda/shared/errors';
import type { JsonRow } from '../../../scripts/local/glue/duckdb';
import { formatTable, type LakeQueryEngine, localQuerySql, openLakeQueryEngine, queryLake, syncLake } from '../../../scripts/local/lake';
import { CAMPAIGN_PROGRESS, CURATED_ORDERS, DIM_COUNTRY, LAKE_TABLES } from '../../../scripts/local/lake-tables';
import { type LocalNamedQuery, namedQueriesOf, pipelineNamedQueries } from '../../../scripts/local/named-queries';
import { buildStacks } from '../../helpers/cdk-app';
import { golden, useTempDirs, writeLakeTable } from '../../helpers/local-lake';
import { createBucket, useLocalS3 } from '../../helpers/local-s3';
import { listFiles } from '../../../scripts/local/glue/s3-files';

const orders = (golden('sales_star_schema') as { input: { orders: JsonRow[] } }).input.orders;
const progress = (golden('campaign_progress') as { expected: { rows: JsonRow[] } }).expected.rows;

let built: ReturnType<typeof buildStacks> | undefined;
/** The dynalake stacks, built once for the file (about 3 s). */
const stacksOnce = () => (built ??= buildStacks());

describe('the lake tables and named queries, as the pipeline stack declares them', () => {
  let stacks: ReturnType<typeof buildStacks>;
  beforeAll(() => {
    stacks = stacksOnce();
  });

  it('LAKE_TABLES has every catalog table, with its prefix, columns, Glue types and partition', () => {
    const declared = stacks.pipeline.catalog.tables.map((table) => {
      const stack = Stack.of(table);
      const input = stack.resolve((table.node.defaultChild as CfnTable).tableInput) as { name: string };
      return {
        name: input.name,
        prefix: table.s3Prefix,
        columns: table.columns.map((column) => ({ name: column.name, glueType: column.type.inputString })),
        ...(table.partitionKeys?.[0] === undefined ? {} : { partition: table.partitionKeys[0].name }),
      };
    });
    // In any order: the catalog declares the datasets' tables as their LakeDatasets are made.
    const byName = (tables: readonly { name: string }[]) => [...tables].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(LAKE_TABLES)).toEqual(byName(declared));
    expect(stacks.pipeline.catalog.tables.every((table) => (table.partitionKeys ?? []).every((key) => key.type.inputString === 'string'))).toBe(true);
  });

  it('reads the named queries from the stack, each with local SQL', () => {
    const queries = namedQueriesOf(stacks.pipeline);
    expect(queries.map((query) => query.name)).toEqual(['RevenueByMonth', 'TopCountriesByRevenue', 'CancellationRate', 'CampaignTaskCompletion']);
    for (const query of queries) {
      expect(query.database).toBe('dynalake_dev');
      expect(query.description).not.toBe('');
      expect(query.localSql).toBe(localQuerySql(query.sql, query.database));
    }
  });

  it('pipelineNamedQueries builds the app for a configuration and finds the same queries', () => {
    const queries = pipelineNamedQueries({ stage: 'qa' });
    expect(queries.map((query) => [query.name, query.database, query.sql])).toEqual(namedQueriesOf(stacks.pipeline).map((query) => [query.name, 'dynalake_qa', query.sql]));
  });
});

describe('localQuerySql', () => {
  it.each([
    ['SELECT * FROM dynalake_dev.curated_orders', 'SELECT * FROM curated_orders'],
    ['SELECT * FROM "dynalake_dev"."curated_orders" o JOIN dynalake_dev . dim_date d ON true', 'SELECT * FROM "curated_orders" o JOIN dim_date d ON true'],
    ['SELECT * FROM awsdatacatalog.dynalake_dev.fact_sales', 'SELECT * FROM fact_sales'],
    ['SELECT * FROM `dynalake_dev`.fact_sales', 'SELECT * FROM fact_sales'],
    ['SELECT other_dynalake_dev.x, dynalake_dev_2.y FROM curated_orders', 'SELECT other_dynalake_dev.x, dynalake_dev_2.y FROM curated_orders'],
  ])('%s → %s', (sql, local) => {
    expect(localQuerySql(sql, 'dynalake_dev')).toBe(local);
  });
});

describe('the local query engine (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();
  let engine: LakeQueryEngine | undefined;
  afterEach(() => {
    engine?.close();
    engine = undefined;
  });

  it('copies only new or changed Parquet objects, and drops the copies of deleted ones', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    const lakeDir = join(tempDir('lake'), 'lake');
    await writeLakeTable(local, lake, CURATED_ORDERS, orders);
    expect(await syncLake(local.client, lake, lakeDir)).toEqual({ objects: 4, downloaded: 4, unchanged: 0, removed: 0 });
    expect(await syncLake(local.client, lake, lakeDir)).toEqual({ objects: 4, downloaded: 0, unchanged: 4, removed: 0 });

    const changed = orders.map((row) => (row.invoice_day === '2010-12-05' ? { ...row, quantity: 99 } : row));
    await writeLakeTable(local, lake, CURATED_ORDERS, changed);
    expect(await syncLake(local.client, lake, lakeDir)).toEqual({ objects: 4, downloaded: 1, unchanged: 3, removed: 0 });

    const gone = 'curated/orders/invoice_day=2010-12-04/part-0.parquet';
    await local.client.send(new DeleteObjectCommand({ Bucket: lake, Key: gone }));
    expect(await syncLake(local.client, lake, lakeDir)).toEqual({ objects: 3, downloaded: 0, unchanged: 3, removed: 1 });
    expect(existsSync(join(lakeDir, ...gone.split('/')))).toBe(false);
  });

  it('lets several syncs of one folder run at once (two queries side by side), leaving whole files only', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    const lakeDir = join(tempDir('lake'), 'lake');
    await writeLakeTable(local, lake, CURATED_ORDERS, orders);
    const results = await Promise.all([1, 2, 3, 4].map(() => syncLake(local.client, lake, lakeDir)));
    for (const result of results) expect(result).toMatchObject({ objects: 4, removed: 0 });
    expect((await listFiles(lakeDir)).filter((file) => file.endsWith('.part'))).toEqual([]);
    engine = await openLakeQueryEngine({ lakeDir });
    expect((await engine.query('SELECT count(*) AS n FROM orders')).rows).toEqual([{ n: orders.length }]);
  });

  it('has a view per catalog table and `orders`, with the catalog columns, empty where nothing was written', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    const lakeDir = join(tempDir('lake'), 'lake');
    await writeLakeTable(local, lake, CURATED_ORDERS, orders);
    await syncLake(local.client, lake, lakeDir);
    engine = await openLakeQueryEngine({ lakeDir });
    expect(engine.tables).toEqual(LAKE_TABLES.map((table) => ({ name: table.name, files: table === CURATED_ORDERS ? 4 : 0 })));

    const described = await engine.query('DESCRIBE curated_orders');
    expect(described.rows.map((row) => [row.column_name, row.column_type])).toEqual([
      ['invoice_no', 'VARCHAR'],
      ['line_no', 'INTEGER'],
      ['stock_code', 'VARCHAR'],
      ['description', 'VARCHAR'],
      ['quantity', 'INTEGER'],
      ['unit_price', 'DECIMAL(12,3)'],
      ['invoice_ts', 'TIMESTAMP'],
      ['customer_id', 'BIGINT'],
      ['country', 'VARCHAR'],
      ['is_cancellation', 'BOOLEAN'],
      ['invoice_day', 'VARCHAR'],
    ]);
    const aliased = await engine.query("SELECT invoice_no, line_no, unit_price, invoice_ts, customer_id FROM orders WHERE invoice_no = 'A563187'");
    expect(aliased.rows).toEqual([{ invoice_no: 'A563187', line_no: 1, unit_price: '-11062.060', invoice_ts: '2010-12-05T14:52:00', customer_id: null }]);
    const empty = await engine.query('SELECT * FROM dim_country');
    expect(empty).toEqual({ columns: [
      { name: 'country_key', type: 'BIGINT' },
      { name: 'country', type: 'VARCHAR' },
    ], rows: [] });
    expect(DIM_COUNTRY.columns.map((column) => column.name)).toEqual(['country_key', 'country']);
  });

  it('runs every named query on the local lake', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    await writeLakeTable(local, lake, CURATED_ORDERS, orders);
    await writeLakeTable(local, lake, CAMPAIGN_PROGRESS, progress);
    const queries: LocalNamedQuery[] = namedQueriesOf(stacksOnce().pipeline);
    const results = await queryLake({ s3: local.client, bucket: lake, lakeDir: join(tempDir('lake'), 'lake') }, queries.map((query) => query.localSql));
    const byName = Object.fromEntries(queries.map((query, index) => [query.name, results[index]?.rows]));
    // 15.3 + 6.3 + 15.3 − 27.5 + 70.8 + 90 + 18 + 0.001 + 77940 + 15 − 11062.06, exactly.
    expect(byName.RevenueByMonth).toEqual([{ month: '2010-12', revenue: '67081.141' }]);
    expect(byName.TopCountriesByRevenue?.[0]).toEqual({ country: 'United Kingdom', revenue: '77949.400' });
    // avg() of DECIMAL is a DOUBLE in DuckDB: a JSON number. One cancellation in 11 lines.
    expect(byName.CancellationRate).toEqual([{ month: '2010-12', cancellation_rate: expect.closeTo(1 / 11, 12) as unknown }]);
    expect(byName.CampaignTaskCompletion).toContainEqual({ campaign_id: 'CMP-0001', task_id: 'TASK-0001-01', validated: 1, users: 1 });
  });

  it('turns a DuckDB error into a BAD_INPUT error with DuckDB’s message', async () => {
    engine = await openLakeQueryEngine({ lakeDir: join(tempDir('lake'), 'nothing') });
    await expect(engine.query('SELECT nope FROM curated_orders')).rejects.toThrow(DynalakeError);
    await expect(engine.query('SELEC 1')).rejects.toThrow(/Parser Error: syntax error at or near "SELEC"/);
  });
});

describe('formatTable', () => {
  it('aligns columns, numbers to the right, and writes NULL and the row count', () => {
    const text = formatTable({
      columns: [
        { name: 'country', type: 'VARCHAR' },
        { name: 'revenue', type: 'DECIMAL(38,3)' },
      ],
      rows: [
        { country: 'United Kingdom', revenue: '77949.400' },
        { country: null, revenue: '-11062.060' },
      ],
    });
    expect(text).toBe(['country        |    revenue', '---------------+-----------', 'United Kingdom |  77949.400', 'NULL           | -11062.060', '(2 rows)'].join('\n'));
  });
});
