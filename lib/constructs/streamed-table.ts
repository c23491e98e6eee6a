import { RemovalPolicy } from 'aws-cdk-lib';
import {
  type Attribute,
  BillingMode,
  type GlobalSecondaryIndexProps,
  StreamViewType,
  Table,
  TableEncryption,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledgeCheckov } from '../nag';

/** Properties of a {@link StreamedTable}. */
export interface StreamedTableProps {
  /** Partition key of the table. */
  readonly partitionKey: Attribute;
  /**
   * Sort key of the table.
   * @default - no sort key
   */
  readonly sortKey?: Attribute;
  /**
   * Global secondary indexes. Items without an index's key attributes stay out of it (sparse).
   * @default - no indexes
   */
  readonly globalSecondaryIndexes?: readonly GlobalSecondaryIndexProps[];
  /**
   * Customer-managed KMS key that encrypts the table and its stream.
   * @default - an AWS-owned key
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse DeleteTable until this is turned off (on for production stages).
   * @default false
   */
  readonly deletionProtection?: boolean;
}

/**
 * The table properties every pipeline table gets: a NEW_AND_OLD_IMAGES stream (the change
 * feed the lake is built from), point-in-time recovery, on-demand billing and encryption at
 * rest. Pure, so the defaults can be read and tested without synthesizing.
 */
export function secureTableProps(props: StreamedTableProps): TableProps {
  return {
    partitionKey: props.partitionKey,
    sortKey: props.sortKey,
    billingMode: BillingMode.PAY_PER_REQUEST,
    stream: StreamViewType.NEW_AND_OLD_IMAGES,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: props.encryptionKey ? TableEncryption.CUSTOMER_MANAGED : TableEncryption.DEFAULT,
    encryptionKey: props.encryptionKey,
    deletionProtection: props.deletionProtection ?? false,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/**
 * A DynamoDB table whose every change flows to the lake: stream of new and old images,
 * point-in-time recovery, on-demand billing, encrypted.
 */
export class StreamedTable extends Construct {
  /** The table; its `tableStreamArn` is always set. */
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StreamedTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', secureTableProps(props));
    if (props.encryptionKey === undefined) {
      acknowledgeCheckov(this.table, 'CKV_AWS_119', 'encrypted at rest with an AWS-owned key; the configuration `encryption: kms` puts tables and buckets on a customer-managed key');
    }
    for (const index of props.globalSecondaryIndexes ?? []) {
      this.table.addGlobalSecondaryIndex(index);
    }
  }

  /** ARN of the table's stream. */
  get tableStreamArn(): string {
    // Always defined: secureTableProps enables the stream unconditionally.
    return this.table.tableStreamArn as string;
  }
}
