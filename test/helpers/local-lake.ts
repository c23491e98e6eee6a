import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type ChangeRecord, changeRecordFromStream, encodeChangeObject } from '../../lambda/shared/cdc';
import { toAttributeValues } from '../../lambda/shared/orders-csv';
import { createTableFromParquet, createTableFromRows, type JsonRow, type JsonValue, readRows, sqlLiteral, textOf, withDuckDB } from '../../scripts/local/glue/duckdb';
import type { GlueTwinContext } from '../../scripts/local/glue/job';
import { downloadObjects, listObjects, uploadFolder } from '../../scripts/local/glue/s3-files';
import { type LakeTable, queryColumns, storedColumns } from '../../scripts/local/lake-tables';
import type { LocalS3 } from '../../scripts/local/s3';
import { JOB_METRIC_UNITS } from '../../lambda/shared/metrics';
import type { JobMetric } from '../../scripts/local/glue/job';

const FIXTURES = join(__dirname, '..', 'fixtures');

/** A golden fixture of test/fixtures/etl/<job>/: its input and expected output (cast to their shapes by the caller). */
export function golden(job: string): { input: unknown; expected: unknown } {
  const read = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, 'etl', job, `${name}.json`), 'utf8'));
  return { input: read('input'), expected: read('expected') };
}

/** Rows compared as a set: one JSON text each, keys sorted, the texts sorted. */
export function canonical(rows: readonly Readonly<Record<string, unknown>>[]): string[] {
  return rows
    .map((row) =>
      JSON.stringify(
        Object.keys(row)
          .sort()
          .map((key) => [key, row[key]]),
      ),
    )
    .sort();
}

/** Temporary folders for a test file, removed after it. */
export function useTempDirs(): (purpose: string) => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (purpose) => {
    const dir = mkdtempSync(join(tmpdir(), `dynalake-${purpose}-`));
    dirs.push(dir);
    return dir;
  };
}

/** A twin context over a local S3, with fresh scratch and bookmark folders. */
export function twinContext(local: LocalS3, tempDir: (purpose: string) => string, extra: Partial<GlueTwinContext> = {}): GlueTwinContext & { lines: string[] } {
  const lines: string[] = [];
  return { s3: local.client, scratchDir: tempDir('scratch'), log: (line) => lines.push(line), lines, ...extra };
}

/** The change record that inserts a curated row (the item as the orders table holds it). */
export function orderInsert(row: JsonRow, sequenceNumber: string): ChangeRecord {
  const optional = (name: string, value: unknown) => (value === null ? {} : { [name]: value });
  return {
    eventName: 'INSERT',
    keys: { InvoiceNo: row.invoice_no, LineNo: row.line_no },
    newImage: {
      InvoiceNo: row.invoice_no,
      LineNo: row.line_no,
      StockCode: row.stock_code,
      ...optional('Description', row.description),
      Quantity: row.quantity,
      UnitPrice: row.unit_price,
      InvoiceDate: row.invoice_ts,
      ...optional('CustomerID', row.customer_id),
      ...optional('Country', row.country),
      IsCancellation: row.is_cancellation,
      InvoiceDay: row.invoice_day,
    },
    oldImage: null,
    sequenceNumber,
    approximateCreationTime: 1714560000,
  };
}

/**
 * The orders item (DynamoDB's wire form, as the seed writes it) that a curated row (golden form)
 * comes from: numbers as their decimal text, Description/CustomerID/Country absent when null.
 */
export function orderItem(row: JsonRow): Record<string, AttributeValue> {
  const text = (value: JsonValue | undefined) => (typeof value === 'string' ? value : JSON.stringify(value));
  return toAttributeValues({
    InvoiceNo: text(row.invoice_no),
    LineNo: Number(row.line_no),
    StockCode: text(row.stock_code),
    ...(row.description === null ? {} : { Description: text(row.description) }),
    Quantity: Number(row.quantity),
    UnitPrice: text(row.unit_price),
    InvoiceDate: text(row.invoice_ts),
    ...(row.customer_id === null ? {} : { CustomerID: Number(row.customer_id) }),
    ...(row.country === null ? {} : { Country: text(row.country) }),
    IsCancellation: row.is_cancellation === true,
    InvoiceDay: text(row.invoice_day),
    SourceFile: 'online-retail.csv',
    LoadedAt: '2024-05-01T12:00:00.000Z',
  });
}

