import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { cdcPrefix, DATASET_NAME } from '../../lambda/shared/layout';
import { acknowledgeAtSynth, acknowledgeWildcards, BRIDGE_WILDCARD_REASONS, prefixWildcardReason, STREAM_WILDCARD_REASONS } from '../nag';
import { BridgeFunction, checkedMetricsNamespace } from './bridge-function';

/** Properties of a {@link StreamToLake}. */
export interface StreamToLakeProps {
  /** The streamed table (its stream must send NEW_AND_OLD_IMAGES). */
  readonly table: ITable;
  /**
   * The table's dataset name: its change objects go under `cdc/<dataset>/` of the landing bucket.
   * Letters, digits and underscores, starting with a letter.
   */
  readonly dataset: string;
  /** The landing bucket. */
  readonly landingBucket: IBucket;
  /** Name of the refresh workflow started after each batch. */
  readonly workflowName: string;
  /**
   * Topic that the alarms notify.
   * @default - the alarms have no action: they show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
  /** Key of the table's stream and the landing bucket, when they use a customer-managed one. @default - AWS-managed encryption */
  readonly dataKey?: IKey;
  /** Most records per batch. @default 1000 */
  readonly batchSize?: number;
  /** How long to wait to fill a batch. @default Duration.seconds(30) */
  readonly maxBatchingWindow?: Duration;
  /** Retries of a failing batch (each bisected) before its records go to the on-failure queue. @default 10 */
  readonly retryAttempts?: number;
  /** Records older than this go to the on-failure queue instead of being retried. @default Duration.hours(24) (the stream's retention) */
  readonly maxRecordAge?: Duration;
  /** Iterator age (how far the function lags behind the stream) that raises an alarm. @default Duration.minutes(15) */
  readonly iteratorAgeAlarm?: Duration;
  /**
   * CloudWatch namespace of the bridge's metrics (STREAM_METRICS, dimensions `service` and `dataset`).
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
  /** Days the function's logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The stream-to-lake bridge of one table: the handler with an event source mapping on the table's
 * stream (bisect on error, bounded retries and record age, partial batch responses, an SQS
 * on-failure destination), allowed to read that stream, put objects under its `cdc/<table>/`
 * prefix and start the refresh workflow, and nothing else; alarms on errors, iterator age and
 * on-failure queue depth.
 */
export class StreamToLake extends Construct {
  /** The function, its role, logs, on-failure queue and alarms. */
  readonly bridge: BridgeFunction;

  constructor(scope: Construct, id: string, props: StreamToLakeProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (streamArn === undefined) throw new Error(`${this.node.path}: the table has no stream (give it one with NEW_AND_OLD_IMAGES)`);
    // The handler refuses such a name when it starts; refusing it here fails the synth instead of every invocation.
    if (!DATASET_NAME.test(props.dataset)) {
      throw new Error(`${this.node.path}: dataset ${JSON.stringify(props.dataset)} is not a dataset name (letters, digits and underscores, starting with a letter)`);
    }
    const metricsNamespace = checkedMetricsNamespace(this, props.metricsNamespace);
    this.bridge = new BridgeFunction(this, 'Bridge', {
      handlerName: 'stream-to-lake',
      description: `Writes ${props.dataset} stream batches to cdc/${props.dataset}/ and starts the refresh workflow`,
      environment: { LANDING_BUCKET: props.landingBucket.bucketName, WORKFLOW_NAME: props.workflowName, DATASET: props.dataset, METRICS_NAMESPACE: metricsNamespace },
      alarmTopic: props.alarmTopic,
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });
    const { role } = this.bridge;
    const stack = Stack.of(this);

    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }));
    // The event source mapping lists the table's streams; ListStreams has no resource-level permissions.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    const changeObjects = `${cdcPrefix(props.dataset)}*`;
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [props.landingBucket.arnForObjects(changeObjects)] }));
    acknowledgeAtSynth(this, () => {
      acknowledgeWildcards(role, [...BRIDGE_WILDCARD_REASONS, ...STREAM_WILDCARD_REASONS, prefixWildcardReason(role, props.landingBucket, changeObjects, 'put')]);
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['glue:StartWorkflowRun'], resources: [stack.formatArn({ service: 'glue', resource: 'workflow', resourceName: props.workflowName })] }),
    );
    if (props.dataKey) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.dataKey.keyArn] }));

    this.bridge.function.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 1000,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(30),
        bisectBatchOnError: true,
        retryAttempts: props.retryAttempts ?? 10,
        maxRecordAge: props.maxRecordAge ?? Duration.hours(24),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.bridge.failureQueue),
      }),
    );
    const iteratorAge = props.iteratorAgeAlarm ?? Duration.minutes(15);
    this.bridge.addAlarm(
      'IteratorAge',
      this.bridge.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(5) }),
      iteratorAge.toMilliseconds(),
      `The function lags ${iteratorAge.toHumanString()} or more behind the ${props.dataset} stream`,
    );
  }
}
