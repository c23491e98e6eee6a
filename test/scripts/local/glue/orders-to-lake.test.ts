import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ChangeRecord } from '../../../../lambda/shared/cdc';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { textOf } from '../../../../scripts/local/glue/duckdb';
import { type CuratedOrderRow, mergeOrders, runOrdersToLake } from '../../../../scripts/local/glue/orders-to-lake';
import { CURATED_ORDERS } from '../../../../scripts/local/lake-tables';
import type { LocalS3 } from '../../../../scripts/local/s3';
import { readDocumentedExports } from '../../../helpers/dynamodb-export';
import { createTable, useLocalDynamoDB } from '../../../helpers/local-dynamodb';
import { canonical, golden, itemInserts, orderInsert, orderItem, putChangeObject, readLakeTable, twinContext, useTempDirs, writeLakeTable } from '../../../helpers/local-lake';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';

interface Input {
  readonly current: CuratedOrderRow[];
  readonly changes: ChangeRecord[];
}
interface Expected {
  readonly rewritten_partitions: string[];
  readonly emptied_partitions: string[];
  readonly rows: CuratedOrderRow[];
}

const { input, expected } = golden('orders_to_lake') as { input: Input; expected: Expected };

const insertOf = orderInsert;

function modify(sequenceNumber: string, quantity: number): ChangeRecord {
  const [first] = input.current;
  if (!first) throw new Error('the golden has current rows');
  const insert = insertOf(first, sequenceNumber);
  return { ...insert, eventName: 'MODIFY', newImage: { ...insert.newImage, Quantity: quantity }, oldImage: insert.newImage };
}

describe('mergeOrders (the orders_to_lake golden)', () => {
  it('rewrites the expected partitions and leaves the expected ones empty', async () => {
    const merge = await mergeOrders(input.current, input.changes);
    expect(merge.rewrittenPartitions).toEqual(expected.rewritten_partitions);
    expect(merge.emptiedPartitions).toEqual(expected.emptied_partitions);
  });

  it('gives the expected table: untouched partitions as they were, touched ones rewritten, every row exact', async () => {
    const merge = await mergeOrders(input.current, input.changes);
    const touched = new Set(merge.rewrittenPartitions);
    expect(merge.rows.every((row) => touched.has(textOf(row.invoice_day)))).toBe(true);
    const table = [...input.current.filter((row) => !touched.has(textOf(row.invoice_day))), ...merge.rows];
    expect(canonical(table)).toEqual(canonical(expected.rows));
    // Decimals keep the column's three places, as strings: 0.001, -11062.060, 38970.000.
    expect(merge.rows.map((row) => row.unit_price)).toEqual(expect.arrayContaining(['0.001', '-11062.060', '38970.000', '27.500']));
  });

  it('accounts for every row: written = kept + upserted, read = kept + replaced', async () => {
    const { counts } = await mergeOrders(input.current, input.changes);
    expect(counts).toEqual({ changeRecords: 10, keysChanged: 8, upserts: 6, removes: 2, rowsRead: 4, rowsReplaced: 3, rowsKept: 1, rowsWritten: 7 });
  });

  it('compares sequence numbers as integers, up to 40 digits and beyond HUGEINT', async () => {
    const newer = modify(`1${'0'.repeat(39)}`, 8);
    const older = modify('9'.repeat(38), 12);
    for (const changes of [
      [newer, older],
      [older, newer],
    ]) {
      const { rows } = await mergeOrders([], changes);
      expect(rows.map((row) => row.quantity)).toEqual([8]);
    }
  });

  it('settles a sequence-number tie in favour of the record read later', async () => {
    const { rows } = await mergeOrders([], [modify('500', 8), modify('500', 9)]);
    expect(rows.map((row) => row.quantity)).toEqual([9]);
  });

  it('takes a batch of inserts only into an empty table', async () => {
    const inserts = input.changes.filter((record) => record.eventName === 'INSERT');
    const { rows, rewrittenPartitions } = await mergeOrders([], inserts);
    expect(rewrittenPartitions).toEqual([...new Set(inserts.map((record) => String(record.newImage?.InvoiceDay)))].sort());
    expect(rows).toHaveLength(inserts.length);
  });

  it.each([['0.0015'], [0.0015]])('refuses a price it would have to round (%p)', async (price) => {
    const record = insertOf(expected.rows[0] as CuratedOrderRow, '1');
    const changes = [{ ...record, newImage: { ...record.newImage, UnitPrice: price } }];
    await expect(mergeOrders([], changes)).rejects.toThrow(/UnitPrice 0.0015 does not fit DECIMAL\(12,3\) exactly/);
  });

  it('refuses a MODIFY without its old image, which cannot be placed in a partition', async () => {
    const change = { ...modify('7', 8), oldImage: null };
    await expect(mergeOrders([], [change])).rejects.toThrow(/no old image: the stream must send NEW_AND_OLD_IMAGES/);
  });

  // The same cases fail the PySpark job (glue-scripts/tests/test_jobs_spark.py).
  const refused = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'etl', 'orders_to_lake', 'refused.json'), 'utf8')) as { cases: { case: string; record: ChangeRecord; error: string }[] }).cases;
  it.each(refused.map((refusal) => [refusal.case, refusal] as const))('refuses %s, naming the record, the field and the value', async (_case, refusal) => {
    const failure = mergeOrders([], [refusal.record]).then(
      () => 'no error',
      (error: unknown) => (error as Error).message,
    );
    const message = await failure;
    expect(message).toContain(refusal.error);
    if (!refusal.error.startsWith('InvoiceDay')) expect(message).toMatch(/orders change 536370\/1 in changes: /);
  });

  it('refuses a fractional Quantity rather than truncate it', async () => {
    const record = insertOf(expected.rows[0] as CuratedOrderRow, '1');
    await expect(mergeOrders([], [{ ...record, newImage: { ...record.newImage, Quantity: 6.5 } }])).rejects.toThrow(/Quantity 6.5 is not a whole number/);
  });
});

