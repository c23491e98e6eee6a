import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DynalakeError } from '../../../lambda/shared/errors';
import { CURATED_ORDERS, type LakeTable, queryColumns, STAR_TABLES, storedColumns } from '../lake-tables';
import { asSparkWritesIt, createTableFromParquet, createTableFromRows, type JsonRow, readCount, readRows, selectColumns, sqlIdentifier, sqlLiteral, withDuckDB } from './duckdb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, jobMetrics, metricsNamespaceArgument, requireArguments, withScratch } from './job';
import { deleteKeys, downloadObjects, folderPrefix, getObjectBytesIfAny, listObjects, type S3ObjectInfo, uploadFile } from './s3-files';

/**
 * The local twin of glue-scripts/sales_star_schema.py: fact_sales and the date, product, customer
 * and country dimensions, rebuilt from all curated orders when they changed since the last build,
 * and left alone when they did not. Surrogate keys are the dynalake_glue hashes (the
 * `surrogate_key` macro), so a rebuild gives every product, customer and country the key it had
 * before, in the cloud and here alike.
 */

export const JOB = 'sales_star_schema';

/** The star schema's table names. */
export type StarTableName = (typeof STAR_TABLES)[number]['name'];

/**
 * Per `group`, its most frequent non-null `value` over order lines; a tie goes to the value that
 * sorts first (byte order, as Spark and Python compare strings), so reruns agree.
 */
function mostFrequent(group: string, value: string, alias: string): string {
  return `SELECT ${group}, ${value} AS ${alias} FROM (
      SELECT ${group}, ${value}, count(*) AS n FROM orders WHERE ${value} IS NOT NULL GROUP BY ${group}, ${value}
    ) QUALIFY row_number() OVER (PARTITION BY ${group} ORDER BY n DESC, ${value} ASC) = 1`;
}

/** Each table's SELECT over `orders` (CURATED_ORDERS columns with invoice_day), as build_star defines it. */
const STAR_SQL: Readonly<Record<StarTableName, string>> = {
  fact_sales: `
    SELECT invoice_no, line_no,
      date_key(invoice_day) AS date_key,
      surrogate_key('product', stock_code) AS product_key,
      CASE WHEN customer_id IS NULL THEN 0 ELSE surrogate_key('customer', CAST(customer_id AS VARCHAR)) END AS customer_key,
      CASE WHEN country IS NULL OR js_trim(country) = '' THEN 0 ELSE surrogate_key('country', country) END AS country_key,
      quantity, unit_price,
      -- Exact: DECIMAL(10,0) × DECIMAL(12,3); a product DECIMAL(14,3) cannot hold fails the run.
      CAST(CAST(quantity AS DECIMAL(10,0)) * unit_price AS DECIMAL(14,3)) AS amount,
      is_cancellation
    FROM orders`,
  // Every day from the first sale to the last, days without sales included; ISO day of week.
  dim_date: `
    SELECT date_key(strftime(d, '%Y-%m-%d')) AS date_key, CAST(d AS DATE) AS date, year(d) AS year, quarter(d) AS quarter,
      month(d) AS month, dayofmonth(d) AS day, isodow(d) AS day_of_week, isodow(d) >= 6 AS is_weekend
    FROM generate_series((SELECT CAST(min(invoice_day) AS DATE) FROM orders), (SELECT CAST(max(invoice_day) AS DATE) FROM orders), INTERVAL 1 DAY) AS days(d)`,
  dim_product: `
    SELECT surrogate_key('product', p.stock_code) AS product_key, p.stock_code, d.description
    FROM (SELECT DISTINCT stock_code FROM orders) p
    LEFT JOIN (${mostFrequent('stock_code', 'description', 'description')}) d ON d.stock_code = p.stock_code`,
  // Key 0 stands for the rows without a CustomerID; it exists even when every row has one.
  dim_customer: `
    SELECT surrogate_key('customer', CAST(c.customer_id AS VARCHAR)) AS customer_key, c.customer_id, m.country
    FROM (SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL) c
    LEFT JOIN (${mostFrequent('customer_id', 'country', 'country')}) m ON m.customer_id = c.customer_id
    UNION ALL SELECT 0, NULL, NULL`,
  // Key 0 stands for items without a Country, like the unknown customer.
  dim_country: `
    SELECT surrogate_key('country', country) AS country_key, country FROM (SELECT DISTINCT country FROM orders WHERE country IS NOT NULL)
    UNION ALL SELECT 0, NULL`,
};

