import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ChangeRecord, encodeChangeObject } from '../../../../lambda/shared/cdc';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { type ChangeFile, checkChangeFilesOnThread, createChangesTable, createChangesTableFromFiles, isChangeObject, notingNewestChange, readChangeObjects, type SourcedRecords } from '../../../../scripts/local/glue/changes';
import { readRows, withDuckDB } from '../../../../scripts/local/glue/duckdb';
import type { S3ObjectInfo } from '../../../../scripts/local/glue/s3-files';

/**
 * The twins' change reading: CDC objects fetched a few ahead and decoded in order, and the
 * changes table they fill (orders-to-lake.test.ts and campaign-progress.test.ts run both in the
 * twins).
 */

const record = (id: string, sequenceNumber: string, images: Pick<ChangeRecord, 'eventName' | 'newImage' | 'oldImage'>): ChangeRecord => ({
  keys: { id },
  sequenceNumber,
  approximateCreationTime: 1714521600,
  ...images,
});
const inserted = (id: string, sequenceNumber: string) => record(id, sequenceNumber, { eventName: 'INSERT', newImage: { id, total: 1 }, oldImage: null });

/** An S3 client that serves `objects` (key → bytes) to GetObject and records each key asked for, in order. */
function servingS3(objects: ReadonlyMap<string, Uint8Array>): { readonly s3: S3Client; readonly asked: string[] } {
  const asked: string[] = [];
  const send = (command: { input: { Key: string } }) => {
    asked.push(command.input.Key);
    const bytes = objects.get(command.input.Key);
    return Promise.resolve({ Body: { transformToByteArray: () => Promise.resolve(bytes ?? new Uint8Array([1, 2, 3])) } });
  };
  return { s3: { send } as unknown as S3Client, asked };
}

const listed = (key: string): S3ObjectInfo => ({ key, size: 1, etag: '"e"' });

describe('isChangeObject', () => {
  it('takes only gzipped JSON-lines objects', () => {
    expect(['cdc/orders/a.jsonl.gz', 'cdc/orders/a.jsonl', 'cdc/orders/a.json.gz', 'cdc/orders/'].map(isChangeObject)).toEqual([true, false, false, false]);
  });
});

describe('readChangeObjects', () => {
  const keys = [1, 2, 3, 4, 5, 6, 7].map((n) => `cdc/orders/${String(n)}.jsonl.gz`);
  const objects = new Map(keys.map((key, index) => [key, encodeChangeObject([inserted(`o${String(index + 1)}`, String(index + 1))])]));

  it('yields each object’s records in the order given, named by its S3 URL', async () => {
    const { s3 } = servingS3(objects);
    const read: SourcedRecords[] = [];
    for await (const batch of readChangeObjects(s3, 'landing', [...keys].reverse().map(listed))) read.push(batch);
    expect(read).toEqual(
      [...keys].reverse().map((key) => ({ source: `s3://landing/${key}`, records: [inserted(`o${key.slice('cdc/orders/'.length, -'.jsonl.gz'.length)}`, key.slice('cdc/orders/'.length, -'.jsonl.gz'.length))] })),
    );
  });

  it('fetches `ahead` objects beyond the one it gives out, and no more', async () => {
    const { s3, asked } = servingS3(objects);
    const reading = readChangeObjects(s3, 'landing', keys.map(listed), 2);
    expect((await reading.next()).value).toMatchObject({ source: 's3://landing/cdc/orders/1.jsonl.gz' });
    expect(asked).toEqual(keys.slice(0, 3));
    expect((await reading.next()).value).toMatchObject({ source: 's3://landing/cdc/orders/2.jsonl.gz' });
    expect(asked).toEqual(keys.slice(0, 4));
    await reading.return(undefined);
  });

  it('fetches four ahead by default', async () => {
    const { s3, asked } = servingS3(objects);
    const reading = readChangeObjects(s3, 'landing', keys.map(listed));
    await reading.next();
    expect(asked).toEqual(keys.slice(0, 5));
    await reading.return(undefined);
  });

  it('names the object that does not decode', async () => {
    const { s3 } = servingS3(new Map());
    await expect(readChangeObjects(s3, 'landing', [listed('cdc/orders/broken.jsonl.gz')]).next()).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/^s3:\/\/landing\/cdc\/orders\/broken\.jsonl\.gz: not gzip \(/) as unknown,
    });
  });
});

