import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ChangeRecord } from '../../../../lambda/shared/cdc';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { type DatasetDescription, ORDERS_DATASET } from '../../../../lib/dataset';
import { textOf } from '../../../../scripts/local/glue/duckdb';
import { CHECK_ON_THREAD_FROM, type CuratedRow, datasetArgument, mergeChanges, runDatasetToLake } from '../../../../scripts/local/glue/dataset-to-lake';
import { CURATED_ORDERS } from '../../../../scripts/local/lake-tables';
import { type LocalS3, localS3Client } from '../../../../scripts/local/s3';
import { readDocumentedExports } from '../../../helpers/dynamodb-export';
import { createTable, useLocalDynamoDB } from '../../../helpers/local-dynamodb';
import { canonical, golden, itemInserts, orderInsert, orderItem, putChangeObject, readLakeTable, twinContext, useTempDirs, writeLakeTable, publishedFigures, expectRunDuration } from '../../../helpers/local-lake';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';
import { thrownBy } from '../../../helpers/errors';

interface Input {
  readonly current: CuratedRow[];
  readonly changes: ChangeRecord[];
}
interface Expected {
  readonly rewritten_partitions: string[];
  readonly emptied_partitions: string[];
  readonly rows: CuratedRow[];
}

const { input, expected } = golden('orders_to_lake') as { input: Input; expected: Expected };

const insertOf = orderInsert;
/** The orders job's DATASET argument, as the pipeline stack gives it. */
const DATASET = JSON.stringify(ORDERS_DATASET);

function modify(sequenceNumber: string, quantity: number): ChangeRecord {
  const [first] = input.current;
  if (!first) throw new Error('the golden has current rows');
  const insert = insertOf(first, sequenceNumber);
  return { ...insert, eventName: 'MODIFY', newImage: { ...insert.newImage, Quantity: quantity }, oldImage: insert.newImage };
}

/** The code and message of the error `work` fails with ('no error' when it succeeds). */
async function failureOf(work: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return work.then(
    () => ({ message: 'no error' }),
    (error: unknown) => ({ code: error instanceof DynalakeError ? error.code : undefined, message: (error as Error).message }),
  );
}

describe('mergeChanges of the orders dataset (the orders_to_lake golden)', () => {
  it('rewrites the expected partitions and leaves the expected ones empty', async () => {
    const merge = await mergeChanges(ORDERS_DATASET, input.current, input.changes);
    expect(merge.rewrittenPartitions).toEqual(expected.rewritten_partitions);
    expect(merge.emptiedPartitions).toEqual(expected.emptied_partitions);
  });

  it('gives the expected table: untouched partitions as they were, touched ones rewritten, every row exact', async () => {
    const merge = await mergeChanges(ORDERS_DATASET, input.current, input.changes);
    const touched = new Set(merge.rewrittenPartitions);
    expect(merge.rows.every((row) => touched.has(textOf(row.invoice_day)))).toBe(true);
    const table = [...input.current.filter((row) => !touched.has(textOf(row.invoice_day))), ...merge.rows];
    expect(canonical(table)).toEqual(canonical(expected.rows));
    // Decimals keep the column's three places, as strings: 0.001, -11062.060, 38970.000.
    expect(merge.rows.map((row) => row.unit_price)).toEqual(expect.arrayContaining(['0.001', '-11062.060', '38970.000', '27.500']));
  });

  it('accounts for every row: written = kept + upserted, read = kept + replaced', async () => {
    const { counts } = await mergeChanges(ORDERS_DATASET, input.current, input.changes);
    expect(counts).toEqual({ changeRecords: 10, keysChanged: 8, upserts: 6, removes: 2, rowsRead: 4, rowsReplaced: 3, rowsKept: 1, rowsWritten: 7 });
  });

  it('compares sequence numbers as integers, up to 40 digits and beyond HUGEINT', async () => {
    const newer = modify(`1${'0'.repeat(39)}`, 8);
    const older = modify('9'.repeat(38), 12);
    for (const changes of [
      [newer, older],
      [older, newer],
    ]) {
      const { rows } = await mergeChanges(ORDERS_DATASET, [], changes);
      expect(rows.map((row) => row.quantity)).toEqual([8]);
    }
  });

  it('settles a sequence-number tie in favour of the record read later', async () => {
    const { rows } = await mergeChanges(ORDERS_DATASET, [], [modify('500', 8), modify('500', 9)]);
    expect(rows.map((row) => row.quantity)).toEqual([9]);
  });

  it('takes a batch of inserts only into an empty table', async () => {
    const inserts = input.changes.filter((record) => record.eventName === 'INSERT');
    const { rows, rewrittenPartitions } = await mergeChanges(ORDERS_DATASET, [], inserts);
    expect(rewrittenPartitions).toEqual([...new Set(inserts.map((record) => String(record.newImage?.InvoiceDay)))].sort());
    expect(rows).toHaveLength(inserts.length);
  });

  it.each([['0.0015'], [0.0015]])('refuses a price it would have to round (%p)', async (price) => {
    const record = insertOf(expected.rows[0] as CuratedRow, '1');
    const changes = [{ ...record, newImage: { ...record.newImage, UnitPrice: price } }];
    await expect(mergeChanges(ORDERS_DATASET, [], changes)).rejects.toThrow(/UnitPrice 0.0015 does not fit DECIMAL\(12,3\) exactly/);
  });

  it('refuses a MODIFY without its old image, which cannot be placed in a partition', async () => {
    const change = { ...modify('7', 8), oldImage: null };
    expect(await failureOf(mergeChanges(ORDERS_DATASET, [], [change]))).toEqual({
      code: 'BAD_INPUT',
      message: "1 MODIFY/REMOVE change records have no old image: the stream must send NEW_AND_OLD_IMAGES to locate the rows' partitions",
    });
  });

  it('keeps an empty Description as an empty string: only a column marked emptyIsNull (CustomerID) reads it as null', async () => {
    const record = insertOf(expected.rows[0] as CuratedRow, '1');
    const { rows } = await mergeChanges(ORDERS_DATASET, [], [{ ...record, newImage: { ...record.newImage, Description: '', CustomerID: '' } }]);
    expect(rows.map((row) => [row.description, row.customer_id])).toEqual([['', null]]);
  });

  it('refuses to merge into a table that holds a key twice, whose counts cannot add up', async () => {
    const [row] = input.current;
    if (!row) throw new Error('the golden has current rows');
    const failure = await failureOf(mergeChanges(ORDERS_DATASET, [row, row], [modify('7', 8)]));
    expect(failure.code).toBe('LOAD_FAILED');
    // Two rows replaced for one key changed.
    expect(failure.message).toBe(
      'orders_to_lake: the merge\'s counts do not add up: {"changeRecords":1,"keysChanged":1,"upserts":1,"removes":0,"rowsRead":2,"rowsReplaced":2,"rowsKept":0,"rowsWritten":1}',
    );
  });

  // The same cases fail the PySpark job (glue-scripts/tests/test_jobs_spark.py).
  const refused = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'etl', 'orders_to_lake', 'refused.json'), 'utf8')) as { cases: { case: string; record: ChangeRecord; error: string }[] }).cases;
  it.each(refused.map((refusal) => [refusal.case, refusal] as const))('refuses %s, naming the record, the field and the value', async (_case, refusal) => {
    const failure = mergeChanges(ORDERS_DATASET, [], [refusal.record]).then(
      () => 'no error',
      (error: unknown) => (error as Error).message,
    );
    const message = await failure;
    expect(message).toContain(refusal.error);
    if (!refusal.error.startsWith('InvoiceDay')) expect(message).toMatch(/orders change 536370\/1 in changes: /);
  });

  it('refuses a fractional Quantity rather than truncate it', async () => {
    const record = insertOf(expected.rows[0] as CuratedRow, '1');
    await expect(mergeChanges(ORDERS_DATASET, [], [{ ...record, newImage: { ...record.newImage, Quantity: 6.5 } }])).rejects.toThrow(/Quantity 6.5 is not a whole number/);
  });
});

