import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { type AttributeValue, BatchGetItemCommand, type BatchGetItemCommandOutput, type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { WriteJournal } from './write-journal';

/**
 * DynamoDB Streams for dynalite, which has none: the stream of a table is the difference between
 * its snapshot at the last capture and its items now, as INSERT, MODIFY and REMOVE records with
 * both images and sequence numbers that only grow. The snapshot and the last sequence number are
 * kept under `<dir>/<table>.*`, and replaced only when the caller commits the capture (after the
 * records were handled), so an interrupted run replays its changes rather than losing them.
 *
 * In bounded memory, whatever the table's size: the scan is sorted by key on disk (sorted runs of
 * at most `runBytes`, merged), the snapshot is kept sorted the same way, and the two are walked
 * side by side, a batch of records at a time.
 *
 * With the embedded DynamoDB's {@link WriteJournal}, a capture after one this process committed
 * reads only the items written since (BatchGetItem), and patches the snapshot with them in one
 * pass: its cost follows the change, as a stream's does, not the table. Whenever the journal cannot
 * say what was written, the capture scans.
 */
export class TableStream {
  private readonly snapshotFile: string;
  /** The snapshot of earlier versions, in scan order: sorted once, then replaced. */
  private readonly unsortedSnapshotFile: string;
  private readonly stateFile: string;
  private readonly workDir: string;
  private readonly runBytes: number;
  private readonly journal?: WriteJournal;
  /** The journal's position when this process last committed a capture: the snapshot is the table as it was then. */
  private committedAt?: number;

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    private readonly keyNames: readonly string[],
    dir: string,
    options: TableStreamOptions = {},
  ) {
    this.snapshotFile = join(dir, `${tableName}.snapshot.sorted.jsonl.gz`);
    this.unsortedSnapshotFile = join(dir, `${tableName}.snapshot.jsonl.gz`);
    this.stateFile = join(dir, `${tableName}.stream.json`);
    this.workDir = join(dir, `${tableName}.capture`);
    this.runBytes = options.runBytes ?? 16 * 1024 * 1024;
    this.journal = options.journal;
    this.journal?.watch(tableName, keyNames);
  }

  /** The ARN stream records carry: `…:table/<name>/stream/local`. */
  get streamArn(): string {
    return `arn:aws:dynamodb:local:000000000000:table/${this.tableName}/stream/local`;
  }

  private keyOf(item: Record<string, AttributeValue>): string {
    return JSON.stringify(this.keyNames.map((name) => item[name]));
  }

  private lastSequenceNumber(): bigint {
    if (!existsSync(this.stateFile)) return 10n ** 20n;
    return BigInt((JSON.parse(readFileSync(this.stateFile, 'utf8')) as { lastSequenceNumber: string }).lastSequenceNumber);
  }

  /**
   * The capture of every change since the last committed one: `batches` gives their stream records,
   * in key order, `size` at a time; `commit`, once they were all handled, makes this capture the
   * base of the next one. It scans the table into the next snapshot, sorted by key, unless the
   * journal knows which items were written since this process last committed (see the class).
   */
  async capture(now: Date = new Date()): Promise<StreamCapture> {
    rmSync(this.workDir, { recursive: true, force: true });
    mkdirSync(this.workDir, { recursive: true });
    const nextSnapshot = join(this.workDir, 'snapshot.sorted.jsonl.gz');
    // Before reading: a write noted later stays in the journal for the next capture.
    const position = this.journal?.now ?? 0;
    const written = this.journal !== undefined && this.committedAt !== undefined && existsSync(this.snapshotFile) ? this.journal.writtenSince(this.tableName, this.committedAt) : undefined;
    let changes: AsyncIterable<ItemChange> | Iterable<ItemChange>;
    const read = { scanned: written?.known !== true, items: 0 };
    if (written?.known === true) {
      read.items = written.keys.length;
      changes = await this.patchSnapshot(written.keys, nextSnapshot);
    } else {
      const counted = async function* (lines: AsyncIterable<string>) {
        for await (const line of lines) {
          read.items += 1;
          yield line;
        }
      };
      await sortLines(counted(this.scanLines()), nextSnapshot, this.workDir, this.runBytes);
      let before = this.snapshotFile;
      if (!existsSync(before) && existsSync(this.unsortedSnapshotFile)) {
        before = join(this.workDir, 'previous.sorted.jsonl.gz');
        await sortLines(readLines(this.unsortedSnapshotFile), before, this.workDir, this.runBytes);
      }
      changes = differences(joinByKey(existsSync(before) ? before : undefined, nextSnapshot));
    }

    let sequence = this.lastSequenceNumber();
    let walked = false;
    const created = Math.floor(now.getTime() / 1000);
    const record = ([key, oldItem, newItem]: ItemChange): DynamoDBRecord => {
      sequence += 1n;
      const keyValues = JSON.parse(key) as AttributeValue[];
      const eventName = oldItem === undefined ? 'INSERT' : newItem === undefined ? 'REMOVE' : 'MODIFY';
      return {
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
      };
    };

    const { tableName, snapshotFile, stateFile, unsortedSnapshotFile, workDir, journal } = this;
    return {
      ...read,
      async *batches(size: number) {
        if (walked) throw new Error(`${tableName}: a capture's records can be read once`);
        walked = true;
        let batch: DynamoDBRecord[] = [];
        for await (const change of changes) {
          batch.push(record(change));
          if (batch.length >= size) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      },
      commit: () => {
        if (!walked) return Promise.reject(new Error(`${tableName}: commit a capture after its records were handled`));
        renameSync(nextSnapshot, snapshotFile);
        writeFileSync(stateFile, `${JSON.stringify({ lastSequenceNumber: String(sequence) })}\n`);
        rmSync(unsortedSnapshotFile, { force: true });
        rmSync(workDir, { recursive: true, force: true });
        this.committedAt = position;
        journal?.forget(tableName, position);
        return Promise.resolve();
      },
    };
  }

  /**
   * Writes the next snapshot as the last one with the `written` keys' items as they are now, in one
   * pass, and returns the changes among them, in key order.
   */
  private async patchSnapshot(written: readonly string[], nextSnapshot: string): Promise<ItemChange[]> {
    const current = await this.currentItems(written);
    const keys = [...written].sort();
    const changes: ItemChange[] = [];
    const writer = new GzipLineWriter(nextSnapshot);
    const cursor = await LineCursor.open(this.snapshotFile);
    // A written key's line as it is now (none when the item is gone), and its change if any.
    const settle = (key: string, before: string | undefined) => {
      const after = current.get(key);
      if (after !== undefined) writer.add(`${key}\t${after}`);
      if (isChange(before, after)) changes.push([key, before, after]);
    };
    let next = 0;
    for (let head = cursor.head; head !== undefined; head = cursor.head) {
      for (; next < keys.length && (keys[next] as string) < head.key; next += 1) settle(keys[next] as string, undefined);
      if (keys[next] === head.key) {
        next += 1;
        settle(head.key, head.line.slice(head.key.length + 1));
      } else {
        writer.add(head.line);
      }
      if (writer.full) await writer.flush();
      const reading = cursor.next();
      if (reading) await reading;
    }
    for (; next < keys.length; next += 1) settle(keys[next] as string, undefined);
    await writer.close();
    return changes;
  }

  /** The items of `keys` (snapshot keys) that are in the table now, by key, as item JSON. */
  private async currentItems(keys: readonly string[]): Promise<Map<string, string>> {
    const items = new Map<string, string>();
    // BatchGetItem takes at most 100 keys per request.
    for (let start = 0; start < keys.length; start += 100) {
      let request: Record<string, AttributeValue>[] | undefined = keys.slice(start, start + 100).map((key) => {
        const values = JSON.parse(key) as AttributeValue[];
        return Object.fromEntries(this.keyNames.map((name, index) => [name, values[index] as AttributeValue]));
      });
      while (request !== undefined && request.length > 0) {
        const response: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } }));
        for (const item of response.Responses?.[this.tableName] ?? []) items.set(this.keyOf(item), JSON.stringify(item));
        request = response.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }

  /** The table's items as snapshot lines, `<key JSON>\t<item JSON>`, in scan order. */
  private async *scanLines(): AsyncGenerator<string> {
    for await (const page of paginateScan({ client: this.client, pageSize: 1000 }, { TableName: this.tableName })) {
      for (const item of page.Items ?? []) yield `${this.keyOf(item)}\t${JSON.stringify(item)}`;
    }
  }
}

