import { gunzipSync, gzipSync } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { NumberValueImpl, unmarshall } from '@aws-sdk/util-dynamodb';
import { DynalakeError } from './errors';
import { cdcPrefix } from './layout';

/**
 * The change-data-capture (CDC) record codec: how a DynamoDB stream record becomes one line of a
 * `cdc/<dataset>/dt=YYYY-MM-DD/<stream>-<firstSeq>-<lastSeq>.jsonl.gz` object in the landing bucket.
 * The stream-to-lake handler writes these objects, the Glue jobs and their local twins read them,
 * and the tests check both ends against this one module.
 */

export const CHANGE_EVENT_NAMES = ['INSERT', 'MODIFY', 'REMOVE'] as const;
export type ChangeEventName = (typeof CHANGE_EVENT_NAMES)[number];

/** A DynamoDB item as JSON: numbers are JSON numbers when exact, decimal strings otherwise. */
export type Image = Record<string, unknown>;

/** One line of a CDC object. */
export interface ChangeRecord {
  readonly eventName: ChangeEventName;
  /** The item's key attributes. */
  readonly keys: Image;
  /** The item after the change; null for REMOVE. */
  readonly newImage: Image | null;
  /** The item before the change; null for INSERT. The jobs need it to find a moved row's old partition. */
  readonly oldImage: Image | null;
  /** The stream sequence number: a decimal string of up to ~40 digits (compare as integers). */
  readonly sequenceNumber: string;
  /** When DynamoDB made the change, epoch seconds. */
  readonly approximateCreationTime: number;
}

/** The part of a DynamoDB stream record (Lambda event or GetRecords) that the codec reads. */
export interface StreamRecordInput {
  readonly eventName?: string;
  readonly eventSourceARN?: string;
  readonly dynamodb?: {
    readonly Keys?: Record<string, AttributeValue | object>;
    readonly NewImage?: Record<string, AttributeValue | object>;
    readonly OldImage?: Record<string, AttributeValue | object>;
    readonly SequenceNumber?: string;
    readonly ApproximateCreationDateTime?: number | Date;
  };
}

const SEQUENCE_NUMBER = /^[0-9]{1,64}$/;

/**
 * A JSON-safe value of an unmarshalled attribute. A number stays a JSON number only when that
 * number prints back as the same text; otherwise (beyond 2^53, more than 17 digits) it is kept as
 * its exact decimal string, which the jobs parse as a decimal. Sets become sorted arrays, binary
 * becomes base64.
 */
function jsonValue(value: unknown): unknown {
  if (value instanceof NumberValueImpl) {
    const text = value.toString();
    const asNumber = Number(text);
    return Number.isFinite(asNumber) && String(asNumber) === text ? asNumber : text;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // sort() without a comparator orders by String(element), code unit by code unit: one order
  // whatever order the stream sent.
  if (value instanceof Set) return [...value].map(jsonValue).sort();
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, jsonValue(inner)]));
  }
  return value;
}

/** A sequence number: a decimal string. Not a number, which the pattern would take as its text. */
function isSequenceNumber(value: unknown): value is string {
  return typeof value === 'string' && SEQUENCE_NUMBER.test(value);
}

function imageOf(attributes: Record<string, AttributeValue | object> | undefined, where: string, field: string): Image | null {
  if (attributes === undefined) return null;
  let item: Record<string, unknown>;
  try {
    item = unmarshall(attributes as Record<string, AttributeValue>, { wrapNumbers: true });
  } catch (error) {
    // unmarshall's own message ("No value defined: {}") names neither the record nor the field.
    throw new DynalakeError('BAD_INPUT', `${where}: ${field} is not a DynamoDB item (${(error as Error).message})`);
  }
  return jsonValue(item) as Image;
}

/**
 * The change record of one stream record. Throws a BAD_INPUT error naming the sequence number and
 * the field when the record is not one the lake can use: an unknown event name, no keys, no
 * sequence number, or a MODIFY/REMOVE without its old image (the table's stream must send
 * NEW_AND_OLD_IMAGES).
 */
export function changeRecordFromStream(record: StreamRecordInput): ChangeRecord {
  const stream: NonNullable<StreamRecordInput['dynamodb']> = record.dynamodb ?? {};
  const sequenceNumber = stream.SequenceNumber;
  const where = `stream record ${sequenceNumber ?? '(no SequenceNumber)'}`;
  if (!isSequenceNumber(sequenceNumber)) {
    throw new DynalakeError('BAD_INPUT', `${where}: dynamodb.SequenceNumber must be a decimal string`);
  }
  const eventName = record.eventName;
  if (!CHANGE_EVENT_NAMES.includes(eventName as ChangeEventName)) {
    throw new DynalakeError('BAD_INPUT', `${where}: eventName ${JSON.stringify(eventName)} is not INSERT, MODIFY or REMOVE`);
  }
  const keys = imageOf(stream.Keys, where, 'dynamodb.Keys');
  if (keys === null || Object.keys(keys).length === 0) throw new DynalakeError('BAD_INPUT', `${where}: dynamodb.Keys is missing`);
  const newImage = imageOf(stream.NewImage, where, 'dynamodb.NewImage');
  const oldImage = imageOf(stream.OldImage, where, 'dynamodb.OldImage');
  if (eventName !== 'REMOVE' && newImage === null) {
    throw new DynalakeError('BAD_INPUT', `${where}: ${String(eventName)} without dynamodb.NewImage (the stream must send NEW_AND_OLD_IMAGES)`);
  }
  if (eventName !== 'INSERT' && oldImage === null) {
    throw new DynalakeError('BAD_INPUT', `${where}: ${String(eventName)} without dynamodb.OldImage (the stream must send NEW_AND_OLD_IMAGES)`);
  }
  const created = stream.ApproximateCreationDateTime;
  // NaN stands for "missing": Number.isFinite then rejects a missing, NaN or infinite time alike.
  const approximateCreationTime = created instanceof Date ? created.getTime() / 1000 : (created ?? Number.NaN);
  if (!Number.isFinite(approximateCreationTime)) {
    throw new DynalakeError('BAD_INPUT', `${where}: dynamodb.ApproximateCreationDateTime is missing`);
  }
  return {
    eventName: eventName as ChangeEventName,
    keys,
    newImage: eventName === 'REMOVE' ? null : newImage,
    oldImage: eventName === 'INSERT' ? null : oldImage,
    sequenceNumber,
    approximateCreationTime,
  };
}