/** A consumer's table of another shape: readings keyed by device and time, a timestamp key in a format of its own. */
const SENSORS: DatasetDescription = {
  name: 'sensors',
  key: ['deviceId', 'ts'],
  columns: [
    { name: 'device_id', attribute: 'deviceId', type: 'string' },
    { name: 'ts', attribute: 'ts', type: 'timestamp', format: 'yyyy-MM-dd HH:mm:ss.SSS' },
    { name: 'reading', attribute: 'reading', type: 'bigint' },
    { name: 'temperature', attribute: 'temperature', type: 'decimal(5,2)' },
    { name: 'ok', attribute: 'ok', type: 'boolean' },
    { name: 'label', attribute: 'label', type: 'string', emptyIsNull: true },
  ],
  partition: { column: 'reading_day', attribute: 'Day', firstDay: '2026-01-01' },
};

type Reading = Record<string, string | number | boolean>;
const reading = (deviceId: string, ts: string, fields: Reading = {}): Reading => ({ deviceId, ts, reading: 1, temperature: 20.5, ok: true, label: 'a', Day: ts.slice(0, 10), ...fields });

function sensorChange(eventName: ChangeRecord['eventName'], sequenceNumber: string, newImage: Reading | null, oldImage: Reading | null): ChangeRecord {
  const image = (newImage ?? oldImage) as Reading;
  return { eventName, keys: { deviceId: image.deviceId, ts: image.ts }, newImage, oldImage, sequenceNumber, approximateCreationTime: 1_780_000_000 };
}

