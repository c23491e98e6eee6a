import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse';
import { DynalakeError } from '../../../lambda/shared/errors';
import { UPLOADS_DATASET } from '../../../lambda/shared/layout';
import { ORDER_COLUMNS, type OrderColumn } from '../../../lambda/shared/orders-csv';
import { rowId } from '../../../lambda/shared/row-id';
import { BatchWriter } from '../../seed/batch-writer';
import { count, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, jobMetrics, metricsNamespaceArgument, requireArguments, withScratch } from './job';
import { csvReadError } from '../../lib/csv';
import { getObjectBytes } from './s3-files';

/**
 * The local twin of glue-scripts/csv_to_dynamodb.py: loads one uploaded e-commerce CSV
 * (s3://S3_BUCKET/S3_KEY) into a table keyed by `id`, derived from the row's own content
 * (lambda/shared/row-id.ts, twin of dynalake_glue.row_id), so a re-upload rewrites the same items
 * and exact duplicate rows are one item. Each item holds the eight columns as the id saw them
 * (trimmed except Description; empty ones left out), `ingestion_timestamp` and `source_file`.
 *
 * No SQL here: the job's work is a per-row UDF (row_id) and a dedupe by id, which the shared
 * TypeScript functions do exactly; DuckDB would add a copy of the file and nothing else.
 */

export const JOB = 'csv_to_dynamodb';

/** One item, every attribute a string. */
export type UploadItem = Readonly<Record<string, string>>;

/** A row that is not loaded, and why. */
export interface RejectedRow {
  /** 1-based line of the file where the row starts. */
  readonly line: number;
  readonly reason: string;
}

/** What happened to one data row. */
export type RowOutcome =
  | { readonly kind: 'item'; readonly item: UploadItem }
  | { readonly kind: 'duplicate'; readonly id: string }
  | { readonly kind: 'rejected'; readonly row: RejectedRow };

/** Whitespace as JavaScript's trim() (and dynalake_glue.js_trim) sees it. */
const jsTrim = (text: string) => text.trim();

/** Line breaks in a value (CRLF, LF or CR each count once): a quoted value keeps its own. */
function lineBreaks(value: string): number {
  return value.match(/\r\n|\n|\r/g)?.length ?? 0;
}

/**
 * The file's data rows as items, duplicates and rejects, in file order. The text is ISO-8859-1,
 * as the job reads it (the Kaggle file's encoding); quotes are RFC 4180 (`""` inside a quoted
 * value), a quoted value may span lines, nothing is trimmed by the reader, blank lines hold no
 * row. Columns are found by header name (trimmed), in any order.
 *
 * A row whose field count differs from the header's is rejected (the job's Spark reader would
 * pad it with nulls or cut it short, and load a row the file does not hold).
 * @throws DynalakeError BAD_INPUT when a column is missing or the CSV cannot be parsed
 */
export async function* csvRowOutcomes(text: Iterable<string> | AsyncIterable<string | Buffer>, sourceFile: string, ingestedAt: string): AsyncGenerator<RowOutcome> {
  const parser = Readable.from(text).pipe(parse({ relax_column_count: true, relax_quotes: true, bom: false }));
  const seen = new Set<string>();
  let index: Record<OrderColumn, number> | undefined;
  let fieldCount = 0;
  let line = 1;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      // A record takes its own line, plus the line breaks inside its quoted values.
      const startLine = line;
      line += 1 + record.reduce((breaks, value) => breaks + lineBreaks(value), 0);
      if (record.length === 1 && record[0] === '') continue; // a blank line holds no row
      if (index === undefined) {
        // As the job maps it: trimmed name → position (a repeated name: the last one).
        const positions = new Map(record.map((name, position) => [jsTrim(name), position] as const));
        const missing = ORDER_COLUMNS.filter((column) => !positions.has(column));
        if (missing.length > 0) throw new DynalakeError('BAD_INPUT', `${sourceFile}: the header has no column ${missing.join(', ')}`);
        index = Object.fromEntries(ORDER_COLUMNS.map((column) => [column, positions.get(column)])) as Record<OrderColumn, number>;
        fieldCount = record.length;
        continue;
      }
      if (record.length !== fieldCount) {
        yield { kind: 'rejected', row: { line: startLine, reason: `has ${record.length} fields, expected ${fieldCount} (the header's)` } };
        continue;
      }
      const columns = index;
      const row = Object.fromEntries(ORDER_COLUMNS.map((column) => [column, record[columns[column]] ?? ''])) as Record<OrderColumn, string>;
      const id = rowId(row);
      if (seen.has(id)) {
        yield { kind: 'duplicate', id };
        continue;
      }
      seen.add(id);
      // The item holds the values its id was computed from, so the rows one id collapses are equal.
      const values = ORDER_COLUMNS.map((column) => [column, column === 'Description' ? row[column] : jsTrim(row[column])] as const).filter(([, value]) => value !== '');
      yield { kind: 'item', item: { id, ...Object.fromEntries(values), ingestion_timestamp: ingestedAt, source_file: sourceFile } };
    }
  } catch (error) {
    throw csvReadError(error, sourceFile, line);
  }
  if (index === undefined) throw new DynalakeError('BAD_INPUT', `${sourceFile}: the header has no column ${ORDER_COLUMNS.join(', ')} (the file is empty)`);
}

/** The items of a whole file, in memory (the golden test's entry). rowsRead = items + duplicatesDropped + rejected. */
export interface CsvItems {
  readonly items: UploadItem[];
  readonly rowsRead: number;
  readonly duplicatesDropped: number;
  readonly rejected: RejectedRow[];
}

