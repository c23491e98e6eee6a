import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ChangeRecord } from '../../../lambda/shared/cdc';
import { DynalakeError } from '../../../lambda/shared/errors';
import {
  type DatasetColumn,
  type DatasetDescription,
  datasetProblems,
  decimalType,
  DEFAULT_TIMESTAMP_FORMAT,
  keyColumns,
  shownTimestampFormat,
  TIMESTAMP_FIELDS,
  timestampFormatParts,
} from '../../../lib/dataset';
import { exportTableToPointInTime } from '../dynamodb-export';
import { datasetLakeTable, queryColumns } from '../lake-tables';
import { type ChangesRead, checkChangeFilesOnThread, createChangesTable, createChangesTableFromFiles, NEWEST_FIRST } from './changes';
import { readExportItems, type SourcedItems } from './dynamodb-export-source';
import { type ColumnSpec, copyPartitioned, createTableFromParquet, createTableFromRows, exactDecimalSql, type JsonRow, readCount, readRows, selectColumns, sqlIdentifier, sqlLiteral, sqlStringList, textOf, withDuckDB } from './duckdb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, jobMetrics, lakeFreshnessSeconds, metricsNamespaceArgument, requireArguments, withScratch } from './job';
import { type ChangeSource, pendingChanges } from './state';
import { deleteKeys, downloadObjects, folderPrefix, listObjects, type S3ObjectInfo, uploadFolder } from './s3-files';

/**
 * The local twin of glue-scripts/dataset_to_lake.py, the CDC merge of any dataset: the DATASET
 * argument (the JSON of a lib/dataset.ts description) says which attribute becomes which column
 * of which type, the key and the day partition. Each LakeDataset's job runs it; the orders
 * dataset's job is `orders_to_lake`.
 *
 * MODE=incremental: merges the change records that arrived since the last run into the curated
 * table, rewriting only the day partitions they touch. Latest change per key wins, REMOVE
 * deletes, a MODIFY that moves a row to another day takes it out of the old day; partitions left
 * empty are deleted.
 *
 * MODE=backfill: exports the table (DynamoDB's export emulated over the local DynamoDB,
 * ../dynamodb-export.ts), reads the export as Glue's export connector does with unnestDDBJson
 * (./dynamodb-export-source.ts), and rewrites the whole curated table from it, with the same
 * conversions and refusals as a merge.
 */

/** The dataset a run merges: the DATASET argument, the JSON of a description (lib/dataset.ts). */
interface Merging {
  readonly dataset: DatasetDescription;
  /** The job's name in messages and its state object: `<dataset>_to_lake`. */
  readonly job: string;
  /** The lake table's columns, the partition column last. */
  readonly columns: ColumnSpec[];
  /** The key columns, partition key first. */
  readonly keys: DatasetColumn[];
}

/** The job's name for a dataset (orders: `orders_to_lake`, the name of its state object since before datasets). */
export const jobName = (dataset: Pick<DatasetDescription, 'name'>): string => `${dataset.name}_to_lake`;

function merging(dataset: DatasetDescription): Merging {
  return { dataset, job: jobName(dataset), columns: queryColumns(datasetLakeTable(dataset)), keys: keyColumns(dataset) };
}

/**
 * The DATASET argument as a description, checked as the synth checks it. Glue job arguments are
 * strings, so it comes as JSON.
 */
export function datasetArgument(args: JobArguments): DatasetDescription {
  const text = args.DATASET;
  if (text === undefined || text === '') throw new DynalakeError('BAD_INVOCATION', 'missing job argument --DATASET: the JSON of the dataset description the job merges');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DynalakeError('BAD_INVOCATION', `job argument --DATASET is not JSON: ${(error as Error).message}`);
  }
  const problems = isDescription(parsed) ? datasetProblems(parsed, 'job argument --DATASET') : ['job argument --DATASET: not a dataset description (name, key, columns, partition)'];
  if (problems.length > 0) throw new DynalakeError('BAD_INVOCATION', problems.join('\n'));
  return parsed as DatasetDescription;
}

