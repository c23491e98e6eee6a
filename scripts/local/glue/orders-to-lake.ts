import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ChangeRecord } from '../../../lambda/shared/cdc';
import { DynalakeError } from '../../../lambda/shared/errors';
import { exportTableToPointInTime } from '../dynamodb-export';
import { CURATED_ORDERS, queryColumns, storedColumns } from '../lake-tables';
import { createChangesTable, NEWEST_FIRST, readChangeObjects } from './changes';
import { readExportItems, type SourcedItems } from './dynamodb-export-source';
import { copyPartitioned, createTableFromParquet, createTableFromRows, exactDecimalSql, type JsonRow, readCount, readRows, selectColumns, sqlIdentifier, sqlLiteral, textOf, withDuckDB } from './duckdb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, requireArguments, withScratch } from './job';
import { type ChangeSource, pendingChanges } from './state';
import { deleteKeys, downloadObjects, folderPrefix, listObjects, uploadFolder } from './s3-files';

/**
 * The local twin of glue-scripts/orders_to_lake.py.
 *
 * MODE=incremental: merges the orders change records that arrived since the last run into the
 * curated orders table, rewriting only the invoice_day partitions they touch. Latest change per
 * key wins, REMOVE deletes, a MODIFY that moves a row to another day takes it out of the old day;
 * partitions left empty are deleted.
 *
 * MODE=backfill: exports the orders table (DynamoDB's export emulated over the local DynamoDB,
 * ../dynamodb-export.ts), reads the export as Glue's export connector does with unnestDDBJson
 * (./dynamodb-export-source.ts), and rewrites the whole curated table from it, with the same
 * conversions and refusals as a merge.
 */

export const JOB = 'orders_to_lake';

const PARTITION = 'invoice_day';
const COLUMNS = queryColumns(CURATED_ORDERS);
const DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** A curated orders row as the golden fixtures write it: decimals and timestamps as strings. */
export type CuratedOrderRow = JsonRow;

