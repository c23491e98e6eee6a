import { curatedPrefix, curatedTableName, type DatasetDescription, ORDERS_DATASET } from '../../lib/dataset';
import { curatedTablePrefix, PREFIXES } from '../../lambda/shared/layout';
import type { ColumnSpec } from './glue/duckdb';

/**
 * The lake's tables as the Glue catalog declares them (lib/constructs/lake-catalog.ts): name,
 * key prefix in the lake bucket, columns with their Glue types, and the partition column. The
 * local twins write Parquet with these columns and `npm run query` reads it with them.
 *
 * A dataset's table comes from its description (lib/dataset.ts, plain data); the others are
 * written out here rather than read from the construct, so the query CLI does not load
 * aws-cdk-lib at every call; test/scripts/local/lake.test.ts fails when they drift apart.
 */

/** A column: name and Glue (Hive) type, e.g. `decimal(12,3)`. */
export interface LakeColumn {
  readonly name: string;
  readonly glueType: string;
}

/** One lake table. */
export interface LakeTable {
  readonly name: string;
  /** Key prefix in the lake bucket, ending in `/`. */
  readonly prefix: string;
  /** The columns stored in the Parquet files (the partition column is not one of them). */
  readonly columns: readonly LakeColumn[];
  /** The day partition (`<name>=YYYY-MM-DD/` folders), a string column; absent when unpartitioned. */
  readonly partition?: string;
}

const columns = (...pairs: readonly (readonly [string, string])[]): LakeColumn[] => pairs.map(([name, glueType]) => ({ name, glueType }));

/** A dataset's lake table: its columns in order, partitioned by day. */
export function datasetLakeTable(dataset: DatasetDescription): LakeTable {
  return { name: curatedTableName(dataset), prefix: curatedPrefix(dataset), columns: dataset.columns.map((column) => ({ name: column.name, glueType: column.type })), partition: dataset.partition.column };
}

export const CURATED_ORDERS: LakeTable = datasetLakeTable(ORDERS_DATASET);

export const CAMPAIGN_PROGRESS: LakeTable = {
  name: 'campaign_progress',
  prefix: curatedTablePrefix('campaign_progress'),
  columns: columns(
    ['user_id', 'string'],
    ['campaign_id', 'string'],
    ['campaign_title', 'string'],
    ['user_campaign_state', 'string'],
    ['total_task_rewards_earned', 'decimal(12,2)'],
    ['task_id', 'string'],
    ['task_state', 'string'],
    ['validated_at', 'timestamp'],
    ['validation_failure_reason', 'string'],
    ['reward_earned', 'decimal(12,2)'],
    ['task_deadline', 'timestamp'],
    ['reward_amount', 'decimal(12,2)'],
    ['created_at', 'timestamp'],
    ['updated_at', 'timestamp'],
  ),
  partition: 'created_day',
};

const warehouse = <N extends string>(name: N, tableColumns: LakeColumn[]): LakeTable & { readonly name: N } => ({ name, prefix: `${PREFIXES.warehouse}${name}/`, columns: tableColumns });

export const FACT_SALES = warehouse(
  'fact_sales',
  columns(
    ['invoice_no', 'string'],
    ['line_no', 'int'],
    ['date_key', 'int'],
    ['product_key', 'bigint'],
    ['customer_key', 'bigint'],
    ['country_key', 'bigint'],
    ['quantity', 'int'],
    ['unit_price', 'decimal(12,3)'],
    ['amount', 'decimal(14,3)'],
    ['is_cancellation', 'boolean'],
  ),
);
export const DIM_DATE = warehouse(
  'dim_date',
  columns(['date_key', 'int'], ['date', 'date'], ['year', 'int'], ['quarter', 'int'], ['month', 'int'], ['day', 'int'], ['day_of_week', 'int'], ['is_weekend', 'boolean']),
);
export const DIM_PRODUCT = warehouse('dim_product', columns(['product_key', 'bigint'], ['stock_code', 'string'], ['description', 'string']));
export const DIM_CUSTOMER = warehouse('dim_customer', columns(['customer_key', 'bigint'], ['customer_id', 'bigint'], ['country', 'string']));
export const DIM_COUNTRY = warehouse('dim_country', columns(['country_key', 'bigint'], ['country', 'string']));

/** Every table of the catalog, in its order. */
export const LAKE_TABLES: readonly LakeTable[] = [CURATED_ORDERS, CAMPAIGN_PROGRESS, FACT_SALES, DIM_DATE, DIM_PRODUCT, DIM_CUSTOMER, DIM_COUNTRY];

/** The star schema's tables, as sales_star_schema writes them. */
export const STAR_TABLES = [FACT_SALES, DIM_DATE, DIM_PRODUCT, DIM_CUSTOMER, DIM_COUNTRY] as const;

const SIMPLE_TYPES: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
};

/** The DuckDB type of a Glue type (the subset the catalog uses). */
export function duckdbType(glueType: string): string {
  const simple = SIMPLE_TYPES[glueType];
  if (simple !== undefined) return simple;
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(glueType);
  if (decimal) return `DECIMAL(${decimal[1] ?? ''},${decimal[2] ?? ''})`;
  throw new Error(`no DuckDB type for the Glue type ${glueType}`);
}

/** The table's stored columns as DuckDB columns (without the partition column). */
export function storedColumns(table: LakeTable): ColumnSpec[] {
  return table.columns.map((column) => ({ name: column.name, type: duckdbType(column.glueType) }));
}

/** The table's columns as queries see them: stored columns, then the partition column (VARCHAR). */
export function queryColumns(table: LakeTable): ColumnSpec[] {
  return [...storedColumns(table), ...(table.partition === undefined ? [] : [{ name: table.partition, type: 'VARCHAR' }])];
}