describe('createChangesTable', () => {
  const changes = [
    inserted('o1', '10'),
    record('o1', '11', { eventName: 'MODIFY', newImage: { id: 'o1', total: 2.50 }, oldImage: { id: 'o1', total: 1 } }),
    record('o1', '12', { eventName: 'REMOVE', newImage: null, oldImage: { id: 'o1', total: 2.5 } }),
  ];

  it('writes one row per record in the order read, SQL NULL for an image the change has not', async () => {
    await withDuckDB(async (connection) => {
      expect(await createChangesTable(connection, 'changes', [{ source: 's3://landing/a.jsonl.gz', records: changes.slice(0, 2) }, { source: 's3://landing/b.jsonl.gz', records: changes.slice(2) }])).toBe(3);
      expect(
        await readRows(
          connection,
          'SELECT read_order, source, event_name, keys::VARCHAR AS keys, sequence_number, new_image::VARCHAR AS new_image, old_image::VARCHAR AS old_image FROM changes ORDER BY read_order',
        ),
      ).toEqual([
        { read_order: 0, source: 's3://landing/a.jsonl.gz', event_name: 'INSERT', keys: '{"id":"o1"}', sequence_number: '10', new_image: '{"id":"o1","total":1}', old_image: null },
        { read_order: 1, source: 's3://landing/a.jsonl.gz', event_name: 'MODIFY', keys: '{"id":"o1"}', sequence_number: '11', new_image: '{"id":"o1","total":2.5}', old_image: '{"id":"o1","total":1}' },
        { read_order: 2, source: 's3://landing/b.jsonl.gz', event_name: 'REMOVE', keys: '{"id":"o1"}', sequence_number: '12', new_image: null, old_image: '{"id":"o1","total":2.5}' },
      ]);
    });
  });

  it('rejects with the error of a batch that fails to read, having closed its appender: the rows read before are in the table', async () => {
    const failure = new Error('s3://landing/b.jsonl.gz: not gzip');
    async function* batches(): AsyncGenerator<SourcedRecords> {
      yield { source: 's3://landing/a.jsonl.gz', records: changes.slice(0, 2) };
      await Promise.resolve();
      throw failure;
    }
    await withDuckDB(async (connection) => {
      await expect(createChangesTable(connection, 'changes', batches())).rejects.toBe(failure);
      expect(await readRows(connection, 'SELECT read_order, event_name FROM changes ORDER BY read_order')).toEqual([
        { read_order: 0, event_name: 'INSERT' },
        { read_order: 1, event_name: 'MODIFY' },
      ]);
    });
  });
});

/**
 * Local copies of CDC objects, as the twin downloads them, in a fresh folder for each test
 * (removed after it): `file` writes one holding `text` (gzipped), named `sourcePrefix` + its name.
 */
function useChangeFiles(sourcePrefix: string): { readonly file: (name: string, text: string) => ChangeFile; readonly dir: () => string } {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dynalake-changes-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, gzipSync(text));
    return { path, source: `${sourcePrefix}${name}` };
  };
  return { file, dir: () => dir };
}

