import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type AttributeValue, BatchWriteItemCommand, DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ensureTables, type LocalDynamoDB, startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import { sortLines, TableStream } from '../../../scripts/local/stream';
import { useTempDirs } from '../../helpers/local-lake';

/**
 * The stream emulation on a real dynalite: what a capture reports against the last committed one,
 * in key order, in bounded memory (the scan sorted on disk in runs), and what it keeps on disk.
 */
let dynamodb: LocalDynamoDB;
let tables = 0;
const tempDir = useTempDirs();

beforeAll(async () => {
  dynamodb = await startLocalDynamoDB();
});
afterAll(async () => {
  await dynamodb.close();
});

/** A fresh table keyed by (Invoice, Line), with its stream folder. */
async function table(): Promise<{ name: string; dir: string }> {
  const name = `orders${String(++tables)}`;
  await ensureTables(dynamodb.client, [
    {
      TableName: name,
      KeySchema: [
        { AttributeName: 'Invoice', KeyType: 'HASH' },
        { AttributeName: 'Line', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'Invoice', AttributeType: 'S' },
        { AttributeName: 'Line', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    },
  ]);
  return { name, dir: tempDir('stream') };
}

const order = (invoice: string, line: number, quantity: number): Record<string, AttributeValue> => ({ Invoice: { S: invoice }, Line: { N: String(line) }, Quantity: { N: String(quantity) } });

async function put(name: string, items: readonly Record<string, AttributeValue>[]): Promise<void> {
  for (let offset = 0; offset < items.length; offset += 25) {
    await dynamodb.client.send(new BatchWriteItemCommand({ RequestItems: { [name]: items.slice(offset, offset + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
}

/** Every batch of a capture, then its commit unless told not to. */
async function capture(stream: TableStream, { size = 1000, commit = true } = {}): Promise<DynamoDBRecord[][]> {
  const taken = await stream.capture(new Date('2026-12-06T12:00:00Z'));
  const batches: DynamoDBRecord[][] = [];
  for await (const batch of taken.batches(size)) batches.push(batch);
  if (commit) await taken.commit();
  return batches;
}

/** Each record as `KIND invoice/line`. */
const described = (records: readonly DynamoDBRecord[]) => records.map((record) => `${record.eventName ?? '?'} ${record.dynamodb?.Keys?.Invoice?.S ?? '?'}/${record.dynamodb?.Keys?.Line?.N ?? '?'}`);

/** The snapshot line order: key JSON compared as text. */
const keyText = (invoice: string, line: number) => JSON.stringify([{ S: invoice }, { N: String(line) }]);

describe('TableStream', () => {
  it('reports every item of a new table as an INSERT, in key order, in batches, with its new image and growing sequence numbers', async () => {
    const { name, dir } = await table();
    const items = [order('B', 2, 1), order('A', 10, 2), order('A', 9, 3), order('C', 1, 4), order('A', 1, 5)];
    await put(name, items);
    const stream = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir);

    const batches = await capture(stream, { size: 2 });
    expect(batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
    const records = batches.flat();
    const keys = items.map((item) => [item.Invoice?.S ?? '', Number(item.Line?.N)] as const).sort((a, b) => (keyText(...a) < keyText(...b) ? -1 : 1));
    expect(described(records)).toEqual(keys.map(([invoice, line]) => `INSERT ${invoice}/${String(line)}`));
    expect(records[0]).toEqual({
      eventID: `${name}-100000000000000000001`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${name}/stream/local`,
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-12-06T12:00:00Z') / 1000,
        Keys: { Invoice: { S: 'A' }, Line: { N: '1' } },
        NewImage: order('A', 1, 5),
        OldImage: undefined,
        SequenceNumber: '100000000000000000001',
        SizeBytes: JSON.stringify(order('A', 1, 5)).length,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(records.map((record) => record.dynamodb?.SequenceNumber)).toEqual(['1', '2', '3', '4', '5'].map((n) => String(10n ** 20n + BigInt(n))));
    // Committed: the same items again are no change.
    expect(await capture(stream)).toEqual([]);
  });

  it('reports an update with both images, a delete with its old image and a new item, and nothing for an item put again with its attributes in another order', async () => {
    const { name, dir } = await table();
    await put(name, [order('A', 1, 1), order('A', 2, 2), order('A', 3, 3), { Quantity: { N: '4' }, Line: { N: '4' }, Invoice: { S: 'A' } }]);
    const stream = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir);
    await capture(stream);

    await dynamodb.client.send(new UpdateItemCommand({ TableName: name, Key: { Invoice: { S: 'A' }, Line: { N: '2' } }, UpdateExpression: 'SET Quantity = :q', ExpressionAttributeValues: { ':q': { N: '20' } } }));
    await dynamodb.client.send(new DeleteItemCommand({ TableName: name, Key: { Invoice: { S: 'A' }, Line: { N: '3' } } }));
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: order('A', 4, 4) }));
    await put(name, [order('A', 0, 7)]);

    const records = (await capture(stream)).flat();
    expect(described(records)).toEqual(['INSERT A/0', 'MODIFY A/2', 'REMOVE A/3']);
    expect(records[1]?.dynamodb).toMatchObject({ OldImage: order('A', 2, 2), NewImage: order('A', 2, 20) });
    expect(records[2]?.dynamodb).toMatchObject({ OldImage: order('A', 3, 3), NewImage: undefined, Keys: { Invoice: { S: 'A' }, Line: { N: '3' } } });
    // Sequence numbers go on from the last committed capture's.
    expect(records.map((record) => BigInt(record.dynamodb?.SequenceNumber ?? '0') - 10n ** 20n)).toEqual([5n, 6n, 7n]);
  });

  it('replays an uncommitted capture: the same records, with the same sequence numbers', async () => {
    const { name, dir } = await table();
    await put(name, [order('A', 1, 1), order('B', 1, 1)]);
    const stream = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir);
    const first = (await capture(stream, { commit: false })).flat();
    const again = (await capture(stream)).flat();
    expect(again).toEqual(first);
    expect(described(again)).toEqual(['INSERT A/1', 'INSERT B/1']);
    // Only the snapshot, sorted, and the last sequence number remain: no work files.
    expect(readdirSync(dir).sort()).toEqual([`${name}.snapshot.sorted.jsonl.gz`, `${name}.stream.json`]);
  });

  it('sorts a scan larger than its run size on disk, in many runs, to the records one run gives', async () => {
    const { name, dir } = await table();
    const items = Array.from({ length: 300 }, (_, index) => order(`INV${String((index * 7919) % 300).padStart(3, '0')}`, (index % 5) + 1, index));
    await put(name, items);
    const inMemory = (await capture(new TableStream(dynamodb.client, name, ['Invoice', 'Line'], tempDir('stream-one-run')))).flat();
    // About 60 bytes a line: runs of 1,000 characters make 20 or so.
    const inRuns = (await capture(new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir, { runBytes: 1000 }), { size: 64 })).flat();
    expect(inRuns).toHaveLength(300);
    expect(described(inRuns)).toEqual(described(inMemory));
    const order_ = inRuns.map((record) => keyText(record.dynamodb?.Keys?.Invoice?.S ?? '', Number(record.dynamodb?.Keys?.Line?.N)));
    expect(order_).toEqual([...order_].sort());
  });

  it('sorts lines by their key in runs of at most the given size, merged, and leaves no run behind', async () => {
    const dir = tempDir('sort');
    const keys = Array.from({ length: 50 }, (_, index) => JSON.stringify([{ S: `k${String((index * 37) % 50).padStart(2, '0')}` }]));
    // The item sorts the other way round from the key: only the key decides.
    const lines = () => Readable.from(keys.map((key, index) => `${key}\t{"n":${String(50 - index)}}`));
    const out = join(dir, 'sorted.jsonl.gz');
    // Lines of 21 or 22 characters: a run reaches 100 at its fifth line.
    expect(await sortLines(lines(), out, dir, 100)).toBe(10);
    const sorted = gunzipSync(readFileSync(out)).toString('utf8').split('\n').filter((line) => line !== '');
    expect(sorted.map((line) => line.split('\t')[0])).toEqual([...keys].sort());
    expect(readdirSync(dir)).toEqual(['sorted.jsonl.gz']);
    // One run when it all fits; none for no line (an empty file).
    expect(await sortLines(lines(), join(dir, 'one.jsonl.gz'), dir, 1 << 20)).toBe(1);
    expect(await sortLines(Readable.from([]), join(dir, 'none.jsonl.gz'), dir, 100)).toBe(0);
    expect(gunzipSync(readFileSync(join(dir, 'none.jsonl.gz'))).length).toBe(0);
  });

  it('keeps every line whole across the chunks a large file is read in, multi-byte characters included', async () => {
    const dir = tempDir('sort-large');
    // About 600 KB: many decompressed chunks, whose ends fall inside lines and inside characters.
    const keys = Array.from({ length: 4000 }, (_, index) => JSON.stringify([{ S: `k${String((index * 7919) % 4000).padStart(4, '0')}` }]));
    const lines = keys.map((key, index) => `${key}\t{"Description":"${'Crème brûlée € '.repeat(1 + (index % 9))}","n":${String(index)}}`);
    const once = join(dir, 'once.jsonl.gz');
    const inRuns = join(dir, 'runs.jsonl.gz');
    expect(await sortLines(Readable.from(lines), once, dir, 1 << 30)).toBe(1);
    expect(await sortLines(Readable.from(lines), inRuns, dir, 20_000)).toBeGreaterThan(10);
    const keyOf = (line: string) => line.slice(0, line.indexOf('\t'));
    const expected = [...lines].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    for (const file of [once, inRuns]) expect(gunzipSync(readFileSync(file)).toString('utf8')).toBe(`${expected.join('\n')}\n`);
  });

  it('reads the unsorted snapshot of earlier versions, reports only what changed since, then replaces it', async () => {
    const { name, dir } = await table();
    const items = [order('B', 1, 1), order('A', 1, 1), order('C', 1, 1)];
    await put(name, items);
    // As earlier versions kept it: key TAB item, in scan order, gzipped.
    const legacy = join(dir, `${name}.snapshot.jsonl.gz`);
    const line = (item: Record<string, AttributeValue>) => `${JSON.stringify([item.Invoice, item.Line])}\t${JSON.stringify(item)}\n`;
    writeFileSync(legacy, gzipSync([order('C', 1, 1), order('B', 1, 1), order('A', 1, 0), order('D', 1, 1)].map(line).join('')));
    writeFileSync(join(dir, `${name}.stream.json`), `${JSON.stringify({ lastSequenceNumber: String(10n ** 20n + 41n) })}\n`);

    const records = (await capture(new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir))).flat();
    expect(described(records)).toEqual(['MODIFY A/1', 'REMOVE D/1']);
    expect(records[0]?.dynamodb?.SequenceNumber).toBe(String(10n ** 20n + 42n));
    expect(existsSync(legacy)).toBe(false);
    expect(await capture(new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir))).toEqual([]);
  });

  it('hands out a capture once, and commits it only after its records were read', async () => {
    const { name, dir } = await table();
    await put(name, [order('A', 1, 1)]);
    const stream = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir);
    const unread = await stream.capture();
    await expect(unread.commit()).rejects.toThrow(`${name}: commit a capture after its records were handled`);
    const taken = await stream.capture();
    for await (const batch of taken.batches(10)) expect(batch).toHaveLength(1);
    await expect(taken.batches(10).next()).rejects.toThrow(`${name}: a capture's records can be read once`);
    await taken.commit();
    expect(await capture(stream)).toEqual([]);
  });
});

describe('TableStream with the embedded DynamoDB’s write journal', () => {
  /** The same table captured twice: through the journal, and by a scan of its own (the reference). */
  async function twins(items: readonly Record<string, AttributeValue>[]) {
    const { name, dir } = await table();
    await put(name, items);
    const journaled = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], dir, { journal: dynamodb.journal });
    const scanningDir = tempDir('stream-scanning');
    const scanning = new TableStream(dynamodb.client, name, ['Invoice', 'Line'], scanningDir);
    return { name, dir, journaled, scanning, scanningDir };
  }

  /** A capture's records and how it read the table. */
  async function taken(stream: TableStream, commit = true) {
    const capture = await stream.capture(new Date('2026-12-06T12:00:00Z'));
    const records: DynamoDBRecord[] = [];
    for await (const batch of capture.batches(2)) records.push(...batch);
    if (commit) await capture.commit();
    return { records, scanned: capture.scanned, items: capture.items };
  }

  /** A snapshot's items, whatever the attribute order of each line. */
  const snapshotItems = (file: string) =>
    gunzipSync(readFileSync(file))
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => [line.slice(0, line.indexOf('\t')), JSON.parse(line.slice(line.indexOf('\t') + 1)) as unknown] as const);

  it('scans for its first capture, then reads only the items written since the one it committed, with the records and snapshot a scan gives', async () => {
    const { name, dir, journaled, scanning, scanningDir } = await twins(Array.from({ length: 40 }, (_, index) => order(`B${String(index % 8)}`, index, index)));
    expect(await taken(journaled)).toMatchObject({ scanned: true, items: 40 });
    await taken(scanning);

    await dynamodb.client.send(new UpdateItemCommand({ TableName: name, Key: { Invoice: { S: 'B1' }, Line: { N: '9' } }, UpdateExpression: 'SET Quantity = :q', ExpressionAttributeValues: { ':q': { N: '90' } } }));
    await dynamodb.client.send(new DeleteItemCommand({ TableName: name, Key: { Invoice: { S: 'B2' }, Line: { N: '10' } } }));
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: order('A', 1, 1) }));
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: order('Z', 1, 1) }));
    // Written, but no change: the same item again, a key that was never there, an item put and deleted.
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: { Quantity: { N: '3' }, Line: { N: '3' }, Invoice: { S: 'B3' } } }));
    await dynamodb.client.send(new DeleteItemCommand({ TableName: name, Key: { Invoice: { S: 'B4' }, Line: { N: '99' } } }));
    await put(name, [order('C', 5, 5)]);
    await dynamodb.client.send(new BatchWriteItemCommand({ RequestItems: { [name]: [{ DeleteRequest: { Key: { Invoice: { S: 'C' }, Line: { N: '5' } } } }, { PutRequest: { Item: order('B5', 13, 130) } }] } }));

    const read = await taken(journaled);
    const reference = await taken(scanning);
    expect(read).toMatchObject({ scanned: false, items: 8 });
    expect(reference.scanned).toBe(true);
    expect(described(read.records)).toEqual(['INSERT A/1', 'MODIFY B1/9', 'REMOVE B2/10', 'MODIFY B5/13', 'INSERT Z/1']);
    expect(read.records).toEqual(reference.records);
    expect(snapshotItems(join(dir, `${name}.snapshot.sorted.jsonl.gz`))).toEqual(snapshotItems(join(scanningDir, `${name}.snapshot.sorted.jsonl.gz`)));

    // Nothing written since: nothing read, no record.
    expect(await taken(journaled)).toEqual({ records: [], scanned: false, items: 0 });
  });

  it('reads the keys of an uncommitted capture again, and leaves a write made during a capture to the next one', async () => {
    const { name, journaled } = await twins([order('A', 1, 1), order('A', 2, 2)]);
    await taken(journaled);
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: order('A', 1, 10) }));
    const replayed = await taken(journaled, false);
    expect(described(replayed.records)).toEqual(['MODIFY A/1']);
    expect(await taken(journaled, false)).toEqual(replayed);

    const capture = await journaled.capture(new Date('2026-12-06T12:00:00Z'));
    await dynamodb.client.send(new PutItemCommand({ TableName: name, Item: order('A', 2, 20) }));
    for await (const batch of capture.batches(10)) expect(described(batch)).toEqual(['MODIFY A/1']);
    await capture.commit();
    const next = await taken(journaled);
    expect(next).toMatchObject({ scanned: false, items: 1 });
    expect(described(next.records)).toEqual(['MODIFY A/2']);
    expect(next.records[0]?.dynamodb).toMatchObject({ OldImage: order('A', 2, 2), NewImage: order('A', 2, 20) });
  });

  it('scans again when a write named a key otherwise than DynamoDB spells it, and still reports it', async () => {
    const { name, journaled, scanning } = await twins([order('A', 1, 1)]);
    await taken(journaled);
    await taken(scanning);
    await dynamodb.client.send(new UpdateItemCommand({ TableName: name, Key: { Invoice: { S: 'A' }, Line: { N: '1.0' } }, UpdateExpression: 'SET Quantity = :q', ExpressionAttributeValues: { ':q': { N: '2' } } }));
    const read = await taken(journaled);
    expect(read).toMatchObject({ scanned: true, items: 1 });
    expect(read.records).toEqual((await taken(scanning)).records);
    expect(described(read.records)).toEqual(['MODIFY A/1']);
    // Committed by a scan: the journal is followed again.
    await put(name, [order('A', 2, 2)]);
    expect(await taken(journaled)).toMatchObject({ scanned: false, items: 1 });
  });

  it('scans when the snapshot it committed is gone', async () => {
    const { name, dir, journaled } = await twins([order('A', 1, 1)]);
    await taken(journaled);
    rmSync(join(dir, `${name}.snapshot.sorted.jsonl.gz`));
    const read = await taken(journaled);
    expect(read).toMatchObject({ scanned: true, items: 1 });
    expect(described(read.records)).toEqual(['INSERT A/1']);
  });
});
