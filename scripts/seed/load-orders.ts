import { closeSync, existsSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynalakeError } from '../../lambda/shared/errors';
import { orderKey, toAttributeValues } from '../../lambda/shared/orders-csv';
import { quoteCsvField } from '../lib/csv';
import { type BatchWriteClient, BatchWriter, type BatchWriterOptions } from './batch-writer';
import { type Checkpoint, checkpointPathFor, fingerprint, readCheckpoint, Watermark, writeCheckpoint } from './checkpoint';
import { detectEncoding, type Encoding, type EncodingOption, readOrderRows } from './orders-source';

/** Counts of a load so far. Always `read = written + rejected + skipped` once the load ends. */
export interface LoadCounts {
  /** Data rows read from the file, skipped ones included. */
  readonly read: number;
  /** Items DynamoDB has taken (0 in a dry run). */
  readonly written: number;
  /** Rows sent to the rejects file. */
  readonly rejected: number;
  /** Rows a resumed load did not redo: the checkpoint says they are settled. */
  readonly skipped: number;
  /** Rows that passed validation in a dry run (0 otherwise). */
  readonly valid: number;
}

/** The final account of a load. */
export interface LoadSummary extends LoadCounts {
  readonly file: string;
  readonly table: string;
  readonly encoding: Encoding;
  readonly rejectsPath: string;
  readonly checkpointPath: string;
  readonly dryRun: boolean;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
  /** BatchWriteItem calls, and how many of them retried UnprocessedItems or throttling. */
  readonly requests: number;
  readonly retries: number;
}

/** Options of {@link loadOrders}. */
export interface LoadOrdersOptions {
  readonly file: string;
  readonly tableName: string;
  readonly client: BatchWriteClient;
  readonly encoding?: EncodingOption;
  /** BatchWriteItem requests in flight. @default 16 */
  readonly concurrency?: number;
  readonly limit?: number;
  /** Parse and validate only; write nothing to the table. */
  readonly dryRun?: boolean;
  /** @default `<file>.rejects.csv` */
  readonly rejectsPath?: string;
  /** Continue the load the checkpoint describes. */
  readonly resume?: boolean;
  /** Stops the load cleanly (Ctrl-C): in-flight batches finish, the checkpoint is saved. */
  readonly signal?: AbortSignal;
  /** Called about every `progressEveryMs` with the counts so far. */
  readonly onProgress?: (counts: LoadCounts) => void;
  readonly progressEveryMs?: number;
  /** How often the checkpoint is saved. @default 1000 ms */
  readonly checkpointEveryMs?: number;
  /** Retry tuning passed to the batch writer. */
  readonly retry?: Pick<BatchWriterOptions, 'maxRetryWaitMs' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'random' | 'sleep'>;
  /** Clock for `LoadedAt` and the elapsed time. @default () => new Date() */
  readonly now?: () => Date;
}

const REJECTS_HEADER = 'line,field,reason,raw\n';

/** The default rejects file of a data file. */
export function defaultRejectsPath(file: string): string {
  return `${file}.rejects.csv`;
}

/**
 * Streams an e-commerce CSV into the orders table: rows mapped by the shared row contract, bad
 * rows to the rejects file (with line, field, reason and the raw line), items written 25 to a
 * batch with `concurrency` batches in flight, progress checkpointed so `resume` can finish an
 * interrupted load exactly. Nothing is lost: read = written + rejected + skipped.
 * @throws DynalakeError BAD_INPUT / BAD_INVOCATION for the caller's mistakes, LOAD_FAILED when
 *   DynamoDB would not take the data, INTERRUPTED when `signal` stopped the load.
 */