function isDescription(value: unknown): value is DatasetDescription {
  const candidate = value as Partial<Record<keyof DatasetDescription, unknown>> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    Array.isArray(candidate.key) &&
    candidate.key.length >= 1 &&
    candidate.key.length <= 2 &&
    candidate.key.every((attribute) => typeof attribute === 'string') &&
    Array.isArray(candidate.columns) &&
    candidate.columns.every((column: unknown) => typeof column === 'object' && column !== null && ['name', 'attribute', 'type'].every((field) => typeof (column as Record<string, unknown>)[field] === 'string')) &&
    typeof candidate.partition === 'object' &&
    candidate.partition !== null &&
    ['column', 'attribute', 'firstDay'].every((field) => typeof (candidate.partition as Record<string, unknown>)[field] === 'string')
  );
}

const DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** A curated row as the golden fixtures write it: decimals and timestamps as strings. */
export type CuratedRow = JsonRow;

/** What a batch of changes does to the curated table. */
export interface DatasetMerge {
  /** The new content of the rewritten partitions, sorted by partition, then key. */
  readonly rows: CuratedRow[];
  /** Every partition the batch may change (new and old images' days), sorted: read and overwritten. */
  readonly rewrittenPartitions: string[];
  /** Rewritten partitions left without rows: deleted. */
  readonly emptiedPartitions: string[];
  readonly counts: MergeCounts;
}

/** The merge's arithmetic: rowsWritten = rowsKept + upserts, rowsKept = rowsRead − rowsReplaced. */
export interface MergeCounts {
  readonly changeRecords: number;
  /** Keys with at least one change in the batch (= upserts + removes). */
  readonly keysChanged: number;
  /** Keys whose latest change is an INSERT or MODIFY. */
  readonly upserts: number;
  /** Keys whose latest change is a REMOVE. */
  readonly removes: number;
  /** Rows of the rewritten partitions before the merge. */
  readonly rowsRead: number;
  /** Of those, rows whose key the batch changed (replaced by the upsert, or removed). */
  readonly rowsReplaced: number;
  /** Of those, rows the batch left alone. */
  readonly rowsKept: number;
  /** Rows of the rewritten partitions after the merge. */
  readonly rowsWritten: number;
}

/**
 * The record's key columns as the merge's tables hold them: `_key_0`, `_key_1`. A lake column's
 * name starts with a letter, so these never collide with one.
 */
const keyName = (index: number) => `_key_${String(index)}`;

/** `what` for error messages: names the record by its key and its source (a CDC object or an export file). */
function whatSql({ dataset, keys }: Merging): string {
  const keyTexts = keys.map((_column, index) => `coalesce(CAST(${keyName(index)} AS VARCHAR), '?')`).join(" || '/' || ");
  return `${sqlLiteral(`${dataset.name} change `)} || ${keyTexts} || ' in ' || source || ': '`;
}

/**
 * One column's value, converted from its attribute's `text` (what `->>` gives: a number as the
 * text JSON gave it; NULL for a missing attribute or a JSON null) and, for a boolean, its JSON
 * `type` (json_type): converted exactly, or the run fails naming `what`, the attribute and the
 * value (curated_rows' converters in the PySpark job).
 */
function columnSql(column: DatasetColumn, raw: string, type: string, what: string): string {
  const text = column.emptyIsNull === true ? `nullif(${raw}, '')` : raw;
  const named = `${what} || ${sqlLiteral(column.attribute)}`;
  const decimal = decimalType(column.type);
  if (decimal) return exactDecimalSql(text, decimal.precision, decimal.scale, named);
  switch (column.type) {
    case 'int':
      return `exact_int32(${text}, ${named})`;
    case 'bigint':
      return `exact_int(${text}, ${named})`;
    case 'boolean':
      return `CASE WHEN ${type} = 'BOOLEAN' THEN CAST(${text} AS BOOLEAN)
      ELSE error(${named} || ' ' || coalesce(${text}, 'null') || ' is not a boolean') END`;
    case 'timestamp': {
      const parts = timestampFormatParts(column.format ?? DEFAULT_TIMESTAMP_FORMAT) ?? [];
      const format = sqlLiteral(parts.map((part) => ('field' in part ? TIMESTAMP_FIELDS[part.field].strptime : part.text.replace(/%/g, '%%'))).join(''));
      // One parse: coalesce reaches the refusal only where the parse gave nothing.
      return `coalesce(try_strptime(${text}, ${format}), CASE WHEN ${text} IS NULL THEN NULL
      ELSE error(${named} || ' ' || ${text} || ${sqlLiteral(` is not a time in the form ${shownTimestampFormat(parts)}`)}) END)`;
    }
    default:
      return text;
  }
}

