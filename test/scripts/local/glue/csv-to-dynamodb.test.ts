import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ORDER_COLUMNS } from '../../../../lambda/shared/orders-csv';
import { csvRowOutcomes, csvToItems, type RowOutcome, runCsvToDynamoDB, type UploadItem } from '../../../../scripts/local/glue/csv-to-dynamodb';
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
/** The BAD_INPUT error with this message. */
const badInput = (message: string) => ({ name: 'DynalakeError', code: 'BAD_INPUT', message });
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
    await expect(csvToItems(latin1('InvoiceNo,StockCode\n536365,85123A\n'), 'raw/partial.csv', 'now')).rejects.toMatchObject(
      badInput('raw/partial.csv: the header has no column Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country'),
    );
  });

  it.each([
    ['nothing', ''],
    ['blank lines only', '\n\n\n'],
  ])('says a file that holds %s is empty, naming every column it lacks', async (_name, csv) => {
    await expect(csvToItems(latin1(csv), 'raw/empty.csv', 'now')).rejects.toMatchObject(
      badInput('raw/empty.csv: the header has no column InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country (the file is empty)'),
    );
  });
});

describe('reading the uploaded CSV (csvRowOutcomes)', () => {
  const HEADER = ORDER_COLUMNS.join(',');
  const ROW = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom';
  const outcomesOf = async (text: string): Promise<RowOutcome[]> => {
    const outcomes: RowOutcome[] = [];
    for await (const outcome of csvRowOutcomes([text], 'raw/upload.csv', '2024-05-01T12:00:00.000Z')) outcomes.push(outcome);
    return outcomes;
  };

  it('yields each data row, in file order, as an item, a duplicate of an earlier one, or a reject', async () => {
    const outcomes = await outcomesOf([HEADER, ROW, ROW, '536366,22633'].join('\n'));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['item', 'duplicate', 'rejected']);
    const [item, duplicate, rejected] = outcomes;
    expect(item).toEqual({
      kind: 'item',
      item: {
        id: expect.any(String) as string,
        InvoiceNo: '536365',
        StockCode: '85123A',
        Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
        Quantity: '6',
        InvoiceDate: '12/1/2010 8:26',
        UnitPrice: '2.55',
        CustomerID: '17850',
        Country: 'United Kingdom',
        ingestion_timestamp: '2024-05-01T12:00:00.000Z',
        source_file: 'raw/upload.csv',
      },
    });
    expect(duplicate).toEqual({ kind: 'duplicate', id: item?.kind === 'item' ? item.item.id : 'no item' });
    expect(rejected).toEqual({ kind: 'rejected', row: { line: 4, reason: "has 2 fields, expected 8 (the header's)" } });
  });

  it('finds the columns by their trimmed header names, and trims every value but Description', async () => {
    const header = ORDER_COLUMNS.map((column) => ` ${column}\t`).join(',');
    const [outcome] = await outcomesOf([header, ' 536365 ,\t85123A , MUG ,  6 , 12/1/2010 8:26 , 2.55 , 17850 , France '].join('\n'));
    expect(outcome).toMatchObject({
      kind: 'item',
      item: { InvoiceNo: '536365', StockCode: '85123A', Description: ' MUG ', Quantity: '6', InvoiceDate: '12/1/2010 8:26', UnitPrice: '2.55', CustomerID: '17850', Country: 'France' },
    });
  });

  it('takes a quote inside an unquoted value as part of the value', async () => {
    const [outcome] = await outcomesOf([HEADER, '536365,21000,12" RULER 2"X3",1,12/1/2010 8:26,0.85,,United Kingdom'].join('\n'));
    expect(outcome).toMatchObject({ kind: 'item', item: { Description: '12" RULER 2"X3"' } });
  });

  it('numbers a row by the line it starts on, after quoted values that span lines (CRLF, LF and CR each one break)', async () => {
    const spanning = '536365,21000,"THREE\r\nLINE\nVALUE",1,12/1/2010 8:26,0.85,,United Kingdom';
    const outcomes = await outcomesOf([HEADER, spanning, '536366,21000', '', '536367,"A\rB"', '536368'].join('\r\n'));
    expect(outcomes.filter((outcome) => outcome.kind === 'rejected')).toEqual([
      { kind: 'rejected', row: { line: 5, reason: "has 2 fields, expected 8 (the header's)" } },
      { kind: 'rejected', row: { line: 7, reason: "has 2 fields, expected 8 (the header's)" } },
      { kind: 'rejected', row: { line: 9, reason: "has 1 fields, expected 8 (the header's)" } },
    ]);
  });

  it('rejects a row of one non-empty field rather than skipping it as a blank line', async () => {
    expect(await outcomesOf([HEADER, '536365', ''].join('\n'))).toEqual([{ kind: 'rejected', row: { line: 2, reason: "has 1 fields, expected 8 (the header's)" } }]);
  });

  it('skips no byte-order mark: what precedes the first header name is part of it, as when the job reads a UTF-8 BOM as ISO-8859-1', async () => {
    const quotedHeader = ORDER_COLUMNS.map((column) => `"${column}"`).join(',');
    const missingInvoiceNo = badInput('raw/upload.csv: the header has no column InvoiceNo');
    await expect(outcomesOf(`\ufeff${quotedHeader}\n${ROW}\n`)).rejects.toMatchObject(missingInvoiceNo);
    // The bytes of a UTF-8 BOM, read as ISO-8859-1, are three characters before the header.
    await expect(csvToItems(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), latin1(`${quotedHeader}\n${ROW}\n`)]), 'raw/upload.csv', 'now')).rejects.toMatchObject(missingInvoiceNo);
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
    expect(result).toMatchObject({ rowsRead: 9, itemsWritten: 7, duplicatesDropped: 2, rejected: 0, rejectedRows: [], table, sourceFile: key });
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

  /** Uploads `body` as raw/upload.csv to a fresh landing bucket; the run's context (its log lines in `lines`) and arguments, for a fresh uploads table. */
  async function upload(body: Uint8Array) {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const table = await createTable(dynamodb(), 'uploads');
    await local.client.send(new PutObjectCommand({ Bucket: landing, Key: 'raw/upload.csv', Body: body }));
    return { context: twinContext(local, tempDir, { dynamodb: dynamodb().client }), args: { S3_BUCKET: landing, S3_KEY: 'raw/upload.csv', DYNAMODB_TABLE: table }, table };
  }
  const HEADER = ORDER_COLUMNS.join(',');
  /** A valid data row; `n` makes it distinct. */
  const dataRow = (n: number) => `${536365 + n},85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom`;
  const utf8Warning = (landing: string) =>
    `csv_to_dynamodb: s3://${landing}/raw/upload.csv looks like UTF-8, but the job reads ISO-8859-1 (as the Kaggle file is): each non-ASCII character becomes two`;

  it('warns that a UTF-8 upload is read as ISO-8859-1, and loads it so (each non-ASCII character as two)', async () => {
    const { context, args, table } = await upload(Buffer.from(`${HEADER}\n536370,22728,CAFÉ CRÈME MUG,24,12/1/2010 8:45,3.75,12583,France\n`, 'utf8'));
    await runCsvToDynamoDB(context, args);
    expect(context.lines.filter((line) => line.includes('looks like UTF-8'))).toEqual([utf8Warning(args.S3_BUCKET)]);
    const [stored] = (await scanAll(dynamodb(), table)).map((item) => unmarshall(item) as UploadItem);
    expect(stored?.Description).toBe('CAF\u00c3\u0089 CR\u00c3\u0088ME MUG');
  });

  it.each([
    ['an ISO-8859-1 file with non-ASCII characters', latin1(`${HEADER}\n536370,22728,CAFÉ CRÈME MUG £1,24,12/1/2010 8:45,3.75,12583,France\n`)],
    ['a plain ASCII file', latin1(`${HEADER}\n${dataRow(0)}\n`)],
  ])('does not warn about the encoding of %s', async (_name, body) => {
    const { context, args } = await upload(body);
    const result = await runCsvToDynamoDB(context, args);
    expect(result.itemsWritten).toBe(1);
    expect(context.lines.filter((line) => line.includes('UTF-8'))).toEqual([]);
  });

  it('counts and keeps the first 100 rejected rows, and logs the first 10, while loading the rest', async () => {
    // Rows 2–103 are short; then two valid rows and a duplicate of the first.
    const short = Array.from({ length: 102 }, (_, n) => `${536365 + n},85123A`);
    const { context, args, table } = await upload(latin1([HEADER, ...short, dataRow(0), dataRow(1), dataRow(0), ''].join('\n')));
    const reason = "has 2 fields, expected 8 (the header's)";

    const result = await runCsvToDynamoDB(context, args);
    expect(result).toMatchObject({ rowsRead: 105, itemsWritten: 2, duplicatesDropped: 1, rejected: 102 });
    expect(result.rejectedRows).toEqual(Array.from({ length: 100 }, (_, n) => ({ line: n + 2, reason })));
    expect(context.lines.filter((line) => line.includes('rejected:'))).toEqual(Array.from({ length: 10 }, (_, n) => `csv_to_dynamodb: line ${n + 2} rejected: ${reason}`));
    expect(result.summary).toBe(`s3://${args.S3_BUCKET}/raw/upload.csv → ${table}: read 105 rows = written 2 + duplicates 1 + rejected 102`);
    expect(publishedFigures(result.metrics, { namespace: 'dynalake', service: 'csv_to_dynamodb', dataset: 'uploads' })).toEqual({ RowsRead: 105, RowsWritten: 2 });
    expect(await scanAll(dynamodb(), table)).toHaveLength(2);
  });

  it('writes the items 25 to a BatchWriteItem request', async () => {
    const { context, args, table } = await upload(latin1([HEADER, ...Array.from({ length: 30 }, (_, n) => dataRow(n)), ''].join('\n')));
    const send = jest.spyOn(dynamodb().client, 'send');
    try {
      const result = await runCsvToDynamoDB(context, args);
      expect(result.itemsWritten).toBe(30);
      const batches = send.mock.calls.map(([command]) => command).filter((command) => command instanceof BatchWriteItemCommand);
      expect(batches.map((command) => command.input.RequestItems?.[table]?.length)).toEqual([25, 5]);
    } finally {
      send.mockRestore();
    }
  });

  it('needs a DynamoDB client and the job’s arguments', async () => {
    const context = twinContext(s3(), tempDir);
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: 'b', S3_KEY: 'raw/x.csv', DYNAMODB_TABLE: 't' })).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: 'csv_to_dynamodb: the context has no DynamoDB client to write t with',
    });
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: 'b' })).rejects.toThrow('csv_to_dynamodb: missing job arguments --S3_KEY, --DYNAMODB_TABLE');
  });

  it('says which object is missing', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const context = twinContext(local, tempDir, { dynamodb: dynamodb().client });
    await expect(runCsvToDynamoDB(context, { S3_BUCKET: landing, S3_KEY: 'raw/none.csv', DYNAMODB_TABLE: 't' })).rejects.toThrow(`s3://${landing}/raw/none.csv: no such object`);
  });
});