describe('mergeChanges of a dataset of another shape (sensors: a string and a timestamp key)', () => {
  const first = reading('d-1', '2026-03-01 10:00:00.250');
  const second = reading('d-1', '2026-03-01 11:00:00.000', { reading: 2 });
  const other = reading('d-2', '2026-03-02 09:30:00.125', { temperature: '-3.5', label: '' });
  const current: CuratedRow[] = [
    { device_id: 'd-1', ts: '2026-03-01T10:00:00.25', reading: 1, temperature: '20.50', ok: true, label: 'a', reading_day: '2026-03-01' },
    { device_id: 'd-1', ts: '2026-03-01T11:00:00', reading: 2, temperature: '20.50', ok: true, label: 'a', reading_day: '2026-03-01' },
    { device_id: 'd-2', ts: '2026-03-02T09:30:00.125', reading: 1, temperature: '-3.50', ok: true, label: null, reading_day: '2026-03-02' },
  ];

  it('converts every column by its description and keys rows by device and time', async () => {
    const { rows, rewrittenPartitions } = await mergeChanges(SENSORS, [], [sensorChange('INSERT', '1', first, null), sensorChange('INSERT', '2', second, null), sensorChange('INSERT', '3', other, null)]);
    expect(rewrittenPartitions).toEqual(['2026-03-01', '2026-03-02']);
    expect(rows).toEqual(current);
  });

  it('keeps the latest change per key, applies a REMOVE, and moves a row whose day changed', async () => {
    const moved = { ...other, Day: '2026-03-03', reading: 7 };
    const merge = await mergeChanges(SENSORS, current, [
      sensorChange('MODIFY', '12', { ...first, reading: 5 }, first),
      sensorChange('MODIFY', '11', { ...first, reading: 4 }, first),
      sensorChange('REMOVE', '13', null, second),
      sensorChange('MODIFY', '14', moved, other),
    ]);
    expect(merge.rewrittenPartitions).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
    expect(merge.emptiedPartitions).toEqual(['2026-03-02']);
    expect(merge.rows).toEqual([
      { ...current[0], reading: 5 },
      { ...current[2], reading: 7, reading_day: '2026-03-03' },
    ]);
    expect(merge.counts).toEqual({ changeRecords: 4, keysChanged: 3, upserts: 2, removes: 1, rowsRead: 3, rowsReplaced: 3, rowsKept: 0, rowsWritten: 2 });
  });

  const refusal = async (change: ChangeRecord) =>
    mergeChanges(SENSORS, [], [change]).then(
      () => 'no error',
      (error: unknown) => (error as Error).message,
    );

  it.each<[string, Reading, string]>([
    ['a time in another form', { ts: '2026-03-01T10:00:00' }, 'ts 2026-03-01T10:00:00 is not a time in the form YYYY-MM-DD HH:MM:SS.SSS'],
    ['a temperature it would round', { temperature: 20.123 }, 'temperature 20.123 does not fit DECIMAL(5,2) exactly'],
    ['a temperature beyond its precision', { temperature: '1234.5' }, 'temperature 1234.5 does not fit DECIMAL(5,2) exactly'],
    ['a fractional reading', { reading: 1.5 }, 'reading 1.5 is not a whole number'],
    ['a flag written as text', { ok: 'yes' }, 'ok yes is not a boolean'],
    // Days are checked first, where the batch's partitions are found.
    ['a day in another form', { Day: '2026-3-1' }, 'a change record\'s Day "2026-3-1" is not a day in the form YYYY-MM-DD'],
    ['a day after other text', { Day: 'on 2026-03-01' }, 'a change record\'s Day "on 2026-03-01" is not a day in the form YYYY-MM-DD'],
    ['a day followed by other text', { Day: '2026-03-01 UTC' }, 'a change record\'s Day "2026-03-01 UTC" is not a day in the form YYYY-MM-DD'],
  ])('refuses %s with the attribute, the value and the record named', async (_case, fields, error) => {
    const image = { ...first, ...fields };
    const message = await refusal({ ...sensorChange('INSERT', '1', image, null), keys: { deviceId: 'd-1', ts: first.ts } });
    expect(message).toContain(error);
    if (!('Day' in fields)) expect(message).toContain(`sensors change d-1/2026-03-01 10:00:00.25 in changes: ${error}`);
  });

  it('refuses a day of the right form that is no calendar day, and an image without a day, naming the record', async () => {
    expect(await refusal(sensorChange('INSERT', '1', { ...first, Day: '2026-02-30' }, null))).toContain('sensors change d-1/2026-03-01 10:00:00.25 in changes: Day 2026-02-30 is not a day in the form YYYY-MM-DD');
    const { Day: _day, ...dayless } = first;
    expect(await refusal(sensorChange('INSERT', '1', dayless, null))).toContain('sensors change d-1/2026-03-01 10:00:00.25 in changes: Day null is not a day in the form YYYY-MM-DD');
  });

  it('refuses days that are not YYYY-MM-DD as bad input', async () => {
    expect(await failureOf(mergeChanges(SENSORS, [], [sensorChange('INSERT', '1', { ...first, Day: '2026-3-1' }, null)]))).toEqual({
      code: 'BAD_INPUT',
      message: 'a change record\'s Day "2026-3-1" is not a day in the form YYYY-MM-DD',
    });
  });

  it('refuses a key it cannot convert, and a record without its whole key', async () => {
    expect(await refusal({ ...sensorChange('INSERT', '1', first, null), keys: { deviceId: 'd-1', ts: 'noon' } })).toContain('change record in changes: keys.ts noon is not a time in the form YYYY-MM-DD HH:MM:SS.SSS');
    expect(await failureOf(mergeChanges(SENSORS, [], [{ ...sensorChange('INSERT', '1', first, null), keys: { deviceId: 'd-1' } }]))).toEqual({
      code: 'BAD_INPUT',
      message: 'changes: a change record has no keys.deviceId or keys.ts',
    });
  });

  it('matches quoted text of a timestamp format literally, a percent sign included', async () => {
    const percent: DatasetDescription = { ...SENSORS, columns: SENSORS.columns.map((column) => (column.name === 'ts' ? { ...column, format: "dd/MM/yyyy HH:mm' (100%)'" } : column)) };
    const { rows } = await mergeChanges(percent, [], [sensorChange('INSERT', '1', { ...first, ts: '01/03/2026 10:00 (100%)', Day: '2026-03-01' }, null)]);
    expect(rows.map((row) => row.ts)).toEqual(['2026-03-01T10:00:00']);
    const withoutPercent = await failureOf(mergeChanges(percent, [], [sensorChange('INSERT', '1', { ...first, ts: '01/03/2026 10:00 (100)', Day: '2026-03-01' }, null)]));
    expect(withoutPercent.message).toContain('ts 01/03/2026 10:00 (100) is not a time in the form DD/MM/YYYY HH:MM (100%)');
  });

  it('refuses a fractional integer key rather than truncate it (the orders line number)', async () => {
    const record = insertOf(expected.rows[0] as CuratedRow, '1');
    await expect(mergeChanges(ORDERS_DATASET, [], [{ ...record, keys: { ...record.keys, LineNo: 1.5 } }])).rejects.toThrow('change record in changes: keys.LineNo 1.5 is not a whole number');
  });
});

