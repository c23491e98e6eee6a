import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ChangeRecord, decodeChangeObject } from '../../../lambda/shared/cdc';
import { DynalakeError, type ErrorCode } from '../../../lambda/shared/errors';
import { summarizeChangeObject } from './change-summary';
import { readCount, sqlIdentifier, sqlLiteral, sqlStringList } from './duckdb';
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

/** A CDC object copied to a local file. */
export interface ChangeFile {
  /** The local file. */
  readonly path: string;
  /** The object's S3 URL, named in errors. */
  readonly source: string;
}

/** What {@link createChangesTableFromFiles} read. */
export interface ChangesRead {
  /** Change records, one row each. */
  readonly records: number;
  /** The creation time (epoch seconds) of the newest change among them: the lake's freshness once merged. */
  readonly newest: number | undefined;
}

/**
 * The codec's check of change files on a thread of its own, fed file by file as each is
 * downloaded: the download (the SDK, and s3rver in the same process) keeps the app's thread
 * busy, and the check (JSON.parse of every line) overlaps it instead of following it.
 */
export interface ChangeFilesCheck {
  /** Hands over the file at `index` of the read order; files may come in any order. */
  add(index: number, file: ChangeFile): void;
  /**
   * After the last {@link add}: what the `files` files hold, or the codec's refusal of the first
   * of them (in read order) that it refuses, as decodeChangeObject words it. Ends the thread.
   */
  result(files: number): Promise<ChangesRead>;
  /**
   * Ends the thread without waiting for a result (the run failed elsewhere): between two files,
   * those still queued let go. Not Worker.terminate while it checks one: a thread terminated in a
   * gunzip can abort the whole process (Node 20: "close before init" in node_zlib.cc, seen under
   * mutation testing on 2026-12-07).
   */
  stop(): Promise<void>;
}

/** The checking thread's code: plain JavaScript that loads the summarizer (through the swc hook when it is TypeScript). */
const CHECK_THREAD_SOURCE = `
'use strict';
const { readFileSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.register) require(workerData.register);
const { summarizeChangeObject } = require(workerData.codec);
const stopped = new Int32Array(workerData.stopped);
const held = new Map();
let refused;
parentPort.on('message', (message) => {
  // Asked to stop: the files still queued are let go, and the thread ends between two files.
  if (Atomics.load(stopped, 0) === 1) return parentPort.close();
  if (message.files === undefined) {
    const { index, path, source } = message;
    if (refused !== undefined && refused.index < index) return; // an earlier file is refused already
    try {
      const summary = summarizeChangeObject(readFileSync(path), source);
      held.set(index, { records: summary.records, newest: summary.newest ?? -Infinity });
    } catch (error) {
      if (refused === undefined || index < refused.index) refused = { index, name: error.name, code: error.code, message: error.message };
    }
    return;
  }
  if (refused !== undefined) return parentPort.postMessage({ refused });
  let records = 0;
  let newest = -Infinity;
  for (let index = 0; index < message.files; index += 1) {
    const file = held.get(index);
    if (file === undefined) return parentPort.postMessage({ refused: { index, message: 'file ' + index + ' of ' + message.files + ' was never handed over to be checked' } });
    records += file.records;
    newest = Math.max(newest, file.newest);
  }
  parentPort.postMessage({ records, newest: newest === -Infinity ? undefined : newest });
});
`;

/** How long {@link ChangeFilesCheck.stop} waits for the thread to end between two files: one file takes milliseconds. */
const STOP_WAIT_MS = 10_000;

/** The checking thread's answer. */
type CheckAnswer = ChangesRead | { readonly refused: { readonly name?: string; readonly code?: ErrorCode; readonly message: string } };

/**
 * Starts the codec's check of change files on a thread of its own ({@link ChangeFilesCheck}).
 * `codec` is the module the thread takes summarizeChangeObject from: ./change-summary, here as
 * TypeScript, in the npm package as JavaScript.
 */
export function checkChangeFilesOnThread(codec = require.resolve('./change-summary')): ChangeFilesCheck {
  const stopped = new SharedArrayBuffer(4);
  const worker = new Worker(CHECK_THREAD_SOURCE, {
    eval: true,
    // Not the process's own flags (a test runner's, say): the thread loads what it needs itself.
    execArgv: [],
    workerData: { codec, register: codec.endsWith('.ts') ? require.resolve('../../lib/swc-register.js') : undefined, stopped },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const answer = new Promise<CheckAnswer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`the check of the change objects stopped (exit code ${String(code)}) before it answered`));
    });
  });
  answer.catch(() => undefined); // awaited by result(); not an unhandled rejection after stop()
  return {
    add: (index, file) => {
      worker.postMessage({ index, path: file.path, source: file.source });
    },
    result: async (files) => {
      worker.postMessage({ files });
      try {
        const answered = await answer;
        if ('refused' in answered) {
          const { name, code, message } = answered.refused;
          throw name === 'DynalakeError' && code !== undefined ? new DynalakeError(code, message) : new Error(message);
        }
        return answered;
      } finally {
        await worker.terminate();
      }
    },
    stop: async () => {
      Atomics.store(new Int32Array(stopped), 0, 1);
      worker.postMessage({ stop: true });
      // A thread that does not end between files within STOP_WAIT_MS is stuck in one: terminated then.
      const stuck = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
      await exited;
      clearTimeout(stuck);
    },
  };
}

