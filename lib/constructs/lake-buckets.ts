import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
  PartitionDateSource,
  TargetObjectKeyFormat,
} from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { PREFIXES } from '../../lambda/shared/layout';
import { acknowledgeAtSynth, acknowledgeCdkHandlers, acknowledgeCheckov } from '../nag';

/** Properties of {@link LakeBuckets}. */
export interface LakeBucketsProps {
  /**
   * Customer-managed KMS key for the landing, lake and assets buckets. The access-log bucket
   * always uses S3-managed keys: S3 server access logging cannot deliver to SSE-KMS buckets.
   * @default - S3-managed keys (SSE-S3)
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the buckets when they leave the stack. With `DESTROY` the buckets are
   * emptied first, so the stack can be deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long overwritten or deleted object versions stay in the versioned landing and lake buckets.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * How long an incomplete multipart upload may sit before S3 aborts it, in every bucket.
   * @default Duration.days(7)
   */
  readonly incompleteUploadExpiration?: Duration;
  /**
   * How long Glue's temporary files live under the assets bucket's `glue-temp/` prefix.
   * @default Duration.days(7)
   */
  readonly glueTempExpiration?: Duration;
  /**
   * How long Athena query results live under the assets bucket's `athena-results/` prefix.
   * @default Duration.days(30)
   */
  readonly athenaResultsExpiration?: Duration;
  /**
   * How long DynamoDB exports live under the assets bucket's `dynamodb-exports/` prefix: each
   * backfill leaves a full copy of its table there (Glue's export connector does not delete it).
   * @default Duration.days(7)
   */
  readonly dynamoDbExportExpiration?: Duration;
  /**
   * How long stream change records live under the landing bucket's `cdc/` prefix. The Glue jobs
   * tolerate their expiry; it must outlast the longest stop of the refresh workflow.
   * @default Duration.days(30)
   */
  readonly cdcExpiration?: Duration;
}

/** Options of {@link secureBucketProps}. */
export interface SecureBucketOptions {
  /** Customer-managed key; SSE-S3 when absent. */
  readonly encryptionKey?: IKey;
  /** Removal policy; the bucket is emptied on delete when it is `DESTROY`. */
  readonly removalPolicy: RemovalPolicy;
  /** Keep object versions. */
  readonly versioned: boolean;
  /** Where the bucket's server access logs go, and under which prefix; no logging when absent. */
  readonly accessLogs?: { readonly bucket: IBucket; readonly prefix: string };
  /** Lifecycle rules beyond aborting incomplete uploads. */
  readonly lifecycleRules: readonly LifecycleRule[];
  /** Days before an incomplete multipart upload is aborted. */
  readonly incompleteUploadExpiration: Duration;
}

/**
 * The properties every dynalake bucket gets: no public access, ACLs disabled, TLS 1.2+ only,
 * encryption at rest, an abort rule for incomplete uploads. Pure, so the defaults can be read
 * and tested without synthesizing.
 */
export function secureBucketProps(options: SecureBucketOptions): BucketProps {
  const destroy = options.removalPolicy === RemovalPolicy.DESTROY;
  return {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    encryption: options.encryptionKey ? BucketEncryption.KMS : BucketEncryption.S3_MANAGED,
    encryptionKey: options.encryptionKey,
    // An S3 Bucket Key cuts KMS requests (and their cost) by orders of magnitude for Glue's many small reads.
    bucketKeyEnabled: options.encryptionKey ? true : undefined,
    versioned: options.versioned,
    serverAccessLogsBucket: options.accessLogs?.bucket,
    serverAccessLogsPrefix: options.accessLogs?.prefix,
    targetObjectKeyFormat: options.accessLogs ? TargetObjectKeyFormat.partitionedPrefix(PartitionDateSource.EVENT_TIME) : undefined,
    lifecycleRules: [
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: options.incompleteUploadExpiration },
      ...options.lifecycleRules,
    ],
    removalPolicy: options.removalPolicy,
    autoDeleteObjects: destroy,
  };
}

/**
 * The pipeline's buckets: `landing` (raw uploads and change records), `lake` (curated and
 * warehouse Parquet), `assets` (Glue scripts, Glue temp, Athena results, DynamoDB exports), and `accessLogs`,
 * which receives the server access logs of the other three.
 */