describe('createChangesTableFromFiles', () => {
  const { file } = useChangeFiles('s3://landing/cdc/orders/');
  const lines = (...records: ChangeRecord[]) => records.map((each) => `${JSON.stringify(each)}\n`).join('');
  const at = (each: ChangeRecord, approximateCreationTime: number): ChangeRecord => ({ ...each, approximateCreationTime });
  const changes = [
    at(inserted('o1', '10'), 1714521700),
    record('o1', '11', { eventName: 'MODIFY', newImage: { id: 'o1', total: 2.5 }, oldImage: { id: 'o1', total: 1 } }),
    at(record('o1', '12', { eventName: 'REMOVE', newImage: null, oldImage: { id: 'o1', total: 2.5 } }), 1714521650.25),
    inserted('o2', '12'),
  ];
  /** The table's columns and their types, by name: the same, whichever way the table was made. */
  const columnsOfChanges = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'changes' ORDER BY column_name";
  const everyColumn = 'SELECT read_order, source, event_name, keys::VARCHAR AS keys, sequence_number, new_image::VARCHAR AS new_image, old_image::VARCHAR AS old_image FROM changes ORDER BY read_order';

  it('reads the files in the order given, blank lines left out, into the rows createChangesTable writes for the same records, and notes the newest change', async () => {
    // Named so that the order given is not the files' alphabetical order.
    const files = [file('b.jsonl.gz', `${lines(changes[0] as ChangeRecord)}\n${lines(changes[1] as ChangeRecord)}\n`), file('a.jsonl.gz', lines(changes[2] as ChangeRecord, changes[3] as ChangeRecord))];
    await withDuckDB(async (connection) => {
      expect(await createChangesTableFromFiles(connection, 'changes', files)).toEqual({ records: 4, newest: 1714521700 });
      const fromFiles = await readRows(connection, everyColumn);
      const columnsFromFiles = await readRows(connection, columnsOfChanges);
      await createChangesTable(connection, 'changes', [
        { source: 's3://landing/cdc/orders/b.jsonl.gz', records: changes.slice(0, 2) },
        { source: 's3://landing/cdc/orders/a.jsonl.gz', records: changes.slice(2) },
      ]);
      expect(fromFiles).toEqual(await readRows(connection, everyColumn));
      expect(await readRows(connection, columnsOfChanges)).toEqual(columnsFromFiles);
      expect(fromFiles.map((row) => [row.read_order, row.source, row.sequence_number, row.new_image])).toEqual([
        [0, 's3://landing/cdc/orders/b.jsonl.gz', '10', '{"id":"o1","total":1}'],
        [1, 's3://landing/cdc/orders/b.jsonl.gz', '11', '{"id":"o1","total":2.5}'],
        [2, 's3://landing/cdc/orders/a.jsonl.gz', '12', null],
        [3, 's3://landing/cdc/orders/a.jsonl.gz', '12', '{"id":"o2","total":1}'],
      ]);
      expect(await readRows(connection, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'changes%' ORDER BY 1")).toEqual([{ table_name: 'changes' }]);
    });
  });

  it('gives the same table when the files are checked on a thread of their own, handed over in any order', async () => {
    const files = [file('b.jsonl.gz', lines(changes[0] as ChangeRecord, changes[1] as ChangeRecord)), file('a.jsonl.gz', lines(changes[2] as ChangeRecord)), file('c.jsonl.gz', lines(changes[3] as ChangeRecord))];
    await withDuckDB(async (connection) => {
      const check = checkChangeFilesOnThread();
      for (const index of [2, 0, 1]) check.add(index, files[index] as (typeof files)[number]);
      expect(await createChangesTableFromFiles(connection, 'changes', files, check)).toEqual({ records: 4, newest: 1714521700 });
      const checkedOnThread = await readRows(connection, everyColumn);
      expect(await createChangesTableFromFiles(connection, 'changes', files)).toEqual({ records: 4, newest: 1714521700 });
      expect(checkedOnThread).toEqual(await readRows(connection, everyColumn));
      expect(checkedOnThread).toHaveLength(4);
    });
  });

  it('makes an empty table of no files, and of files without records', async () => {
    await withDuckDB(async (connection) => {
      expect(await createChangesTableFromFiles(connection, 'changes', [])).toEqual({ records: 0, newest: undefined });
      expect(await readRows(connection, everyColumn)).toEqual([]);
      expect(await createChangesTableFromFiles(connection, 'changes', [file('empty.jsonl.gz', ''), file('blank.jsonl.gz', '\n\n')])).toEqual({ records: 0, newest: undefined });
      expect(await readRows(connection, everyColumn)).toEqual([]);
    });
  });

  it('refuses a file decodeChangeObject refuses, with its message (object, line, field), whatever DuckDB made of it', async () => {
    const bogus = JSON.stringify({ ...changes[1], eventName: 'UPSERT' });
    await withDuckDB(async (connection) => {
      await expect(createChangesTableFromFiles(connection, 'changes', [file('a.jsonl.gz', lines(changes[0] as ChangeRecord)), file('b.jsonl.gz', `${lines(changes[2] as ChangeRecord)}${bogus}\n`)])).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: 's3://landing/cdc/orders/b.jsonl.gz, line 2: field eventName is "UPSERT"',
      });
      await expect(createChangesTableFromFiles(connection, 'changes', [file('c.jsonl.gz', '{"eventName": "INSERT",\n')])).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: expect.stringMatching(/^s3:\/\/landing\/cdc\/orders\/c\.jsonl\.gz, line 1: not JSON \(/) as unknown,
      });
      // DuckDB's read has settled: the connection goes on.
      expect(await readRows(connection, 'SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
    });
  });

  it('refuses, with DuckDB’s reason, a file that decodes but that DuckDB cannot read', async () => {
    // JSON.parse keeps the last of two same-named fields; DuckDB refuses the object.
    const twice = lines(changes[0] as ChangeRecord).replace('{"keys"', '{"eventName":"INSERT","keys"');
    await withDuckDB(async (connection) => {
      await expect(createChangesTableFromFiles(connection, 'changes', [file('a.jsonl.gz', twice)])).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: expect.stringMatching(/^the change objects decode, but DuckDB cannot read them: .*duplicate key "eventName"/s) as unknown,
      });
    });
  });
});