/** The INSERT change records of items, as the stream bridge writes them (sequence numbers 1, 2, …). */
export function itemInserts(items: readonly Record<string, AttributeValue>[]): ChangeRecord[] {
  return items.map((item, index) =>
    changeRecordFromStream({
      eventName: 'INSERT',
      dynamodb: { Keys: { InvoiceNo: item.InvoiceNo as AttributeValue, LineNo: item.LineNo as AttributeValue }, NewImage: item, SequenceNumber: String(index + 1), ApproximateCreationDateTime: 1714560000 },
    }),
  );
}

/** Puts change records as one CDC object (gzip JSON lines), as the stream bridge writes them. */
export async function putChangeObject(local: LocalS3, bucket: string, key: string, records: readonly ChangeRecord[]): Promise<void> {
  await local.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: encodeChangeObject(records) }));
}

/**
 * Writes rows (golden form: decimals and timestamps as strings) as a lake table's Parquet, through
 * S3, one file per partition, the way the twins write it.
 */
export async function writeLakeTable(local: LocalS3, bucket: string, table: LakeTable, rows: readonly JsonRow[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dynalake-lake-write-'));
  try {
    const out = join(dir, 'out');
    mkdirSync(out);
    await withDuckDB(async (connection) => {
      await createTableFromRows(connection, 'rows', queryColumns(table), rows);
      const partition = table.partition === undefined ? '' : `, PARTITION_BY (${table.partition}), FILENAME_PATTERN 'part-{i}'`;
      await connection.run(`COPY rows TO ${sqlLiteral(table.partition === undefined ? join(out, 'part-0.parquet') : join(out, 'table'))} (FORMAT parquet${partition})`);
    });
    await uploadFolder(local.client, bucket, table.prefix, table.partition === undefined ? out : join(out, 'table'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A lake table's rows and column types, read back from its Parquet objects with DuckDB. */
export async function readLakeTable(local: LocalS3, bucket: string, table: LakeTable, prefix = table.prefix): Promise<{ rows: JsonRow[]; types: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dynalake-lake-read-'));
  try {
    const objects = (await listObjects(local.client, bucket, prefix)).filter((object) => object.key.endsWith('.parquet'));
    const files = await downloadObjects(local.client, bucket, objects, prefix, dir);
    return await withDuckDB(async (connection) => {
      // The stored types first, as the files hold them (no cast).
      const types: Record<string, string> = {};
      if (files.length > 0) {
        for (const row of await readRows(connection, `DESCRIBE SELECT * FROM read_parquet([${files.map(sqlLiteral).join(', ')}], union_by_name = true, hive_partitioning = false)`)) {
          types[textOf(row.column_name)] = textOf(row.column_type);
        }
      }
      await createTableFromParquet(connection, 't', files, table.partition === undefined ? storedColumns(table) : queryColumns(table), { partition: table.partition });
      return { rows: await readRows(connection, 'SELECT * FROM t'), types };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A run's RunDurationSeconds, in seconds: over 0, and no longer than this process has been
 * running (`performance.now()` counts from its start, as the twins' own clock does), so a
 * duration left in milliseconds, or counted from the process start, fails.
 */
export function expectRunDuration(seconds: number | undefined): void {
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThan(performance.now() / 1000);
}

/**
 * A twin run's figures by name, as its job would publish them: each checked to carry `where`'s
 * namespace and dimensions and its metric's unit, the run's duration checked to be there (and left
 * out: it is the run's own).
 */
export function publishedFigures(metrics: readonly JobMetric[] | undefined, where: { readonly namespace: string; readonly service: string; readonly dataset: string }): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const metric of metrics ?? []) {
    expect({ ...metric, value: 0 }).toEqual({ ...where, name: metric.name, unit: JOB_METRIC_UNITS[metric.name], value: 0 });
    expect(figures).not.toHaveProperty(metric.name);
    figures[metric.name] = metric.value;
  }
  expectRunDuration(figures.RunDurationSeconds);
  delete figures.RunDurationSeconds;
  return figures;
}
