import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../../lambda/shared/errors';
import { downloadObjects, folderPrefix, getObjectBytes, getObjectBytesIfAny, listFiles, listObjects, localPathOf, mapConcurrent, uploadFile, uploadFolder } from '../../../../scripts/local/glue/s3-files';
import { thrownBy } from '../../../helpers/errors';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';

/**
 * How the twins move data through the S3 API (scripts/local/glue/s3-files.ts), against a real
 * s3rver: listings, reads, the refusals that name the bucket or key, and the local paths that
 * keys from data may or may not become.
 */

const s3 = useLocalS3();

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dynalake-s3-files-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A client of the same s3rver with an access key it does not know: every request is refused with InvalidAccessKeyId. */
function unknownKeyClient(): S3Client {
  return new S3Client({
    endpoint: s3().endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'S3RVER' },
  });
}

// The length given: the SDK cannot tell an empty string's, and warns.
async function put(bucket: string, key: string, body: string): Promise<void> {
  await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));
}

describe('folderPrefix', () => {
  it.each([
    ['curated/orders', 'curated/orders/'],
    ['curated/orders/', 'curated/orders/'],
    ['/curated/orders/', 'curated/orders/'],
    ['//curated/orders//', 'curated/orders/'],
    ['///curated/orders', 'curated/orders/'],
    ['curated/orders///', 'curated/orders/'],
    ['curated//orders', 'curated//orders/'],
    ['', ''],
    ['/', ''],
    ['///', ''],
  ])('makes %j the folder %j', (prefix, folder) => {
    expect(folderPrefix(prefix)).toBe(folder);
  });
});

describe('listObjects', () => {
  // Keys whose S3 (byte) order is neither the order they are written in nor s3rver's, which walks
  // its folders in the file system's order: `-` and `.` sort before `/`, upper case before lower
  // case, `10` before `9`.
  const bodies: Record<string, string> = {
    'in/m.csv': 'm',
    'in/a/b': 'ab',
    'in/a-b': 'a-b!',
    'in/a.b': 'a.b',
    'in/a0': 'a0---',
    'in/Z': 'Z',
    'in/b/9/x': '9x',
    'in/b/10/x': '10x',
    'in/zz': 'zzzzzzz',
    'in/c': 'cc',
    'in/B': 'BBBBBBBBB',
    'in/a/a': 'aa',
    'in/y.parquet': '0123456789',
    'in/e': 'e',
  };
  const sorted = ['in/B', 'in/Z', 'in/a-b', 'in/a.b', 'in/a/a', 'in/a/b', 'in/a0', 'in/b/10/x', 'in/b/9/x', 'in/c', 'in/e', 'in/m.csv', 'in/y.parquet', 'in/zz'];
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(s3(), 'list');
    for (const [key, body] of Object.entries(bodies)) await put(bucket, key, body);
    await put(bucket, 'out/skipped', 'not under in/');
  });

  it('lists every object under the prefix, sorted by key, with its size, quoted ETag and time', async () => {
    const objects = await listObjects(s3().client, bucket, 'in/');
    expect(objects.map((object) => object.key)).toEqual(sorted);
    expect(objects).toEqual(
      sorted.map((key) => {
        const body = bodies[key] ?? '';
        return { key, size: body.length, etag: `"${createHash('md5').update(body).digest('hex')}"`, lastModified: expect.any(Date) as unknown };
      }),
    );
  });

  it('lists the whole bucket under an empty prefix, and nothing under a prefix without objects', async () => {
    expect((await listObjects(s3().client, bucket, '')).map((object) => object.key)).toEqual([...sorted, 'out/skipped']);
    expect(await listObjects(s3().client, bucket, 'nothing/')).toEqual([]);
  });

  it('refuses a missing bucket as BAD_INVOCATION, naming it', async () => {
    const error = await listObjects(s3().client, 'no-such-bucket', 'in/').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INVOCATION', message: 's3://no-such-bucket: no such bucket' });
  });

  it('passes on any other error of the listing as S3 gave it', async () => {
    const client = unknownKeyClient();
    try {
      const error = await listObjects(client, bucket, 'in/').catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      client.destroy();
    }
  });
});

