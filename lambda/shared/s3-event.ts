/**
 * S3 event notifications: the object an ObjectCreated record names, with its key decoded.
 * S3 URL-encodes keys in notifications the way HTML forms do: a space is `+`, and everything
 * else outside the unreserved set (a literal `+` included, as `%2B`) is a `%xx` escape of UTF-8.
 */

/** An object named by an event record. */
export interface CreatedObject {
  readonly bucket: string;
  /** The key, decoded. */
  readonly key: string;
  readonly size: number;
  /** What tells two writes of one key apart: the version id where the bucket keeps versions, else the ETag, else the sequencer. */
  readonly version: string;
}

/** The decoded key of a notification's `s3.object.key`; throws URIError on a malformed escape. */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, '%20'));
}

/** A key encoded as S3 encodes it in a notification (the inverse of {@link decodeEventKey}). */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The part of an S3 notification record that is read. Everything is optional: records are checked, not trusted. */
export interface S3EventRecordInput {
  readonly eventName?: string;
  readonly s3?: {
    readonly bucket?: { readonly name?: string };
    readonly object?: { readonly key?: string; readonly size?: number; readonly eTag?: string; readonly versionId?: string; readonly sequencer?: string };
  };
}

/** Why a record names no object to load. */
export type SkipReason = 'not-object-created' | 'malformed' | 'outside-filter' | 'empty-object';

/** The object an ObjectCreated record names under `prefix` with `suffix`, or why it is skipped. */
export function createdObject(record: S3EventRecordInput, filter: { readonly prefix: string; readonly suffix: string }): { readonly object: CreatedObject } | { readonly skip: SkipReason; readonly detail: string } {
  if (!record.eventName?.startsWith('ObjectCreated:')) return { skip: 'not-object-created', detail: `event ${String(record.eventName)}` };
  const bucket = record.s3?.bucket?.name;
  const object = record.s3?.object;
  const version = object?.versionId ?? object?.eTag ?? object?.sequencer;
  if (!bucket || object?.key === undefined || version === undefined) return { skip: 'malformed', detail: 'record without s3.bucket.name, s3.object.key or a version, ETag or sequencer' };
  let key: string;
  try {
    key = decodeEventKey(object.key);
  } catch {
    return { skip: 'malformed', detail: `s3.object.key ${JSON.stringify(object.key)} is not URL-encoded` };
  }
  if (!key.startsWith(filter.prefix) || !key.endsWith(filter.suffix)) return { skip: 'outside-filter', detail: `s3://${bucket}/${key} is not ${filter.prefix}*${filter.suffix}` };
  if (object.size === 0) return { skip: 'empty-object', detail: `s3://${bucket}/${key} is empty` };
  return { object: { bucket, key, size: object.size ?? 0, version } };
}