/** An attribute's JSON Pointer (RFC 6901: `~` as `~0`, `/` as `~1`), so any attribute name is one key. */
const attributePointer = (attribute: string) => `/${attribute.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The SELECT of curated rows from the rows of `from`, each holding an item image (JSON) in the
 * column `image`, its `source` and its key texts: curated_rows in SQL, `what` naming the record.
 * One parse of the image gives every attribute's text (`_text_<i>`, what `->>` gives); only a
 * boolean's conversion needs its JSON type (`_type_<i>`), parsed for it alone. Extracting each
 * value as JSON and then its text parsed every value again: 0.3 s more on the full file.
 */
function curatedSelect(merge: Merging, image: string, from: string): string {
  const what = whatSql(merge);
  const { attribute, column } = merge.dataset.partition;
  const attributes = [...merge.dataset.columns.map((each) => each.attribute), attribute];
  const keys = merge.keys.map((_key, index) => keyName(index)).join(', ');
  const pointer = (name: string) => sqlLiteral(attributePointer(name));
  const texts = attributes.map((_name, index) => `_texts[${String(index + 1)}] AS _text_${String(index)}`);
  const types = merge.dataset.columns.flatMap((each, index) => (each.type === 'boolean' ? [`json_type(_image, ${pointer(each.attribute)}) AS _type_${String(index)}`] : []));
  const day = `_text_${String(merge.dataset.columns.length)}`;
  const columns = [
    ...merge.dataset.columns.map((each, index) => `${columnSql(each, `_text_${String(index)}`, `_type_${String(index)}`, what)} AS ${sqlIdentifier(each.name)}`),
    `CASE WHEN regexp_full_match(coalesce(${day}, ''), '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND TRY_CAST(${day} AS DATE) IS NOT NULL THEN ${day}
      ELSE error(${what} || ${sqlLiteral(`${attribute} `)} || coalesce(${day}, 'null') || ' is not a day in the form YYYY-MM-DD') END AS ${sqlIdentifier(column)}`,
  ];
  return `SELECT ${columns.join(',\n    ')}
    FROM (SELECT source, ${keys}, ${[...texts, ...types].join(', ')}
      FROM (SELECT source, ${keys}, ${image} AS _image, json_extract_string(${image}, [${attributes.map(pointer).join(', ')}]) AS _texts FROM ${from}))`;
}

/**
 * Step 1, over the `changes` table: keys the records (`change_keys`: the key columns converted
 * from the record's keys as the lake holds them) and returns the partitions the batch may change
 * (touched_days): the days of every new and old image, since a MODIFY can move a row between
 * days; a MODIFY or REMOVE without its old image cannot be placed.
 */
async function touchedDays(merge: Merging, connection: DuckDBConnection): Promise<string[]> {
  const keyColumns = merge.keys.map((column, index) => {
    const pointer = sqlLiteral(attributePointer(column.attribute));
    return `${columnSql(column, `(keys ->> ${pointer})`, `json_type(keys, ${pointer})`, "'change record in ' || source || ': keys.'")} AS ${keyName(index)}`;
  });
  await connection.run(`CREATE OR REPLACE TABLE change_keys AS SELECT read_order, event_name, sequence_number, ${keyColumns.join(', ')} FROM changes`);
  const keyless = merge.keys.map((_column, index) => `${keyName(index)} IS NULL`).join(' OR ');
  const [missing] = await readRows(connection, `SELECT source FROM changes JOIN change_keys USING (read_order) WHERE ${keyless} LIMIT 1`);
  if (missing !== undefined) {
    throw new DynalakeError('BAD_INPUT', `${textOf(missing.source)}: a change record has no ${merge.keys.map((column) => `keys.${column.attribute}`).join(' or ')}`);
  }
  const day = (image: string) => `${image} ->> ${sqlLiteral(merge.dataset.partition.attribute)}`;
  const blind = await readCount(connection, `SELECT count(*) FROM changes WHERE event_name <> 'INSERT' AND (${day('old_image')}) IS NULL`);
  if (blind > 0) {
    throw new DynalakeError('BAD_INPUT', `${count(blind)} MODIFY/REMOVE change records have no old image: the stream must send NEW_AND_OLD_IMAGES to locate the rows' partitions`);
  }
  const rows = await readRows(connection, `SELECT DISTINCT day FROM (SELECT ${day('new_image')} AS day FROM changes UNION ALL SELECT ${day('old_image')} FROM changes) WHERE day IS NOT NULL ORDER BY day`);
  const days = rows.map((row) => textOf(row.day));
  const bad = days.find((candidate) => !DAY.test(candidate));
  // Days name partition folders (and object keys): only real days get that far.
  if (bad !== undefined) throw new DynalakeError('BAD_INPUT', `a change record's ${merge.dataset.partition.attribute} ${JSON.stringify(bad)} is not a day in the form YYYY-MM-DD`);
  return days;
}

