import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynalakeError } from '../../../lambda/shared/errors';
import { dynamoDBJson, exportFolder, exportTableToPointInTime, tableNameOfArn } from '../../../scripts/local/dynamodb-export';
import { itemSet, readDocumentedExports } from '../../helpers/dynamodb-export';
import { createTable, scanAll, useLocalDynamoDB } from '../../helpers/local-dynamodb';
import { createBucket, listKeys, useLocalS3 } from '../../helpers/local-s3';

const arnOf = (table: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${table}`;

/** Items of every DynamoDB type, keyed as the orders table is. */
const ITEMS: Record<string, AttributeValue>[] = [
  { InvoiceNo: { S: '536365' }, LineNo: { N: '1' }, UnitPrice: { N: '2.55' }, IsCancellation: { BOOL: false }, Description: { S: 'WHITE HANGING HEART' } },
  { InvoiceNo: { S: '536365' }, LineNo: { N: '2' }, Tags: { SS: ['a', 'b'] }, Sizes: { NS: ['1', '2.5'] }, Blobs: { BS: [Uint8Array.from([1, 2]), Uint8Array.from([3])] } },
  { InvoiceNo: { S: 'C536379' }, LineNo: { N: '1' }, Nested: { M: { inner: { L: [{ S: 'x' }, { N: '12345678901234567890.5' }, { NULL: true }] } } } },
  { InvoiceNo: { S: '536366' }, LineNo: { N: '1' }, Raw: { B: Uint8Array.from([0xde, 0xad]) }, Nothing: { NULL: true } },
  { InvoiceNo: { S: '536367' }, LineNo: { N: '1' }, Country: { S: 'Ünited Kingdom ☃' } },
];

describe('exportTableToPointInTime (emulated over dynalite, written to s3rver)', () => {
  const dynamodb = useLocalDynamoDB();
  const s3 = useLocalS3();

  it('writes DynamoDB’s documented layout: _started, gzipped {"Item": …} lines, the files manifest and the summary', async () => {
    const table = await createTable(dynamodb());
    for (const item of ITEMS) await dynamodb().client.send(new PutItemCommand({ TableName: table, Item: item }));
    const bucket = await createBucket(s3(), 'exports');

    const result = await exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: arnOf(table), s3Bucket: bucket, s3Prefix: 'dynamodb-exports/orders/', itemsPerFile: 2 });

    const [exported, ...others] = await readDocumentedExports(s3(), bucket, 'dynamodb-exports/orders/', arnOf(table));
    expect(others).toEqual([]);
    expect(exported?.exportId).toBe(result.exportId);
    expect(result.exportManifest).toBe(`dynamodb-exports/orders/AWSDynamoDB/${result.exportId}/manifest-summary.json`);
    expect(exported?.summary).toMatchObject({ itemCount: 5, s3Prefix: 'dynamodb-exports/orders/', tableId: expect.any(String) as unknown });
    expect(exported?.files.map((file) => file.itemCount)).toEqual([2, 2, 1]);
    // The table's items, each attribute in DynamoDB JSON: numbers as their text, binary as base64.
    expect(itemSet(exported?.items ?? [])).toEqual(itemSet((await scanAll(dynamodb(), table)).map((item) => Object.fromEntries(Object.entries(item).map(([name, value]) => [name, dynamoDBJson(value)])))));
    expect(exported?.items).toContainEqual(expect.objectContaining({ Blobs: { BS: ['AQI=', 'Aw=='] }, Sizes: { NS: ['1', '2.5'] } }));
    expect(exported?.items).toContainEqual(expect.objectContaining({ Nested: { M: { inner: { L: [{ S: 'x' }, { N: '12345678901234567890.5' }, { NULL: true }] } } } }));
  });

  it('exports an empty table as one empty data file, and gives each export its own folder', async () => {
    const table = await createTable(dynamodb());
    const bucket = await createBucket(s3(), 'exports');
    const first = await exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: arnOf(table), s3Bucket: bucket, s3Prefix: 'exports' });
    const second = await exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: arnOf(table), s3Bucket: bucket, s3Prefix: 'exports' });
    expect(second.exportId).not.toBe(first.exportId);
    const exports = await readDocumentedExports(s3(), bucket, 'exports/', arnOf(table));
    expect(exports.map((exported) => [exported.summary.itemCount, exported.files.map((file) => file.itemCount)])).toEqual([
      [0, [0]],
      [0, [0]],
    ]);
  });

  it('takes the prefix as a folder, and no prefix as the bucket’s root', () => {
    expect(exportFolder('dynamodb-exports/orders/')).toBe('dynamodb-exports/orders/AWSDynamoDB/');
    expect(exportFolder('/dynamodb-exports/orders')).toBe('dynamodb-exports/orders/AWSDynamoDB/');
    expect(exportFolder(undefined)).toBe('AWSDynamoDB/');
  });

  it('refuses an ARN that names no table, a table the local DynamoDB does not have, and a bucket that does not exist', async () => {
    expect(() => tableNameOfArn('orders')).toThrow(new DynalakeError('BAD_INVOCATION', '"orders" is not a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)'));
    expect(tableNameOfArn(arnOf('dynalake-dev-orders'))).toBe('dynalake-dev-orders');
    const bucket = await createBucket(s3(), 'exports');
    await expect(exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: arnOf('no-such-table'), s3Bucket: bucket })).rejects.toThrow(
      `cannot export ${arnOf('no-such-table')}: the local DynamoDB has no table no-such-table`,
    );
    const table = await createTable(dynamodb());
    await expect(exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: arnOf(table), s3Bucket: 'no-such-bucket' })).rejects.toThrow('the export bucket s3://no-such-bucket does not exist');
    expect(await listKeys(s3(), bucket)).toEqual([]);
  });
});