/** Orders two sequence numbers as the integers they are ("900" comes before "1000"). */
export function compareSequenceNumbers(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The stream's label from a stream ARN (`arn:…:table/<name>/stream/<label>`), or `local`.
 * Lambda's stream events carry no shard id, but sequence numbers are unique within a stream, so
 * label + first + last sequence number name a batch uniquely; the label keeps a re-created table's
 * stream (whose numbers may restart) from colliding with the old one.
 */
export function streamLabel(eventSourceArn: string | undefined): string {
  const label = /\/stream\/([^/]+)$/.exec(eventSourceArn ?? '')?.[1];
  return label === undefined ? 'local' : label.replace(/[^0-9A-Za-z.-]/g, '');
}

/**
 * The landing-bucket key of a batch's CDC object: a pure function of the batch's records (their
 * order does not matter), so a retried batch maps to the same object and never duplicates. `dt`
 * is the UTC day of the first change in stream order, the one with the lowest sequence number
 * (not merely the first element given: a batch that straddles midnight must not get another key
 * when its records come in another order).
 */
export function changeObjectKey(dataset: string, label: string, records: readonly ChangeRecord[]): string {
  const [first] = records;
  if (first === undefined) throw new DynalakeError('BAD_INVOCATION', 'changeObjectKey: a batch has at least one record');
  let lowest = first;
  let highest = first.sequenceNumber;
  for (const record of records) {
    if (compareSequenceNumbers(record.sequenceNumber, lowest.sequenceNumber) < 0) lowest = record;
    if (compareSequenceNumbers(record.sequenceNumber, highest) > 0) highest = record.sequenceNumber;
  }
  const day = new Date(lowest.approximateCreationTime * 1000).toISOString().slice(0, 10);
  return `${cdcPrefix(dataset)}dt=${day}/${label}-${lowest.sequenceNumber}-${highest}.jsonl.gz`;
}

/** A batch as the bytes of its CDC object: gzip of one JSON record per line. */
export function encodeChangeObject(records: readonly ChangeRecord[]): Buffer {
  return gzipSync(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
}

function isImage(value: unknown): value is Image {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The records of a CDC object. `source` (the object's key) names the object in errors, with the
 * line and field at fault.
 */
export function decodeChangeObject(body: Uint8Array, source = 'CDC object'): ChangeRecord[] {
  let text: string;
  try {
    text = gunzipSync(body).toString('utf8');
  } catch (error) {
    // zlib's own message ("incorrect header check") does not say which object.
    throw new DynalakeError('BAD_INPUT', `${source}: not gzip (${(error as Error).message})`);
  }
  const records: ChangeRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line === '') return;
    const where = `${source}, line ${String(index + 1)}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new DynalakeError('BAD_INPUT', `${where}: not JSON (${(error as Error).message})`);
    }
    if (!isImage(parsed)) throw new DynalakeError('BAD_INPUT', `${where}: not a JSON object`);
    const { eventName, keys, newImage, oldImage, sequenceNumber, approximateCreationTime } = parsed;
    if (!CHANGE_EVENT_NAMES.includes(eventName as ChangeEventName)) throw new DynalakeError('BAD_INPUT', `${where}: field eventName is ${JSON.stringify(eventName)}`);
    if (!isImage(keys)) throw new DynalakeError('BAD_INPUT', `${where}: field keys is not an object`);
    if (!isSequenceNumber(sequenceNumber)) throw new DynalakeError('BAD_INPUT', `${where}: field sequenceNumber is not a decimal string`);
    if (typeof approximateCreationTime !== 'number') throw new DynalakeError('BAD_INPUT', `${where}: field approximateCreationTime is not a number`);
    if (newImage !== null && !isImage(newImage)) throw new DynalakeError('BAD_INPUT', `${where}: field newImage is not an object or null`);
    if (oldImage !== null && !isImage(oldImage)) throw new DynalakeError('BAD_INPUT', `${where}: field oldImage is not an object or null`);
    records.push({ eventName: eventName as ChangeEventName, keys, newImage, oldImage, sequenceNumber, approximateCreationTime });
  });
  return records;
}

/**
 * The latest-wins decision, twin of the Glue job's `dataset_to_lake.latest_changes`: for each key (its values in
 * key-name order), the record with the greatest sequence number; a tie keeps the later record.
 */
export function latestChanges(records: Iterable<ChangeRecord>): Map<string, ChangeRecord> {
  const latest = new Map<string, ChangeRecord>();
  for (const record of records) {
    const key = changeKey(record);
    const kept = latest.get(key);
    if (kept === undefined || compareSequenceNumbers(record.sequenceNumber, kept.sequenceNumber) >= 0) latest.set(key, record);
  }
  return latest;
}

/** A record's key as one string: its key values in key-name order, JSON-encoded. */
export function changeKey(record: Pick<ChangeRecord, 'keys'>): string {
  return JSON.stringify(
    Object.keys(record.keys)
      .sort()
      .map((name) => record.keys[name]),
  );
}
