import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { JsonRow } from '../../../../scripts/local/glue/duckdb';
import { getObjectBytes, listObjects } from '../../../../scripts/local/glue/s3-files';
import { buildStarSchema, buildStateKey, curatedFingerprint, parseBuildState, renderBuildState, runSalesStarSchema, type StarTableName } from '../../../../scripts/local/glue/sales-star-schema';
import { CURATED_ORDERS, STAR_TABLES } from '../../../../scripts/local/lake-tables';
import { canonical, golden, readLakeTable, twinContext, useTempDirs, writeLakeTable, publishedFigures } from '../../../helpers/local-lake';
import type { LocalS3 } from '../../../../scripts/local/s3';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';

const { input, expected } = golden('sales_star_schema') as { input: { orders: JsonRow[] }; expected: Record<StarTableName, JsonRow[]> };
const STATE_PREFIX = 'state/sales_star_schema/';
const ARGS = { CURATED_PREFIX: 'curated/orders/', WAREHOUSE_PREFIX: 'warehouse/', STATE_PREFIX };

/** The build state both engines render for the same build (glue-scripts/tests/test_dynalake_glue.py BuildStateTest reads it too). */
const BUILD_STATE = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'etl', 'sales_star_schema', 'build-state.json'), 'utf8')) as {
  listing: [string, string][];
  builtAt: string;
  text: string;
};

/** Each object under `prefix` with its ETag and last-modified time: what a run that writes nothing leaves as it was. */
async function listing(local: LocalS3, bucket: string, prefix: string) {
  return (await listObjects(local.client, bucket, prefix)).map(({ key, etag, lastModified }) => [key, etag, lastModified?.toISOString()]);
}

/** The build state the last build left, parsed. */
async function builtFrom(local: LocalS3, bucket: string) {
  return parseBuildState(Buffer.from(await getObjectBytes(local.client, bucket, `${STATE_PREFIX}built.json`)).toString('utf8'), 'here');
}

/** A lake bucket holding `orders` as curated orders, and the twin's context and arguments over it. */
async function starLake(local: LocalS3, tempDir: (purpose: string) => string, orders: readonly JsonRow[] = input.orders) {
  const lake = await createBucket(local, 'lake');
  await writeLakeTable(local, lake, CURATED_ORDERS, orders);
  return { lake, context: twinContext(local, tempDir), args: { LAKE_BUCKET: lake, ...ARGS } };
}

describe('the build state', () => {
  it('is what the Spark job renders for the same build, and fingerprints the listing by key and ETag', () => {
    const fingerprint = curatedFingerprint(BUILD_STATE.listing.map(([key, etag]) => ({ key, etag, size: 0 })));
    expect(renderBuildState({ source: 's3://lake/curated/orders/', objects: 2, fingerprint }, BUILD_STATE.builtAt)).toBe(BUILD_STATE.text);
    expect(parseBuildState(BUILD_STATE.text, 'here')).toEqual({ source: 's3://lake/curated/orders/', objects: 2, fingerprint });
    // Size and modification time are not the twin's: it rewrites a partition under the same key, so the ETag (the content) tells.
    expect(curatedFingerprint([{ key: 'a', etag: '"1"', size: 1 }])).toBe(curatedFingerprint([{ key: 'a', etag: '"1"', size: 2, lastModified: new Date() }]));
    expect(curatedFingerprint([{ key: 'a', etag: '"1"', size: 1 }])).not.toBe(curatedFingerprint([{ key: 'a', etag: '"2"', size: 1 }]));
  });

  it.each([
    ['not JSON', '{', /^s3:\/\/lake\/state\/sales_star_schema\/built\.json: the build state is not JSON \(.+\); delete it to rebuild the star schema$/],
    ['null', 'null', /not a format-1 build state of sales_star_schema; delete it to rebuild the star schema$/],
    ['another format', { format: 2 }, /not a format-1 build state of sales_star_schema/],
    ['another job', { job: 'orders_to_lake' }, /not a format-1 build state/],
    ['no curated orders', { curatedOrders: null }, /not a format-1 build state/],
    ['a source that is no text', { curatedOrders: { source: 1, objects: 2, fingerprint: 'f' } }, /not a format-1 build state/],
    ['a count that is text', { curatedOrders: { source: 's', objects: '2', fingerprint: 'f' } }, /not a format-1 build state/],
    ['a count that is no whole number', { curatedOrders: { source: 's', objects: 1.5, fingerprint: 'f' } }, /not a format-1 build state/],
    ['no fingerprint', { curatedOrders: { source: 's', objects: 2 } }, /not a format-1 build state/],
  ])('refuses %s, naming the object', (_case, change, message) => {
    const text = typeof change === 'string' ? change : JSON.stringify({ ...(JSON.parse(BUILD_STATE.text) as object), ...change });
    expect(() => parseBuildState(text, 's3://lake/state/sales_star_schema/built.json')).toThrow(message);
  });

  it('sits under the state prefix however it is written', () => {
    for (const prefix of ['state/sales_star_schema/', 'state/sales_star_schema', '/state/sales_star_schema/']) expect(buildStateKey(prefix)).toBe('state/sales_star_schema/built.json');
  });
});