/** The job's state object, as it lies in the lake bucket. */
async function readStateObject(local: LocalS3, lake: string): Promise<{ format: number; job: string; sources: Record<string, string[]> }> {
  const response = await local.client.send(new GetObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json' }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as { format: number; job: string; sources: Record<string, string[]> };
}

describe('runOrdersToLake (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();
  const args = (landing: string, lake: string) => ({ LANDING_BUCKET: landing, LAKE_BUCKET: lake, CDC_PREFIX: 'cdc/orders/', CURATED_PREFIX: 'curated/orders/', STATE_PREFIX: 'state/orders_to_lake/', MODE: 'incremental', TempDir: 's3://assets/glue-temp/' });

  it('merges each new change object once, keeps its state object, and ends with the golden table', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);

    // Run 1: the golden's current table arrives as inserts.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/local-1-5.jsonl.gz', input.current.map((row, index) => insertOf(row, String(index + 1))));
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: 'cdc/orders/README.txt', Body: 'not a change object' }));
    const first = await runOrdersToLake(context, args(landing, lake));
    expect(first).toMatchObject({ noop: false, changeObjects: 1, changeRecords: 5, upserts: 5, rowsRead: 0, rowsWritten: 5, partitionsRewritten: 3, partitionsDeleted: 0, parquetFiles: 3 });
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(input.current));
    const untouchedKey = 'curated/orders/invoice_day=2010-12-06/part-0.parquet';
    const etagOf = async (key: string) => (await local.client.send(new HeadObjectCommand({ Bucket: lake, Key: key }))).ETag;
    const untouchedEtag = await etagOf(untouchedKey);

    // Run 2: only the new object (the golden batch) is merged.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-02/local-999999999999999999999-1000000000000000000080.jsonl.gz', input.changes);
    const second = await runOrdersToLake(context, args(landing, lake));
    expect(second).toMatchObject({ noop: false, changeObjects: 1, changeRecords: 10, keysChanged: 8, rowsRead: 4, rowsKept: 1, rowsWritten: 7, partitionsRewritten: 6, partitionsDeleted: 1, objectsDeleted: 1 });
    const { rows, types } = await readLakeTable(local, lake, CURATED_ORDERS);
    expect(canonical(rows)).toEqual(canonical(expected.rows));
    expect(types).toEqual({
      invoice_no: 'VARCHAR',
      line_no: 'INTEGER',
      stock_code: 'VARCHAR',
      description: 'VARCHAR',
      quantity: 'INTEGER',
      unit_price: 'DECIMAL(12,3)',
      invoice_ts: 'TIMESTAMP WITH TIME ZONE', // an instant, as Spark stores its TimestampType
      customer_id: 'BIGINT',
      country: 'VARCHAR',
      is_cancellation: 'BOOLEAN',
    });
    const keys = await listKeys(local, lake);
    expect(keys).toEqual([
      ...[...new Set(expected.rows.map((row) => textOf(row.invoice_day)))].sort().map((day) => `curated/orders/invoice_day=${day}/part-0.parquet`),
      'state/orders_to_lake/merged.json',
    ]);
    expect(keys.some((key) => key.includes('2010-12-02'))).toBe(false); // emptied, deleted
    expect(await etagOf(untouchedKey)).toBe(untouchedEtag); // not rewritten

    // Run 3: nothing new is a no-op that says so.
    const third = await runOrdersToLake(context, args(landing, lake));
    expect(third).toMatchObject({ noop: true, changeObjects: 0, rowsWritten: 0 });
    expect(third.summary).toMatch(/no new change objects .* \(2 merged before\): nothing to do/);
    expect(await listKeys(local, lake)).toEqual(keys);
    const state = await readStateObject(local, lake);
    expect(state).toMatchObject({ format: 1, job: 'orders_to_lake' });
    expect(state.sources[`s3://${landing}/cdc/orders/`]).toEqual(['cdc/orders/dt=2024-05-01/local-1-5.jsonl.gz', 'cdc/orders/dt=2024-05-02/local-999999999999999999999-1000000000000000000080.jsonl.gz']);
  });

  it('lets an object expired from cdc/ leave its state, and merges nothing twice', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', input.current.map((row, index) => insertOf(row, String(index + 1))));
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-02/b.jsonl.gz', input.changes);
    expect(await runOrdersToLake(context, args(landing, lake))).toMatchObject({ changeObjects: 2, changeRecords: 15 });
    await local.client.send(new DeleteObjectCommand({ Bucket: landing, Key: 'cdc/orders/dt=2024-05-01/a.jsonl.gz' })); // the lifecycle rule expired it
    expect(await runOrdersToLake(context, args(landing, lake))).toMatchObject({ noop: true, changeObjects: 0 });
    expect((await readStateObject(local, lake)).sources[`s3://${landing}/cdc/orders/`]).toEqual(['cdc/orders/dt=2024-05-02/b.jsonl.gz']);
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(expected.rows));
  });

  it('refuses a state object that is not its own, naming it, rather than merge everything again', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json', Body: JSON.stringify({ format: 1, job: 'campaign_progress', sources: {} }) }));
    await expect(runOrdersToLake(twinContext(local, tempDir), args(landing, lake))).rejects.toThrow(`s3://${lake}/state/orders_to_lake/merged.json: not a format-1 state object of orders_to_lake`);
  });

  it('names the missing arguments of each mode, and refuses a MODE it does not know', async () => {
    const context = twinContext(s3(), tempDir);
    await expect(runOrdersToLake(context, { LANDING_BUCKET: 'x' })).rejects.toThrow(new DynalakeError('BAD_INVOCATION', 'orders_to_lake: missing job arguments --LAKE_BUCKET, --CDC_PREFIX, --CURATED_PREFIX, --STATE_PREFIX'));
    await expect(runOrdersToLake(context, { LAKE_BUCKET: 'x', MODE: 'backfill' })).rejects.toThrow(
      new DynalakeError('BAD_INVOCATION', 'orders_to_lake: missing job arguments --CURATED_PREFIX, --SOURCE_TABLE_ARN, --EXPORT_BUCKET, --EXPORT_PREFIX'),
    );
    await expect(runOrdersToLake(context, { ...args('a', 'b'), MODE: 'full' })).rejects.toThrow(new DynalakeError('BAD_INVOCATION', 'orders_to_lake: MODE must be incremental or backfill, not "full"'));
  });
});