/**
 * Step 2, over `change_keys` and `current_rows` (the rewritten partitions' rows, or more): the
 * latest change per key (`latest`), the curated upserts, and `merged`: the new content of the
 * rewritten partitions (latest_changes and transform_cdc).
 */
async function mergeTables(merge: Merging, connection: DuckDBConnection, days: readonly string[]): Promise<Omit<DatasetMerge, 'rows'>> {
  const partition = sqlIdentifier(merge.dataset.partition.column);
  const keys = merge.keys.map((_column, index) => keyName(index));
  // One statement for all the days: an INSERT each cost 1.4 ms, 0.43 s for the full file's 307 days.
  await connection.run(`CREATE OR REPLACE TABLE touched AS SELECT unnest(${sqlStringList(days)}) AS day`);
  // The latest change's position only; its image is read from `changes` (no copy of every image).
  await connection.run(`CREATE OR REPLACE TABLE latest AS SELECT read_order, ${keys.join(', ')}, event_name FROM change_keys QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${NEWEST_FIRST}) = 1`);
  await connection.run(`
    CREATE OR REPLACE TABLE upserts AS
    ${curatedSelect(merge, 'c.new_image', "latest l JOIN changes c USING (read_order) WHERE l.event_name <> 'REMOVE'")}`);
  const sameKey = merge.keys.map((column, index) => `l.${keyName(index)} = c.${sqlIdentifier(column.name)}`).join(' AND ');
  await connection.run(`
    CREATE OR REPLACE TABLE merged AS
    SELECT c.* FROM current_rows c
    WHERE c.${partition} IN (SELECT day FROM touched)
      AND NOT EXISTS (SELECT 1 FROM latest l WHERE ${sameKey})
    UNION ALL BY NAME
    SELECT * FROM upserts`);

  const [totals] = await readRows(
    connection,
    `SELECT
       (SELECT count(*) FROM changes) AS change_records,
       (SELECT count(*) FROM latest) AS keys_changed,
       (SELECT count(*) FROM latest WHERE event_name = 'REMOVE') AS removes,
       (SELECT count(*) FROM upserts) AS upserts,
       (SELECT count(*) FROM current_rows WHERE ${partition} IN (SELECT day FROM touched)) AS rows_read,
       (SELECT count(*) FROM merged) AS rows_written`,
  );
  const number = (name: string) => Number(totals?.[name] ?? 0);
  const upserts = number('upserts');
  const rowsRead = number('rows_read');
  const rowsWritten = number('rows_written');
  const rowsKept = rowsWritten - upserts;
  const counts: MergeCounts = {
    changeRecords: number('change_records'),
    keysChanged: number('keys_changed'),
    upserts,
    removes: number('removes'),
    rowsRead,
    rowsReplaced: rowsRead - rowsKept,
    rowsKept,
    rowsWritten,
  };
  if (counts.upserts + counts.removes !== counts.keysChanged || counts.rowsReplaced < 0 || counts.rowsReplaced > counts.keysChanged) {
    throw new DynalakeError('LOAD_FAILED', `${merge.job}: the merge's counts do not add up: ${JSON.stringify(counts)}`);
  }
  const written = new Set((await readRows(connection, `SELECT DISTINCT ${partition} AS day FROM merged`)).map((row) => textOf(row.day)));
  // Only `merged` is read from here on, by a write that first copies it sorted: its inputs go
  // first. At the full file they held 410 MB of DuckDB's memory, the change images 344 MB of it,
  // and the twin alone peaked at 983 MB with them, 769 MB without (2026-12-07).
  for (const input of ['upserts', 'latest', 'change_keys', 'changes', 'current_rows', 'touched']) await connection.run(`DROP TABLE ${input}`);
  return { rewrittenPartitions: [...days], emptiedPartitions: days.filter((day) => !written.has(day)), counts };
}

