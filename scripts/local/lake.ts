import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DynalakeError } from '../../lambda/shared/errors';
import { type JsonRow, lakeJsonConverter, openDuckDB, parquetSource, selectDeclaredColumns, sqlIdentifier } from './glue/duckdb';
import { getObjectBytes, listFiles, listObjects, localPathOf, mapConcurrent } from './glue/s3-files';
import { LAKE_TABLES, type LakeTable, queryColumns } from './lake-tables';

/**
 * Local Athena: DuckDB over a copy of the lake bucket's Parquet, with one view per catalog table
 * (curated_orders, campaign_progress, fact_sales, dim_*) and `orders` as another name for
 * curated_orders. `npm run query` and `npm start` both use it.
 */

/** What {@link syncLake} did. */
export interface LakeSyncResult {
  /** Parquet objects of the lake tables in the bucket. */
  readonly objects: number;
  /** Copied because they are new or changed (ETag or size). */
  readonly downloaded: number;
  readonly unchanged: number;
  /** Local copies removed because their object is gone. */
  readonly removed: number;
}

type Manifest = Record<string, { readonly etag: string; readonly size: number }>;

const MANIFEST = '.sync-manifest.json';

/** The last sync's manifest; none, or one that does not parse, means every object is copied again. */
function readManifest(path: string): Manifest {
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Manifest) : {};
  } catch {
    return {};
  }
}

/**
 * Copies the lake tables' Parquet objects into `lakeDir` (`<lakeDir>/<key>`), only those whose
 * ETag or size changed since the last sync, and removes the copies of objects that are gone.
 * `tables` are dynalake's own unless given (the datasets of another assembly).
 */
export async function syncLake(s3: S3Client, bucket: string, lakeDir: string, tables: readonly LakeTable[] = LAKE_TABLES): Promise<LakeSyncResult> {
  const manifestPath = join(lakeDir, MANIFEST);
  const before = readManifest(manifestPath);
  const objects = (await mapConcurrent(tables, 4, (table) => listObjects(s3, bucket, table.prefix))).flat().filter((object) => object.key.endsWith('.parquet'));
  const changed = objects.filter((object) => {
    const known = before[object.key];
    return known?.etag !== object.etag || known.size !== object.size || !existsSync(localPathOf(lakeDir, '', object.key));
  });
  await mapConcurrent(changed, 8, async (object) => {
    const path = localPathOf(lakeDir, '', object.key);
    await mkdir(dirname(path), { recursive: true });
    // Written aside under a name of its own and renamed: a query never reads half a file, and two
    // syncs at once (two `npm run query`, or one beside `npm start`) never write the same one.
    const part = `${path}.${randomUUID()}.part`;
    await writeFile(part, await getObjectBytes(s3, bucket, object.key));
    await rename(part, path);
  });
  const listed = new Set(objects.map((object) => object.key));
  const gone = Object.keys(before).filter((key) => !listed.has(key));
  for (const key of gone) await rm(localPathOf(lakeDir, '', key), { force: true });
  const manifest: Manifest = Object.fromEntries(objects.map((object) => [object.key, { etag: object.etag, size: object.size }]));
  await mkdir(lakeDir, { recursive: true });
  const manifestPart = `${manifestPath}.${randomUUID()}.part`;
  await writeFile(manifestPart, JSON.stringify(manifest));
  await rename(manifestPart, manifestPath);
  return { objects: objects.length, downloaded: changed.length, unchanged: objects.length - changed.length, removed: gone.length };
}

/** A query's result: columns with their DuckDB types, and the rows as JSON (see lakeJsonConverter). */
export interface LakeQueryResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly JsonRow[];
}

/** An open query engine over a synced lake folder. */
export interface LakeQueryEngine {
  /** The views, and how many Parquet files each reads (0: an empty table with the catalog's columns). */
  readonly tables: readonly { readonly name: string; readonly files: number }[];
  /** Runs SQL (the last statement's result is returned); a DuckDB error is a BAD_INPUT DynalakeError carrying DuckDB's message. */
  query(sql: string): Promise<LakeQueryResult>;
  close(): void;
}

/** Another name for a table, as users and the named queries say it. */
export const TABLE_ALIASES: Readonly<Record<string, string>> = { orders: 'curated_orders' };

async function createView(connection: DuckDBConnection, lakeDir: string, table: LakeTable): Promise<number> {
  const folder = join(lakeDir, ...table.prefix.split('/').filter((part) => part !== ''));
  const files = existsSync(folder) ? (await listFiles(folder)).filter((file) => file.endsWith('.parquet')) : [];
  const columns = queryColumns(table);
  const select =
    files.length === 0
      ? `SELECT ${columns.map((column) => `CAST(NULL AS ${column.type}) AS ${sqlIdentifier(column.name)}`).join(', ')} WHERE false`
      : await selectDeclaredColumns(connection, parquetSource([join(folder, '**', '*.parquet')], { partition: table.partition }), columns);
  await connection.run(`CREATE OR REPLACE VIEW ${sqlIdentifier(table.name)} AS ${select}`);
  return files.length;
}

