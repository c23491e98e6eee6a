import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
