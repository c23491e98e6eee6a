import { Template } from 'aws-cdk-lib/assertions';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { StreamedTable } from '../../../lib/constructs/streamed-table';
import type { StorageStack } from '../../../lib/stacks/storage-stack';
import { buildStacks, resourceOf } from '../../helpers/cdk-app';

type TableName = 'orders' | 'userCampaign' | 'campaignInfo' | 'uploads';
type BucketName = 'landing' | 'lake' | 'assets' | 'accessLogs';

const TABLES: readonly TableName[] = ['orders', 'userCampaign', 'campaignInfo', 'uploads'];
const DATA_BUCKETS: readonly Exclude<BucketName, 'accessLogs'>[] = ['landing', 'lake', 'assets'];
const ALL_BUCKETS: readonly BucketName[] = [...DATA_BUCKETS, 'accessLogs'];

const table = (stack: StorageStack, name: TableName): StreamedTable => stack[name];
const bucket = (stack: StorageStack, name: BucketName): Bucket => stack.buckets[name];

/** The bucket policy statements attached to a bucket in its stack's template. */
function policyStatements(stack: StorageStack, name: BucketName): Record<string, unknown>[] {
  const bucketId = resourceOf(bucket(stack, name)).logicalId;
  const policies = Template.fromStack(stack).findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } });
  const [policy, ...others] = Object.values(policies) as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }[];
  expect(others).toHaveLength(0);
  return policy?.Properties.PolicyDocument.Statement ?? [];
}