describe('runOrdersToLake MODE=backfill (an export of a real dynalite table, through a real s3rver)', () => {
  const s3 = useLocalS3();
  const dynamodb = useLocalDynamoDB();
  const tempDir = useTempDirs();

  /** A fresh orders table holding `items`, its buckets, and the job's arguments over them. */
  async function setUp(items: readonly Record<string, AttributeValue>[]) {
    const local = s3();
    const table = await createTable(dynamodb());
    for (const item of items) await dynamodb().client.send(new PutItemCommand({ TableName: table, Item: item }));
    const [landing, lake, assets] = [await createBucket(local, 'landing'), await createBucket(local, 'lake'), await createBucket(local, 'assets')];
    const tableArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${table}`;
    const backfill = { LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders/', MODE: 'backfill', SOURCE_TABLE_ARN: tableArn, EXPORT_BUCKET: assets, EXPORT_PREFIX: 'dynamodb-exports/orders/' } as const;
    return { local, landing, lake, assets, tableArn, backfill, context: twinContext(local, tempDir, { dynamodb: dynamodb().client }) };
  }

  it('rewrites the whole table from an export: the rows an incremental run over the same items gives, the stale lake gone', async () => {
    const items = expected.rows.map(orderItem);
    const { local, landing, lake, assets, tableArn, backfill, context } = await setUp(items);
    // The reference: the same items as the stream bridge would have written their inserts, merged.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', itemInserts(items));
    await runOrdersToLake(context, { LANDING_BUCKET: landing, LAKE_BUCKET: lake, CDC_PREFIX: 'cdc/orders/', CURATED_PREFIX: 'incremental/orders/', STATE_PREFIX: 'state/orders_to_lake/' });
    // A stale lake: the golden's older table (with a day the table no longer has) and a Spark marker.
    await writeLakeTable(local, lake, CURATED_ORDERS, input.current);
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'curated/orders/_SUCCESS', Body: '' }));

    const result = await runOrdersToLake(context, backfill);
    expect(result).toMatchObject({ mode: 'backfill', itemsRead: 8, rowsWritten: 8, partitions: 6, parquetFiles: 6 });
    expect(result.summary).toMatch(/^backfill from s3:\/\/assets-\S+\/dynamodb-exports\/orders\/AWSDynamoDB\/\d{14}-[0-9a-f]{8}\/manifest-summary\.json: read 8 items, wrote 8 rows \(= items read\) in 6 partitions, 6 Parquet files; 2 other objects of the old table deleted$/);

    const [backfilled, incremental] = await Promise.all([readLakeTable(local, lake, CURATED_ORDERS), readLakeTable(local, lake, CURATED_ORDERS, 'incremental/orders/')]);
    expect(backfilled.types).toEqual(incremental.types);
    expect(canonical(backfilled.rows)).toEqual(canonical(incremental.rows));
    expect(canonical(backfilled.rows)).toEqual(canonical(expected.rows));
    const days = [...new Set(expected.rows.map((row) => textOf(row.invoice_day)))].sort();
    expect(await listKeys(local, lake, 'curated/')).toEqual(days.map((day) => `curated/orders/invoice_day=${day}/part-0.parquet`));
    const [exported, ...others] = await readDocumentedExports(local, assets, 'dynamodb-exports/orders/', tableArn);
    expect(others).toEqual([]);
    expect(exported?.items).toHaveLength(8);
    expect(result.exportManifest).toBe(`dynamodb-exports/orders/AWSDynamoDB/${exported?.exportId ?? ''}/manifest-summary.json`);
  });

  it('gives an empty table an empty lake', async () => {
    const { local, lake, backfill, context } = await setUp([]);
    await writeLakeTable(local, lake, CURATED_ORDERS, input.current);
    expect(await runOrdersToLake(context, backfill)).toMatchObject({ itemsRead: 0, rowsWritten: 0, partitions: 0, parquetFiles: 0, objectsDeleted: 3 });
    expect(await listKeys(local, lake)).toEqual([]);
  });

  it('refuses an item the lake cannot hold, naming it and the export file, and leaves the lake as it was', async () => {
    const [row] = expected.rows;
    if (!row) throw new Error('the golden has rows');
    const { local, lake, backfill, context } = await setUp([orderItem(row), { ...orderItem({ ...row, invoice_no: '536370' }), UnitPrice: { N: '0.0015' } }]);
    await writeLakeTable(local, lake, CURATED_ORDERS, input.current);
    const before = await listKeys(local, lake);
    await expect(runOrdersToLake(context, backfill)).rejects.toThrow(/orders change 536370\/1 in s3:\/\/\S+\/data\/\w+\.json\.gz: UnitPrice 0\.0015 does not fit DECIMAL\(12,3\) exactly/);
    expect(await listKeys(local, lake)).toEqual(before);
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(input.current));
  });

  it('needs a DynamoDB client, and a table the local DynamoDB has', async () => {
    const { backfill, context, tableArn } = await setUp([]);
    await expect(runOrdersToLake(twinContext(s3(), tempDir), backfill)).rejects.toThrow(
      new DynalakeError('BAD_INVOCATION', 'orders_to_lake: MODE=backfill exports the orders table, and the twin was given no DynamoDB client (GlueTwinContext.dynamodb)'),
    );
    await expect(runOrdersToLake(context, { ...backfill, SOURCE_TABLE_ARN: `${tableArn}-gone` })).rejects.toThrow(`cannot export ${tableArn}-gone: the local DynamoDB has no table`);
  });
});
