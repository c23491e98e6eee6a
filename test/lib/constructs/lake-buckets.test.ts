import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { LakeBuckets, secureBucketProps } from '../../../lib/constructs/lake-buckets';
import { resourceOf } from '../../helpers/cdk-app';

const base = { removalPolicy: RemovalPolicy.RETAIN, versioned: false, lifecycleRules: [], incompleteUploadExpiration: Duration.days(7) };

describe('secureBucketProps', () => {
  it('blocks public access, disables ACLs and requires TLS 1.2', () => {
    expect(secureBucketProps(base)).toMatchObject({
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
    });
  });

  it('uses S3-managed keys without a key, and KMS with a bucket key when given one', () => {
    expect(secureBucketProps(base)).toMatchObject({ encryption: BucketEncryption.S3_MANAGED });
    const key = new Key(new Stack(), 'Key');
    expect(secureBucketProps({ ...base, encryptionKey: key })).toMatchObject({ encryption: BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true });
  });

  it('always aborts incomplete multipart uploads, before the rules it is given', () => {
    const rules = secureBucketProps({ ...base, lifecycleRules: [{ id: 'other', expiration: Duration.days(1) }] }).lifecycleRules;
    expect(rules?.map((rule) => rule.id)).toEqual(['abort-incomplete-uploads', 'other']);
    expect(rules?.[0]?.abortIncompleteMultipartUploadAfter?.toDays()).toBe(7);
  });

  it('empties the bucket on delete only when the removal policy is destroy', () => {
    expect(secureBucketProps(base).autoDeleteObjects).toBe(false);
    expect(secureBucketProps({ ...base, removalPolicy: RemovalPolicy.DESTROY }).autoDeleteObjects).toBe(true);
  });
});

describe('LakeBuckets', () => {
  function synthesize(props: ConstructorParameters<typeof LakeBuckets>[2] = {}) {
    const stack = new Stack(new App(), 'Test');
    return { stack, buckets: new LakeBuckets(stack, 'Buckets', props) };
  }

  it('sends the landing, lake and assets access logs to the log bucket, each under its own prefix', () => {
    const { buckets } = synthesize();
    const logBucketId = resourceOf(buckets.accessLogs).logicalId;
    for (const [bucket, prefix] of [[buckets.landing, 'landing/'], [buckets.lake, 'lake/'], [buckets.assets, 'assets/']] as const) {
      expect(resourceOf(bucket).Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logBucketId },
        LogFilePrefix: prefix,
        TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } },
      });
    }
    expect(resourceOf(buckets.accessLogs).Properties).not.toHaveProperty('LoggingConfiguration');
  });

  it('keeps the access-log bucket on S3-managed keys even when given a KMS key', () => {
    const stack = new Stack(new App(), 'Test');
    const buckets = new LakeBuckets(stack, 'Buckets', { encryptionKey: new Key(stack, 'Key') });
    expect(resourceOf(buckets.accessLogs).Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(resourceOf(buckets.lake).Properties.BucketEncryption).toMatchObject({
      ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
    });
  });

  it('applies the retention periods it is given', () => {
    const { buckets } = synthesize({
      noncurrentVersionExpiration: Duration.days(90),
      incompleteUploadExpiration: Duration.days(2),
      glueTempExpiration: Duration.days(1),
      athenaResultsExpiration: Duration.days(14),
      cdcExpiration: Duration.days(45),
      dynamoDbExportExpiration: Duration.days(3),
    });
    expect(resourceOf(buckets.landing).Properties.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 }, Status: 'Enabled' },
        { Id: 'expire-noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' },
        { Id: 'expire-cdc', Prefix: 'cdc/', ExpirationInDays: 45, Status: 'Enabled' },
      ],
    });
    expect(resourceOf(buckets.assets).Properties.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 }, Status: 'Enabled' },
        { Id: 'expire-glue-temp', Prefix: 'glue-temp/', ExpirationInDays: 1, Status: 'Enabled' },
        { Id: 'expire-athena-results', Prefix: 'athena-results/', ExpirationInDays: 14, Status: 'Enabled' },
        { Id: 'expire-dynamodb-exports', Prefix: 'dynamodb-exports/', ExpirationInDays: 3, Status: 'Enabled' },
      ],
    });
  });

  it('exposes real Bucket constructs for grants and notifications', () => {
    const { buckets } = synthesize();
    for (const bucket of [buckets.landing, buckets.lake, buckets.assets, buckets.accessLogs]) expect(bucket).toBeInstanceOf(Bucket);
  });
});