describe('checkChangeFilesOnThread', () => {
  const { file, dir } = useChangeFiles('s3://landing/');
  const line = (id: string, sequenceNumber: string, time = 1714521600) => `${JSON.stringify({ ...inserted(id, sequenceNumber), approximateCreationTime: time })}\n`;

  it('counts the records of every file and notes the newest change, whatever order they come in', async () => {
    const check = checkChangeFilesOnThread();
    check.add(1, file('b.jsonl.gz', line('o2', '2', 1714521900) + line('o3', '3')));
    check.add(0, file('a.jsonl.gz', line('o1', '1')));
    check.add(2, file('c.jsonl.gz', ''));
    expect(await check.result(3)).toEqual({ records: 3, newest: 1714521900 });
  });

  it('answers nothing read for no files', async () => {
    expect(await checkChangeFilesOnThread().result(0)).toEqual({ records: 0, newest: undefined });
  });

  it('refuses with the codec’s own error for the first refused file in read order, not the first checked', async () => {
    const check = checkChangeFilesOnThread();
    check.add(2, file('c.jsonl.gz', 'not json\n'));
    check.add(1, file('b.jsonl.gz', `${line('o1', '1')}{"eventName":"UPSERT"}\n`));
    check.add(0, file('a.jsonl.gz', line('o2', '2')));
    check.add(3, file('d.jsonl.gz', '[]\n'));
    await expect(check.result(4)).rejects.toThrow(new DynalakeError('BAD_INPUT', 's3://landing/b.jsonl.gz, line 2: field eventName is "UPSERT"'));
  });

  it('refuses when a file was never handed over, and passes on an error of another kind as it is', async () => {
    const missing = checkChangeFilesOnThread();
    missing.add(0, file('a.jsonl.gz', line('o1', '1')));
    await expect(missing.result(2)).rejects.toThrow(new Error('file 1 of 2 was never handed over to be checked'));
    const unreadable = checkChangeFilesOnThread();
    unreadable.add(0, { path: join(dir(), 'gone.jsonl.gz'), source: 's3://landing/gone.jsonl.gz' });
    const error = await unreadable.result(1).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error).not.toBeInstanceOf(DynalakeError);
    expect(error?.message).toMatch(/^ENOENT: no such file or directory, open '.*gone\.jsonl\.gz'$/);
  });

  it('fails with the thread’s own error when the thread cannot start', async () => {
    await expect(checkChangeFilesOnThread(join(dir(), 'no-codec.js')).result(0)).rejects.toThrow(/^Cannot find module '.*no-codec\.js'/);
  });

  // The process's threads, as Linux lists them: a check's thread, once it has answered or been stopped, is gone.
  (process.platform === 'linux' ? it : it.skip)('ends its thread once it has answered, and when stopped', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    await checkChangeFilesOnThread().result(0); // whatever a first thread leaves started for good
    const before = threads();
    for (const files of [0, 1, 0]) {
      const check = checkChangeFilesOnThread();
      if (files === 1) check.add(0, file('a.jsonl.gz', line('o1', '1')));
      await check.result(files);
      expect(threads()).toBe(before);
    }
    const live = checkChangeFilesOnThread();
    await live.result(1).catch(() => undefined); // answered (file 0 never handed over): ended too
    expect(threads()).toBe(before);
    const running = checkChangeFilesOnThread();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(threads()).toBeGreaterThan(before);
    await running.stop();
    expect(threads()).toBe(before);
    // Stopped with files still queued: it lets them go and ends between two of them.
    const busy = checkChangeFilesOnThread();
    const queued = file('queued.jsonl.gz', line('o1', '1').repeat(1000));
    for (let index = 0; index < 50; index += 1) busy.add(index, queued);
    await busy.stop();
    expect(threads()).toBe(before);
    // A thread that never started ends too, and a second stop changes nothing.
    const broken = checkChangeFilesOnThread(join(dir(), 'no-codec.js'));
    await broken.stop();
    await broken.stop();
    expect(threads()).toBe(before);
  });

  it('says so when the thread was stopped before it answered', async () => {
    const check = checkChangeFilesOnThread();
    await check.stop();
    await expect(check.result(0)).rejects.toThrow(/^the check of the change objects stopped \(exit code \d+\) before it answered$/);
  });
});

