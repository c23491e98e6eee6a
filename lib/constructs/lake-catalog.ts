import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type Column, DataFormat, Database, DateIntervalUnit, PartitionProjectionConfiguration, S3Table, S3TableStorage, Schema } from 'aws-cdk-lib/aws-glue';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { curatedPrefix, curatedTableName, type DatasetDescription, decimalType, type LakeColumnType, type PLAIN_LAKE_TYPES, validDataset } from '../dataset';

/** Properties of a {@link LakeCatalog}. */
export interface LakeCatalogProps {
  /** Glue database name (lowercase letters, digits and underscores, as Athena prefers). */
  readonly databaseName: string;
  /** The lake bucket. */
  readonly lake: IBucket;
  /**
   * Prefixes of dynalake's own campaign_progress and warehouse tables, declared when given.
   * @default - no campaign_progress or warehouse tables
   */
  readonly layout?: { readonly curatedCampaignProgressPrefix: string; readonly warehousePrefix: string };
  /**
   * The datasets whose curated tables (`curated_<name>`) the catalog declares, each under
   * `curated/<name>/` of the lake; {@link LakeCatalog.addDataset} declares more.
   * @default - none
   */
  readonly datasets?: readonly DatasetDescription[];
}

const column = (name: string, type: Column['type']): Column => ({ name, type });
const MONEY = Schema.decimal(12, 2);

/** The catalog's type for a lake column type (validated: see {@link validDataset}). */
function catalogType(type: LakeColumnType): Column['type'] {
  const decimal = decimalType(type);
  if (decimal) return Schema.decimal(decimal.precision, decimal.scale);
  return PLAIN_CATALOG_TYPES[type as (typeof PLAIN_LAKE_TYPES)[number]];
}

const PLAIN_CATALOG_TYPES: Readonly<Record<(typeof PLAIN_LAKE_TYPES)[number], Column['type']>> = {
  string: Schema.STRING,
  int: Schema.INTEGER,
  bigint: Schema.BIG_INT,
  boolean: Schema.BOOLEAN,
  timestamp: Schema.TIMESTAMP,
};

/**
 * The Glue database and the lake's tables, declared here (Parquet, partition projection) so
 * Athena can query them before any crawler has run. Column names and types are the jobs'
 * output contract; prices are exact decimals wide enough for every price of the file.
 */
export class LakeCatalog extends Construct {
  /** The database. */
  readonly database: Database;
  /** Every table of the lake, curated and warehouse. */
  readonly tables: S3Table[] = [];
  /** ARN of the account's Data Catalog (IAM needs it beside the database and tables). */
  readonly catalogArn: string;
  private readonly lake: IBucket;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    this.database = new Database(this, 'Database', { databaseName: props.databaseName, description: 'dynalake: curated and warehouse tables of the lake' });
    // Fixed name, metadata only (the data stays in the lake bucket): it goes with the stack, or a
    // rolled-back first create would leave it behind and block the next one with AlreadyExists.
    this.database.applyRemovalPolicy(RemovalPolicy.DESTROY);
    this.catalogArn = Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' });
    this.lake = props.lake;
    for (const dataset of props.datasets ?? []) this.addDataset(dataset);
    const { layout } = props;
    if (layout === undefined) return;
    const table = this.addTable.bind(this);
    table(
      'campaign_progress',
      layout.curatedCampaignProgressPrefix,
      [
        column('user_id', Schema.STRING),
        column('campaign_id', Schema.STRING),
        column('campaign_title', Schema.STRING),
        column('user_campaign_state', Schema.STRING),
        column('total_task_rewards_earned', MONEY),
        column('task_id', Schema.STRING),
        column('task_state', Schema.STRING),
        column('validated_at', Schema.TIMESTAMP),
        column('validation_failure_reason', Schema.STRING),
        column('reward_earned', MONEY),
        column('task_deadline', Schema.TIMESTAMP),
        column('reward_amount', MONEY),
        column('created_at', Schema.TIMESTAMP),
        column('updated_at', Schema.TIMESTAMP),
      ],
      { name: 'created_day', from: '2020-01-01' },
    );
    const warehouse = (name: string, columns: Column[]) => table(name, `${layout.warehousePrefix}${name}/`, columns);
    warehouse('fact_sales', [
      column('invoice_no', Schema.STRING),
      column('line_no', Schema.INTEGER),
      column('date_key', Schema.INTEGER),
      column('product_key', Schema.BIG_INT),
      column('customer_key', Schema.BIG_INT),
      column('country_key', Schema.BIG_INT),
      column('quantity', Schema.INTEGER),
      column('unit_price', Schema.decimal(12, 3)),
      column('amount', Schema.decimal(14, 3)),
      column('is_cancellation', Schema.BOOLEAN),
    ]);
    warehouse('dim_date', [
      column('date_key', Schema.INTEGER),
      column('date', Schema.DATE),
      column('year', Schema.INTEGER),
      column('quarter', Schema.INTEGER),
      column('month', Schema.INTEGER),
      column('day', Schema.INTEGER),
      column('day_of_week', Schema.INTEGER),
      column('is_weekend', Schema.BOOLEAN),
    ]);
    warehouse('dim_product', [column('product_key', Schema.BIG_INT), column('stock_code', Schema.STRING), column('description', Schema.STRING)]);
    warehouse('dim_customer', [column('customer_key', Schema.BIG_INT), column('customer_id', Schema.BIG_INT), column('country', Schema.STRING)]);
    warehouse('dim_country', [column('country_key', Schema.BIG_INT), column('country', Schema.STRING)]);
  }

  /** Declares a dataset's curated table (`curated_<name>` under `curated/<name>/`), validated with this construct's path. */
  addDataset(dataset: DatasetDescription): S3Table {
    const { columns, partition } = validDataset(dataset, this.node.path);
    if (this.node.tryFindChild(curatedTableName(dataset))) throw new Error(`${this.node.path}: dataset ${dataset.name} is declared twice`);
    return this.addTable(
      curatedTableName(dataset),
      curatedPrefix(dataset),
      columns.map((described) => column(described.name, catalogType(described.type))),
      { name: partition.column, from: partition.firstDay },
    );
  }

  /** A Parquet table under `prefix` of the lake, partitioned by projected days when `partition` is given. */
  private addTable(tableName: string, prefix: string, columns: Column[], partition?: { name: string; from: string }): S3Table {
    // Day partitions are projected from the first day of data to today: no partition listing needed.
    const days = (from: string) =>
      PartitionProjectionConfiguration.date({ min: from, max: 'NOW', format: 'yyyy-MM-dd', step: { interval: 1, intervalUnit: DateIntervalUnit.DAYS } });
    const created = new S3Table(this, tableName, {
      database: this.database,
      tableName,
      storage: S3TableStorage.fromBucket(this.lake),
      s3Prefix: prefix,
      dataFormat: DataFormat.PARQUET,
      columns,
      partitionKeys: partition ? [column(partition.name, Schema.STRING)] : undefined,
      partitionProjection: partition ? { [partition.name]: days(partition.from) } : undefined,
    });
    this.tables.push(created);
    return created;
  }

  /** ARN of a table of this database; `name` may end in `*`. */
  tableArn(name: string): string {
    return Stack.of(this).formatArn({ service: 'glue', resource: 'table', resourceName: `${this.database.databaseName}/${name}` });
  }
}