/** What a batch of changes does to the curated table. */
export interface OrdersMerge {
  /** The new content of the rewritten partitions, sorted by invoice_day, invoice_no, line_no. */
  readonly rows: CuratedOrderRow[];
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

/** `what` for error messages: names the change record's key and its CDC object. */
const WHAT = "'orders change ' || coalesce(invoice_no, '?') || '/' || coalesce(CAST(line_no AS VARCHAR), '?') || ' in ' || source || ': '";

/** An orders item image (JSON) as a curated row: orders_to_lake.curated_rows in SQL. */
function curatedFromImage(image: string): string {
  const attr = (name: string) => `(${image} ->> ${sqlLiteral(name)})`;
  const what = (name: string) => `${WHAT} || ${sqlLiteral(name)}`;
  return `
    ${attr('InvoiceNo')} AS invoice_no,
    exact_int32(${attr('LineNo')}, ${what('LineNo')}) AS line_no,
    ${attr('StockCode')} AS stock_code,
    ${attr('Description')} AS description,
    exact_int32(${attr('Quantity')}, ${what('Quantity')}) AS quantity,
    ${exactDecimalSql(attr('UnitPrice'), 12, 3, what('UnitPrice'))} AS unit_price,
    CASE WHEN ${attr('InvoiceDate')} IS NULL THEN NULL
      WHEN try_strptime(${attr('InvoiceDate')}, '%Y-%m-%dT%H:%M:%S') IS NOT NULL THEN try_strptime(${attr('InvoiceDate')}, '%Y-%m-%dT%H:%M:%S')
      ELSE error(${what('InvoiceDate')} || ' ' || ${attr('InvoiceDate')} || ' is not a time in the form YYYY-MM-DDTHH:MM:SS') END AS invoice_ts,
    CASE WHEN coalesce(${attr('CustomerID')}, '') = '' THEN NULL ELSE exact_int(${attr('CustomerID')}, ${what('CustomerID')}) END AS customer_id,
    ${attr('Country')} AS country,
    CASE WHEN json_type(${image}, '$.IsCancellation') = 'BOOLEAN' THEN CAST(${attr('IsCancellation')} AS BOOLEAN)
      ELSE error(${what('IsCancellation')} || ' ' || coalesce(${attr('IsCancellation')}, 'null') || ' is not a boolean') END AS is_cancellation,
    CASE WHEN regexp_full_match(coalesce(${attr('InvoiceDay')}, ''), '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND TRY_CAST(${attr('InvoiceDay')} AS DATE) IS NOT NULL THEN ${attr('InvoiceDay')}
      ELSE error(${what('InvoiceDay')} || ' ' || coalesce(${attr('InvoiceDay')}, 'null') || ' is not a day in the form YYYY-MM-DD') END AS ${PARTITION}`;
}

/**
 * Step 1, over the `changes` table: keys the records (`change_keys`) and returns the partitions
 * the batch may change (orders_to_lake.touched_days): the days of every new and old image, since a
 * MODIFY can move a row between days; a MODIFY or REMOVE without its old image cannot be placed.
 */
async function touchedDays(connection: DuckDBConnection): Promise<string[]> {
  await connection.run(`
    CREATE OR REPLACE TABLE change_keys AS
    SELECT read_order, event_name, sequence_number, keys ->> 'InvoiceNo' AS invoice_no,
      CAST(exact_int(keys ->> 'LineNo', 'change record in ' || source || ': keys.LineNo') AS INTEGER) AS line_no
    FROM changes`);
  const keyless = await readRows(connection, 'SELECT source FROM changes JOIN change_keys USING (read_order) WHERE invoice_no IS NULL OR line_no IS NULL LIMIT 1');
  if (keyless[0] !== undefined) throw new DynalakeError('BAD_INPUT', `${textOf(keyless[0].source)}: a change record has no keys.InvoiceNo or keys.LineNo`);
  const blind = await readCount(connection, "SELECT count(*) FROM changes WHERE event_name <> 'INSERT' AND (old_image ->> 'InvoiceDay') IS NULL");
  if (blind > 0) {
    throw new DynalakeError('BAD_INPUT', `${count(blind)} MODIFY/REMOVE change records have no old image: the stream must send NEW_AND_OLD_IMAGES to locate the rows' partitions`);
  }
  const rows = await readRows(
    connection,
    `SELECT DISTINCT day FROM (SELECT new_image ->> 'InvoiceDay' AS day FROM changes UNION ALL SELECT old_image ->> 'InvoiceDay' FROM changes) WHERE day IS NOT NULL ORDER BY day`,
  );
  const days = rows.map((row) => textOf(row.day));
  const bad = days.find((day) => !DAY.test(day));
  // Days name partition folders (and object keys): only real days get that far.
  if (bad !== undefined) throw new DynalakeError('BAD_INPUT', `a change record's InvoiceDay ${JSON.stringify(bad)} is not a day in the form YYYY-MM-DD`);
  return days;
}

/**
 * Step 2, over `change_keys` and `current_orders` (the rewritten partitions' rows, or more):
 * the latest change per key (`latest`), the curated upserts, and `merged`: the new content of
 * the rewritten partitions (orders_to_lake.latest_changes and transform_cdc).
 */
async function mergeTables(connection: DuckDBConnection, days: readonly string[]): Promise<Omit<OrdersMerge, 'rows'>> {
  await connection.run('CREATE OR REPLACE TABLE touched (day VARCHAR)');
  for (const day of days) await connection.run('INSERT INTO touched VALUES ($1)', [day]);
  // The latest change's position only; its image is read from `changes` (no copy of every image).
  await connection.run(`CREATE OR REPLACE TABLE latest AS SELECT read_order, invoice_no, line_no, event_name FROM change_keys QUALIFY row_number() OVER (PARTITION BY invoice_no, line_no ORDER BY ${NEWEST_FIRST}) = 1`);
  await connection.run(`
    CREATE OR REPLACE TABLE upserts AS
    SELECT ${curatedFromImage('c.new_image')} FROM latest l JOIN changes c USING (read_order) WHERE l.event_name <> 'REMOVE'`);
  await connection.run(`
    CREATE OR REPLACE TABLE merged AS
    SELECT c.* FROM current_orders c
    WHERE c.${PARTITION} IN (SELECT day FROM touched)
      AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.invoice_no = c.invoice_no AND l.line_no = c.line_no)
    UNION ALL BY NAME
    SELECT * FROM upserts`);

  const [totals] = await readRows(
    connection,
    `SELECT
       (SELECT count(*) FROM changes) AS change_records,
       (SELECT count(*) FROM latest) AS keys_changed,
       (SELECT count(*) FROM latest WHERE event_name = 'REMOVE') AS removes,
       (SELECT count(*) FROM upserts) AS upserts,
       (SELECT count(*) FROM current_orders WHERE ${PARTITION} IN (SELECT day FROM touched)) AS rows_read,
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
    throw new DynalakeError('LOAD_FAILED', `${JOB}: the merge's counts do not add up: ${JSON.stringify(counts)}`);
  }
  const written = new Set((await readRows(connection, `SELECT DISTINCT ${PARTITION} AS day FROM merged`)).map((row) => textOf(row.day)));
  return { rewrittenPartitions: [...days], emptiedPartitions: days.filter((day) => !written.has(day)), counts };
}

const SORTED_MERGE = `SELECT * FROM merged ORDER BY ${PARTITION}, invoice_no, line_no`;

/**
 * The merge of a batch of change records into curated rows, on plain inputs (the golden test's
 * entry): `current` holds the curated table (or at least the partitions the batch touches).
 * Returns the rewritten partitions' new content, as orders_to_lake.transform_cdc does; the
 * untouched partitions stay as they are.
 */
export async function mergeOrders(current: readonly CuratedOrderRow[], changes: readonly ChangeRecord[]): Promise<OrdersMerge> {
  return withDuckDB(async (connection) => {
    await createChangesTable(connection, 'changes', [{ source: 'changes', records: changes }]);
    await createTableFromRows(connection, 'current_orders', COLUMNS, current);
    const days = await touchedDays(connection);
    const merge = await mergeTables(connection, days);
    return { rows: await readRows(connection, SORTED_MERGE), ...merge };
  });
}

/** What one MODE=incremental run did. rowsWritten = rowsRead − rowsReplaced + upserts; nothing else leaves or enters. */
export interface OrdersIncrementalResult extends GlueTwinResult, MergeCounts {
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

/** The day of a curated object key (`<table>invoice_day=YYYY-MM-DD/...`), if it sits in a partition folder. */
function partitionDayOf(table: string, key: string): string | undefined {
  return new RegExp(`^${PARTITION}=([^/]+)/`).exec(key.slice(table.length))?.[1];
}

/** What one MODE=backfill run did: every item exported became one row (a refused item fails the run). */
export interface OrdersBackfillResult extends GlueTwinResult {
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
export type OrdersToLakeResult = OrdersIncrementalResult | OrdersBackfillResult;

/**
 * Runs orders_to_lake locally. Arguments as the Glue job's: MODE (incremental when not given, or
 * backfill); for incremental LANDING_BUCKET, LAKE_BUCKET, CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX;
 * for backfill LAKE_BUCKET, CURATED_PREFIX, SOURCE_TABLE_ARN, EXPORT_BUCKET, EXPORT_PREFIX and a
 * DynamoDB client in the context (see {@link runOrdersBackfill}).
 *
 * State (incremental): the change objects already merged, in the job's state object in the lake
 * bucket (./state.ts, the same object the PySpark job keeps), written only after the lake is. A
 * crash before it leaves the state as it was, and the rerun merges the same objects again, which
 * gives the same partitions (a merge is idempotent).
 */
// Overloads: callers that name the mode get that mode's result type.
export function runOrdersToLake(context: GlueTwinContext, args: JobArguments & { readonly MODE: 'backfill' }): Promise<OrdersBackfillResult>;
export function runOrdersToLake(context: GlueTwinContext, args: JobArguments & { readonly MODE?: 'incremental' }): Promise<OrdersIncrementalResult>;
export function runOrdersToLake(context: GlueTwinContext, args: JobArguments): Promise<OrdersToLakeResult>;
export async function runOrdersToLake(context: GlueTwinContext, args: JobArguments): Promise<OrdersToLakeResult> {
  const mode = args.MODE ?? 'incremental';
  if (mode === 'backfill') return runOrdersBackfill(context, args);
  if (mode !== 'incremental') throw new DynalakeError('BAD_INVOCATION', `${JOB}: MODE must be incremental or backfill, not ${JSON.stringify(mode)}`);
  return runIncremental(context, args);
}

async function runIncremental(context: GlueTwinContext, args: JobArguments): Promise<OrdersIncrementalResult> {
  const log = jobLogger(context, JOB);
  const { LANDING_BUCKET, LAKE_BUCKET, CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX } = requireArguments(JOB, args, ['LANDING_BUCKET', 'LAKE_BUCKET', 'CDC_PREFIX', 'CURATED_PREFIX', 'STATE_PREFIX']);
  const cdcPrefix = folderPrefix(CDC_PREFIX);
  const table = folderPrefix(CURATED_PREFIX);
  const source = `s3://${LANDING_BUCKET}/${cdcPrefix}`;

  const changes = await pendingChanges(context.s3, JOB, LANDING_BUCKET, LAKE_BUCKET, STATE_PREFIX, [cdcPrefix]);
  const [{ listed, fresh }] = changes.sources as [ChangeSource];
  const saveState = changes.save;
  const empty: MergeCounts = { changeRecords: 0, keysChanged: 0, upserts: 0, removes: 0, rowsRead: 0, rowsReplaced: 0, rowsKept: 0, rowsWritten: 0 };
  if (fresh.length === 0) {
    await saveState(); // objects expired from cdc/ leave the state
    const summary = `no new change objects in ${source} since the last run (${count(listed.length)} merged before): nothing to do`;
    log(summary);
    return { mode: 'incremental', summary, noop: true, changeObjects: 0, ...empty, partitionsRewritten: 0, partitionsDeleted: 0, parquetFiles: 0, objectsDeleted: 0 };
  }
  log(`${count(fresh.length)} new change objects in ${source}`);

  const result = await withScratch(context, JOB, async (scratch) => {
    const out = join(scratch, 'out');
    const merge = await withDuckDB(async (connection) => {
      await createChangesTable(connection, 'changes', readChangeObjects(context.s3, LANDING_BUCKET, fresh));
      const days = await touchedDays(connection);
      const touched = new Set(days);
      const before = (await listObjects(context.s3, LAKE_BUCKET, table)).filter((object) => touched.has(partitionDayOf(table, object.key) ?? ''));
      const parquet = before.filter((object) => object.key.endsWith('.parquet'));
      const files = await downloadObjects(context.s3, LAKE_BUCKET, parquet, table, join(scratch, 'current'));
      await createTableFromParquet(connection, 'current_orders', files, COLUMNS, { partition: PARTITION });
      const merged = await mergeTables(connection, days);
      const columns = [...storedColumns(CURATED_ORDERS).map((column) => column.name), PARTITION].map(sqlIdentifier).join(', ');
      await copyPartitioned(connection, `SELECT ${columns} FROM (${SORTED_MERGE})`, out, PARTITION);
      return { ...merged, before };
    }, { tempDirectory: join(scratch, 'duckdb') });
    // New files first, then the old ones go: a crash in between leaves every row readable.
    const written = merge.counts.rowsWritten > 0 ? await uploadFolder(context.s3, LAKE_BUCKET, table, out) : [];
    const kept = new Set(written);
    const stale = merge.before.map((object) => object.key).filter((key) => !kept.has(key));
    await deleteKeys(context.s3, LAKE_BUCKET, stale);
    return { merge, parquetFiles: written.length, objectsDeleted: stale.length, changeObjects: fresh.length };
  });

  // Only now that the partitions are in place: a crash before this line merges `fresh` again.
  await saveState();
  const { counts, rewrittenPartitions, emptiedPartitions } = result.merge;
  const summary =
    `${counted(result.changeObjects, 'change object')}, ${counted(counts.changeRecords, 'record')}, ${counted(counts.keysChanged, 'key')} (${counted(counts.upserts, 'upsert')}, ${counted(counts.removes, 'remove')}); ` +
    `${counted(rewrittenPartitions.length, 'partition')} rewritten (${count(emptiedPartitions.length)} left empty, deleted): ` +
    `read ${count(counts.rowsRead)} rows, ${count(counts.rowsReplaced)} replaced or removed, wrote ${count(counts.rowsWritten)} = ${count(counts.rowsKept)} kept + ${count(counts.upserts)} upserted, ` +
    counted(result.parquetFiles, 'Parquet file');
  log(summary);
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
  };
}

/**
 * Creates `table` from export items, one row per item: read_order, source (the data file, named
 * in errors), the key as text (invoice_no, line_no: what {@link WHAT} names) and the item as JSON
 * in new_image, the column {@link curatedFromImage} reads. Batches are appended and let go.
 * @returns the number of items
 */
async function createExportItemsTable(connection: DuckDBConnection, table: string, batches: AsyncIterable<SourcedItems>): Promise<number> {
  await connection.run(`CREATE OR REPLACE TABLE ${sqlIdentifier(table)} (read_order BIGINT, source VARCHAR, invoice_no VARCHAR, line_no VARCHAR, new_image JSON)`);
  const appender = await connection.createAppender(table);
  const text = (value: unknown) => (value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value));
  let readOrder = 0;
  try {
    for await (const { source, items } of batches) {
      for (const item of items) {
        appender.appendBigInt(BigInt(readOrder));
        readOrder += 1;
        appender.appendVarchar(source);
        for (const key of [text(item.InvoiceNo), text(item.LineNo)]) {
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
 * MODE=backfill, as orders_to_lake._backfill does it on Glue: exports the orders table
 * (SOURCE_TABLE_ARN; the table is its last segment) to s3://EXPORT_BUCKET/EXPORT_PREFIX through
 * the emulated DynamoDB export, reads the export's items unnested (numbers as their exact text),
 * converts each with the incremental merge's SQL (same conversions, same refusals: a value the
 * lake cannot hold fails the run before the lake is touched), and rewrites the whole curated
 * table, as Spark's static overwrite does: the new files first, then every other object under
 * CURATED_PREFIX goes. The job's state object is left as it is: change objects merged stay
 * merged, and the next incremental run merges the new ones over the backfilled table.
 */
export async function runOrdersBackfill(context: GlueTwinContext, args: JobArguments): Promise<OrdersBackfillResult> {
  const log = jobLogger(context, JOB);
  const { LAKE_BUCKET, CURATED_PREFIX, SOURCE_TABLE_ARN, EXPORT_BUCKET, EXPORT_PREFIX } = requireArguments(JOB, args, ['LAKE_BUCKET', 'CURATED_PREFIX', 'SOURCE_TABLE_ARN', 'EXPORT_BUCKET', 'EXPORT_PREFIX']);
  const dynamodb = context.dynamodb;
  if (dynamodb === undefined) throw new DynalakeError('BAD_INVOCATION', `${JOB}: MODE=backfill exports the orders table, and the twin was given no DynamoDB client (GlueTwinContext.dynamodb)`);
  const table = folderPrefix(CURATED_PREFIX);

  const exported = await exportTableToPointInTime(dynamodb, context.s3, { tableArn: SOURCE_TABLE_ARN, s3Bucket: EXPORT_BUCKET, s3Prefix: EXPORT_PREFIX });
  const exportLocation = `s3://${EXPORT_BUCKET}/${exported.exportManifest}`;
  log(`exported ${counted(exported.summary.itemCount, 'item')} of ${SOURCE_TABLE_ARN}: ${exportLocation}`);

  const result = await withScratch(context, JOB, async (scratch) => {
    const out = join(scratch, 'out');
    const counts = await withDuckDB(
      async (connection) => {
        const itemsRead = await createExportItemsTable(connection, 'export_items', readExportItems(context.s3, EXPORT_BUCKET, exported.exportManifest));
        await connection.run(`CREATE OR REPLACE TABLE merged AS SELECT ${selectColumns(COLUMNS)} FROM (SELECT ${curatedFromImage('new_image')} FROM export_items)`);
        const rowsWritten = await readCount(connection, 'SELECT count(*) FROM merged');
        if (rowsWritten !== itemsRead) throw new DynalakeError('LOAD_FAILED', `${JOB}: read ${count(itemsRead)} items from ${exportLocation} but made ${count(rowsWritten)} rows`);
        const partitions = await readCount(connection, `SELECT count(DISTINCT ${PARTITION}) FROM merged`);
        if (rowsWritten > 0) {
          const columns = [...storedColumns(CURATED_ORDERS).map((column) => column.name), PARTITION].map(sqlIdentifier).join(', ');
          await copyPartitioned(connection, `SELECT ${columns} FROM (${SORTED_MERGE})`, out, PARTITION);
        }
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
  return { mode: 'backfill', summary, exportManifest: exported.exportManifest, ...result };
}