/** The merged rows in the lake's column order, sorted by partition, then key. */
function sortedMerge({ dataset, columns, keys }: Merging): string {
  const order = [dataset.partition.column, ...keys.map((column) => column.name)].map(sqlIdentifier).join(', ');
  return `SELECT ${columns.map((column) => sqlIdentifier(column.name)).join(', ')} FROM merged ORDER BY ${order}`;
}

/**
 * The merge of a batch of change records into curated rows, on plain inputs (the golden test's
 * entry): `current` holds the curated table (or at least the partitions the batch touches).
 * Returns the rewritten partitions' new content, as transform_cdc does; the untouched partitions
 * stay as they are.
 */
export async function mergeChanges(dataset: DatasetDescription, current: readonly CuratedRow[], changes: readonly ChangeRecord[]): Promise<DatasetMerge> {
  const merge = merging(dataset);
  return withDuckDB(async (connection) => {
    await createChangesTable(connection, 'changes', [{ source: 'changes', records: changes }]);
    await createTableFromRows(connection, 'current_rows', merge.columns, current);
    const days = await touchedDays(merge, connection);
    const merged = await mergeTables(merge, connection, days);
    return { rows: await readRows(connection, sortedMerge(merge)), ...merged };
  });
}

/** What one MODE=incremental run did. rowsWritten = rowsRead − rowsReplaced + upserts; nothing else leaves or enters. */
export interface DatasetIncrementalResult extends GlueTwinResult, MergeCounts {
  readonly mode: 'incremental';
  /** True when no change object was new: nothing was read or written. */
  readonly noop: boolean;
  /** New CDC objects this run read. */
  readonly changeObjects: number;
  /** Partitions read and overwritten (those left empty included). */
  readonly partitionsRewritten: number;
  /** Rewritten partitions left empty, whose objects were deleted. */
  readonly partitionsDeleted: number;
  /** Parquet files written. */
  readonly parquetFiles: number;
  /** Old objects deleted from the rewritten partitions. */
  readonly objectsDeleted: number;
}

/** The day of a curated object key (`<table><partition>=YYYY-MM-DD/...`), if it sits in a partition folder. */
function partitionDayOf(partition: string, table: string, key: string): string | undefined {
  const [folder, ...rest] = key.slice(table.length).split('/');
  return rest.length > 0 && folder?.startsWith(`${partition}=`) ? folder.slice(partition.length + 1) : undefined;
}

/** What one MODE=backfill run did: every item exported became one row (a refused item fails the run). */
export interface DatasetBackfillResult extends GlueTwinResult {
  readonly mode: 'backfill';
  /** The key of the export's manifest-summary.json in EXPORT_BUCKET. */
  readonly exportManifest: string;
  /** Items in the export, all read. */
  readonly itemsRead: number;
  /** Curated rows written: as many as the items read. */
  readonly rowsWritten: number;
  /** Partitions the new table has. */
  readonly partitions: number;
  /** Parquet files written. */
  readonly parquetFiles: number;
  /** Objects of the old table deleted (those the new one did not overwrite in place). */
  readonly objectsDeleted: number;
}

/** What one run did, by MODE. */
export type DatasetToLakeResult = DatasetIncrementalResult | DatasetBackfillResult;

/**
 * Runs `<dataset>_to_lake` locally: the CDC merge of the dataset the DATASET argument describes
 * (the JSON of a lib/dataset.ts description). Arguments as the Glue job's: DATASET; MODE
 * (incremental when not given, or backfill); for incremental LANDING_BUCKET, LAKE_BUCKET, CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX;
 * for backfill LAKE_BUCKET, CURATED_PREFIX, SOURCE_TABLE_ARN, EXPORT_BUCKET, EXPORT_PREFIX and a
 * DynamoDB client in the context (see {@link runBackfill}).
 *
 * State (incremental): the change objects already merged, in the job's state object in the lake
 * bucket (./state.ts, the same object the PySpark job keeps), written only after the lake is. A
 * crash before it leaves the state as it was, and the rerun merges the same objects again, which
 * gives the same partitions (a merge is idempotent).
 */