describe('StorageStack with the default configuration', () => {
  const { storage } = buildStacks();

  it('names the stack from prefix and stage', () => {
    expect(storage.stackName).toBe('dynalake-dev-storage');
    expect(storage.terminationProtection).toBe(false);
  });

  it('keys orders by InvoiceNo and LineNo', () => {
    expect(resourceOf(storage.orders.table).Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'InvoiceNo', KeyType: 'HASH' },
        { AttributeName: 'LineNo', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'InvoiceNo', AttributeType: 'S' },
        { AttributeName: 'LineNo', AttributeType: 'N' },
      ]) as unknown,
    });
  });

  it('indexes orders by CustomerID and InvoiceDate, sparse, with every attribute projected', () => {
    expect(resourceOf(storage.orders.table).Properties).toMatchObject({
      GlobalSecondaryIndexes: [
        {
          IndexName: 'ByCustomerAndDate',
          KeySchema: [
            { AttributeName: 'CustomerID', KeyType: 'HASH' },
            { AttributeName: 'InvoiceDate', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'CustomerID', AttributeType: 'N' },
        { AttributeName: 'InvoiceDate', AttributeType: 'S' },
      ]) as unknown,
    });
  });

  it('keys user_Campaign by userID and campaignID', () => {
    expect(resourceOf(storage.userCampaign.table).Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'userID', KeyType: 'HASH' },
        { AttributeName: 'campaignID', KeyType: 'RANGE' },
      ],
    });
    expect(resourceOf(storage.userCampaign.table).Properties).not.toHaveProperty('GlobalSecondaryIndexes');
  });

  it('keys campaignInfo by campaignID alone', () => {
    expect(resourceOf(storage.campaignInfo.table).Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'campaignID', KeyType: 'HASH' }],
    });
  });

  it('keys uploads by the content id of each uploaded row', () => {
    expect(resourceOf(storage.uploads.table).Properties).toMatchObject({ KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
  });

  describe.each(TABLES)('table %s', (name) => {
    const resource = () => resourceOf(table(storage, name).table);

    it('streams new and old images', () => {
      expect(resource().Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    });

    it('has point-in-time recovery on', () => {
      expect(resource().Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    });

    it('bills on demand', () => {
      expect(resource().Properties.BillingMode).toBe('PAY_PER_REQUEST');
    });

    it('is encrypted with an AWS-owned key', () => {
      expect(resource().Properties.SSESpecification ?? { SSEEnabled: false }).toEqual({ SSEEnabled: false });
    });

    it('is retained on stack deletion and replacement, without deletion protection outside prod', () => {
      expect(resource()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(resource().Properties.DeletionProtectionEnabled).toBe(false);
    });

    it('lets CloudFormation choose its name', () => {
      expect(resource().Properties).not.toHaveProperty('TableName');
    });
  });

  describe.each(ALL_BUCKETS)('bucket %s', (name) => {
    const resource = () => resourceOf(bucket(storage, name));

    it('blocks all public access', () => {
      expect(resource().Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });

    it('disables ACLs', () => {
      expect(resource().Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    });

    it('is encrypted with S3-managed keys', () => {
      expect(resource().Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    });

    it('denies requests without TLS and requests below TLS 1.2', () => {
      const bucketArn = { 'Fn::GetAtt': [resource().logicalId, 'Arn'] };
      const everything = [bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }];
      expect(policyStatements(storage, name)).toEqual(
        expect.arrayContaining([
          { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: everything, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
          { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: everything, Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } },
        ]),
      );
    });

    it('aborts incomplete multipart uploads after 7 days', () => {
      expect(resource().Properties.LifecycleConfiguration).toMatchObject({
        Rules: expect.arrayContaining([{ Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }]) as unknown,
      });
    });

    it('is retained and not emptied on stack deletion', () => {
      expect(resource()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(Template.fromStack(storage).findResources('Custom::S3AutoDeleteObjects')).toEqual({});
    });

    it('lets CloudFormation choose its name', () => {
      expect(resource().Properties).not.toHaveProperty('BucketName');
    });
  });

  describe.each(DATA_BUCKETS)('data bucket %s', (name) => {
    it('writes server access logs to the access-log bucket under its own prefix', () => {
      expect(resourceOf(bucket(storage, name)).Properties.LoggingConfiguration).toMatchObject({
        DestinationBucketName: { Ref: resourceOf(storage.buckets.accessLogs).logicalId },
        LogFilePrefix: `${name}/`,
      });
    });

    it('is allowed to deliver logs by the log bucket policy, for its prefix and only from itself', () => {
      const logBucketArn = { 'Fn::GetAtt': [resourceOf(storage.buckets.accessLogs).logicalId, 'Arn'] };
      expect(policyStatements(storage, 'accessLogs')).toContainEqual({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [logBucketArn, `/${name}/*`]] },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [resourceOf(bucket(storage, name)).logicalId, 'Arn'] } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      });
    });
  });

  it('versions the landing and lake buckets and expires their noncurrent versions after 30 days', () => {
    for (const name of ['landing', 'lake'] as const) {
      const properties = resourceOf(bucket(storage, name)).Properties;
      expect(properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(properties.LifecycleConfiguration).toMatchObject({
        Rules: expect.arrayContaining([{ Id: 'expire-noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }]) as unknown,
      });
    }
  });

  it('does not version the assets and access-log buckets', () => {
    for (const name of ['assets', 'accessLogs'] as const) {
      expect(resourceOf(bucket(storage, name)).Properties).not.toHaveProperty('VersioningConfiguration');
    }
  });

  it('expires Glue temp files and DynamoDB exports after 7 days and Athena results after 30 days in the assets bucket', () => {
    expect(resourceOf(storage.buckets.assets).Properties.LifecycleConfiguration).toMatchObject({
      Rules: expect.arrayContaining([
        { Id: 'expire-glue-temp', Prefix: 'glue-temp/', ExpirationInDays: 7, Status: 'Enabled' },
        { Id: 'expire-athena-results', Prefix: 'athena-results/', ExpirationInDays: 30, Status: 'Enabled' },
        { Id: 'expire-dynamodb-exports', Prefix: 'dynamodb-exports/', ExpirationInDays: 7, Status: 'Enabled' },
      ]) as unknown,
    });
  });

  it('does not log the access-log bucket into itself', () => {
    expect(resourceOf(storage.buckets.accessLogs).Properties).not.toHaveProperty('LoggingConfiguration');
  });

  it('creates no KMS key', () => {
    Template.fromStack(storage).resourceCountIs('AWS::KMS::Key', 0);
  });

  it.each([
    ['OrdersTableName', 'dynalake-dev-orders-table-name', 'orders', 'Ref'],
    ['OrdersTableArn', 'dynalake-dev-orders-table-arn', 'orders', 'Arn'],
    ['OrdersStreamArn', 'dynalake-dev-orders-stream-arn', 'orders', 'StreamArn'],
    ['UserCampaignTableName', 'dynalake-dev-user-campaign-table-name', 'userCampaign', 'Ref'],
    ['UserCampaignTableArn', 'dynalake-dev-user-campaign-table-arn', 'userCampaign', 'Arn'],
    ['UserCampaignStreamArn', 'dynalake-dev-user-campaign-stream-arn', 'userCampaign', 'StreamArn'],
    ['CampaignInfoTableName', 'dynalake-dev-campaign-info-table-name', 'campaignInfo', 'Ref'],
    ['CampaignInfoTableArn', 'dynalake-dev-campaign-info-table-arn', 'campaignInfo', 'Arn'],
    ['CampaignInfoStreamArn', 'dynalake-dev-campaign-info-stream-arn', 'campaignInfo', 'StreamArn'],
    ['UploadsTableName', 'dynalake-dev-uploads-table-name', 'uploads', 'Ref'],
    ['UploadsTableArn', 'dynalake-dev-uploads-table-arn', 'uploads', 'Arn'],
    ['UploadsStreamArn', 'dynalake-dev-uploads-stream-arn', 'uploads', 'StreamArn'],
  ] as const)('outputs %s, exported as %s', (outputId, exportName, name, attribute) => {
    const logicalId = resourceOf(table(storage, name).table).logicalId;
    const value = attribute === 'Ref' ? { Ref: logicalId } : { 'Fn::GetAtt': [logicalId, attribute] };
    Template.fromStack(storage).hasOutput(outputId, { Value: value, Export: { Name: exportName } });
  });

  it.each([
    ['LandingBucketName', 'dynalake-dev-landing-bucket-name', 'landing'],
    ['LakeBucketName', 'dynalake-dev-lake-bucket-name', 'lake'],
    ['AssetsBucketName', 'dynalake-dev-assets-bucket-name', 'assets'],
    ['AccessLogsBucketName', 'dynalake-dev-access-logs-bucket-name', 'accessLogs'],
  ] as const)('outputs %s, exported as %s', (outputId, exportName, name) => {
    Template.fromStack(storage).hasOutput(outputId, { Value: { Ref: resourceOf(bucket(storage, name)).logicalId }, Export: { Name: exportName } });
  });

  it('tags every resource with prefix and stage', () => {
    for (const construct of [storage.orders.table, storage.buckets.lake]) {
      expect(resourceOf(construct).Properties.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'dynalake:prefix', Value: 'dynalake' },
          { Key: 'dynalake:stage', Value: 'dev' },
        ]),
      );
    }
  });
});

describe('StorageStack with encryption "kms"', () => {
  const { storage } = buildStacks({ encryption: 'kms', prefix: 'shop' });
  const keyArn = () => ({ 'Fn::GetAtt': [resourceOf(storage.encryptionKey as NonNullable<StorageStack['encryptionKey']>).logicalId, 'Arn'] });

  it('creates one customer-managed key with rotation and a named alias', () => {
    const template = Template.fromStack(storage);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/shop-dev-data' });
  });

  it.each(TABLES)('encrypts table %s with the key', (name) => {
    expect(resourceOf(table(storage, name).table).Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn() });
  });

  it.each(DATA_BUCKETS)('encrypts bucket %s with the key and an S3 bucket key', (name) => {
    expect(resourceOf(bucket(storage, name)).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn() } }],
    });
  });

  it('keeps the access-log bucket on S3-managed keys, the only encryption log delivery accepts', () => {
    expect(resourceOf(storage.buckets.accessLogs).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('retains the key', () => {
    expect(resourceOf(storage.encryptionKey as NonNullable<StorageStack['encryptionKey']>)).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it('derives export names from the prefix', () => {
    Template.fromStack(storage).hasOutput('OrdersTableName', { Export: { Name: 'shop-dev-orders-table-name' } });
  });
});

describe('StorageStack with removalPolicy "destroy"', () => {
  const { storage } = buildStacks({ stage: 'sandbox', removalPolicy: 'destroy', encryption: 'kms' });

  it.each(TABLES)('deletes table %s with the stack', (name) => {
    expect(resourceOf(table(storage, name).table)).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it.each(ALL_BUCKETS)('empties and deletes bucket %s with the stack', (name) => {
    expect(resourceOf(bucket(storage, name))).toMatchObject({ DeletionPolicy: 'Delete' });
    Template.fromStack(storage).hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: { Ref: resourceOf(bucket(storage, name)).logicalId } });
  });

  it('schedules the key for deletion with the stack', () => {
    expect(resourceOf(storage.encryptionKey as NonNullable<StorageStack['encryptionKey']>)).toMatchObject({ DeletionPolicy: 'Delete' });
  });
});

describe('StorageStack in stage "prod"', () => {
  const { storage } = buildStacks({ stage: 'prod' });

  it.each(TABLES)('protects table %s from deletion', (name) => {
    expect(resourceOf(table(storage, name).table).Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('turns on stack termination protection', () => {
    expect(storage.terminationProtection).toBe(true);
  });

  it('names stack and exports after the stage', () => {
    expect(storage.stackName).toBe('dynalake-prod-storage');
    Template.fromStack(storage).hasOutput('LakeBucketName', { Export: { Name: 'dynalake-prod-lake-bucket-name' } });
  });
});
