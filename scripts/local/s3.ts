import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import S3rver from 's3rver';
import { encodeEventKey } from '../../lambda/shared/s3-event';

/** An embedded S3 (s3rver) listening on loopback. */
export interface LocalS3 {
  readonly endpoint: string;
  /** A client for it: path-style, dummy credentials, checksums only where required. */
  readonly client: S3Client;
  /**
   * Calls `listener` with each event notification as S3 sends it to a Lambda: s3rver's event with
   * its object keys URL-encoded (s3rver leaves them as they are; S3 does not).
   */
  onEvent(listener: (event: S3Event) => void): void;
  close(): Promise<void>;
}

/** Options of {@link startLocalS3}. */
export interface LocalS3Options {
  /** Folder that keeps the buckets between runs. @default - a temporary folder, removed on close */
  readonly path?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
}

/**
 * An S3 client for an endpoint such as s3rver. Path-style, because s3rver's virtual hosts need
 * DNS for `<bucket>.localhost`; checksums only when required, because the SDK's default
 * aws-chunked uploads would otherwise be stored with their framing as the object's data.
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

/** Starts s3rver in this process. */
export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const directory = options.path ?? mkdtempSync(join(tmpdir(), 'dynalake-s3-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: options.port ?? 0, silent: true, directory, vhostBuckets: false });
  // Inside the XML encoder (the stack's second), so that it sees and leaves the listing as an object.
  if (server.middleware.length !== S3RVER_MIDDLEWARE_COUNT) throw new Error(`s3rver's middleware is not the stack of s3rver 3.7.1 (${String(server.middleware.length)} layers, not ${String(S3RVER_MIDDLEWARE_COUNT)})`);
  server.middleware.splice(2, 0, listObjectsV2ByMarker);
  // An instance property, over the store's prototype method: the controllers call it through the same store.
  Object.assign(server.store, { putObject: putObjectWhole(server.store) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localS3Client(endpoint);
  return {
    endpoint,
    client,
    onEvent: (listener) => {
      server.on('event', (event) => {
        listener(s3EventOf(event));
      });
    },
    close: async () => {
      client.destroy();
      await server.close();
      if (options.path === undefined) rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** s3rver 3.7.1's stack: logger, XML encoder, mount interop, virtual hosts, router. */
const S3RVER_MIDDLEWARE_COUNT = 5;

/** A version-1 listing as s3rver's getBucket controller leaves it, before the XML encoder. */
interface ListBucketResultV1 {
  readonly Marker?: string;
  readonly NextMarker?: string;
  readonly IsTruncated: boolean;
  readonly Contents: readonly { readonly Key: string; readonly Owner?: unknown }[];
  readonly CommonPrefixes: readonly unknown[];
}

const TOKEN_TAG = 'dynalake-start-after:';
/** A continuation token: the key the next page starts after, tagged and base64-encoded (S3's tokens are opaque). */
const tokenOf = (key: string) => Buffer.from(`${TOKEN_TAG}${key}`, 'utf8').toString('base64');
/** The key a token of {@link tokenOf} names, or undefined for any other token. */
function keyOfToken(token: string): string | undefined {
  const text = Buffer.from(token, 'base64').toString('utf8');
  return text.startsWith(TOKEN_TAG) && tokenOf(text.slice(TOKEN_TAG.length)) === token ? text.slice(TOKEN_TAG.length) : undefined;
}

/**
 * ListObjectsV2 served by s3rver's version-1 listing. s3rver 3.7.1 makes ListObjectsV2's
 * continuation tokens with DES, which OpenSSL 3 (Node.js 17 on) leaves out: every listing longer
 * than a page of 1,000 keys failed with InternalError, a twin's listing of cdc/ among them once
 * more than 1,000 change objects had landed (a million changes, at 1,000 records an object). Version 1
 * pages by a marker, the key to start after, and a continuation token here is that key, so the
 * SDK's paginator and the refresh-follow-up handler page as they do on S3.
 * A listing with a delimiter is left to s3rver: its page may end in a common prefix, which a key
 * marker cannot step over, and nothing here lists with one.
 */
export const listObjectsV2ByMarker: S3rver.Middleware = async (context, next) => {
  const query = context.query;
  if (context.method !== 'GET' || query['list-type'] !== '2' || !/^\/[^/]+\/?$/.test(context.path) || query.delimiter !== undefined || 'marker' in query) {
    await next();
    return;
  }
  const { 'list-type': _listType, 'continuation-token': token, 'start-after': startAfter, 'fetch-owner': fetchOwner, ...rest } = query;
  let marker = typeof startAfter === 'string' ? startAfter : undefined;
  if (typeof token === 'string' && token !== '') {
    marker = keyOfToken(token);
    if (marker === undefined) {
      context.status = 400;
      context.body = { Error: { Code: 'InvalidArgument', Message: 'The continuation token provided is incorrect', ArgumentName: 'continuation-token', ArgumentValue: token } };
      return;
    }
  }
  context.query = marker === undefined ? rest : { ...rest, marker };
  await next();
  const listing = (context.body as { ListBucketResult?: ListBucketResultV1 } | undefined)?.ListBucketResult;
  if (listing === undefined) return;
  const { Marker: _marker, NextMarker: _nextMarker, IsTruncated, Contents, CommonPrefixes, ...same } = listing;
  const last = Contents[Contents.length - 1];
  context.body = {
    ListBucketResult: {
      ...same,
      StartAfter: typeof token === 'string' && token !== '' ? undefined : startAfter,
      ContinuationToken: token === '' ? undefined : token,
      NextContinuationToken: IsTruncated && last !== undefined ? tokenOf(last.Key) : undefined,
      KeyCount: Contents.length,
      IsTruncated,
      // Version 2 names each object's owner only when asked (fetch-owner=true); version 1 always does.
      Contents: fetchOwner === 'true' ? Contents : Contents.map(({ Owner: _owner, ...object }) => object),
      CommonPrefixes,
    },
  };
};

/**
 * PutObject made whole, as on S3, for s3rver 3.7.1's filesystem store: the bytes go to a staging
 * file beside the object's (a name listings skip: they take only files ending in `._S3rver_object`),
 * then replace the object's file in one rename, then its MD5 and metadata are written. s3rver wrote
 * straight into the object's file and answered before that file was flushed, so a listing or a GET
 * in between met the object empty or cut short: a merge job that listed a change object mid-write
 * merged it as empty and noted it merged, and its records were lost (found on the Spark engine
 * under load). A PUT that fails leaves nothing; a multipart upload's completion puts through it
 * too. Overwriting, a reader between the rename and the new MD5 meets the whole new bytes with the
 * old ETag, which then changes: a copy kept by ETag (the local Spark's mirror) is fetched again,
 * never left stale.
 */
export function putObjectWhole(store: S3rver.FilesystemStore): S3rver.FilesystemStore['putObject'] {
  return async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const staging = `${objectPath}.${randomUUID()}.dynalake-partial`;
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(object.content, measure, createWriteStream(staging));
      await rename(staging, objectPath);
    } catch (error) {
      await rm(staging, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** An s3rver event as S3 would have sent it: the same records, object keys URL-encoded. */
function s3EventOf(event: S3rver.S3rverEvent): S3Event {
  const Records = event.Records.map((record) => ({ ...record, s3: { ...record.s3, object: { ...record.s3.object, key: encodeEventKey(record.s3.object.key) } } }));
  // s3rver leaves out fields S3 sends (awsRegion, userIdentity, …) that nothing here reads.
  return { Records } as unknown as S3Event;
}

/** Creates each bucket that does not exist yet. */
export async function ensureBuckets(client: S3Client, bucketNames: readonly string[]): Promise<void> {
  for (const Bucket of bucketNames) {
    try {
      await client.send(new CreateBucketCommand({ Bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }
}