/** `2010-12-01` → 20101201 (dynalake_glue.date_key); anything but a real YYYY-MM-DD day is an error. */
const DATE_KEY_MACRO = `CREATE OR REPLACE MACRO date_key(day) AS CASE
    WHEN day IS NULL THEN NULL
    WHEN regexp_full_match(day, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND TRY_CAST(day AS DATE) IS NOT NULL
      THEN CAST(strftime(CAST(day AS DATE), '%Y%m%d') AS INTEGER)
    ELSE error('invoice_day ' || day || ' is not a day in the form YYYY-MM-DD') END`;

/** Creates the star tables (named as in the catalog, with its column types) from the `orders` table. */
async function buildStarTables(connection: DuckDBConnection): Promise<Record<StarTableName, number>> {
  await connection.run(DATE_KEY_MACRO);
  const counts = {} as Record<StarTableName, number>;
  for (const table of STAR_TABLES) {
    await connection.run(`CREATE OR REPLACE TABLE ${sqlIdentifier(table.name)} AS SELECT ${selectColumns(storedColumns(table))} FROM (${STAR_SQL[table.name]})`);
    counts[table.name] = await readCount(connection, `SELECT count(*) FROM ${sqlIdentifier(table.name)}`);
  }
  return counts;
}

/** Rows in a stable order for reading back: by every column, nulls first. */
function sortedRows(table: LakeTable): string {
  return `SELECT * FROM ${sqlIdentifier(table.name)} ORDER BY ${table.columns.map((column) => `${sqlIdentifier(column.name)} NULLS FIRST`).join(', ')}`;
}

/** The star schema from curated orders rows (the golden test's entry): each table's rows, as JSON. */
export async function buildStarSchema(orders: readonly JsonRow[]): Promise<Record<StarTableName, JsonRow[]>> {
  return withDuckDB(async (connection) => {
    await createTableFromRows(connection, 'orders', queryColumns(CURATED_ORDERS), orders);
    await buildStarTables(connection);
    const tables = {} as Record<StarTableName, JsonRow[]>;
    for (const table of STAR_TABLES) tables[table.name] = await readRows(connection, sortedRows(table));
    return tables;
  });
}

/**
 * The build state, `<STATE_PREFIX>built.json` in the lake bucket (dynalake_glue
 * render_build_state): which curated orders the star was last built from, as a fingerprint of
 * their listing. The twin fingerprints each object by key and ETag (its content: a partition the
 * twin rewrites keeps its key); the Spark job by key, size and modification time (Spark names
 * every file it writes anew). A lake moved between engines is rebuilt once.
 */
export const BUILD_STATE_FORMAT = 1;
const BUILD_STATE_OBJECT = 'built.json';

/** The curated orders a build read: where, how many objects, and their fingerprint. */
export interface BuiltFrom {
  readonly source: string;
  readonly objects: number;
  readonly fingerprint: string;
}

/** The fingerprint of the listed curated objects (key and ETag of each, in key order). */
export function curatedFingerprint(objects: readonly S3ObjectInfo[]): string {
  const hash = createHash('sha256');
  for (const object of objects) hash.update(`${object.key}\t${object.etag}\n`);
  return hash.digest('hex');
}

/** The key of the build state under a STATE_PREFIX. */
export function buildStateKey(statePrefix: string): string {
  return `${folderPrefix(statePrefix)}${BUILD_STATE_OBJECT}`;
}

