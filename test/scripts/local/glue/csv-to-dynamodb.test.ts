import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { ORDER_COLUMNS } from '../../../../lambda/shared/orders-csv';
import { csvToItems, runCsvToDynamoDB, type UploadItem } from '../../../../scripts/local/glue/csv-to-dynamodb';
import { golden, twinContext, useTempDirs, publishedFigures } from '../../../helpers/local-lake';
import { createTable, scanAll, useLocalDynamoDB } from '../../../helpers/local-dynamodb';
import { createBucket, useLocalS3 } from '../../../helpers/local-s3';

interface Input {
  readonly csv: string;
  readonly source_file: string;
  readonly ingestion_timestamp: string;
}

const { input, expected } = golden('csv_to_dynamodb') as { input: Input; expected: { items: UploadItem[] } };
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const byId = (items: readonly UploadItem[]) => [...items].sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : 1));

interface IdVector {
  readonly row: Record<string, string>;
  readonly id: string;
  readonly note: string;
}
const vectors = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'ids.json'), 'utf8')) as IdVector[];

describe('csvToItems (the csv_to_dynamodb golden)', () => {
  it('gives the expected items: one per distinct row, columns as the id saw them, empty ones left out', async () => {
    const result = await csvToItems(latin1(input.csv), input.source_file, input.ingestion_timestamp);
    expect(byId(result.items)).toEqual(expected.items);
  });

  it('accounts for every row: read = items + duplicates + rejected', async () => {
    const result = await csvToItems(latin1(input.csv), input.source_file, input.ingestion_timestamp);
    expect(result).toMatchObject({ rowsRead: 9, duplicatesDropped: 2, rejected: [] });
    expect(result.items).toHaveLength(7);
  });

  it('derives the shared id vectors (test/fixtures/ids.json) from a file that holds them', async () => {
    // Every value quoted, so spaces, tabs, line breaks and quotes reach the parser as written.
    const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
    const csv = [ORDER_COLUMNS.join(','), ...vectors.map((vector) => ORDER_COLUMNS.map((column) => quote(vector.row[column] ?? '')).join(','))].join('\r\n');
    expect(latin1(csv).toString('latin1')).toBe(csv); // the vectors are all ISO-8859-1
    const { items, duplicatesDropped } = await csvToItems(latin1(csv), 'raw/ids.csv', '2024-05-01T12:00:00.000Z');
    const ids = new Set(items.map((item) => item.id));
    for (const vector of vectors) expect([vector.note, ids.has(vector.id)]).toEqual([vector.note, true]);
    expect(ids.size).toBe(new Set(vectors.map((vector) => vector.id)).size);
    expect(duplicatesDropped).toBe(vectors.length - ids.size);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('rejects a row whose field count is not the header’s, naming its line, and loads the rest (%s)', async (_name, eol) => {
    const lines = [ORDER_COLUMNS.join(','), '536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom', '', `536366,22633,"TWO${eol}LINES",6`, '536367,22633,Y,6,12/1/2010 8:26,2.55,17850,United Kingdom'];
    const csv = `${lines.join(eol)}${eol}`;
    const result = await csvToItems(latin1(csv), 'raw/short.csv', '2024-05-01T12:00:00.000Z');
    expect(result.rejected).toEqual([{ line: 4, reason: "has 4 fields, expected 8 (the header's)" }]);
    expect(result).toMatchObject({ rowsRead: 3, duplicatesDropped: 0 });
    expect(result.items.map((item) => item.InvoiceNo)).toEqual(['536365', '536367']);
  });

  it('names the columns the header lacks', async () => {
    await expect(csvToItems(latin1('InvoiceNo,StockCode\n536365,85123A\n'), 'raw/partial.csv', 'now')).rejects.toThrow(
      new DynalakeError('BAD_INPUT', 'raw/partial.csv: the header has no column Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country'),
    );
  });
});

describe('runCsvToDynamoDB (through a real s3rver and dynalite)', () => {
  const s3 = useLocalS3();
  const dynamodb = useLocalDynamoDB();
  const tempDir = useTempDirs();

  it('loads the uploaded file into the uploads table, and a second run rewrites the same items', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const table = await createTable(dynamodb(), 'uploads');
    // A key with glob characters and a space, as an upload may have.
    const key = 'raw/online retail [2010].csv';
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: key, Body: latin1(input.csv) }));
    const context = twinContext(local, tempDir, { dynamodb: dynamodb().client });
    const args = { S3_BUCKET: landing, S3_KEY: key, DYNAMODB_TABLE: table, WRITE_PERCENT: '0.5' };

    const result = await runCsvToDynamoDB(context, args);
    expect(result).toMatchObject({ rowsRead: 9, itemsWritten: 7, duplicatesDropped: 2, rejected: 0, table, sourceFile: key });
    expect(result.summary).toContain('read 9 rows = written 7 + duplicates 2 + rejected 0');
    expect(publishedFigures(result.metrics, { namespace: 'dynalake', service: 'csv_to_dynamodb', dataset: 'uploads' })).toEqual({ RowsRead: 9, RowsWritten: 7 });
    const stored = (await scanAll(dynamodb(), table)).map((item) => unmarshall(item) as UploadItem);
    const timestamps = new Set(stored.map((item) => item.ingestion_timestamp));
    expect([...timestamps]).toEqual([result.ingestionTimestamp]);
    expect(result.ingestionTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const asGolden = (items: readonly UploadItem[]) => byId(items.map((item) => ({ ...item, ingestion_timestamp: input.ingestion_timestamp, source_file: input.source_file })));
    expect(asGolden(stored)).toEqual(expected.items);

    await runCsvToDynamoDB(context, args);
    expect(await scanAll(dynamodb(), table)).toHaveLength(7);
  });

  it('needs a DynamoDB client and the job’s arguments', async () => {
    const context = twinContext(s3(), tempDir);
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: 'b', S3_KEY: 'raw/x.csv', DYNAMODB_TABLE: 't' })).rejects.toThrow(/no DynamoDB client/);
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: 'b' })).rejects.toThrow('csv_to_dynamodb: missing job arguments --S3_KEY, --DYNAMODB_TABLE');
  });

  it('says which object is missing', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const context = twinContext(local, tempDir, { dynamodb: dynamodb().client });
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: landing, S3_KEY: 'raw/none.csv', DYNAMODB_TABLE: 't' })).rejects.toThrow(`s3://${landing}/raw/none.csv: no such object`);
  });
});