export class LakeBuckets extends Construct {
  /** Prefix of Glue's temporary files in the assets bucket (expired by a lifecycle rule). */
  static readonly GLUE_TEMP_PREFIX = PREFIXES.glueTemp;
  /** Prefix of Athena query results in the assets bucket (expired by a lifecycle rule). */
  static readonly ATHENA_RESULTS_PREFIX = PREFIXES.athenaResults;
  /** Prefix of the DynamoDB exports of backfills in the assets bucket (expired by a lifecycle rule). */
  static readonly DYNAMODB_EXPORTS_PREFIX = PREFIXES.dynamodbExports;
  /** Prefix of the stream change records in the landing bucket (expired by a lifecycle rule). */
  static readonly CDC_PREFIX = PREFIXES.cdc;

  /** Raw CSV uploads (`raw/`) and stream change records (`cdc/`). Versioned. */
  readonly landing: Bucket;
  /** Curated and warehouse Parquet. Versioned. */
  readonly lake: Bucket;
  /** Glue scripts, Glue temporary files, Athena results and the DynamoDB exports of backfills. */
  readonly assets: Bucket;
  /** Server access logs of the other buckets. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: LakeBucketsProps = {}) {
    super(scope, id);
    // Grant log delivery through the log bucket's policy, never through ACLs: ACLs are disabled
    // (BucketOwnerEnforced). Set here so the construct is right whatever the app's feature flags.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const incompleteUploadExpiration = props.incompleteUploadExpiration ?? Duration.days(7);
    const expireNoncurrent: LifecycleRule = {
      id: 'expire-noncurrent-versions',
      noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
    };

    this.accessLogs = new Bucket(
      this,
      'AccessLogs',
      // No encryptionKey and no access logs of its own: log delivery requires SSE-S3, and a log
      // bucket that logs to itself loops.
      secureBucketProps({ removalPolicy, versioned: false, lifecycleRules: [], incompleteUploadExpiration }),
    );
    const bucket = (bucketId: string, versioned: boolean, lifecycleRules: LifecycleRule[]): Bucket =>
      new Bucket(
        this,
        bucketId,
        secureBucketProps({
          encryptionKey: props.encryptionKey,
          removalPolicy,
          versioned,
          accessLogs: { bucket: this.accessLogs, prefix: `${bucketId.toLowerCase()}/` },
          lifecycleRules,
          incompleteUploadExpiration,
        }),
      );

    // The jobs record which change objects they merged and let expired ones leave that record.
    this.landing = bucket('Landing', true, [expireNoncurrent, { id: 'expire-cdc', prefix: LakeBuckets.CDC_PREFIX, expiration: props.cdcExpiration ?? Duration.days(30) }]);
    this.lake = bucket('Lake', true, [expireNoncurrent]);
    this.assets = bucket('Assets', false, [
      { id: 'expire-glue-temp', prefix: LakeBuckets.GLUE_TEMP_PREFIX, expiration: props.glueTempExpiration ?? Duration.days(7) },
      {
        id: 'expire-athena-results',
        prefix: LakeBuckets.ATHENA_RESULTS_PREFIX,
        expiration: props.athenaResultsExpiration ?? Duration.days(30),
      },
      { id: 'expire-dynamodb-exports', prefix: LakeBuckets.DYNAMODB_EXPORTS_PREFIX, expiration: props.dynamoDbExportExpiration ?? Duration.days(7) },
    ]);

    acknowledgeCheckov(this.accessLogs, 'CKV_AWS_18', 'it is the access-log bucket: logging it into itself would loop');
    acknowledgeCheckov(this.accessLogs, 'CKV_AWS_21', 'server access logs are written once and never overwritten; versions would only double them');
    acknowledgeCheckov(this.assets, 'CKV_AWS_21', 'holds Glue temp files, Athena results and backfill exports, all derived and expired by lifecycle rules; versions would keep what the rules expire');
    // The auto-delete-objects provider of a destroyable bucket is a stack singleton.
    acknowledgeAtSynth(this, () => { acknowledgeCdkHandlers(Stack.of(this)); });
  }
}