/** Parses a build state's text; another job's or format's state is an error naming `where`. */
export function parseBuildState(text: string, where: string): BuiltFrom {
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `${where}: the build state is not JSON (${(error as Error).message}); delete it to rebuild the star schema`);
  }
  const { format, job, curatedOrders } = (state ?? {}) as { format?: unknown; job?: unknown; curatedOrders?: Partial<Record<keyof BuiltFrom, unknown>> };
  if (
    format !== BUILD_STATE_FORMAT ||
    job !== JOB ||
    typeof curatedOrders?.source !== 'string' ||
    !Number.isSafeInteger(curatedOrders.objects) ||
    typeof curatedOrders.fingerprint !== 'string'
  ) {
    throw new DynalakeError('BAD_INPUT', `${where}: not a format-${String(BUILD_STATE_FORMAT)} build state of ${JOB}; delete it to rebuild the star schema`);
  }
  return { source: curatedOrders.source, objects: curatedOrders.objects as number, fingerprint: curatedOrders.fingerprint };
}

/** A build state's text, as render_build_state writes it. */
export function renderBuildState(builtFrom: BuiltFrom, builtAt: string): string {
  return `${JSON.stringify({ builtAt, curatedOrders: { fingerprint: builtFrom.fingerprint, objects: builtFrom.objects, source: builtFrom.source }, format: BUILD_STATE_FORMAT, job: JOB }, null, 2)}\n`;
}

/** The build state in S3, if there is one. */
async function readBuildState(s3: S3Client, bucket: string, key: string): Promise<BuiltFrom | undefined> {
  const bytes = await getObjectBytesIfAny(s3, bucket, key);
  return bytes === undefined ? undefined : parseBuildState(Buffer.from(bytes).toString('utf8'), `s3://${bucket}/${key}`);
}

/** What one run did. */
export interface SalesStarSchemaResult extends GlueTwinResult {
  /** Whether the run left the star alone: the curated orders had not changed since the last build. */
  readonly unchanged: boolean;
  /** Curated orders rows read. */
  readonly ordersRead: number;
  /** Curated Parquet files read. */
  readonly filesRead: number;
  /** Rows written per table. */
  readonly tables: Readonly<Record<StarTableName, number>>;
  /** Parquet files written (one per table; none when unchanged). */
  readonly parquetFiles: number;
  /** Objects of the previous tables that are gone. */
  readonly objectsDeleted: number;
}

/**
 * Runs sales_star_schema locally. Arguments as the Glue job's: LAKE_BUCKET, CURATED_PREFIX,
 * WAREHOUSE_PREFIX, STATE_PREFIX. Each table is overwritten whole under
 * `<WAREHOUSE_PREFIX><table>/`, as one Parquet file (the job writes the fact with Spark's
 * partitioning; the rows are the same). When the curated orders are the objects of the last build
 * and every table is in place, nothing is read or written: a refresh that changed no order costs
 * a listing.
 */