describe('notingNewestChange', () => {
  const at = (id: string, time: number): ChangeRecord => ({ ...inserted(id, '1'), approximateCreationTime: time });
  // An async iterable, as readChangeObjects gives one: each batch is produced when asked for.
  async function* batches(...times: (readonly number[])[]): AsyncGenerator<SourcedRecords> {
    for (const [index, list] of times.entries()) {
      yield await Promise.resolve({ source: `s3://landing/${String(index)}`, records: list.map((time, position) => at(`${String(index)}-${String(position)}`, time)) });
    }
  }

  it('passes every batch through as it is read, and notes the newest creation time among them, whichever batch holds it', async () => {
    const noted = notingNewestChange(batches([1714521600.5, 1714521700], [], [1714521650.25]));
    expect(noted.newest()).toBeUndefined(); // nothing read yet
    const seen: string[] = [];
    for await (const batch of noted.batches) seen.push(`${batch.source}:${String(batch.records.length)}`);
    expect(seen).toEqual(['s3://landing/0:2', 's3://landing/1:0', 's3://landing/2:1']);
    expect(noted.newest()).toBe(1714521700);
  });

  it('notes the first record of a batch as the newest when it is, and nothing for batches without records', async () => {
    const first = notingNewestChange(batches([1714521800, 1714521600]));
    for await (const batch of first.batches) expect(batch.records).toHaveLength(2);
    expect(first.newest()).toBe(1714521800);
    const empty = notingNewestChange(batches([], []));
    for await (const batch of empty.batches) expect(batch.records).toEqual([]);
    expect(empty.newest()).toBeUndefined();
  });
});