// Overloads: callers that name the mode get that mode's result type.
export function runDatasetToLake(context: GlueTwinContext, args: JobArguments & { readonly MODE: 'backfill' }): Promise<DatasetBackfillResult>;
export function runDatasetToLake(context: GlueTwinContext, args: JobArguments & { readonly MODE?: 'incremental' }): Promise<DatasetIncrementalResult>;
export function runDatasetToLake(context: GlueTwinContext, args: JobArguments): Promise<DatasetToLakeResult>;
export async function runDatasetToLake(context: GlueTwinContext, args: JobArguments): Promise<DatasetToLakeResult> {
  const merge = merging(datasetArgument(args));
  const mode = args.MODE ?? 'incremental';
  if (mode === 'backfill') return runBackfill(context, merge, args);
  if (mode !== 'incremental') throw new DynalakeError('BAD_INVOCATION', `${merge.job}: MODE must be incremental or backfill, not ${JSON.stringify(mode)}`);
  return runIncremental(context, merge, args);
}

/**
 * From this many new change objects on, a run checks them on a thread of its own as they download: the thread
 * and its codec start in 32 to 39 ms, about the check of eight objects of 1,000 records (4.8 ms each, 2026-12-07).
 * From twice that many, the overlap pays for the start.
 */
export const CHECK_ON_THREAD_FROM = 16;

async function runIncremental(context: GlueTwinContext, merge: Merging, args: JobArguments): Promise<DatasetIncrementalResult> {
  const started = performance.now();
  const { job } = merge;
  const publish = (figures: Parameters<typeof jobMetrics>[3]) =>
    jobMetrics(metricsNamespaceArgument(args), job, merge.dataset.name, { ...figures, RunDurationSeconds: Math.round(performance.now() - started) / 1000 });
  const partition = merge.dataset.partition.column;
  const log = jobLogger(context, job);
  const { LANDING_BUCKET, LAKE_BUCKET, CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX } = requireArguments(job, args, ['LANDING_BUCKET', 'LAKE_BUCKET', 'CDC_PREFIX', 'CURATED_PREFIX', 'STATE_PREFIX']);
  const cdcPrefix = folderPrefix(CDC_PREFIX);
  const table = folderPrefix(CURATED_PREFIX);
  const source = `s3://${LANDING_BUCKET}/${cdcPrefix}`;

  const changes = await pendingChanges(context.s3, job, LANDING_BUCKET, LAKE_BUCKET, STATE_PREFIX, [cdcPrefix]);
  const [{ listed, fresh }] = changes.sources as [ChangeSource];
  const saveState = changes.save;
  const empty: MergeCounts = { changeRecords: 0, keysChanged: 0, upserts: 0, removes: 0, rowsRead: 0, rowsReplaced: 0, rowsKept: 0, rowsWritten: 0 };
  if (fresh.length === 0) {
    await saveState(); // objects expired from cdc/ leave the state
    const summary = `no new change objects in ${source} since the last run (${count(listed.length)} merged before): nothing to do`;
    log(summary);
    const metrics = publish({ ChangeObjectsMerged: 0, RowsRead: 0, RowsUpserted: 0, RowsRemoved: 0, RowsWritten: 0, PartitionsRewritten: 0, LakeFreshnessSeconds: 0 });
    return { mode: 'incremental', summary, noop: true, changeObjects: 0, ...empty, partitionsRewritten: 0, partitionsDeleted: 0, parquetFiles: 0, objectsDeleted: 0, metrics };
  }
  log(`${count(fresh.length)} new change objects in ${source}`);

  const result = await withScratch(context, job, async (scratch) => {
    const out = join(scratch, 'out');
    const merged = await withDuckDB(async (connection) => {
      const sourceOf = (index: number) => `s3://${LANDING_BUCKET}/${(fresh[index] as S3ObjectInfo).key}`;
      // Many objects are checked on a thread of their own as they arrive; a few, here after.
      const check = fresh.length >= CHECK_ON_THREAD_FROM ? checkChangeFilesOnThread() : undefined;
      let read: ChangesRead;
      try {
        const paths = await downloadObjects(context.s3, LANDING_BUCKET, fresh, cdcPrefix, join(scratch, 'changes'), (index, path) => check?.add(index, { path, source: sourceOf(index) }));
        read = await createChangesTableFromFiles(connection, 'changes', paths.map((path, index) => ({ path, source: sourceOf(index) })), check);
      } finally {
        await check?.stop();
      }
      const days = await touchedDays(merge, connection);
      const touched = new Set(days);
      const before = (await listObjects(context.s3, LAKE_BUCKET, table)).filter((object) => touched.has(partitionDayOf(partition, table, object.key) ?? ''));
      const parquet = before.filter((object) => object.key.endsWith('.parquet'));
      const files = await downloadObjects(context.s3, LAKE_BUCKET, parquet, table, join(scratch, 'current'));
      await createTableFromParquet(connection, 'current_rows', files, merge.columns, { partition });
      const tables = await mergeTables(merge, connection, days);
      await copyPartitioned(connection, sortedMerge(merge), out, partition);
      return { ...tables, before, newest: read.newest };
    }, { tempDirectory: join(scratch, 'duckdb') });
    // New files first, then the old ones go: a crash in between leaves every row readable.
    const written = merged.counts.rowsWritten > 0 ? await uploadFolder(context.s3, LAKE_BUCKET, table, out) : [];
    const kept = new Set(written);
    const stale = merged.before.map((object) => object.key).filter((key) => !kept.has(key));
    await deleteKeys(context.s3, LAKE_BUCKET, stale);
    return { merged, parquetFiles: written.length, objectsDeleted: stale.length, changeObjects: fresh.length };
  });

  // Only now that the partitions are in place: a crash before this line merges `fresh` again.
  await saveState();
  const { counts, rewrittenPartitions, emptiedPartitions } = result.merged;
  const summary =
    `${counted(result.changeObjects, 'change object')}, ${counted(counts.changeRecords, 'record')}, ${counted(counts.keysChanged, 'key')} (${counted(counts.upserts, 'upsert')}, ${counted(counts.removes, 'remove')}); ` +
    `${counted(rewrittenPartitions.length, 'partition')} rewritten (${count(emptiedPartitions.length)} left empty, deleted): ` +
    `read ${counted(counts.rowsRead, 'row')}, ${count(counts.rowsReplaced)} replaced or removed, wrote ${count(counts.rowsWritten)} = ${count(counts.rowsKept)} kept + ${count(counts.upserts)} upserted, ` +
    counted(result.parquetFiles, 'Parquet file');
  log(summary);
  const metrics = publish({
    ChangeObjectsMerged: result.changeObjects,
    RowsRead: counts.rowsRead,
    RowsUpserted: counts.upserts,
    RowsRemoved: counts.removes,
    RowsWritten: counts.rowsWritten,
    PartitionsRewritten: rewrittenPartitions.length,
    LakeFreshnessSeconds: lakeFreshnessSeconds(result.merged.newest, Date.now() / 1000),
  });
  return {
    mode: 'incremental',
    summary,
    noop: false,
    changeObjects: result.changeObjects,
    ...counts,
    partitionsRewritten: rewrittenPartitions.length,
    partitionsDeleted: emptiedPartitions.length,
    parquetFiles: result.parquetFiles,
    objectsDeleted: result.objectsDeleted,
    metrics,
  };
}