/** Options of a {@link TableStream}. */
export interface TableStreamOptions {
  /** How much of a scan is sorted in memory at once (its lines' characters). @default 16 MiB */
  readonly runBytes?: number;
  /** The embedded DynamoDB's journal of writes (./dynamodb.ts): captures read only what was written. @default - every capture scans */
  readonly journal?: WriteJournal;
}

/** One item's change: its key, and its JSON before and after (undefined where it is absent). */
type ItemChange = [key: string, before: string | undefined, after: string | undefined];

/** One capture of a {@link TableStream}. */
export interface StreamCapture {
  /** True when the capture scanned the table; false when it read only the items the journal says were written. */
  readonly scanned: boolean;
  /** Items it read from the table: all of them when it scanned. */
  readonly items: number;
  /** The stream records of every change since the last committed capture, in key order, `size` at a time; read once. */
  batches(size: number): AsyncGenerator<DynamoDBRecord[]>;
  /** Makes this capture the base of the next one; after its records were all read and handled. */
  commit(): Promise<void>;
}

/** A snapshot line split once: its key (the text before the tab) and the line. */
interface KeyedLine {
  readonly key: string;
  readonly line: string;
}

const keyed = (line: string): KeyedLine => ({ key: line.slice(0, line.indexOf('\t')), line });
const byKey = (left: KeyedLine, right: KeyedLine) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0);

