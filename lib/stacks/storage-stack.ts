import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, ProjectionType } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { LakeBuckets } from '../constructs/lake-buckets';
import { StreamedTable } from '../constructs/streamed-table';

/** Properties of the {@link StorageStack}. */
export interface StorageStackProps extends StackProps {
  /** The validated pipeline configuration. */
  readonly config: PipelineConfig;
}

/** Name of the orders table's sparse index of customer orders by date (rows without CustomerID stay out). */
export const ORDERS_BY_CUSTOMER_INDEX = 'ByCustomerAndDate';

/**
 * Everything that holds data: the streamed DynamoDB tables, the lake buckets and, when the
 * configuration asks for it, the customer-managed key that encrypts them. Stateful and kept
 * apart from the pipeline, so replacing or deleting the pipeline never touches data.
 */
export class StorageStack extends Stack {
  /** Order lines of the e-commerce data: `InvoiceNo` + `LineNo`. */
  readonly orders: StreamedTable;
  /** Users' progress through campaigns: `userID` + `campaignID`. */
  readonly userCampaign: StreamedTable;
  /** Campaign definitions and their tasks: `campaignID`. */
  readonly campaignInfo: StreamedTable;
  /**
   * Rows of CSV files uploaded to `raw/`, loaded by the `csv_to_dynamodb` Glue job: keyed by an
   * `id` derived from the row's content, so a re-uploaded file rewrites the same items and a
   * duplicate row is one item. Apart from orders, which keeps every row at its file position.
   */
  readonly uploads: StreamedTable;
  /** Landing, lake, assets and access-log buckets. */
  readonly buckets: LakeBuckets;
  /** The customer-managed key of tables and buckets, when `encryption` is `kms`. */
  readonly encryptionKey?: Key;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    if (config.encryption === 'kms') {
      this.encryptionKey = new Key(this, 'DataKey', {
        description: `Encrypts the ${config.prefix}-${config.stage} tables, streams and buckets`,
        alias: `alias/${config.prefix}-${config.stage}-data`,
        enableKeyRotation: true,
        removalPolicy,
      });
    }

    const tableDefaults = {
      encryptionKey: this.encryptionKey,
      removalPolicy,
      deletionProtection: config.stage === 'prod',
    };
    this.orders = new StreamedTable(this, 'Orders', {
      ...tableDefaults,
      partitionKey: { name: 'InvoiceNo', type: AttributeType.STRING },
      sortKey: { name: 'LineNo', type: AttributeType.NUMBER },
      globalSecondaryIndexes: [
        {
          indexName: ORDERS_BY_CUSTOMER_INDEX,
          partitionKey: { name: 'CustomerID', type: AttributeType.NUMBER },
          sortKey: { name: 'InvoiceDate', type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        },
      ],
    });
    this.userCampaign = new StreamedTable(this, 'UserCampaign', {
      ...tableDefaults,
      partitionKey: { name: 'userID', type: AttributeType.STRING },
      sortKey: { name: 'campaignID', type: AttributeType.STRING },
    });
    this.campaignInfo = new StreamedTable(this, 'CampaignInfo', {
      ...tableDefaults,
      partitionKey: { name: 'campaignID', type: AttributeType.STRING },
    });

    this.uploads = new StreamedTable(this, 'Uploads', {
      ...tableDefaults,
      partitionKey: { name: 'id', type: AttributeType.STRING },
    });

    this.buckets = new LakeBuckets(this, 'Buckets', { encryptionKey: this.encryptionKey, removalPolicy, cdcExpiration: Duration.days(config.cdcRetentionDays) });

    this.addOutputs(`${config.prefix}-${config.stage}`);
  }

  /** Names and ARNs for the seed, the CLI and other stacks; export names are stable per prefix and stage. */
  private addOutputs(exportPrefix: string): void {
    const output = (id: string, exportSuffix: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description, exportName: `${exportPrefix}-${exportSuffix}` });
    };
    const tables = [
      ['Orders', 'orders', this.orders],
      ['UserCampaign', 'user-campaign', this.userCampaign],
      ['CampaignInfo', 'campaign-info', this.campaignInfo],
      ['Uploads', 'uploads', this.uploads],
    ] as const;
    for (const [id, slug, { table, tableStreamArn }] of tables) {
      output(`${id}TableName`, `${slug}-table-name`, table.tableName, `Name of the ${slug} table`);
      output(`${id}TableArn`, `${slug}-table-arn`, table.tableArn, `ARN of the ${slug} table`);
      output(`${id}StreamArn`, `${slug}-stream-arn`, tableStreamArn, `ARN of the ${slug} table's stream`);
    }
    const buckets = [
      ['Landing', 'landing', this.buckets.landing],
      ['Lake', 'lake', this.buckets.lake],
      ['Assets', 'assets', this.buckets.assets],
      ['AccessLogs', 'access-logs', this.buckets.accessLogs],
    ] as const;
    for (const [id, slug, bucket] of buckets) {
      output(`${id}BucketName`, `${slug}-bucket-name`, bucket.bucketName, `Name of the ${slug} bucket`);
    }
  }
}