describe('mergeChanges of attributes whose names a JSON path would read otherwise', () => {
  // `$` starts a JSONPath, `/` separates a JSON Pointer's keys, `~` escapes in one, `.` separates JSONPath keys.
  const ODD: DatasetDescription = {
    name: 'odd',
    key: ['$id', 'p.q'],
    columns: [
      { name: 'id', attribute: '$id', type: 'string' },
      { name: 'part', attribute: 'a/b', type: 'int' },
      { name: 'tilde', attribute: 'x~1y', type: 'string' },
      { name: 'dotted', attribute: 'p.q', type: 'boolean' },
    ],
    partition: { column: 'day', attribute: '~day', firstDay: '2026-01-01' },
  };
  const image = { $id: 'i-1', 'a/b': 7, 'x~1y': 'tilde', 'x/y': 'slash', 'p.q': true, p: { q: false }, '~day': '2026-03-01', day: '1999-01-01' };

  it('reads each attribute by its whole name', async () => {
    const { rows } = await mergeChanges(ODD, [], [{ eventName: 'INSERT', keys: { $id: 'i-1', 'p.q': true }, newImage: image, oldImage: null, sequenceNumber: '1', approximateCreationTime: 1_780_000_000 }]);
    expect(rows).toEqual([{ id: 'i-1', part: 7, tilde: 'tilde', dotted: true, day: '2026-03-01' }]);
  });
});

