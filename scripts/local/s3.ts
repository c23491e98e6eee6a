import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** An embedded S3 (s3rver) listening on loopback. */
export interface LocalS3 {
  readonly endpoint: string;
  /** A client for it: path-style, dummy credentials, checksums only where required. */
  readonly client: S3Client;
  /** Calls `listener` with each event notification, as S3 would send it to a Lambda (keys not URL-encoded). */
  onEvent(listener: (event: S3rver.S3rverEvent) => void): void;
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
      server.on('event', listener);
    },
    close: async () => {
      client.destroy();
      await server.close();
      if (options.path === undefined) rmSync(directory, { recursive: true, force: true });
    },
  };
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
