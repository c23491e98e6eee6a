// s3rver ships no types; this is the part of its API dynalake uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';

  namespace S3rver {
  interface S3rverOptions {
    readonly address?: string;
    readonly port?: number;
    readonly silent?: boolean;
    /** Folder that holds the buckets. */
    readonly directory?: string;
    readonly resetOnClose?: boolean;
    readonly allowMismatchedSignatures?: boolean;
    readonly vhostBuckets?: boolean;
    readonly configureBuckets?: readonly { readonly name: string }[];
  }

  /** One S3 event notification, shaped like the one S3 sends (the key is not URL-encoded). */
  interface S3rverEvent {
    readonly Records: readonly {
      readonly eventName: string;
      readonly eventTime: string;
      readonly s3: {
        readonly bucket: { readonly name: string };
        readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string; readonly sequencer: string };
      };
    }[];
  }

  /** The part of Koa's request context the listing middleware (scripts/local/s3.ts) uses. */
  interface Context {
    readonly method: string;
    readonly path: string;
    /** The parsed query string; setting it rewrites the request's URL. */
    query: Record<string, string | string[] | undefined>;
    body: unknown;
    status: number;
  }

  type Middleware = (context: Context, next: () => Promise<void>) => Promise<void>;

  /** An object as s3rver's controllers hand it to the store's putObject: its body is the request's (or its parts', one after the other). */
  interface StoredObject {
    readonly bucket: string;
    readonly key: string;
    readonly metadata: Record<string, string>;
    readonly content: NodeJS.ReadableStream;
  }

  /** The part of s3rver's filesystem store (lib/stores/filesystem.js) that scripts/local/s3.ts replaces and calls. */
  interface FilesystemStore {
    /** The file of an object's `resource` (`object`, `metadata.json`, `object.md5`) in the server's folder. */
    getResourcePath(bucket: string, key: string, resource: string): string;
    /** Writes an object's MD5 and metadata files. */
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
    putObject(object: StoredObject): Promise<{ readonly size: number; readonly md5: string }>;
  }

  }

  class S3rver extends EventEmitter {
    /** Koa's middleware stack, outermost first: composed when run() starts the server. */
    readonly middleware: S3rver.Middleware[];
    /** Where the controllers keep objects: one instance, shared with their context. */
    readonly store: S3rver.FilesystemStore;
    constructor(options?: S3rver.S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3rver.S3rverEvent) => void): this;
  }
  export = S3rver;
}