describe('datasetArgument (the job argument DATASET)', () => {
  it('gives the description the stack passes', () => {
    expect(datasetArgument({ DATASET: JSON.stringify(SENSORS) })).toEqual(SENSORS);
  });

  it('takes a key of one attribute (a table without a sort key)', () => {
    const byDevice = { ...SENSORS, key: ['deviceId'] };
    expect(datasetArgument({ DATASET: JSON.stringify(byDevice) })).toEqual(byDevice);
  });

  it('lists every problem of a description, one a line', () => {
    const error = thrownBy(() => datasetArgument({ DATASET: JSON.stringify({ ...SENSORS, name: 'my-sensors', partition: { ...SENSORS.partition, firstDay: 'soon' } }) }));
    expect((error as DynalakeError).message).toBe(
      [
        'job argument --DATASET: dataset name "my-sensors" is not letters, digits and underscores starting with a letter',
        'job argument --DATASET: dataset partition.firstDay "soon" is not a day in the form YYYY-MM-DD',
      ].join('\n'),
    );
  });

  it.each<[string, string | undefined, string]>([
    ['no argument', undefined, 'missing job argument --DATASET: the JSON of the dataset description the job merges'],
    ['an empty argument', '', 'missing job argument --DATASET: the JSON of the dataset description the job merges'],
    ['text that is no JSON', '{name', 'job argument --DATASET is not JSON: '],
    ['JSON that is no description', '{"name":"x"}', 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['JSON null', 'null', 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a name that is no string', JSON.stringify({ ...SENSORS, name: 5 }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['an empty key', JSON.stringify({ ...SENSORS, key: [] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a key of three attributes', JSON.stringify({ ...SENSORS, key: ['a', 'b', 'c'] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a key attribute that is no string', JSON.stringify({ ...SENSORS, key: ['deviceId', 5] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a column without type', JSON.stringify({ ...SENSORS, columns: [{ name: 'a', attribute: 'a' }] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a column without type after a sound one', JSON.stringify({ ...SENSORS, columns: [...SENSORS.columns, { name: 'extra', attribute: 'extra' }] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a null column', JSON.stringify({ ...SENSORS, columns: [...SENSORS.columns, null] }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a null partition', JSON.stringify({ ...SENSORS, partition: null }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a partition without its first day', JSON.stringify({ ...SENSORS, partition: { column: 'reading_day', attribute: 'Day' } }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a partition without any field', JSON.stringify({ ...SENSORS, partition: {} }), 'job argument --DATASET: not a dataset description (name, key, columns, partition)'],
    ['a description with a problem', JSON.stringify({ ...SENSORS, name: 'my-sensors' }), 'job argument --DATASET: dataset name "my-sensors" is not letters, digits and underscores starting with a letter'],
  ])('refuses %s, saying what it needs', (_case, text, message) => {
    const error = thrownBy(() => datasetArgument(text === undefined ? {} : { DATASET: text }));
    expect(error).toBeInstanceOf(DynalakeError);
    expect((error as DynalakeError).code).toBe('BAD_INVOCATION');
    expect((error as DynalakeError).message.startsWith(message)).toBe(true);
  });
});

/** The job's state object, as it lies in the lake bucket. */
async function readStateObject(local: LocalS3, lake: string): Promise<{ format: number; job: string; sources: Record<string, string[]> }> {
  const response = await local.client.send(new GetObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json' }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as { format: number; job: string; sources: Record<string, string[]> };
}

describe('runDatasetToLake (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();
  const args = (landing: string, lake: string) => ({ DATASET, LANDING_BUCKET: landing, LAKE_BUCKET: lake, CDC_PREFIX: 'cdc/orders/', CURATED_PREFIX: 'curated/orders/', STATE_PREFIX: 'state/orders_to_lake/', MODE: 'incremental', TempDir: 's3://assets/glue-temp/' });

  it('merges each new change object once, keeps its state object, and ends with the golden table', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);

    // Run 1: the golden's current table arrives as inserts.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/local-1-5.jsonl.gz', input.current.map((row, index) => insertOf(row, String(index + 1))));
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: 'cdc/orders/README.txt', Body: 'not a change object' }));
    const first = await runDatasetToLake(context, args(landing, lake));
    expect(first).toMatchObject({ noop: false, changeObjects: 1, changeRecords: 5, upserts: 5, rowsRead: 0, rowsWritten: 5, partitionsRewritten: 3, partitionsDeleted: 0, parquetFiles: 3 });
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(input.current));
    const untouchedKey = 'curated/orders/invoice_day=2010-12-06/part-0.parquet';
    const etagOf = async (key: string) => (await local.client.send(new HeadObjectCommand({ Bucket: lake, Key: key }))).ETag;
    const untouchedEtag = await etagOf(untouchedKey);

    // Run 2: only the new object (the golden batch) is merged.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-02/local-999999999999999999999-1000000000000000000080.jsonl.gz', input.changes);
    const second = await runDatasetToLake(context, args(landing, lake));
    expect(second).toMatchObject({ mode: 'incremental', noop: false, changeObjects: 1, changeRecords: 10, keysChanged: 8, rowsRead: 4, rowsKept: 1, rowsWritten: 7, partitionsRewritten: 6, partitionsDeleted: 1, objectsDeleted: 1 });
    // The summary npm start prints: every count with its noun.
    expect(second.summary).toBe(
      '1 change object, 10 records, 8 keys (6 upserts, 2 removes); 6 partitions rewritten (1 left empty, deleted): read 4 rows, 3 replaced or removed, wrote 7 = 1 kept + 6 upserted, 5 Parquet files',
    );
    expect(context.lines).toContain(`orders_to_lake: 1 new change objects in s3://${landing}/cdc/orders/`);
    expect(context.lines).toContain(`orders_to_lake: ${second.summary}`);
    // What the job would publish, in the namespace it is told (the default without one).
    const figures = Object.fromEntries((second.metrics ?? []).map(({ name, unit, value, namespace, service, dataset }) => [name, { unit, value, namespace, service, dataset }]));
    const newest = Math.max(...input.changes.map((change) => change.approximateCreationTime));
    const freshness = figures.LakeFreshnessSeconds?.value ?? -1;
    expect(freshness).toBeGreaterThan(Date.now() / 1000 - newest - 120);
    expect(freshness).toBeLessThanOrEqual(Date.now() / 1000 - newest);
    expectRunDuration(figures.RunDurationSeconds?.value);
    // 8 keys changed: 6 by an upsert, 2 removed.
    const expectedFigures = { ChangeObjectsMerged: 1, RowsRead: 4, RowsUpserted: 6, RowsRemoved: 2, RowsWritten: 7, PartitionsRewritten: 6 };
    for (const [name, value] of Object.entries(expectedFigures)) expect([name, figures[name]]).toEqual([name, { unit: 'Count', value, namespace: 'dynalake', service: 'orders_to_lake', dataset: 'orders' }]);
    expect(Object.keys(figures).sort()).toEqual([...Object.keys(expectedFigures), 'LakeFreshnessSeconds', 'RunDurationSeconds'].sort());
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
    const third = await runDatasetToLake(context, { ...args(landing, lake), METRICS_NAMESPACE: 'shop-prod' });
    expect(third).toMatchObject({ mode: 'incremental', noop: true, changeObjects: 0, rowsWritten: 0 });
    // Nothing waiting: every count 0, the lake as fresh as it gets.
    expect((third.metrics ?? []).filter((metric) => metric.name !== 'RunDurationSeconds')).toEqual(
      ['ChangeObjectsMerged', 'RowsRead', 'RowsUpserted', 'RowsRemoved', 'RowsWritten', 'PartitionsRewritten', 'LakeFreshnessSeconds'].map((name) => ({
        namespace: 'shop-prod',
        name,
        unit: name === 'LakeFreshnessSeconds' ? 'Seconds' : 'Count',
        value: 0,
        service: 'orders_to_lake',
        dataset: 'orders',
      })),
    );
    expect(third.summary).toBe(`no new change objects in s3://${landing}/cdc/orders/ since the last run (2 merged before): nothing to do`);
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
    expect(await runDatasetToLake(context, args(landing, lake))).toMatchObject({ changeObjects: 2, changeRecords: 15 });
    await local.client.send(new DeleteObjectCommand({ Bucket: landing, Key: 'cdc/orders/dt=2024-05-01/a.jsonl.gz' })); // the lifecycle rule expired it
    expect(await runDatasetToLake(context, args(landing, lake))).toMatchObject({ noop: true, changeObjects: 0 });
    expect((await readStateObject(local, lake)).sources[`s3://${landing}/cdc/orders/`]).toEqual(['cdc/orders/dt=2024-05-02/b.jsonl.gz']);
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(expected.rows));
  });

  it('names the change object of a record it refuses, leaving the lake and its state as they were', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const record = insertOf(expected.rows[0] as CuratedRow, '1');
    const fractional = { ...record, newImage: { ...record.newImage, Quantity: 6.5 } };
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', [fractional]);
    await expect(runDatasetToLake(twinContext(local, tempDir), args(landing, lake))).rejects.toThrow(
      `orders change ${record.keys.InvoiceNo as string}/${String(record.keys.LineNo)} in s3://${landing}/cdc/orders/dt=2024-05-01/a.jsonl.gz: Quantity 6.5 is not a whole number`,
    );
    // A record the codec refuses is named by its object and line, before DuckDB's reading counts.
    await local.client.send(new DeleteObjectCommand({ Bucket: landing, Key: 'cdc/orders/dt=2024-05-01/a.jsonl.gz' }));
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: 'cdc/orders/dt=2024-05-01/b.jsonl.gz', Body: gzipSync(`${JSON.stringify(record)}\n${JSON.stringify({ ...record, eventName: 'UPSERT' })}\n`) }));
    await expect(runDatasetToLake(twinContext(local, tempDir), args(landing, lake))).rejects.toThrow(
      new DynalakeError('BAD_INPUT', `s3://${landing}/cdc/orders/dt=2024-05-01/b.jsonl.gz, line 2: field eventName is "UPSERT"`),
    );
    expect(await listKeys(local, lake)).toEqual([]);
  });

  it(`checks ${String(CHECK_ON_THREAD_FROM)} or more new change objects on a thread of its own as it downloads them: the same refusals, the same merge`, async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const [first] = expected.rows;
    if (first === undefined) throw new Error('the golden has rows');
    const objects = CHECK_ON_THREAD_FROM + 2;
    const keyOf = (index: number) => `cdc/orders/dt=2024-05-01/${String(index).padStart(2, '0')}.jsonl.gz`;
    const inserts = Array.from({ length: objects }, (_unused, index) => insertOf({ ...first, line_no: index + 1 }, String(index + 1)));
    for (const [index, insert] of inserts.entries()) await putChangeObject(local, landing, keyOf(index), [insert]);
    // Two refused objects: the run names the first in read order (key order), whichever is checked first.
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: keyOf(5), Body: gzipSync(`${JSON.stringify({ ...inserts[5], eventName: 'UPSERT' })}\n`) }));
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: keyOf(3), Body: gzipSync('{"eventName":\n') }));
    const refusal = await failureOf(runDatasetToLake(twinContext(local, tempDir), args(landing, lake)));
    expect(refusal).toEqual({ code: 'BAD_INPUT', message: expect.stringMatching(new RegExp(`^s3://${landing}/${keyOf(3)}, line 1: not JSON \\(`)) as unknown });
    expect(await listKeys(local, lake)).toEqual([]);

    await putChangeObject(local, landing, keyOf(3), [inserts[3] as ChangeRecord]);
    await putChangeObject(local, landing, keyOf(5), [inserts[5] as ChangeRecord]);
    // A download that fails (an object gone since the listing) fails the run and ends the checking thread.
    // The process's threads as Linux lists them (elsewhere no count, and the check holds trivially).
    const threads = () => (process.platform === 'linux' ? readdirSync('/proc/self/task').length : 0);
    const before = threads();
    const failing = localS3Client(local.endpoint);
    failing.middlewareStack.add(
      (next, context) => (request) => (context.commandName === 'GetObjectCommand' && (request.input as { Key?: string }).Key === keyOf(7) ? Promise.reject(new Error('object gone')) : next(request)),
      { step: 'initialize' },
    );
    await expect(runDatasetToLake({ ...twinContext(local, tempDir), s3: failing }, args(landing, lake))).rejects.toThrow('object gone');
    failing.destroy();
    expect(threads()).toBe(before);

    expect(await runDatasetToLake(twinContext(local, tempDir), args(landing, lake))).toMatchObject({ changeObjects: objects, changeRecords: objects, upserts: objects, rowsWritten: objects });
    expect((await readLakeTable(local, lake, CURATED_ORDERS)).rows.map((row) => row.line_no)).toEqual(Array.from({ length: objects }, (_unused, index) => index + 1));
  });

  it('refuses a state object that is not its own, naming it, rather than merge everything again', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json', Body: JSON.stringify({ format: 1, job: 'campaign_progress', sources: {} }) }));
    await expect(runDatasetToLake(twinContext(local, tempDir), args(landing, lake))).rejects.toThrow(`s3://${lake}/state/orders_to_lake/merged.json: not a format-1 state object of orders_to_lake`);
  });

  it('names the missing arguments of each mode, and refuses a MODE it does not know', async () => {
    const context = twinContext(s3(), tempDir);
    await expect(runDatasetToLake(context, { DATASET, LANDING_BUCKET: 'x' })).rejects.toThrow(new DynalakeError('BAD_INVOCATION', 'orders_to_lake: missing job arguments --LAKE_BUCKET, --CDC_PREFIX, --CURATED_PREFIX, --STATE_PREFIX'));
    await expect(runDatasetToLake(context, { DATASET, LAKE_BUCKET: 'x', MODE: 'backfill' })).rejects.toThrow(
      new DynalakeError('BAD_INVOCATION', 'orders_to_lake: missing job arguments --CURATED_PREFIX, --SOURCE_TABLE_ARN, --EXPORT_BUCKET, --EXPORT_PREFIX'),
    );
    expect(await failureOf(runDatasetToLake(context, { ...args('a', 'b'), MODE: 'full' }))).toEqual({ code: 'BAD_INVOCATION', message: 'orders_to_lake: MODE must be incremental or backfill, not "full"' });
  });

  it('deletes every partition a batch empties and writes no Parquet file', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', input.current.map((row, index) => insertOf(row, String(index + 1))));
    await runDatasetToLake(context, args(landing, lake));
    // Remove the only rows of 2010-12-02 and 2010-12-06.
    const removed = input.current.filter((row) => row.invoice_day !== '2010-12-01');
    const removes = removed.map((row, index): ChangeRecord => {
      const insert = insertOf(row, String(100 + index));
      return { ...insert, eventName: 'REMOVE', newImage: null, oldImage: insert.newImage };
    });
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-02/b.jsonl.gz', removes);
    const result = await runDatasetToLake(context, args(landing, lake));
    expect(result).toMatchObject({ keysChanged: 2, upserts: 0, removes: 2, rowsRead: 2, rowsReplaced: 2, rowsKept: 0, rowsWritten: 0, partitionsRewritten: 2, partitionsDeleted: 2, parquetFiles: 0, objectsDeleted: 2 });
    expect(result.summary).toBe('1 change object, 2 records, 2 keys (0 upserts, 2 removes); 2 partitions rewritten (2 left empty, deleted): read 2 rows, 2 replaced or removed, wrote 0 = 0 kept + 0 upserted, 0 Parquet files');
    expect(await listKeys(local, lake, 'curated/')).toEqual(['curated/orders/invoice_day=2010-12-01/part-0.parquet']);
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(input.current.filter((row) => row.invoice_day === '2010-12-01')));
  });

  it('rewrites only partition folders: other objects under the table stay, leftovers in a rewritten partition go unread', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', input.current.map((row, index) => insertOf(row, String(index + 1))));
    await runDatasetToLake(context, args(landing, lake));
    const outside = [
      'curated/orders/_SUCCESS', // Spark's marker
      'curated/orders/invoice_day=2010-12-06', // named like the partition folder, not in it
      'curated/orders/invoice_day_2010-12-06/notes.txt', // a folder that is no partition folder
    ];
    const leftover = 'curated/orders/invoice_day=2010-12-06/_SUCCESS'; // no Parquet: not read, but the partition's all the same
    for (const key of [...outside, leftover]) await local.client.send(new PutObjectCommand({ Bucket: lake, Key: key, Body: 'not Parquet' }));

    const [row] = input.current.filter((candidate) => candidate.invoice_day === '2010-12-06');
    if (!row) throw new Error('the golden has a row of 2010-12-06');
    const insert = insertOf(row, '100');
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-02/b.jsonl.gz', [{ ...insert, eventName: 'MODIFY', newImage: { ...insert.newImage, Quantity: 48 }, oldImage: insert.newImage }]);
    const result = await runDatasetToLake(context, args(landing, lake));
    expect(result).toMatchObject({ rowsRead: 1, rowsWritten: 1, partitionsRewritten: 1, parquetFiles: 1, objectsDeleted: 1 });
    expect(await listKeys(local, lake, 'curated/')).toEqual(
      [...outside, ...['2010-12-01', '2010-12-02', '2010-12-06'].map((day) => `curated/orders/invoice_day=${day}/part-0.parquet`)].sort(),
    );
    const { rows } = await readLakeTable(local, lake, CURATED_ORDERS);
    expect(rows.filter((candidate) => candidate.invoice_day === '2010-12-06').map((candidate) => candidate.quantity)).toEqual([48]);
  });
});