export async function loadOrders(options: LoadOrdersOptions): Promise<LoadSummary> {
  const now = options.now ?? (() => new Date());
  const started = now().getTime();
  const file = resolve(options.file);
  if (!existsSync(file)) throw new DynalakeError('BAD_INVOCATION', `${options.file}: no such file`);
  const rejectsPath = resolve(options.rejectsPath ?? defaultRejectsPath(options.file));
  const checkpointPath = checkpointPathFor(rejectsPath);
  const dryRun = options.dryRun ?? false;
  const identity = await fingerprint(file);

  const previous = readCheckpoint(checkpointPath);
  let resumed: Checkpoint | undefined;
  if (options.resume) {
    if (previous === undefined) throw new DynalakeError('BAD_INVOCATION', `--resume: no checkpoint at ${checkpointPath}; run without --resume to start the load`);
    if (previous.fileSize !== identity.fileSize || previous.fileHead !== identity.fileHead) {
      throw new DynalakeError('BAD_INPUT', `${options.file}: the file changed since the checkpoint ${checkpointPath} was written; run without --resume to load it from the start`);
    }
    if (previous.table !== options.tableName) {
      throw new DynalakeError('BAD_INVOCATION', `--resume: the checkpoint is for table ${previous.table}, not ${options.tableName}`);
    }
    resumed = previous;
  }

  const encoding = resumed?.encoding ?? (options.encoding === undefined || options.encoding === 'auto' ? await detectEncoding(file) : options.encoding);
  const loadedAt = resumed?.loadedAt ?? now().toISOString();
  const skipThrough = resumed?.rowsDone ?? 0;

  // Rejects: a fresh load starts the file over; a resumed one cuts it back to the checkpoint,
  // dropping rejects of rows it is about to read again.
  const rejectsFd = openSync(rejectsPath, resumed ? 'r+' : 'w');
  let rejectsBytes: number;
  if (resumed) {
    ftruncateSync(rejectsFd, resumed.rejectsBytes);
    rejectsBytes = resumed.rejectsBytes;
  } else {
    rejectsBytes = writeSync(rejectsFd, REJECTS_HEADER, 0);
  }
  const rejectEnds: { ordinal: number; end: number }[] = [];
  let rejectsBytesAtWatermark = rejectsBytes;

  const watermark = new Watermark(skipThrough);
  const writer = new BatchWriter<number>(
    { client: options.client, tableName: options.tableName, concurrency: options.concurrency ?? 16, ...options.retry },
    (batch) => watermark.itemsWritten(batch.tags),
  );
  let read = 0;
  let rejected = 0;
  let skipped = 0;
  let valid = 0;
  const counts = (): LoadCounts => ({ read, written: writer.written, rejected, skipped, valid });

  const saveCheckpoint = (complete: boolean): void => {
    if (dryRun) return;
    const rowsDone = watermark.value;
    while (rejectEnds.length > 0 && (rejectEnds[0] as { ordinal: number }).ordinal <= rowsDone) {
      rejectsBytesAtWatermark = (rejectEnds.shift() as { end: number }).end;
    }
    writeCheckpoint(checkpointPath, {
      version: 1,
      file,
      ...identity,
      table: options.tableName,
      encoding,
      loadedAt,
      rowsDone,
      rejectsBytes: rejectsBytesAtWatermark,
      complete,
      updatedAt: now().toISOString(),
    });
  };
  const checkpointTimer = setInterval(() => saveCheckpoint(false), options.checkpointEveryMs ?? 1000);
  const { onProgress } = options;
  const progressTimer = onProgress && setInterval(() => onProgress(counts()), options.progressEveryMs ?? 1000);

  let interrupted = false;
  try {
    for await (const row of readOrderRows(file, { encoding, loadedAt, limit: options.limit })) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      read += 1;
      if (row.ordinal <= skipThrough) {
        skipped += 1;
      } else if (!row.result.ok) {
        const { field, reason } = row.result.problem;
        // Written at an explicit offset: after a resume's truncation the file position is still 0.
        rejectsBytes += writeSync(rejectsFd, `${row.line},${quoteCsvField(field)},${quoteCsvField(reason)},${quoteCsvField(row.raw)}\n`, rejectsBytes);
        rejectEnds.push({ ordinal: row.ordinal, end: rejectsBytes });
        rejected += 1;
      } else if (dryRun) {
        valid += 1;
      } else {
        watermark.itemQueued(row.ordinal);
        await writer.put(orderKey(row.result.item), toAttributeValues(row.result.item), row.ordinal);
      }
      watermark.rowHandled(row.ordinal);
    }
    await writer.flush();
  } catch (error) {
    await writer.drain();
    saveCheckpoint(false);
    if (error instanceof DynalakeError && error.code === 'LOAD_FAILED') {
      throw new DynalakeError(
        'LOAD_FAILED',
        `${error.message}. ${writer.written} items written in this run; every row up to data row ${watermark.value} is settled (checkpoint ${checkpointPath}), so --resume continues from there.`,
      );
    }
    throw error;
  } finally {
    clearInterval(checkpointTimer);
    clearInterval(progressTimer);
    closeSync(rejectsFd);
  }

  saveCheckpoint(!interrupted && options.limit === undefined);
  if (interrupted) {
    throw new DynalakeError('INTERRUPTED', `stopped after data row ${watermark.value} (${writer.written} items written in this run; checkpoint ${checkpointPath})`);
  }
  onProgress?.(counts());
  const elapsedMs = Math.max(1, now().getTime() - started);
  return {
    ...counts(),
    file,
    table: options.tableName,
    encoding,
    rejectsPath,
    checkpointPath,
    dryRun,
    elapsedMs,
    rowsPerSecond: Math.round(((read - skipped) * 1000) / elapsedMs),
    requests: writer.requests,
    retries: writer.retries,
  };
}
