import { gzipSync } from 'node:zlib';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { exportTableToPointInTime } from '../../../../scripts/local/dynamodb-export';
import { readExportItems, type SourcedItems, unnestDynamoDBJson, unnestExportLine } from '../../../../scripts/local/glue/dynamodb-export-source';
import { thrownBy } from '../../../helpers/errors';
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

  const where = 's3://exports/data/a.json.gz line 3: Quantity';
  const notAValue = (value: unknown) => `${where}: ${JSON.stringify(value)} is not a DynamoDB JSON value (one type descriptor: S, N, B, BOOL, NULL, M, L, SS, NS or BS)`;
  it.each<[string, unknown, string]>([
    ['a string', 'WHITE HANGING HEART', notAValue('WHITE HANGING HEART')],
    ['a one-letter string (no descriptor S, though its one entry is "S")', 'S', notAValue('S')],
    ['a number', 6, notAValue(6)],
    ['null', null, notAValue(null)],
    ['a boolean', true, notAValue(true)],
    ['a list of one value', [{ S: 'a' }], notAValue([{ S: 'a' }])],
    ['an object without a descriptor', {}, notAValue({})],
    ['two descriptors', { S: 'a', N: '1' }, notAValue({ S: 'a', N: '1' })],
    ['an unknown descriptor', { X: 'a' }, `${where}: "X" is not a DynamoDB type descriptor`],
    ['an S that is a number', { S: 6 }, `${where}: S 6 is not a string`],
    ['an N that is a number', { N: 6 }, `${where}: N 6 is not a string`],
    ['a B that is null', { B: null }, `${where}: B null is not a string`],
    ['a BOOL that is a string', { BOOL: 'true' }, `${where}: BOOL "true" is not a boolean`],
    ['a BOOL that is a number', { BOOL: 1 }, `${where}: BOOL 1 is not a boolean`],
    ['an M that is null', { M: null }, `${where}: M is not an object`],
    ['an M that is a string', { M: 'x' }, `${where}: M is not an object`],
    ['an M that is a list', { M: [{ S: 'a' }] }, `${where}: M is not an object`],
    ['an M that is an empty list', { M: [] }, `${where}: M is not an object`],
    ['an L that is an object', { L: { 0: { S: 'a' } } }, `${where}: L is not a list`],
    ['an L that is a string', { L: 'a' }, `${where}: L is not a list`],
    ['an L that is null', { L: null }, `${where}: L is not a list`],
    ['an SS that is a string', { SS: 'a' }, `${where}: SS is not a list of strings`],
    ['an SS with a number among strings', { SS: ['a', 1] }, `${where}: SS is not a list of strings`],
    ['an NS of numbers', { NS: [1, 2] }, `${where}: NS is not a list of strings`],
    ['a BS that is null', { BS: null }, `${where}: BS is not a list of strings`],
    ['an error inside a map, named by its path', { M: { customer: { M: { id: { S: 13047 } } } } }, `${where}.customer.id: S 13047 is not a string`],
    ['an error inside a list, named by its index', { L: [{ S: 'a' }, { NULL: true }, { X: 1 }] }, `${where}[2]: "X" is not a DynamoDB type descriptor`],
    ['an error in a list in a map', { M: { tasks: { L: [{ M: { reward: { N: 5 } } }] } } }, `${where}.tasks[0].reward: N 5 is not a string`],
  ])('refuses %s as BAD_INPUT, naming where it is', (_case, value, message) => {
    const error = thrownBy(() => unnestDynamoDBJson(value, where));
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message });
  });

  it('unnests empty sets, lists and maps as empty', () => {
    expect(unnestDynamoDBJson({ SS: [] }, 'item')).toEqual([]);
    expect(unnestDynamoDBJson({ L: [] }, 'item')).toEqual([]);
    expect(unnestDynamoDBJson({ M: {} }, 'item')).toEqual({});
  });
});

