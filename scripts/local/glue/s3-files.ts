import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../lambda/shared/errors';

/**
 * How the twins move data: through the S3 API, like the Glue jobs (s3rver's on-disk layout is
 * private, and DuckDB's httpfs cannot be installed here). Objects are copied into a scratch
 * folder, DuckDB works on local files, and results go back with PutObject.
 */

/** An object as listed. */
export interface S3ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** The ETag as S3 returns it, quotes included. */
  readonly etag: string;
  readonly lastModified?: Date;
}

/** Requests in flight at once when copying many objects. */
const CONCURRENCY = 8;

/**
 * A job argument's prefix as a folder: `curated/orders`, `curated/orders/` and `/curated/orders/`
 * all become `curated/orders/` (dynalake_glue.s3_path); an empty prefix stays empty (the bucket).
 */
export function folderPrefix(prefix: string): string {
  const folder = prefix.replace(/^\/+|\/+$/g, '');
  return folder === '' ? '' : `${folder}/`;
}

function isNoSuchBucket(error: unknown): boolean {
  return (error as { name?: string }).name === 'NoSuchBucket';
}

/** Every object under `prefix`, sorted by key. A missing bucket is a BAD_INVOCATION error. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<S3ObjectInfo[]> {
  const objects: S3ObjectInfo[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        objects.push({ key: object.Key, size: object.Size ?? 0, etag: object.ETag ?? '', lastModified: object.LastModified });
      }
    }
  } catch (error) {
    if (isNoSuchBucket(error)) throw new DynalakeError('BAD_INVOCATION', `s3://${bucket}: no such bucket`);
    throw error;
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** An object's bytes. */
export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new DynalakeError('LOAD_FAILED', `s3://${bucket}/${key}: the object has no body`);
    return await response.Body.transformToByteArray();
  } catch (error) {
    if (isNoSuchBucket(error)) throw new DynalakeError('BAD_INVOCATION', `s3://${bucket}: no such bucket`);
    if ((error as { name?: string }).name === 'NoSuchKey') throw new DynalakeError('BAD_INVOCATION', `s3://${bucket}/${key}: no such object`);
    throw error;
  }
}

/**
 * An object's bytes, or undefined when there is none (dynalake_glue read_text_object): a job's
 * state object before its first run. Listed first, so a key that only starts like it is not it.
 */
export async function getObjectBytesIfAny(s3: S3Client, bucket: string, key: string): Promise<Uint8Array | undefined> {
  if (!(await listObjects(s3, bucket, key)).some((object) => object.key === key)) return undefined;
  return getObjectBytes(s3, bucket, key);
}

/**
 * Runs `work` on every item (with its index), at most `limit` at once; resolves with the results
 * in input order. On a failure it starts no more work and rejects with the first error once the
 * work already started has ended: nothing goes on writing after the caller has heard of it (a
 * scratch folder being removed, say).
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * The local path of `key` below `dir`, the part after `prefix` kept as folders. A key that would
 * leave `dir` (`..` segments, empty segments) is refused: keys come from data.
 */
export function localPathOf(dir: string, prefix: string, key: string): string {
  if (!key.startsWith(prefix)) throw new DynalakeError('BAD_INPUT', `object key ${JSON.stringify(key)} is not under ${JSON.stringify(prefix)}`);
  const segments = key.slice(prefix.length).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new DynalakeError('BAD_INPUT', `object key ${JSON.stringify(key)} cannot be copied to a local file`);
  }
  return join(dir, ...segments);
}

/**
 * Copies objects (all under `prefix`) into `dir`, keeping the folders after `prefix`. Returns the
 * local paths. `downloaded` hears of each file as soon as it is written, with its object's index.
 */
export async function downloadObjects(
  s3: S3Client,
  bucket: string,
  objects: readonly S3ObjectInfo[],
  prefix: string,
  dir: string,
  downloaded?: (index: number, path: string) => void,
): Promise<string[]> {
  return mapConcurrent(objects, CONCURRENCY, async (object, index) => {
    const path = localPathOf(dir, prefix, object.key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await getObjectBytes(s3, bucket, object.key));
    downloaded?.(index, path);
    return path;
  });
}

/** Every file below `dir`, as paths relative to it with `/` separators, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  await walk(dir);
  return files.sort();
}

/**
 * Uploads one file as `key`. The body is the file's bytes, not a stream of it: the SDK retries a
 * request whose body it can send again, and s3rver under load drops a kept-alive connection now
 * and then ("socket hang up"), which failed a whole job run when the body was a stream.
 */
export async function uploadFile(s3: S3Client, bucket: string, key: string, path: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }));
}

/** Uploads every file below `dir` under `prefix` (key = prefix + relative path). Returns the keys, sorted. */
export async function uploadFolder(s3: S3Client, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const files = await listFiles(dir);
  await mapConcurrent(files, CONCURRENCY, (file) => uploadFile(s3, bucket, `${prefix}${file}`, join(dir, ...file.split('/'))));
  return files.map((file) => `${prefix}${file}`);
}

/** Deletes objects (one DeleteObject each: a run deletes a handful of partition files). */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  await mapConcurrent(keys, CONCURRENCY, async (key) => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });
}