/** The lines of a gzipped file, empty lines skipped, as many at a time as a decompressed chunk ends. */
async function* readLineBatches(file: string): AsyncGenerator<string[]> {
  let partial = '';
  for await (const chunk of createReadStream(file).pipe(createGunzip()).setEncoding('utf8') as AsyncIterable<string>) {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    const complete = lines.filter((line) => line !== '');
    if (complete.length > 0) yield complete;
  }
  if (partial !== '') yield [partial];
}

/** The lines of a gzipped file, empty lines skipped. */
async function* readLines(file: string): AsyncGenerator<string> {
  for await (const lines of readLineBatches(file)) yield* lines;
}

/**
 * A sorted file's lines one at a time, each with its key, read a decompressed chunk at a time: the
 * walks and merges go line by line, and a line costs no await of its own. No file: no line.
 */
class LineCursor {
  private lines: readonly string[] = [];
  private index = 0;
  /** The current line; undefined once the file is read. */
  head: KeyedLine | undefined;

  private constructor(private readonly batches: AsyncIterator<string[]> | undefined) {}

  static async open(file: string | undefined): Promise<LineCursor> {
    const cursor = new LineCursor(file === undefined ? undefined : readLineBatches(file));
    await cursor.next();
    return cursor;
  }

  /**
   * Moves to the next line: at once within the chunk already read (undefined), or once the next
   * chunk is read (its promise). Callers await only a promise: a line costs no await of its own.
   */
  next(): Promise<void> | undefined {
    if (this.index >= this.lines.length) return this.read();
    this.take();
    return undefined;
  }

  private take(): void {
    this.head = keyed(this.lines[this.index] as string);
    this.index += 1;
  }

  private async read(): Promise<void> {
    while (this.index >= this.lines.length) {
      const batch = await this.batches?.next();
      if (batch === undefined || batch.done === true) {
        this.head = undefined;
        return;
      }
      this.lines = batch.value;
      this.index = 0;
    }
    this.take();
  }
}

/** Lines into a new gzipped file, handed to gzip about a megabyte at a time. */
class GzipLineWriter {
  private readonly output: Writable;
  private readonly done: Promise<void>;
  private pending: string[] = [];
  private size = 0;

  constructor(file: string, level?: number) {
    const gzip = createGzip(level === undefined ? {} : { level });
    this.done = finished(gzip.pipe(createWriteStream(file)));
    this.output = gzip;
  }

  /** Adds a line, held until {@link flush}. */
  add(line: string): void {
    this.pending.push(line);
    this.size += line.length;
  }

