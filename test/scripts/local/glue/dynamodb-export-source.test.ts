import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { exportTableToPointInTime } from '../../../../scripts/local/dynamodb-export';
import { readExportItems, type SourcedItems, unnestDynamoDBJson, unnestExportLine } from '../../../../scripts/local/glue/dynamodb-export-source';
import { createTable, useLocalDynamoDB } from '../../../helpers/local-dynamodb';
import { createBucket, useLocalS3 } from '../../../helpers/local-s3';

describe('unnestDynamoDBJson (the export connector’s unnestDDBJson)', () => {
  it.each([
    ['S', { S: 'WHITE HANGING HEART' }, 'WHITE HANGING HEART'],
    ['N, as its exact text', { N: '12345678901234567890.125' }, '12345678901234567890.125'],
    ['B, as base64', { B: '3q0=' }, '3q0='],
    ['BOOL', { BOOL: false }, false],
    ['NULL', { NULL: true }, null],
    ['SS', { SS: ['a', 'b'] }, ['a', 'b']],
    ['NS, as texts', { NS: ['1', '2.5'] }, ['1', '2.5']],
    ['BS', { BS: ['AQI='] }, ['AQI=']],
    ['M and L, all the way down', { M: { tasks: { L: [{ M: { reward: { N: '5' } } }, { NULL: true }] } } }, { tasks: [{ reward: '5' }, null] }],
  ])('%s', (_type, value, expected) => {
    expect(unnestDynamoDBJson(value, 'item')).toEqual(expected);
  });

  it('refuses what is not DynamoDB JSON, naming where it is', () => {
    expect(() => unnestDynamoDBJson({ S: 'a', N: '1' }, 'data/a.json.gz line 3: Quantity')).toThrow('data/a.json.gz line 3: Quantity: {"S":"a","N":"1"} is not a DynamoDB JSON value');
    expect(() => unnestDynamoDBJson({ X: 'a' }, 'line 1: Quantity')).toThrow('line 1: Quantity: "X" is not a DynamoDB type descriptor');
    expect(() => unnestExportLine('{"InvoiceNo":{"S":"1"}}', 'line 1')).toThrow('line 1: a DynamoDB JSON export line is {"Item": {...}}');
    expect(unnestExportLine('{"Item":{"InvoiceNo":{"S":"536365"},"LineNo":{"N":"1"}}}', 'line 1')).toEqual({ InvoiceNo: '536365', LineNo: '1' });
  });
});

describe('readExportItems (an export read through its manifests)', () => {
  const dynamodb = useLocalDynamoDB();
  const s3 = useLocalS3();

  async function collect(generator: AsyncGenerator<SourcedItems>): Promise<SourcedItems[]> {
    const batches: SourcedItems[] = [];
    for await (const batch of generator) batches.push(batch);
    return batches;
  }

  it('reads every data file the manifest names, and refuses one whose item count is not the manifest’s', async () => {
    const table = await createTable(dynamodb());
    for (const line of [1, 2, 3]) await dynamodb().client.send(new PutItemCommand({ TableName: table, Item: { InvoiceNo: { S: '536365' }, LineNo: { N: String(line) } } }));
    const bucket = await createBucket(s3(), 'exports');
    const exported = await exportTableToPointInTime(dynamodb().client, s3().client, { tableArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${table}`, s3Bucket: bucket, itemsPerFile: 2 });

    const batches = await collect(readExportItems(s3().client, bucket, exported.exportManifest));
    expect(batches.map((batch) => batch.source)).toEqual(exported.dataFiles.map((file) => `s3://${bucket}/${file.dataFileS3Key}`));
    expect(batches.flatMap((batch) => batch.items.map((item) => item.LineNo)).sort()).toEqual(['1', '2', '3']);

    // A files manifest that claims one item more than its first file holds.
    const manifestKey = exported.summary.manifestFilesS3Key;
    const manifest = await (await s3().client.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }))).Body?.transformToString();
    const [first, ...rest] = (manifest ?? '').split('\n');
    const damaged = { ...(JSON.parse(first ?? '{}') as Record<string, unknown>), itemCount: 3 };
    await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: [JSON.stringify(damaged), ...rest].join('\n') }));
    await expect(collect(readExportItems(s3().client, bucket, exported.exportManifest))).rejects.toThrow(`s3://${bucket}/${exported.dataFiles[0]?.dataFileS3Key ?? ''} holds 2 items, its manifest says 3`);
  });
});