/**
 * Opens DuckDB over `lakeDir` (as {@link syncLake} fills it) with a view per catalog table, its
 * columns and types as the catalog declares them, partition columns from the folders (text).
 */
export async function openLakeQueryEngine(options: { readonly lakeDir: string; readonly tables?: readonly LakeTable[] }): Promise<LakeQueryEngine> {
  const duckdb = await openDuckDB({ tempDirectory: join(options.lakeDir, '..', 'duckdb-tmp') });
  try {
    const { connection } = duckdb;
    const tables: { name: string; files: number }[] = [];
    for (const table of options.tables ?? LAKE_TABLES) tables.push({ name: table.name, files: await createView(connection, options.lakeDir, table) });
    // The aliases name dynalake's own tables: only where those are the ones viewed.
    for (const [alias, name] of Object.entries(options.tables ? {} : TABLE_ALIASES)) await connection.run(`CREATE OR REPLACE VIEW ${sqlIdentifier(alias)} AS SELECT * FROM ${sqlIdentifier(name)}`);
    return {
      tables,
      query: async (sql) => {
        let reader;
        try {
          reader = await connection.runAndReadAll(sql);
        } catch (error) {
          throw new DynalakeError('BAD_INPUT', (error as Error).message);
        }
        const names = reader.deduplicatedColumnNames();
        const types = reader.columnTypes();
        return { columns: names.map((name, index) => ({ name, type: String(types[index]) })), rows: reader.convertRowObjects(lakeJsonConverter) };
      },
      close: () => duckdb.close(),
    };
  } catch (error) {
    duckdb.close();
    throw error;
  }
}

/** Options of {@link queryLake}. */
export interface QueryLakeOptions {
  readonly s3: S3Client;
  /** The lake bucket. */
  readonly bucket: string;
  /** Where the lake's Parquet is copied (kept between calls: only changed objects are copied again). */
  readonly lakeDir: string;
  /**
   * The tables to view.
   * @default - dynalake's own lake tables
   */
  readonly tables?: readonly LakeTable[];
}

/** Syncs the lake, runs each SQL text, closes: what `npm start` does to show the named queries' answers. */
export async function queryLake(options: QueryLakeOptions, sqls: readonly string[]): Promise<LakeQueryResult[]> {
  await syncLake(options.s3, options.bucket, options.lakeDir, options.tables);
  const engine = await openLakeQueryEngine({ lakeDir: options.lakeDir, tables: options.tables });
  try {
    const results: LakeQueryResult[] = [];
    for (const sql of sqls) results.push(await engine.query(sql));
    return results;
  } finally {
    engine.close();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An Athena query as local SQL: the Glue database qualifier (`db.table`, `"db".table`,
 * `awsdatacatalog.db.table`) is dropped, since the local views live in DuckDB's default schema.
 * Table names and functions stay as they are: the named queries use only what DuckDB also has
 * (substr, sum, avg, count_if, count(DISTINCT …)), which the lake tests check by running them.
 */
export function localQuerySql(sql: string, database: string): string {
  const name = escapeRegExp(database);
  const catalog = '(?:(?:"awsdatacatalog"|awsdatacatalog)\\s*\\.\\s*)?';
  return sql.replace(new RegExp(`(?<![\\w."])${catalog}(?:"${name}"|\`${name}\`|${name}\\b)\\s*\\.\\s*`, 'gi'), '');
}

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

function cellText(value: JsonRow[string] | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\r?\n/g, '\\n');
}

/** A result as an aligned text table (numbers right-aligned, NULL for null), with the row count below. */
export function formatTable(result: LakeQueryResult): string {
  const { columns, rows } = result;
  if (columns.length === 0) return '(no result)';
  const cells = rows.map((row) => columns.map((column) => cellText(row[column.name])));
  const widths = columns.map((column, index) => Math.max(column.name.length, ...cells.map((line) => (line[index] ?? '').length)));
  const numeric = columns.map((column) => NUMERIC_TYPE.test(column.type));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (numeric[index] ? value.padStart(widths[index] ?? 0) : value.padEnd(widths[index] ?? 0)))
      .join(' | ')
      .trimEnd();
  const header = line(columns.map((column) => column.name));
  const rule = widths.map((width) => '-'.repeat(width)).join('-+-');
  return [header, rule, ...cells.map(line), `(${rows.length.toLocaleString('en-US')} row${rows.length === 1 ? '' : 's'})`].join('\n');
}
