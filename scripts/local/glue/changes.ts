import type { DuckDBConnection } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ChangeRecord, decodeChangeObject } from '../../../lambda/shared/cdc';
import { sqlIdentifier } from './duckdb';
import { getObjectBytes, type S3ObjectInfo } from './s3-files';

/** The change records of one CDC object, and where they came from (named in errors). */
export interface SourcedRecords {
  readonly source: string;
  readonly records: readonly ChangeRecord[];
}

/** Only these keys under a CDC prefix are change objects (the stream bridge writes nothing else there). */
export function isChangeObject(key: string): boolean {
  return key.endsWith('.jsonl.gz');
}

/**
 * Reads and decodes CDC objects one after the other, in the order given (the read order that
 * settles sequence-number ties), fetching a few ahead: only those few are held in memory.
 */
export async function* readChangeObjects(s3: S3Client, bucket: string, objects: readonly S3ObjectInfo[], ahead = 4): AsyncGenerator<SourcedRecords> {
  const fetch = async (object: S3ObjectInfo): Promise<SourcedRecords> => {
    const source = `s3://${bucket}/${object.key}`;
    return { source, records: decodeChangeObject(await getObjectBytes(s3, bucket, object.key), source) };
  };
  const pending: Promise<SourcedRecords>[] = [];
  let next = 0;
  const fill = () => {
    for (; pending.length < ahead && next < objects.length; next += 1) {
      const fetched = fetch(objects[next] as S3ObjectInfo);
      fetched.catch(() => undefined); // awaited in turn below; not an unhandled rejection meanwhile
      pending.push(fetched);
    }
  };
  fill();
  for (let fetched = pending.shift(); fetched !== undefined; fetched = pending.shift()) {
    const batch = await fetched;
    fill();
    yield batch;
  }
}

/**
 * Creates `table` from change records, one row per record: read_order (position in the order
 * read, which settles a sequence-number tie: the later record wins), source, event_name, the
 * keys and both images as JSON (numbers keep the text JSON gave them), sequence_number as text.
 * Batches may come from an async generator ({@link readChangeObjects}): each is appended and let go.
 * @returns the number of records
 */
export async function createChangesTable(connection: DuckDBConnection, table: string, batches: Iterable<SourcedRecords> | AsyncIterable<SourcedRecords>): Promise<number> {
  await connection.run(
    `CREATE OR REPLACE TABLE ${sqlIdentifier(table)} (read_order BIGINT, source VARCHAR, event_name VARCHAR, keys JSON, sequence_number VARCHAR, new_image JSON, old_image JSON)`,
  );
  const appender = await connection.createAppender(table);
  let readOrder = 0;
  try {
    for await (const { source, records } of batches) {
      for (const record of records) {
        appender.appendBigInt(BigInt(readOrder));
        readOrder += 1;
        appender.appendVarchar(source);
        appender.appendVarchar(record.eventName);
        appender.appendVarchar(JSON.stringify(record.keys));
        appender.appendVarchar(record.sequenceNumber);
        if (record.newImage === null) appender.appendNull();
        else appender.appendVarchar(JSON.stringify(record.newImage));
        if (record.oldImage === null) appender.appendNull();
        else appender.appendVarchar(JSON.stringify(record.oldImage));
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return readOrder;
}

/**
 * `ORDER BY` terms that put the newest change of a key first: the greatest sequence number, then
 * the record read later. Sequence numbers are decimal strings of up to 64 digits (the codec
 * refuses longer ones), beyond HUGEINT's 38; padded with zeros to 64 they sort as text exactly
 * as they do as integers, as in the PySpark jobs.
 */
export const NEWEST_FIRST = "lpad(sequence_number, 64, '0') DESC, read_order DESC";

/**
 * `batches` passed through as they are read, noting the creation time (epoch seconds) of the
 * newest change among them: the lake's freshness once they are merged.
 */
export function notingNewestChange(batches: AsyncIterable<SourcedRecords>): { readonly batches: AsyncIterable<SourcedRecords>; readonly newest: () => number | undefined } {
  let newest: number | undefined;
  async function* noted(): AsyncGenerator<SourcedRecords> {
    for await (const batch of batches) {
      for (const record of batch.records) newest = Math.max(newest ?? record.approximateCreationTime, record.approximateCreationTime);
      yield batch;
    }
  }
  return { batches: noted(), newest: () => newest };
}