/**
 * Creates `table` from export items, one row per item: read_order, source (the data file, named
 * in errors), the key attributes as text (`_key_0`, `_key_1`: what {@link whatSql} names) and the
 * item as JSON in new_image, the column {@link curatedSelect} reads. Batches are appended and
 * let go.
 * @returns the number of items
 */
async function createExportItemsTable(merge: Merging, connection: DuckDBConnection, table: string, batches: AsyncIterable<SourcedItems>): Promise<number> {
  const keys = merge.keys.map((_column, index) => `${keyName(index)} VARCHAR`).join(', ');
  await connection.run(`CREATE OR REPLACE TABLE ${sqlIdentifier(table)} (read_order BIGINT, source VARCHAR, ${keys}, new_image JSON)`);
  const appender = await connection.createAppender(table);
  const text = (value: unknown) => (value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value));
  let readOrder = 0;
  try {
    for await (const { source, items } of batches) {
      for (const item of items) {
        appender.appendBigInt(BigInt(readOrder));
        readOrder += 1;
        appender.appendVarchar(source);
        for (const key of merge.keys.map((column) => text(item[column.attribute]))) {
          if (key === null) appender.appendNull();
          else appender.appendVarchar(key);
        }
        appender.appendVarchar(JSON.stringify(item));
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
 * MODE=backfill, as the PySpark job's _backfill does it on Glue: exports the dataset's table
 * (SOURCE_TABLE_ARN; the table is its last segment) to s3://EXPORT_BUCKET/EXPORT_PREFIX through
 * the emulated DynamoDB export, reads the export's items unnested (numbers as their exact text),
 * converts each with the incremental merge's SQL (same conversions, same refusals: a value the
 * lake cannot hold fails the run before the lake is touched), and rewrites the whole curated
 * table, as Spark's static overwrite does: the new files first, then every other object under
 * CURATED_PREFIX goes. The job's state object is left as it is: change objects merged stay
 * merged, and the next incremental run merges the new ones over the backfilled table.
 */
async function runBackfill(context: GlueTwinContext, merge: Merging, args: JobArguments): Promise<DatasetBackfillResult> {
  const started = performance.now();
  const { job } = merge;
  const partition = merge.dataset.partition.column;
  const log = jobLogger(context, job);
  const { LAKE_BUCKET, CURATED_PREFIX, SOURCE_TABLE_ARN, EXPORT_BUCKET, EXPORT_PREFIX } = requireArguments(job, args, ['LAKE_BUCKET', 'CURATED_PREFIX', 'SOURCE_TABLE_ARN', 'EXPORT_BUCKET', 'EXPORT_PREFIX']);
  const dynamodb = context.dynamodb;
  if (dynamodb === undefined) throw new DynalakeError('BAD_INVOCATION', `${job}: MODE=backfill exports the ${merge.dataset.name} table, and the twin was given no DynamoDB client (GlueTwinContext.dynamodb)`);
  const table = folderPrefix(CURATED_PREFIX);

  const exported = await exportTableToPointInTime(dynamodb, context.s3, { tableArn: SOURCE_TABLE_ARN, s3Bucket: EXPORT_BUCKET, s3Prefix: EXPORT_PREFIX });
  const exportLocation = `s3://${EXPORT_BUCKET}/${exported.exportManifest}`;
  log(`exported ${counted(exported.summary.itemCount, 'item')} of ${SOURCE_TABLE_ARN}: ${exportLocation}`);

  const result = await withScratch(context, job, async (scratch) => {
    const out = join(scratch, 'out');
    const counts = await withDuckDB(
      async (connection) => {
        const itemsRead = await createExportItemsTable(merge, connection, 'export_items', readExportItems(context.s3, EXPORT_BUCKET, exported.exportManifest));
        await connection.run(`CREATE OR REPLACE TABLE merged AS SELECT ${selectColumns(merge.columns)} FROM (${curatedSelect(merge, 'new_image', 'export_items')})`);
        const rowsWritten = await readCount(connection, 'SELECT count(*) FROM merged');
        if (rowsWritten !== itemsRead) throw new DynalakeError('LOAD_FAILED', `${job}: read ${count(itemsRead)} items from ${exportLocation} but made ${count(rowsWritten)} rows`);
        const partitions = await readCount(connection, `SELECT count(DISTINCT ${sqlIdentifier(partition)}) FROM merged`);
        if (rowsWritten > 0) await copyPartitioned(connection, sortedMerge(merge), out, partition);
        return { itemsRead, rowsWritten, partitions };
      },
      { tempDirectory: join(scratch, 'duckdb') },
    );
    // Everything the old table held, whatever its objects are called (Spark's _SUCCESS included).
    const before = await listObjects(context.s3, LAKE_BUCKET, table);
    // New files first, then the old ones go: a crash in between leaves every new row readable.
    const written = counts.rowsWritten > 0 ? await uploadFolder(context.s3, LAKE_BUCKET, table, out) : [];
    const kept = new Set(written);
    const stale = before.map((object) => object.key).filter((key) => !kept.has(key));
    await deleteKeys(context.s3, LAKE_BUCKET, stale);
    return { ...counts, parquetFiles: written.length, objectsDeleted: stale.length };
  });

  const summary =
    `backfill from ${exportLocation}: read ${counted(result.itemsRead, 'item')}, wrote ${counted(result.rowsWritten, 'row')} (= items read) in ${counted(result.partitions, 'partition')}, ` +
    `${counted(result.parquetFiles, 'Parquet file')}; ${count(result.objectsDeleted)} other objects of the old table deleted`;
  log(summary);
  // A rebuild merges no change object: it says nothing of freshness, so it publishes none (as the job).
  const metrics = jobMetrics(metricsNamespaceArgument(args), job, merge.dataset.name, {
    RowsRead: result.itemsRead,
    RowsWritten: result.rowsWritten,
    PartitionsRewritten: result.partitions,
    RunDurationSeconds: Math.round(performance.now() - started) / 1000,
  });
  return { mode: 'backfill', summary, exportManifest: exported.exportManifest, ...result, metrics };
}