  /** True once about a megabyte is held: time to {@link flush}. */
  get full(): boolean {
    return this.size >= 1 << 20;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.size = 0;
    await write(this.output, text);
  }

  /** Writes what is pending and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.output.end();
    await this.done;
  }
}

/** Writes `text` to `output`, waiting for it to drain when its buffer is full. */
async function write(output: Writable, text: string): Promise<void> {
  if (!output.write(text)) await once(output, 'drain');
}

/**
 * Sorts snapshot lines by key into the gzipped file `out`, in bounded memory: runs of at most
 * `runBytes` characters (or one line, if longer) are sorted in memory and written under
 * `workDir`, then merged. Returns how many runs it took.
 */
export async function sortLines(lines: AsyncIterable<string>, out: string, workDir: string, runBytes: number): Promise<number> {
  const runs: string[] = [];
  let run: KeyedLine[] = [];
  let runSize = 0;
  const flush = async () => {
    if (run.length === 0) return;
    const file = join(workDir, `run-${String(runs.length)}.jsonl.gz`);
    const writer = new GzipLineWriter(file, 1);
    for (const { line } of run.sort(byKey)) {
      writer.add(line);
      if (writer.full) await writer.flush();
    }
    await writer.close();
    runs.push(file);
    run = [];
    runSize = 0;
  };
  for await (const line of lines) {
    run.push(keyed(line));
    runSize += line.length;
    if (runSize >= runBytes) await flush();
  }
  await flush();

  const writer = new GzipLineWriter(out);
  // Each run's next line; the smallest key goes first (a handful of runs: a linear pick is enough).
  const cursors = await Promise.all(runs.map((file) => LineCursor.open(file)));
  for (;;) {
    let smallest: LineCursor | undefined;
    for (const cursor of cursors) if (cursor.head !== undefined && (smallest === undefined || byKey(cursor.head, smallest.head as KeyedLine) < 0)) smallest = cursor;
    if (smallest === undefined) break;
    writer.add((smallest.head as KeyedLine).line);
    if (writer.full) await writer.flush();
    const reading = smallest.next();
    if (reading) await reading;
  }
  await writer.close();
  for (const file of runs) rmSync(file, { force: true });
  return runs.length;
}

/**
 * Two snapshot files sorted by key (no file before: an empty snapshot), walked side by side: per
 * key, its item before and after (undefined where it is absent), in key order.
 */
async function* joinByKey(before: string | undefined, after: string): AsyncGenerator<ItemChange> {
  const left = await LineCursor.open(before);
  const right = await LineCursor.open(after);
  const itemOf = ({ key, line }: KeyedLine) => line.slice(key.length + 1);
  for (let a = left.head, b = right.head; a !== undefined || b !== undefined; a = left.head, b = right.head) {
    const order = a === undefined ? 1 : b === undefined ? -1 : byKey(a, b);
    if (order < 0) {
      yield [(a as KeyedLine).key, itemOf(a as KeyedLine), undefined];
      await left.next();
    } else if (order > 0) {
      yield [(b as KeyedLine).key, undefined, itemOf(b as KeyedLine)];
      await right.next();
    } else {
      yield [(a as KeyedLine).key, itemOf(a as KeyedLine), itemOf(b as KeyedLine)];
      await left.next();
      await right.next();
    }
  }
}

/** An item's JSON before and after is a change: it came, it went, or its attributes differ. */
function isChange(before: string | undefined, after: string | undefined): boolean {
  if (before === undefined || after === undefined) return before !== after;
  return before !== after && !sameItem(before, after);
}

/** The keys whose item differs before and after. */
async function* differences(pairs: AsyncIterable<ItemChange>): AsyncGenerator<ItemChange> {
  for await (const [key, before, after] of pairs) if (isChange(before, after)) yield [key, before, after];
}

/** Two items as JSON are the same item when their attributes are equal in any order. */
function sameItem(left: string, right: string): boolean {
  const sorted = (json: string) => {
    const item = JSON.parse(json) as Record<string, unknown>;
    return JSON.stringify(Object.keys(item).sort().map((name) => [name, item[name]]));
  };
  return sorted(left) === sorted(right);
}
