import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Bucket, EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeAtSynth, acknowledgeCdkHandlers, acknowledgeCheckov } from '../nag';
import { DATASET_NAME, UPLOAD_FILTER, UPLOADS_DATASET } from '../../lambda/shared/layout';
import { BridgeFunction, checkedMetricsNamespace } from './bridge-function';

/** The idempotency table's partition key (Powertools' default) and expiry attribute. */
export const IDEMPOTENCY_KEY_ATTRIBUTE = 'id';
export const IDEMPOTENCY_EXPIRY_ATTRIBUTE = 'expiration';

/** Properties of an {@link UploadToGlue}. */
export interface UploadToGlueProps {
  /** The landing bucket (in another stack: the notification is added to it from this one). */
  readonly landingBucket: IBucket;
  /** Key prefix of the uploads; the handler is told it too. @default 'raw/' */
  readonly prefix?: string;
  /** Key suffix of the uploads, empty for any; the handler is told it too. @default '.csv' */
  readonly suffix?: string;
  /** Name of the csv_to_dynamodb Glue job. */
  readonly jobName: string;
  /** The table the job loads. */
  readonly targetTable: ITable;
  /** The dataset of that table: the `dataset` dimension of the bridge's metrics. @default 'uploads' */
  readonly dataset?: string;
  /**
   * CloudWatch namespace of the bridge's metrics (UPLOAD_METRICS, dimensions `service` and `dataset`).
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
  /**
   * Topic that the alarms notify.
   * @default - the alarms have no action: they show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
  /** Days the function's logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** What happens to the log group and the idempotency table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The upload bridge: an S3 notification on the landing bucket for `raw/*.csv` (filtered in the
 * notification itself) → the upload-to-glue handler → StartJobRun of csv_to_dynamodb for that one
 * object. An idempotency table makes a second delivery of the same object version a no-op; events
 * that fail after Lambda's two asynchronous retries go to the on-failure queue.
 */
export class UploadToGlue extends Construct {
  /** The function, its role, logs, on-failure queue and alarms. */
  readonly bridge: BridgeFunction;
  /** Idempotency records (Powertools), one per object version, expiring after a week. */
  readonly idempotencyTable: Table;
  /** The role of the custom resource that adds the notification to the landing bucket. */
  readonly notificationsRole: Role;

  constructor(scope: Construct, id: string, props: UploadToGlueProps) {
    super(scope, id);
    const prefix = props.prefix ?? UPLOAD_FILTER.prefix;
    const suffix = props.suffix ?? UPLOAD_FILTER.suffix;
    // The notification and the handler filter on the same prefix and suffix (the handler reads them from its environment).
    if (prefix === '' || prefix.startsWith('/')) throw new Error(`${this.node.path}: prefix ${JSON.stringify(prefix)} must name a key prefix, without a leading /`);
    const dataset = props.dataset ?? UPLOADS_DATASET;
    if (!DATASET_NAME.test(dataset)) throw new Error(`${this.node.path}: dataset ${JSON.stringify(dataset)} is not a dataset name (letters, digits and underscores, starting with a letter)`);
    const metricsNamespace = checkedMetricsNamespace(this, props.metricsNamespace);
    this.idempotencyTable = new Table(this, 'Idempotency', {
      partitionKey: { name: IDEMPOTENCY_KEY_ATTRIBUTE, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: IDEMPOTENCY_EXPIRY_ATTRIBUTE,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.bridge = new BridgeFunction(this, 'Bridge', {
      handlerName: 'upload-to-glue',
      description: `Starts csv_to_dynamodb for each upload under ${prefix}`,
      environment: {
        GLUE_JOB_NAME: props.jobName,
        TARGET_TABLE_NAME: props.targetTable.tableName,
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        UPLOAD_PREFIX: prefix,
        UPLOAD_SUFFIX: suffix,
        DATASET: dataset,
        METRICS_NAMESPACE: metricsNamespace,
      },
      alarmTopic: props.alarmTopic,
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      // Room for the StartJobRun backoff while Glue is at the job's concurrency limit.
      timeout: Duration.minutes(2),
    });
    const { role, function: handler, failureQueue } = this.bridge;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [this.idempotencyTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['glue:StartJobRun'], resources: [Stack.of(this).formatArn({ service: 'glue', resource: 'job', resourceName: props.jobName })] }),
    );
    handler.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SqsDestination(failureQueue) });

    // The notification is made from this stack on an imported reference to the bucket, so the
    // storage stack never depends on this one; `Managed: false` leaves its other notifications be.
    this.notificationsRole = new Role(this, 'NotificationsRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Lets the bucket-notifications custom resource configure the landing bucket',
    });
    const landing = Bucket.fromBucketAttributes(this, 'Landing', {
      bucketArn: props.landingBucket.bucketArn,
      bucketName: props.landingBucket.bucketName,
      notificationsHandlerRole: this.notificationsRole,
    });
    landing.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(handler), { prefix, suffix });

    acknowledgeCheckov(this.idempotencyTable, 'CKV_AWS_119', 'holds delivery records (object keys and run ids) for a week, no data; encrypted with an AWS-owned key');
    Validations.of(this.notificationsRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: `${this.notificationsRole.node.path}: aws-cdk-lib's bucket-notifications custom resource attaches the basic execution policy (its own logs) to the role it runs under`,
    });
    // The notifications handler is a stack singleton, complete only once every construct is added.
    acknowledgeAtSynth(this, () => { acknowledgeCdkHandlers(Stack.of(this)); });
  }
}