describe('getObjectBytes', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(s3(), 'get');
    await put(bucket, 'data/a.txt', 'hello');
    await put(bucket, 'data/empty', '');
  });

  it("answers with an object's bytes, an empty object with none", async () => {
    expect(Buffer.from(await getObjectBytes(s3().client, bucket, 'data/a.txt')).toString('utf8')).toBe('hello');
    expect(await getObjectBytes(s3().client, bucket, 'data/empty')).toHaveLength(0);
  });

  it('refuses a missing bucket and a missing object as BAD_INVOCATION, naming them', async () => {
    await expect(getObjectBytes(s3().client, 'no-such-bucket', 'data/a.txt')).rejects.toMatchObject({ code: 'BAD_INVOCATION', message: 's3://no-such-bucket: no such bucket' });
    const error = await getObjectBytes(s3().client, bucket, 'data/missing.txt').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INVOCATION', message: `s3://${bucket}/data/missing.txt: no such object` });
  });

  it('passes on any other error of the read as S3 gave it', async () => {
    const client = unknownKeyClient();
    try {
      const error = await getObjectBytes(client, bucket, 'data/a.txt').catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      client.destroy();
    }
  });
});

describe('getObjectBytesIfAny', () => {
  it("answers with an object's bytes, and with nothing for a key no object has, one that only starts like it included", async () => {
    const bucket = await createBucket(s3(), 'get-if-any');
    await put(bucket, 'state/job/merged.json.old', 'old');
    expect(await getObjectBytesIfAny(s3().client, bucket, 'state/job/merged.json')).toBeUndefined();
    await put(bucket, 'state/job/merged.json', '{}');
    expect(Buffer.from((await getObjectBytesIfAny(s3().client, bucket, 'state/job/merged.json')) ?? []).toString('utf8')).toBe('{}');
  });
});

describe('mapConcurrent', () => {
  /** Resolves after `count` turns of the event loop. */
  async function turns(count: number): Promise<void> {
    for (let turn = 0; turn < count; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  it('runs at most `limit` items at once, and answers in input order whatever order they finish in', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await mapConcurrent([5, 1, 4, 2, 3, 1], 2, async (item) => {
      started.push(item);
      running += 1;
      most = Math.max(most, running);
      await turns(item);
      running -= 1;
      return item * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 10]);
    expect(most).toBe(2);
    expect(started.sort()).toEqual([1, 1, 2, 3, 4, 5]);
  });

  it('runs every item at once under a limit above their number, and nothing for no items', async () => {
    let running = 0;
    let most = 0;
    const results = await mapConcurrent(['a', 'b', 'c'], 8, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await turns(1);
      running -= 1;
      return item.toUpperCase();
    });
    expect(results).toEqual(['A', 'B', 'C']);
    expect(most).toBe(3);
    expect(await mapConcurrent([], 8, () => Promise.reject(new Error('never called')))).toEqual([]);
  });

  it('gives each item its index', async () => {
    expect(await mapConcurrent(['a', 'b', 'c'], 2, (item, index) => Promise.resolve(`${item}${String(index)}`))).toEqual(['a0', 'b1', 'c2']);
  });

  it('on a failure starts nothing more, lets what runs end, then rejects with the first error', async () => {
    const ended: number[] = [];
    const started: number[] = [];
    const failing = mapConcurrent([1, 2, 3, 4, 5, 6], 3, async (item) => {
      started.push(item);
      await turns(item === 1 ? 1 : 6);
      if (item === 1) throw new Error('first');
      ended.push(item);
      if (item === 2) throw new Error('second');
      return item;
    });
    await expect(failing).rejects.toThrow('first');
    // 1 failed while 2 and 3 ran: both ended before the rejection (2 failing too, later), and 4 to 6 never started.
    expect(started).toEqual([1, 2, 3]);
    expect(ended.sort()).toEqual([2, 3]);
  });
});

