import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { type AttributeValue, type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';

/**
 * DynamoDB Streams for dynalite, which has none: the stream of a table is the difference between
 * its snapshot at the last capture and its items now, as INSERT, MODIFY and REMOVE records with
 * both images and sequence numbers that only grow. The snapshot and the last sequence number are
 * kept under `<dir>/<table>.*`, and replaced only when the caller commits the capture (after the
 * records were handled), so an interrupted run replays its changes rather than losing them.
 */
export class TableStream {
  private readonly snapshotFile: string;
  private readonly stateFile: string;

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    private readonly keyNames: readonly string[],
    dir: string,
  ) {
    this.snapshotFile = join(dir, `${tableName}.snapshot.jsonl.gz`);
    this.stateFile = join(dir, `${tableName}.stream.json`);
  }

  /** The ARN stream records carry: `…:table/<name>/stream/local`. */
  get streamArn(): string {
    return `arn:aws:dynamodb:local:000000000000:table/${this.tableName}/stream/local`;
  }

  private keyOf(item: Record<string, AttributeValue>): string {
    return JSON.stringify(this.keyNames.map((name) => item[name]));
  }

  private async readSnapshot(): Promise<Map<string, string>> {
    const snapshot = new Map<string, string>();
    if (!existsSync(this.snapshotFile)) return snapshot;
    const lines = createInterface({ input: createReadStream(this.snapshotFile).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === '') continue;
      const tab = line.indexOf('\t');
      snapshot.set(line.slice(0, tab), line.slice(tab + 1));
    }
    return snapshot;
  }

  private lastSequenceNumber(): bigint {
    if (!existsSync(this.stateFile)) return 10n ** 20n;
    return BigInt((JSON.parse(readFileSync(this.stateFile, 'utf8')) as { lastSequenceNumber: string }).lastSequenceNumber);
  }

  /**
   * The stream records of every change since the last committed capture, in key order within
   * each kind, and `commit`, which makes this capture the base of the next one.
   */
  async capture(now: Date = new Date()): Promise<{ records: DynamoDBRecord[]; commit: () => Promise<void> }> {
    const before = await this.readSnapshot();
    const after = new Map<string, string>();
    for await (const page of paginateScan({ client: this.client, pageSize: 1000 }, { TableName: this.tableName })) {
      for (const item of page.Items ?? []) after.set(this.keyOf(item), JSON.stringify(item));
    }
    let sequence = this.lastSequenceNumber();
    const created = Math.floor(now.getTime() / 1000);
    const records: DynamoDBRecord[] = [];
    const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', key: string, oldItem: string | undefined, newItem: string | undefined) => {
      sequence += 1n;
      const keyValues = JSON.parse(key) as AttributeValue[];
      records.push({
        eventID: `${this.tableName}-${String(sequence)}`,
        eventName,
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'local',
        eventSourceARN: this.streamArn,
        dynamodb: {
          ApproximateCreationDateTime: created,
          Keys: Object.fromEntries(this.keyNames.map((name, index) => [name, keyValues[index]])) as never,
          NewImage: newItem === undefined ? undefined : (JSON.parse(newItem) as never),
          OldImage: oldItem === undefined ? undefined : (JSON.parse(oldItem) as never),
          SequenceNumber: String(sequence),
          SizeBytes: (oldItem?.length ?? 0) + (newItem?.length ?? 0),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      });
    };
    for (const [key, item] of after) {
      const old = before.get(key);
      if (old === undefined) record('INSERT', key, undefined, item);
      else if (old !== item && !sameItem(old, item)) record('MODIFY', key, old, item);
    }
    for (const [key, old] of before) if (!after.has(key)) record('REMOVE', key, old, undefined);

    const commit = async () => {
      mkdirSync(dirname(this.snapshotFile), { recursive: true });
      const temporary = `${this.snapshotFile}.tmp`;
      await pipeline(
        Readable.from((function* () {
          for (const [key, item] of after) yield `${key}\t${item}\n`;
        })()),
        createGzip(),
        createWriteStream(temporary),
      );
      renameSync(temporary, this.snapshotFile);
      writeFileSync(this.stateFile, `${JSON.stringify({ lastSequenceNumber: String(sequence) })}\n`);
    };
    return { records, commit };
  }
}

/** Two items as JSON are the same item when their attributes are equal in any order. */
function sameItem(left: string, right: string): boolean {
  const sorted = (json: string) => {
    const item = JSON.parse(json) as Record<string, unknown>;
    return JSON.stringify(Object.keys(item).sort().map((name) => [name, item[name]]));
  };
  return sorted(left) === sorted(right);
}