export async function runSalesStarSchema(context: GlueTwinContext, args: JobArguments): Promise<SalesStarSchemaResult> {
  const started = performance.now();
  const log = jobLogger(context, JOB);
  const { LAKE_BUCKET, CURATED_PREFIX, WAREHOUSE_PREFIX, STATE_PREFIX } = requireArguments(JOB, args, ['LAKE_BUCKET', 'CURATED_PREFIX', 'WAREHOUSE_PREFIX', 'STATE_PREFIX']);
  const curated = folderPrefix(CURATED_PREFIX);
  const warehouse = folderPrefix(WAREHOUSE_PREFIX);
  const stateKey = buildStateKey(STATE_PREFIX);
  const figures = (result: { ordersRead: number; tables: Readonly<Record<StarTableName, number>> }) =>
    jobMetrics(metricsNamespaceArgument(args), JOB, JOB, {
      RowsRead: result.ordersRead,
      RowsWritten: Object.values(result.tables).reduce((total, rows) => total + rows, 0),
      RunDurationSeconds: Math.round(performance.now() - started) / 1000,
    });

  const sources = (await listObjects(context.s3, LAKE_BUCKET, curated)).filter((object) => object.key.endsWith('.parquet'));
  const builtFrom: BuiltFrom = { source: `s3://${LAKE_BUCKET}/${curated}`, objects: sources.length, fingerprint: curatedFingerprint(sources) };
  const lastBuild = await readBuildState(context.s3, LAKE_BUCKET, stateKey);
  if (lastBuild?.source === builtFrom.source && lastBuild.fingerprint === builtFrom.fingerprint) {
    const inPlace = new Set((await listObjects(context.s3, LAKE_BUCKET, warehouse)).map((object) => object.key.slice(warehouse.length).split('/')[0]));
    if (STAR_TABLES.every((table) => inPlace.has(table.name))) {
      const tables = Object.fromEntries(STAR_TABLES.map((table) => [table.name, 0])) as Record<StarTableName, number>;
      const summary = `curated orders unchanged since the last build (${counted(sources.length, 'file')}): nothing to do`;
      log(summary);
      return { summary, unchanged: true, ordersRead: 0, filesRead: 0, tables, parquetFiles: 0, objectsDeleted: 0, metrics: figures({ ordersRead: 0, tables }) };
    }
  }

  // Gone while the tables are rewritten: a run that fails half-way leaves no state, and the next one rebuilds.
  if (lastBuild !== undefined) await deleteKeys(context.s3, LAKE_BUCKET, [stateKey]);
  const result = await withScratch(context, JOB, async (scratch) => {
    if (sources.length === 0) log(`no curated orders under s3://${LAKE_BUCKET}/${curated}: the star schema is empty (only the unknown customer and country)`);
    const files = await downloadObjects(context.s3, LAKE_BUCKET, sources, curated, join(scratch, 'curated'));
    const out = join(scratch, 'out');
    await mkdir(out, { recursive: true });
    const { ordersRead, tables } = await withDuckDB(async (connection) => {
      await createTableFromParquet(connection, 'orders', files, queryColumns(CURATED_ORDERS), { partition: 'invoice_day' });
      const built = await buildStarTables(connection);
      for (const table of STAR_TABLES) {
        await connection.run(`COPY (${await asSparkWritesIt(connection, sortedRows(table))}) TO ${sqlLiteral(join(out, `${table.name}.parquet`))} (FORMAT parquet)`);
      }
      return { ordersRead: await readCount(connection, 'SELECT count(*) FROM orders'), tables: built };
    }, { tempDirectory: join(scratch, 'duckdb') });
    let objectsDeleted = 0;
    for (const table of STAR_TABLES) {
      const prefix = `${warehouse}${table.name}/`;
      const key = `${prefix}part-0.parquet`;
      const before = await listObjects(context.s3, LAKE_BUCKET, prefix);
      await uploadFile(context.s3, LAKE_BUCKET, key, join(out, `${table.name}.parquet`));
      const stale = before.map((object) => object.key).filter((old) => old !== key);
      await deleteKeys(context.s3, LAKE_BUCKET, stale);
      objectsDeleted += stale.length;
    }
    return { ordersRead, filesRead: files.length, tables, objectsDeleted };
  });
  // Last, once every table is in place.
  await context.s3.send(new PutObjectCommand({ Bucket: LAKE_BUCKET, Key: stateKey, Body: renderBuildState(builtFrom, new Date().toISOString()), ContentType: 'application/json' }));
  const summary =
    `read ${counted(result.ordersRead, 'curated order')} from ${counted(result.filesRead, 'file')}; wrote ` +
    STAR_TABLES.map((table) => `${table.name} ${count(result.tables[table.name])}`).join(', ') +
    ` rows; ${counted(result.objectsDeleted, 'old object')} deleted`;
  log(summary);
  // A rebuild of the whole star, as the job publishes it: every curated order read, every table's rows written.
  return { summary, unchanged: false, ...result, parquetFiles: STAR_TABLES.length, metrics: figures(result) };
}
