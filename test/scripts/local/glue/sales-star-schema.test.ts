import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { JsonRow } from '../../../../scripts/local/glue/duckdb';
import { buildStarSchema, runSalesStarSchema, type StarTableName } from '../../../../scripts/local/glue/sales-star-schema';
import { CURATED_ORDERS, STAR_TABLES } from '../../../../scripts/local/lake-tables';
import { canonical, golden, readLakeTable, twinContext, useTempDirs, writeLakeTable, publishedFigures } from '../../../helpers/local-lake';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';

const { input, expected } = golden('sales_star_schema') as { input: { orders: JsonRow[] }; expected: Record<StarTableName, JsonRow[]> };

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
    const args = { LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders/', WAREHOUSE_PREFIX: 'warehouse/' };

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
  });

  it('rebuilds over its own previous tables, deleting none of the objects it has just written', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    const [first, second] = input.orders;
    await writeLakeTable(local, lake, CURATED_ORDERS, [first, second].flatMap((row) => (row === undefined ? [] : [row])));
    const context = twinContext(local, tempDir);
    const args = { LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders', WAREHOUSE_PREFIX: 'warehouse' };
    const once = await runSalesStarSchema(context, args);

    const again = await runSalesStarSchema(context, args);
    expect(again).toMatchObject({ ordersRead: 2, tables: once.tables, objectsDeleted: 0 });
    expect(again.summary).toMatch(/; 0 old objects deleted$/);
    expect(await listKeys(local, lake, 'warehouse/')).toEqual(STAR_TABLES.map((table) => `warehouse/${table.name}/part-0.parquet`).sort());
    const { rows } = await readLakeTable(local, lake, STAR_TABLES[0]);
    expect(rows).toHaveLength(2);
  });

  it('says the curated orders are missing, and writes the star of no orders: the unknown customer and country only', async () => {
    const local = s3();
    const lake = await createBucket(local, 'lake');
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'curated/orders/_SUCCESS', Body: Buffer.alloc(0) }));
    const context = twinContext(local, tempDir);

    const result = await runSalesStarSchema(context, { LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders/', WAREHOUSE_PREFIX: 'warehouse/' });
    expect(result).toMatchObject({ ordersRead: 0, filesRead: 0, tables: { fact_sales: 0, dim_date: 0, dim_product: 0, dim_customer: 1, dim_country: 1 }, objectsDeleted: 0 });
    expect(result.summary).toBe('read 0 curated orders from 0 files; wrote fact_sales 0, dim_date 0, dim_product 0, dim_customer 1, dim_country 1 rows; 0 old objects deleted');
    expect(context.lines).toEqual([
      `sales_star_schema: no curated orders under s3://${lake}/curated/orders/: the star schema is empty (only the unknown customer and country)`,
      `sales_star_schema: ${result.summary}`,
    ]);
    expect((await readLakeTable(local, lake, STAR_TABLES[3])).rows).toEqual([{ customer_key: 0, customer_id: null, country: null }]);
  });
});