describe('unnestExportLine (one line of a data file)', () => {
  const where = 's3://exports/data/a.json.gz line 7';
  const notJson = (text: string) => {
    try {
      JSON.parse(text);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${text} is JSON`);
  };

  it('refuses a line that is not JSON, with the parser’s reason', () => {
    const error = thrownBy(() => unnestExportLine('{"Item":{"InvoiceNo":{"S":"536365"}}', where));
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: `${where}: not JSON (${notJson('{"Item":{"InvoiceNo":{"S":"536365"}}')})` });
  });

  it.each([
    ['null', 'null'],
    ['a number', '5'],
    ['a list', '[{"Item":{}}]'],
    ['an object without Item', '{"InvoiceNo":{"S":"1"}}'],
    ['an Item that is null', '{"Item":null}'],
    ['an Item that is a list', '{"Item":[{"InvoiceNo":{"S":"1"}}]}'],
    ['an Item that is a string', '{"Item":"536365"}'],
  ])('refuses %s as BAD_INPUT: a line is {"Item": {...}}', (_case, line) => {
    const error = thrownBy(() => unnestExportLine(line, where));
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: `${where}: a DynamoDB JSON export line is {"Item": {...}}` });
  });

  it('names the attribute of a value it refuses', () => {
    expect(thrownBy(() => unnestExportLine('{"Item":{"InvoiceNo":{"S":"536365"},"Quantity":{"N":6}}}', where))).toMatchObject({
      code: 'BAD_INPUT',
      message: `${where}: Quantity: N 6 is not a string`,
    });
  });

  it('reads an empty item as no attributes', () => {
    expect(unnestExportLine('{"Item":{}}', where)).toEqual({});
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
    await expect(collect(readExportItems(s3().client, bucket, exported.exportManifest))).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      message: `s3://${bucket}/${exported.dataFiles[0]?.dataFileS3Key ?? ''} holds 2 items, its manifest says 3`,
    });
  });

  describe('an export written by hand', () => {
    const line = (lineNo: number) => JSON.stringify({ Item: { InvoiceNo: { S: '536365' }, LineNo: { N: String(lineNo) } } });
    let bucket: string;
    beforeAll(async () => {
      bucket = await createBucket(s3(), 'exports');
    });

    async function put(key: string, body: string | Buffer): Promise<void> {
      await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }

    /**
     * Writes an export under `name`/: each data file (gzip of its text), the files manifest (one
     * line per data file, its itemCount the file's lines that are not blank, unless `manifest`
     * gives the text) and the summary (`summary` overriding its fields). Answers the summary's key.
     */
    async function writeExport(name: string, dataFiles: Record<string, string>, options: { manifest?: string; summary?: Record<string, unknown> } = {}): Promise<string> {
      const manifestLines: string[] = [];
      let itemCount = 0;
      for (const [file, text] of Object.entries(dataFiles)) {
        const key = `${name}/data/${file}.json.gz`;
        await put(key, gzipSync(text));
        const count = text.split('\n').filter((each) => each !== '').length;
        itemCount += count;
        manifestLines.push(JSON.stringify({ itemCount: count, md5Checksum: '', etag: '', dataFileS3Key: key }));
      }
      await put(`${name}/manifest-files.json`, options.manifest ?? `${manifestLines.join('\n')}\n`);
      await put(`${name}/manifest-summary.json`, JSON.stringify({ manifestFilesS3Key: `${name}/manifest-files.json`, itemCount, ...options.summary }));
      return `${name}/manifest-summary.json`;
    }

    const source = (name: string, file: string) => `s3://${bucket}/${name}/data/${file}.json.gz`;

    it('reads the data files in the manifest’s order, past blank and space-only manifest lines and blank data lines', async () => {
      const data = { b: `${line(1)}\n\n${line(2)}\n`, a: `${line(3)}\n` };
      const entries = Object.keys(data).map((file) => JSON.stringify({ itemCount: file === 'b' ? 2 : 1, md5Checksum: '', etag: '', dataFileS3Key: `blank-lines/data/${file}.json.gz` }));
      const summaryKey = await writeExport('blank-lines', data, { manifest: `${entries[0] ?? ''}\n  \n\t\n${entries[1] ?? ''}\r\n \n` });
      expect(await collect(readExportItems(s3().client, bucket, summaryKey))).toEqual([
        {
          source: source('blank-lines', 'b'),
          items: [
            { InvoiceNo: '536365', LineNo: '1' },
            { InvoiceNo: '536365', LineNo: '2' },
          ],
        },
        { source: source('blank-lines', 'a'), items: [{ InvoiceNo: '536365', LineNo: '3' }] },
      ]);
    });

    it('names the data file and its line (blank lines counted) of a line it refuses', async () => {
      const summaryKey = await writeExport('bad-line', { a: `${line(1)}\n\n${line(2)}\n{"Item":{"LineNo":{"N":3}}}\n` });
      const error = await collect(readExportItems(s3().client, bucket, summaryKey)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ code: 'BAD_INPUT', message: `${source('bad-line', 'a')} line 4: LineNo: N 3 is not a string` });
    });

    it('names the first line of a data file as line 1', async () => {
      const summaryKey = await writeExport('bad-first-line', { a: `{"Item":null}\n${line(2)}\n` });
      await expect(collect(readExportItems(s3().client, bucket, summaryKey))).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: `${source('bad-first-line', 'a')} line 1: a DynamoDB JSON export line is {"Item": {...}}`,
      });
    });

    it('refuses a summary that is not JSON as LOAD_FAILED, naming it and the parser’s reason', async () => {
      await put('not-json/manifest-summary.json', '{"itemCount": 1,');
      let reason = '';
      try {
        JSON.parse('{"itemCount": 1,');
      } catch (error) {
        reason = (error as Error).message;
      }
      const error = await collect(readExportItems(s3().client, bucket, 'not-json/manifest-summary.json')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ code: 'LOAD_FAILED', message: `s3://${bucket}/not-json/manifest-summary.json: not JSON (${reason})` });
    });

    it.each<[string, Record<string, unknown>]>([
      ['no manifestFilesS3Key', { manifestFilesS3Key: undefined }],
      ['a manifestFilesS3Key that is not a string', { manifestFilesS3Key: 7 }],
    ])('refuses a summary with %s as LOAD_FAILED, naming it', async (_case, summary) => {
      const summaryKey = await writeExport('no-manifest', { a: `${line(1)}\n` }, { summary });
      await expect(collect(readExportItems(s3().client, bucket, summaryKey))).rejects.toMatchObject({
        code: 'LOAD_FAILED',
        message: `s3://${bucket}/no-manifest/manifest-summary.json: no manifestFilesS3Key`,
      });
    });

    const parserReason = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return (error as Error).message;
      }
      return 'parsed';
    };
    it.each<[string, string, string, string]>([
      ['that is not JSON', 'manifest-not-json', '{"itemCount": 1,', `not JSON (${parserReason('{"itemCount": 1,')})`],
      ['without its data file', 'manifest-no-file', '{"itemCount": 1}', 'a manifest-files line names its dataFileS3Key and itemCount'],
      ['with an item count that is no number', 'manifest-text-count', '{"itemCount": "1", "dataFileS3Key": "x"}', 'a manifest-files line names its dataFileS3Key and itemCount'],
      ['that is null', 'manifest-null', 'null', 'a manifest-files line names its dataFileS3Key and itemCount'],
    ])('refuses a manifest-files line %s as LOAD_FAILED, naming the manifest and its line (blank lines counted)', async (_case, name, bad, problem) => {
      const entry = JSON.stringify({ itemCount: 1, md5Checksum: '', etag: '', dataFileS3Key: `${name}/data/a.json.gz` });
      const summaryKey = await writeExport(name, { a: `${line(1)}\n` }, { manifest: `${entry}\n\n${bad}\n` });
      const error = await collect(readExportItems(s3().client, bucket, summaryKey)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ code: 'LOAD_FAILED', message: `s3://${bucket}/${name}/manifest-files.json line 3: ${problem}` });
    });

    it('refuses, after the last data file, a summary whose itemCount is not the data files’ total', async () => {
      const summaryKey = await writeExport('short-summary', { a: `${line(1)}\n${line(2)}\n`, b: `${line(3)}\n` }, { summary: { itemCount: 4 } });
      const batches: SourcedItems[] = [];
      const error = await (async () => {
        for await (const batch of readExportItems(s3().client, bucket, summaryKey)) batches.push(batch);
      })().catch((caught: unknown) => caught);
      expect(batches.map((batch) => batch.source)).toEqual([source('short-summary', 'a'), source('short-summary', 'b')]);
      expect(error).toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ code: 'LOAD_FAILED', message: `s3://${bucket}/short-summary/manifest-summary.json: the data files hold 3 items, the summary says 4` });
    });
  });
});