describe('runDatasetToLake MODE=backfill (an export of a real dynalite table, through a real s3rver)', () => {
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
    const backfill = { DATASET, LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders/', MODE: 'backfill', SOURCE_TABLE_ARN: tableArn, EXPORT_BUCKET: assets, EXPORT_PREFIX: 'dynamodb-exports/orders/' } as const;
    return { local, landing, lake, assets, tableArn, backfill, context: twinContext(local, tempDir, { dynamodb: dynamodb().client }) };
  }

  it('rewrites the whole table from an export: the rows an incremental run over the same items gives, the stale lake gone', async () => {
    const items = expected.rows.map(orderItem);
    const { local, landing, lake, assets, tableArn, backfill, context } = await setUp(items);
    // The reference: the same items as the stream bridge would have written their inserts, merged.
    await putChangeObject(local, landing, 'cdc/orders/dt=2024-05-01/a.jsonl.gz', itemInserts(items));
    await runDatasetToLake(context, { DATASET, LANDING_BUCKET: landing, LAKE_BUCKET: lake, CDC_PREFIX: 'cdc/orders/', CURATED_PREFIX: 'incremental/orders/', STATE_PREFIX: 'state/orders_to_lake/' });
    // A stale lake: the golden's older table (with a day the table no longer has) and a Spark marker.
    await writeLakeTable(local, lake, CURATED_ORDERS, input.current);
    await local.client.send(new PutObjectCommand({ Bucket: lake, Key: 'curated/orders/_SUCCESS', Body: '' }));

    const result = await runDatasetToLake(context, backfill);
    expect(result).toMatchObject({ mode: 'backfill', itemsRead: 8, rowsWritten: 8, partitions: 6, parquetFiles: 6 });
    expect(context.lines).toContain(`orders_to_lake: exported 8 items of ${tableArn}: s3://${assets}/${result.exportManifest}`);
    // A rebuild: every item read and written; no change merged, so no word on freshness.
    expect(publishedFigures(result.metrics, { namespace: 'dynalake', service: 'orders_to_lake', dataset: 'orders' })).toEqual({ RowsRead: 8, RowsWritten: 8, PartitionsRewritten: 6 });
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
    expect(await runDatasetToLake(context, backfill)).toMatchObject({ itemsRead: 0, rowsWritten: 0, partitions: 0, parquetFiles: 0, objectsDeleted: 3 });
    expect(await listKeys(local, lake)).toEqual([]);
  });

  it('refuses an item the lake cannot hold, naming it and the export file, and leaves the lake as it was', async () => {
    const [row] = expected.rows;
    if (!row) throw new Error('the golden has rows');
    const { local, lake, backfill, context } = await setUp([orderItem(row), { ...orderItem({ ...row, invoice_no: '536370' }), UnitPrice: { N: '0.0015' } }]);
    await writeLakeTable(local, lake, CURATED_ORDERS, input.current);
    const before = await listKeys(local, lake);
    await expect(runDatasetToLake(context, backfill)).rejects.toThrow(/orders change 536370\/1 in s3:\/\/\S+\/data\/\w+\.json\.gz: UnitPrice 0\.0015 does not fit DECIMAL\(12,3\) exactly/);
    expect(await listKeys(local, lake)).toEqual(before);
    expect(canonical((await readLakeTable(local, lake, CURATED_ORDERS)).rows)).toEqual(canonical(input.current));
  });

  // A description may key items by attributes other than the table's key, which some items lack,
  // hold as NULL or as no string: a refused item is still named, a missing or NULL attribute as ?.
  it.each<[string, Record<string, AttributeValue>]>([
    ['missing', {}],
    ['NULL', { Description: { NULL: true } }],
  ])('names a refused item whose key attribute is %s as ?, and one that is a boolean as its JSON', async (_case, description) => {
    const [row] = expected.rows;
    if (!row) throw new Error('the golden has rows');
    const { Description: _description, ...item } = orderItem(row);
    const { backfill, context } = await setUp([{ ...item, ...description, UnitPrice: { N: '0.0015' } }]);
    const keyed: DatasetDescription = { ...ORDERS_DATASET, key: ['Description', 'IsCancellation'] };
    const failure = await failureOf(runDatasetToLake(context, { ...backfill, DATASET: JSON.stringify(keyed) }));
    expect(failure.message).toMatch(/orders change \?\/false in s3:\/\/\S+\/data\/\w+\.json\.gz: UnitPrice 0\.0015 does not fit DECIMAL\(12,3\) exactly/);
  });

  it('needs a DynamoDB client, and a table the local DynamoDB has', async () => {
    const { backfill, context, tableArn } = await setUp([]);
    expect(await failureOf(runDatasetToLake(twinContext(s3(), tempDir), backfill))).toEqual({
      code: 'BAD_INVOCATION',
      message: 'orders_to_lake: MODE=backfill exports the orders table, and the twin was given no DynamoDB client (GlueTwinContext.dynamodb)',
    });
    await expect(runDatasetToLake(context, { ...backfill, SOURCE_TABLE_ARN: `${tableArn}-gone` })).rejects.toThrow(`cannot export ${tableArn}-gone: the local DynamoDB has no table`);
  });
});