describe('buildStarSchema (the sales_star_schema golden)', () => {
  it.each(STAR_TABLES.map((table) => [table.name] as const))('gives every expected row of %s, keys and decimals exact', async (name) => {
    const tables = await buildStarSchema(input.orders);
    expect(canonical(tables[name])).toEqual(canonical(expected[name]));
    // Columns in the catalog's order, as the job writes them.
    expect(Object.keys(tables[name][0] ?? {})).toEqual(Object.keys(expected[name][0] ?? {}));
  });

  it('builds only the unknown customer and country from no orders', async () => {
    const tables = await buildStarSchema([]);
    expect(tables).toEqual({
      fact_sales: [],
      dim_date: [],
      dim_product: [],
      dim_customer: [{ customer_key: 0, customer_id: null, country: null }],
      dim_country: [{ country_key: 0, country: null }],
    });
  });

  it('refuses an amount DECIMAL(14,3) cannot hold', async () => {
    const [first] = input.orders;
    await expect(buildStarSchema([{ ...first, quantity: 80995, unit_price: '999999999.999' }])).rejects.toThrow(/DECIMAL\(14,3\)/);
  });
});

describe('runSalesStarSchema (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();

  it('rebuilds every table from all curated orders, one Parquet file each, with the catalog types', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    await writeLakeTable(local, lake, CURATED_ORDERS, input.orders);
    await writeLakeTable(local, lake, { ...STAR_TABLES[0], prefix: 'warehouse/fact_sales/old/' }, []); // a stale file the rebuild removes
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'curated/orders/_SUCCESS', Body: Buffer.alloc(0) })); // Spark's marker: not a Parquet file, not read
    const context = twinContext(local, tempDir);
    const args = { LAKE_BUCKET: lake, ...ARGS };

    const result = await runSalesStarSchema(context, args);
    expect(result).toMatchObject({ ordersRead: 11, filesRead: 4, tables: { fact_sales: 11, dim_date: 5, dim_product: 7, dim_customer: 4, dim_country: 5 }, parquetFiles: 5, objectsDeleted: 1 });
    expect(result.summary).toBe('read 11 curated orders from 4 files; wrote fact_sales 11, dim_date 5, dim_product 7, dim_customer 4, dim_country 5 rows; 1 old object deleted');
    expect(context.lines).toEqual([`sales_star_schema: ${result.summary}`]);
    expect(publishedFigures(result.metrics, { namespace: 'dynalake', service: 'sales_star_schema', dataset: 'sales_star_schema' })).toEqual({ RowsRead: 11, RowsWritten: 11 + 5 + 7 + 4 + 5 });
    for (const table of STAR_TABLES) {
      const { rows } = await readLakeTable(local, lake, table);
      expect([table.name, canonical(rows)]).toEqual([table.name, canonical(expected[table.name])]);
    }
    expect((await readLakeTable(local, lake, STAR_TABLES[0])).types).toMatchObject({ product_key: 'BIGINT', unit_price: 'DECIMAL(12,3)', amount: 'DECIMAL(14,3)', date_key: 'INTEGER' });
    expect((await listKeys(local, lake, 'warehouse/')).sort()).toEqual(STAR_TABLES.map((table) => `warehouse/${table.name}/part-0.parquet`).sort());
    // Built from the four curated files, and said so last.
    const curatedFiles = (await listObjects(local.client, lake, 'curated/orders/')).filter((object) => object.key.endsWith('.parquet'));
    expect(await builtFrom(local, lake)).toEqual({ source: `s3://${lake}/curated/orders/`, objects: 4, fingerprint: curatedFingerprint(curatedFiles) });
    expect((await local.client.send(new HeadObjectCommand({ Bucket: lake, Key: `${STATE_PREFIX}built.json` }))).ContentType).toBe('application/json');
    expect(result.unchanged).toBe(false);
  });

  it('refuses a build state it cannot read, naming the object, and takes an object beside it for none', async () => {
    const local = s3();
    const { lake, context, args } = await starLake(local, tempDir);
    // A name that starts like the state's is not the state: the run builds.
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: `${STATE_PREFIX}built.json.old`, Body: 'not mine' }));
    await expect(runSalesStarSchema(context, args)).resolves.toMatchObject({ unchanged: false, ordersRead: 11 });

    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: `${STATE_PREFIX}built.json`, Body: '{' }));
    const refusal = runSalesStarSchema(context, args);
    await expect(refusal).rejects.toThrow(new RegExp(`^s3://${lake}/state/sales_star_schema/built\\.json: the build state is not JSON \\(.+\\); delete it to rebuild the star schema$`));
    await expect(refusal).rejects.toMatchObject({ name: 'DynalakeError', code: 'BAD_INPUT' });
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: `${STATE_PREFIX}built.json`, Body: '{"format":1}' }));
    await expect(runSalesStarSchema(context, args)).rejects.toMatchObject({ code: 'BAD_INPUT', message: `s3://${lake}/state/sales_star_schema/built.json: not a format-1 build state of sales_star_schema; delete it to rebuild the star schema` });
  });

  it('reads and writes nothing when the curated orders are those of its last build and every table is in place', async () => {
    const local = s3();
    const { lake, context, args } = await starLake(local, tempDir);
    await runSalesStarSchema(context, args);
    const before = await listing(local, lake, '');

    const again = await runSalesStarSchema(context, args);
    expect(again).toMatchObject({ unchanged: true, ordersRead: 0, filesRead: 0, tables: { fact_sales: 0, dim_date: 0, dim_product: 0, dim_customer: 0, dim_country: 0 }, parquetFiles: 0, objectsDeleted: 0 });
    expect(again.summary).toBe('curated orders unchanged since the last build (4 files): nothing to do');
    expect(context.lines.at(-1)).toBe(`sales_star_schema: ${again.summary}`);
    expect(publishedFigures(again.metrics, { namespace: 'dynalake', service: 'sales_star_schema', dataset: 'sales_star_schema' })).toEqual({ RowsRead: 0, RowsWritten: 0 });
    // Not one object written, replaced or deleted: the state object included.
    expect(await listing(local, lake, '')).toEqual(before);
  });

  it('rebuilds a table that is gone, though the orders did not change', async () => {
    const local = s3();
    const { lake, context, args } = await starLake(local, tempDir);
    await runSalesStarSchema(context, args);
    await local.client.send(new DeleteObjectCommand({ Bucket: lake, Key: 'warehouse/dim_country/part-0.parquet' }));

    const rebuilt = await runSalesStarSchema(context, args);
    expect(rebuilt).toMatchObject({ unchanged: false, ordersRead: 11, filesRead: 4 });
    expect(canonical((await readLakeTable(local, lake, STAR_TABLES[4])).rows)).toEqual(canonical(expected.dim_country));
  });

  it('rebuilds over its own previous tables when a partition changed, deleting none of the objects it has just written', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    const [first, second] = input.orders;
    await writeLakeTable(local, lake, CURATED_ORDERS, [first].flatMap((row) => (row === undefined ? [] : [row])));
    const context = twinContext(local, tempDir);
    const args = { LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders', WAREHOUSE_PREFIX: 'warehouse', STATE_PREFIX: 'state/sales_star_schema' };
    const once = await runSalesStarSchema(context, args);
    expect(once.ordersRead).toBe(1);
    const state = await builtFrom(local, lake);
    // The same key rewritten (as the twin rewrites a partition), the second order of the day beside the first: only its ETag tells.
    expect(second?.invoice_day).toBe(first?.invoice_day);
    await writeLakeTable(local, lake, CURATED_ORDERS, [first, second].flatMap((row) => (row === undefined ? [] : [row])));

    const again = await runSalesStarSchema(context, args);
    expect(again).toMatchObject({ unchanged: false, ordersRead: 2, objectsDeleted: 0 });
    expect(again.summary).toMatch(/; 0 old objects deleted$/);
    expect(await listKeys(local, lake, 'warehouse/')).toEqual(STAR_TABLES.map((table) => `warehouse/${table.name}/part-0.parquet`).sort());
    const { rows } = await readLakeTable(local, lake, STAR_TABLES[0]);
    expect(rows).toHaveLength(2);
    expect((await builtFrom(local, lake)).fingerprint).not.toBe(state.fingerprint);
  });

  it('leaves no state when a rebuild fails, so the next run builds again even from the orders of the last build', async () => {
    const local = s3();
    const [first] = input.orders;
    const { lake, context, args } = await starLake(local, tempDir, [first].flatMap((row) => (row === undefined ? [] : [row])));
    await runSalesStarSchema(context, args);
    // An amount DECIMAL(14,3) cannot hold fails the rebuild.
    await writeLakeTable(local, lake, CURATED_ORDERS, [{ ...first, quantity: 80995, unit_price: '999999999.999' }]);
    await expect(runSalesStarSchema(context, args)).rejects.toThrow(/DECIMAL\(14,3\)/);
    expect(await listKeys(local, lake, 'state/')).toEqual([]);
    await writeLakeTable(local, lake, CURATED_ORDERS, [first].flatMap((row) => (row === undefined ? [] : [row])));
    await expect(runSalesStarSchema(context, args)).resolves.toMatchObject({ unchanged: false, ordersRead: 1 });
  });

  it('says the curated orders are missing, and writes the star of no orders: the unknown customer and country only', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'curated/orders/_SUCCESS', Body: Buffer.alloc(0) }));
    const context = twinContext(local, tempDir);

    const result = await runSalesStarSchema(context, { LAKE_BUCKET: lake, ...ARGS });
    expect(result).toMatchObject({ ordersRead: 0, filesRead: 0, tables: { fact_sales: 0, dim_date: 0, dim_product: 0, dim_customer: 1, dim_country: 1 }, objectsDeleted: 0 });
    expect(result.summary).toBe('read 0 curated orders from 0 files; wrote fact_sales 0, dim_date 0, dim_product 0, dim_customer 1, dim_country 1 rows; 0 old objects deleted');
    expect(context.lines).toEqual([
      `sales_star_schema: no curated orders under s3://${lake}/curated/orders/: the star schema is empty (only the unknown customer and country)`,
      `sales_star_schema: ${result.summary}`,
    ]);
    expect((await readLakeTable(local, lake, STAR_TABLES[3])).rows).toEqual([{ customer_key: 0, customer_id: null, country: null }]);
  });
});