/** {@link csvRowOutcomes} over a file's bytes, decoded as ISO-8859-1. */
export async function csvToItems(bytes: Uint8Array, sourceFile: string, ingestedAt: string): Promise<CsvItems> {
  const items: UploadItem[] = [];
  const rejected: RejectedRow[] = [];
  let duplicatesDropped = 0;
  for await (const outcome of csvRowOutcomes([Buffer.from(bytes).toString('latin1')], sourceFile, ingestedAt)) {
    if (outcome.kind === 'item') items.push(outcome.item);
    else if (outcome.kind === 'duplicate') duplicatesDropped += 1;
    else rejected.push(outcome.row);
  }
  return { items, rowsRead: items.length + duplicatesDropped + rejected.length, duplicatesDropped, rejected };
}

/** An item in DynamoDB's wire form: every attribute a string (S), as the job's DynamoDB writer stores text columns. */
export function toAttributeValues(item: UploadItem): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }]));
}

/** What one run did. rowsRead = itemsWritten + duplicatesDropped + rejected. */
export interface CsvToDynamoDBResult extends GlueTwinResult {
  readonly rowsRead: number;
  readonly itemsWritten: number;
  readonly duplicatesDropped: number;
  readonly rejected: number;
  /** The first rejected rows (up to 100), with line and reason. */
  readonly rejectedRows: readonly RejectedRow[];
  readonly table: string;
  readonly sourceFile: string;
  readonly ingestionTimestamp: string;
}

const REJECTS_KEPT = 100;

/**
 * Runs csv_to_dynamodb locally. Arguments as the Glue job's: S3_BUCKET, S3_KEY, DYNAMODB_TABLE
 * (the table must exist, partition key `id`); WRITE_PERCENT is read by the Glue DynamoDB
 * connector only and has no meaning here. Needs `context.dynamodb`.
 */
export async function runCsvToDynamoDB(context: GlueTwinContext, args: JobArguments): Promise<CsvToDynamoDBResult> {
  const started = performance.now();
  const log = jobLogger(context, JOB);
  const { S3_BUCKET, S3_KEY, DYNAMODB_TABLE } = requireArguments(JOB, args, ['S3_BUCKET', 'S3_KEY', 'DYNAMODB_TABLE']);
  const client = context.dynamodb;
  if (client === undefined) throw new DynalakeError('BAD_INVOCATION', `${JOB}: the context has no DynamoDB client to write ${DYNAMODB_TABLE} with`);
  // One value for the whole run, in the form the seed's LoadedAt uses.
  const ingestedAt = new Date().toISOString();

  const result = await withScratch(context, JOB, async (scratch) => {
    const path = join(scratch, 'upload.csv');
    // In a function of its own, so the file's bytes (45 MB for the full file) are not kept through the load.
    const download = async () => {
      const bytes = await getObjectBytes(context.s3, S3_BUCKET, S3_KEY);
      if (isUtf8(bytes) && bytes.some((byte) => byte >= 0x80)) {
        log(`s3://${S3_BUCKET}/${S3_KEY} looks like UTF-8, but the job reads ISO-8859-1 (as the Kaggle file is): each non-ASCII character becomes two`);
      }
      await writeFile(path, bytes);
    };
    await download();

    const writer = new BatchWriter<undefined>({ client, tableName: DYNAMODB_TABLE, concurrency: 4 });
    const rejectedRows: RejectedRow[] = [];
    let rowsRead = 0;
    let duplicatesDropped = 0;
    let rejected = 0;
    for await (const outcome of csvRowOutcomes(createReadStream(path, { encoding: 'latin1', highWaterMark: 1 << 20 }), S3_KEY, ingestedAt)) {
      rowsRead += 1;
      if (outcome.kind === 'item') {
        await writer.put(outcome.item.id ?? '', toAttributeValues(outcome.item), undefined);
      } else if (outcome.kind === 'duplicate') {
        duplicatesDropped += 1;
      } else {
        rejected += 1;
        if (rejectedRows.length < REJECTS_KEPT) rejectedRows.push(outcome.row);
        if (rejected <= 10) log(`line ${count(outcome.row.line)} rejected: ${outcome.row.reason}`);
      }
    }
    await writer.flush();
    return { rowsRead, itemsWritten: writer.written, duplicatesDropped, rejected, rejectedRows };
  });
  if (result.rowsRead !== result.itemsWritten + result.duplicatesDropped + result.rejected) {
    throw new DynalakeError('LOAD_FAILED', `${JOB}: the counts do not add up: ${JSON.stringify(result)}`);
  }
  const summary =
    `s3://${S3_BUCKET}/${S3_KEY} → ${DYNAMODB_TABLE}: read ${count(result.rowsRead)} rows = written ${count(result.itemsWritten)} + ` +
    `duplicates ${count(result.duplicatesDropped)} + rejected ${count(result.rejected)}`;
  log(summary);
  // As the job publishes them: every data row read (rejects included), every item written, by the loaded table's dataset.
  const metrics = jobMetrics(metricsNamespaceArgument(args), JOB, args.TARGET_DATASET ?? UPLOADS_DATASET, {
    RowsRead: result.rowsRead,
    RowsWritten: result.itemsWritten,
    RunDurationSeconds: Math.round(performance.now() - started) / 1000,
  });
  return { summary, ...result, table: DYNAMODB_TABLE, sourceFile: S3_KEY, ingestionTimestamp: ingestedAt, metrics };
}
