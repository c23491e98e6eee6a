import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Checkpoint, checkpointPathFor, fingerprint, readCheckpoint, Watermark, writeCheckpoint } from '../../../scripts/seed/checkpoint';

let workdir: string;
beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), 'dynalake-checkpoint-'));
});
afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

/** File descriptors this process holds open (Linux). */
const openDescriptors = () => readdirSync('/proc/self/fd').length;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const CHECKPOINT: Checkpoint = {
  version: 1,
  file: '/data/data.csv',
  fileSize: 45_580_638,
  fileHead: 'ab'.repeat(32),
  table: 'dynalake-dev-orders',
  encoding: 'latin1',
  loadedAt: '2026-01-02T03:04:05.000Z',
  rowsDone: 1200,
  rejectsBytes: 400,
  complete: false,
  updatedAt: '2026-01-02T03:05:00.000Z',
};

describe('checkpointPathFor', () => {
  it('replaces only the final .csv of the rejects file', () => {
    expect(checkpointPathFor('/data/data.csv.rejects.csv')).toBe('/data/data.csv.rejects.checkpoint.json');
    expect(checkpointPathFor('/data/rejects')).toBe('/data/rejects.checkpoint.json');
  });
});

describe('fingerprint', () => {
  it('is the size and the sha256 of the whole file when it is under 64 KiB, and closes the file', async () => {
    const path = join(workdir, 'small.csv');
    const content = Buffer.from('InvoiceNo,StockCode\r\n536365,85123A\r\n');
    writeFileSync(path, content);
    const before = openDescriptors();
    expect(await fingerprint(path)).toEqual({ fileSize: content.length, fileHead: sha256(content) });
    expect(openDescriptors()).toBe(before);
  });

  it('hashes only the first 64 KiB of a larger file', async () => {
    const path = join(workdir, 'large.csv');
    const content = Buffer.alloc(100_000, 'x');
    content.write('different tail', 90_000);
    writeFileSync(path, content);
    expect(await fingerprint(path)).toEqual({ fileSize: 100_000, fileHead: sha256(content.subarray(0, 65_536)) });
  });
});

describe('readCheckpoint / writeCheckpoint', () => {
  it('reads back what was written, as indented JSON, leaving no temporary file', () => {
    const path = join(workdir, 'rejects.checkpoint.json');
    writeCheckpoint(path, CHECKPOINT);
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(CHECKPOINT, null, 2)}\n`);
    expect(readdirSync(workdir)).toEqual(['rejects.checkpoint.json']);
    expect(readCheckpoint(path)).toEqual(CHECKPOINT);
  });

  it('is undefined when there is no checkpoint', () => {
    expect(readCheckpoint(join(workdir, 'none.json'))).toBeUndefined();
  });

  it.each([
    ['another version', JSON.stringify({ ...CHECKPOINT, version: 2 }), 'unknown version 2'],
    ['no version', '{}', 'unknown version undefined'],
    ['null', 'null', 'unknown version undefined'],
  ])('refuses a file with %s, naming it and saying how to start over', (_case, content, reason) => {
    const path = join(workdir, 'rejects.checkpoint.json');
    writeFileSync(path, content);
    let error: unknown;
    try {
      readCheckpoint(path);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: `${path}: not a dynalake seed checkpoint (${reason}); delete it to start over` });
  });
});

describe('Watermark', () => {
  it('starts at the row given, and at 0 by default', () => {
    expect(new Watermark(7).value).toBe(7);
    expect(new Watermark().value).toBe(0);
  });

  it('waits for the oldest unfinished item, whatever order batches finish in', () => {
    const watermark = new Watermark(10);
    for (const ordinal of [11, 12, 13, 14]) {
      watermark.itemQueued(ordinal);
      watermark.rowHandled(ordinal);
    }
    watermark.rowHandled(15); // a rejected row: settled as soon as it is read
    expect(watermark.value).toBe(10);
    watermark.itemsWritten([13, 14]);
    expect(watermark.value).toBe(10);
    watermark.itemsWritten([11]);
    expect(watermark.value).toBe(11);
    watermark.itemsWritten([12]);
    expect(watermark.value).toBe(15);
  });

  it('drops the settled items it keeps once more than 4,096 have passed, and counts on correctly', () => {
    const watermark = new Watermark();
    // The queue of settled items is private; read here only to check it stays bounded.
    const pending = () => (watermark as unknown as { pending: number[] }).pending.length;
    const settle = (from: number, to: number) => {
      for (let ordinal = from; ordinal <= to; ordinal += 1) {
        watermark.itemQueued(ordinal);
        watermark.rowHandled(ordinal);
      }
      watermark.itemsWritten(Array.from({ length: to - from + 1 }, (_, index) => from + index));
    };
    settle(1, 4096);
    expect(watermark.value).toBe(4096);
    expect(pending()).toBe(4096);
    settle(4097, 4097);
    expect(watermark.value).toBe(4097);
    expect(pending()).toBe(0);
    watermark.itemQueued(4098);
    watermark.rowHandled(4098);
    expect(watermark.value).toBe(4097);
    watermark.itemsWritten([4098]);
    expect(watermark.value).toBe(4098);
  });
});