describe('localPathOf', () => {
  it('keeps the folders after the prefix below the directory', () => {
    expect(localPathOf('/scratch/in', 'curated/orders/', 'curated/orders/dt=2024-05-01/part-0.parquet')).toBe('/scratch/in/dt=2024-05-01/part-0.parquet');
    expect(localPathOf('/scratch/in', 'curated/orders/', 'curated/orders/a.parquet')).toBe('/scratch/in/a.parquet');
    expect(localPathOf('/scratch/in', '', 'a/b/c.csv')).toBe('/scratch/in/a/b/c.csv');
    // `..` is refused as a segment only: inside a name it is a name.
    expect(localPathOf('/scratch/in', 'p/', 'p/..a/b..')).toBe('/scratch/in/..a/b..');
  });

  it('refuses a key that is not under the prefix, naming both', () => {
    for (const key of ['raw/orders/a.csv', 'curated/order', 'curated/ordersX/a.parquet']) {
      const error = thrownBy(() => localPathOf('/scratch/in', 'curated/orders/', key));
      expect(error).toBeInstanceOf(DynalakeError);
      expect(error).toMatchObject({ code: 'BAD_INPUT', message: `object key ${JSON.stringify(key)} is not under "curated/orders/"` });
    }
  });

  it.each([
    ['the prefix itself (a folder marker)', 'curated/orders/'],
    ['a trailing slash', 'curated/orders/dt=1/'],
    ['an empty segment', 'curated/orders/dt=1//a.parquet'],
    ['a leading slash after the prefix', 'curated/orders//a.parquet'],
    ['a `.` segment', 'curated/orders/./a.parquet'],
    ['a `.` last', 'curated/orders/dt=1/.'],
    ['a `..` segment', 'curated/orders/../../etc/passwd'],
    ['a `..` among good segments', 'curated/orders/dt=1/../a.parquet'],
    ['a `..` last', 'curated/orders/dt=1/..'],
  ])('refuses a key with %s, which cannot be a local file below the directory', (_case, key) => {
    const error = thrownBy(() => localPathOf('/scratch/in', 'curated/orders/', key));
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: `object key ${JSON.stringify(key)} cannot be copied to a local file` });
  });
});

describe('listFiles', () => {
  it('lists every file below the folder as a relative path with `/`, sorted, leaving out what is not a file', async () => {
    const dir = join(scratch, 'list-files');
    const names = ['m.parquet', 'dt=9/b', 'dt=10/a', 'Z', 'a-b', 'a/b', 'a.b', 'a0', '_SUCCESS', 'dt=9/a/deep.parquet', 'c', 'y', 'B'];
    for (const name of names) {
      mkdirSync(join(dir, ...name.split('/').slice(0, -1)), { recursive: true });
      writeFileSync(join(dir, ...name.split('/')), name);
    }
    mkdirSync(join(dir, 'empty'));
    symlinkSync(join(dir, 'm.parquet'), join(dir, 'link.parquet'));
    symlinkSync(join(dir, 'dt=9'), join(dir, 'dt=9', 'loop'));
    expect(await listFiles(dir)).toEqual(['B', 'Z', '_SUCCESS', 'a-b', 'a.b', 'a/b', 'a0', 'c', 'dt=10/a', 'dt=9/a/deep.parquet', 'dt=9/b', 'm.parquet', 'y']);
  });
});

describe('uploadFolder and downloadObjects', () => {
  it('round-trips a folder through a prefix, keys and paths sorted', async () => {
    const bucket = await createBucket(s3(), 'round-trip');
    const source = join(scratch, 'upload');
    mkdirSync(join(source, 'dt=2'), { recursive: true });
    mkdirSync(join(source, 'dt=1'), { recursive: true });
    writeFileSync(join(source, 'dt=2', 'b.csv'), 'b');
    writeFileSync(join(source, 'dt=1', 'a.csv'), 'aa');
    expect(await uploadFolder(s3().client, bucket, 'out/', source)).toEqual(['out/dt=1/a.csv', 'out/dt=2/b.csv']);
    expect(await listKeys(s3(), bucket)).toEqual(['out/dt=1/a.csv', 'out/dt=2/b.csv']);

    const target = join(scratch, 'download');
    const paths = await downloadObjects(s3().client, bucket, await listObjects(s3().client, bucket, 'out/'), 'out/', target);
    expect(paths).toEqual([join(target, 'dt=1', 'a.csv'), join(target, 'dt=2', 'b.csv')]);
    expect(paths.map((path) => readFileSync(path, 'utf8'))).toEqual(['aa', 'b']);
  });
});

describe('uploadFile', () => {
  it('sends the file again when the connection drops, as s3rver under load does now and then', async () => {
    // An endpoint that hangs up on the first PUT it reads whole, and keeps what the second one sent.
    const bodies: Buffer[] = [];
    let attempts = 0;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        attempts += 1;
        if (attempts === 1) {
          request.socket.destroy();
          return;
        }
        bodies.push(Buffer.concat(chunks));
        response.writeHead(200, { ETag: '"e"' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
    });
    const file = join(scratch, 'dropped.parquet');
    writeFileSync(file, 'PAR1 the bytes PAR1');
    try {
      await uploadFile(client, 'lake', 'curated/orders/invoice_day=2010-12-01/part-0.parquet', file);
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(attempts).toBe(2);
    expect(bodies.map((body) => body.toString('utf8'))).toEqual(['PAR1 the bytes PAR1']);
  });
});