/**
 * Creates `table` as {@link createChangesTable} does, from CDC objects copied to local files, in
 * the order given. DuckDB reads the files (read_json, in parallel) while the codec checks each
 * (here, or on the `check` thread they were handed to as they downloaded): its refusals and
 * messages (object, line, field) stand, whatever DuckDB made of the file. Appending each
 * record's fields from JavaScript instead cost more than the merge itself.
 *
 * read_order is the row's position in the table DuckDB created: with preserve_insertion_order
 * (on by default) a scan's rows stay in the order of its files and of their lines
 * (https://duckdb.org/docs/stable/sql/dialect/order_preservation).
 */
export async function createChangesTableFromFiles(connection: DuckDBConnection, table: string, files: readonly ChangeFile[], check?: ChangeFilesCheck): Promise<ChangesRead> {
  const changes = sqlIdentifier(table);
  const sources = sqlIdentifier(`${table}_sources`);
  const columns = "{eventName: 'VARCHAR', keys: 'JSON', sequenceNumber: 'VARCHAR', newImage: 'JSON', oldImage: 'JSON'}";
  const reading =
    files.length === 0
      ? connection.run(`CREATE OR REPLACE TABLE ${changes} (filename VARCHAR, event_name VARCHAR, keys JSON, sequence_number VARCHAR, new_image JSON, old_image JSON)`)
      : connection.run(
          `CREATE OR REPLACE TABLE ${changes} AS SELECT filename, eventName AS event_name, keys, sequenceNumber AS sequence_number, newImage AS new_image, oldImage AS old_image
           FROM read_json([${files.map((file) => sqlLiteral(file.path)).join(', ')}], format = 'newline_delimited', compression = 'gzip', columns = ${columns}, filename = true)`,
        );
  let held: ChangesRead;
  try {
    held = check === undefined ? checkChangeFiles(files) : await check.result(files.length);
  } finally {
    // Never left running on a connection the caller goes on using, nor rejected unhandled.
    await reading.catch(() => undefined);
  }
  try {
    await reading;
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `the change objects decode, but DuckDB cannot read them: ${(error as Error).message}`);
  }
  await connection.run(
    `CREATE OR REPLACE TABLE ${sources} AS SELECT unnest(${sqlStringList(files.map((file) => file.path))}) AS filename, unnest(${sqlStringList(files.map((file) => file.source))}) AS source`,
  );
  // The images stay as read: the codec has let through only objects and nulls, and read_json
  // makes SQL NULL of a JSON null, as createChangesTable writes it (asking each image its JSON
  // type parsed every image again: 0.3 s of the full file). Each row's position and object are
  // added in place (a copy held every image twice: the full file's read took the twin to 834-868
  // MB of RSS, 668-703 MB in place, 2026-12-07); a row left without its object is not counted read.
  await connection.run(`ALTER TABLE ${changes} ADD COLUMN read_order BIGINT`);
  await connection.run(`ALTER TABLE ${changes} ADD COLUMN source VARCHAR`);
  await connection.run(`UPDATE ${changes} SET read_order = ${changes}.rowid, source = s.source FROM ${sources} s WHERE ${changes}.filename = s.filename`);
  await connection.run(`ALTER TABLE ${changes} DROP COLUMN filename`);
  await connection.run(`DROP TABLE ${sources}`);
  const rows = await readCount(connection, `SELECT count(source) FROM ${changes}`);
  if (rows !== held.records) throw new DynalakeError('LOAD_FAILED', `the change objects hold ${String(held.records)} records, and DuckDB read ${String(rows)}`);
  return held;
}

/** The codec's check of change files on this thread: what they hold, or the refusal of the first it refuses. */
function checkChangeFiles(files: readonly ChangeFile[]): ChangesRead {
  let records = 0;
  let newest: number | undefined;
  for (const { path, source } of files) {
    const summary = summarizeChangeObject(readFileSync(path), source);
    records += summary.records;
    if (summary.newest !== undefined) newest = Math.max(newest ?? summary.newest, summary.newest);
  }
  return { records, newest };
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
