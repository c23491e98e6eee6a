import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { secureTableProps, StreamedTable } from '../../../lib/constructs/streamed-table';
import { resourceOf } from '../../helpers/cdk-app';

const partitionKey = { name: 'pk', type: AttributeType.STRING };

describe('secureTableProps', () => {
  it('streams new and old images, keeps point-in-time recovery and bills on demand', () => {
    expect(secureTableProps({ partitionKey })).toMatchObject({
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      billingMode: BillingMode.PAY_PER_REQUEST,
    });
  });

  it('retains the table and uses an AWS-owned key when nothing else is asked', () => {
    expect(secureTableProps({ partitionKey })).toMatchObject({
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: TableEncryption.DEFAULT,
      deletionProtection: false,
    });
  });

  it('switches to customer-managed encryption when given a key', () => {
    const key = new Key(new Stack(), 'Key');
    expect(secureTableProps({ partitionKey, encryptionKey: key })).toMatchObject({
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
    });
  });
});

describe('StreamedTable', () => {
  function synthesize(props: Partial<ConstructorParameters<typeof StreamedTable>[2]> = {}) {
    const stack = new Stack(new App(), 'Test');
    const table = new StreamedTable(stack, 'Table', { partitionKey, ...props });
    return { stack, table, resource: resourceOf(table.table) };
  }

  it('synthesizes the secure defaults', () => {
    const { resource } = synthesize();
    expect(resource.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: false,
    });
    // DynamoDB always encrypts; no SSESpecification, or SSEEnabled false, means an AWS-owned key.
    expect(resource.Properties.SSESpecification ?? { SSEEnabled: false }).toEqual({ SSEEnabled: false });
    expect(resource.DeletionPolicy).toBe('Retain');
  });

  it('adds each global secondary index it is given', () => {
    const { resource } = synthesize({
      globalSecondaryIndexes: [
        { indexName: 'ByOwner', partitionKey: { name: 'owner', type: AttributeType.STRING } },
        { indexName: 'ByDay', partitionKey: { name: 'day', type: AttributeType.STRING }, sortKey: { name: 'n', type: AttributeType.NUMBER } },
      ],
    });
    expect((resource.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).map((index) => index.IndexName)).toEqual(['ByOwner', 'ByDay']);
  });

  it('honours removal policy, deletion protection and the customer-managed key', () => {
    const stack = new Stack(new App(), 'Test');
    const key = new Key(stack, 'Key');
    const table = new StreamedTable(stack, 'Table', { partitionKey, encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY, deletionProtection: true });
    const resource = resourceOf(table.table);
    expect(resource.DeletionPolicy).toBe('Delete');
    expect(resource.Properties).toMatchObject({
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [resourceOf(key).logicalId, 'Arn'] } },
    });
  });

  it('exposes the stream ARN', () => {
    const { stack, table } = synthesize();
    expect(stack.resolve(table.tableStreamArn)).toEqual({ 'Fn::GetAtt': [resourceOf(table.table).logicalId, 'StreamArn'] });
  });
});
