import { join } from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { type ISecurityConfiguration, WorkerType } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { cdcPrefix, exportPrefix, glueTempPrefix, jobStatePrefix } from '../../lambda/shared/layout';
import { curatedPrefix, type DatasetDescription, validDataset } from '../dataset';
import { EXPORT_WILDCARD_REASONS } from '../nag';
import { packageRoot } from '../package-root';
import { prefixPattern } from '../s3-grants';
import { countAlarm } from './alert-topic';
import { FreshnessAlarms } from './freshness-alarms';
import type { LakeCatalog } from './lake-catalog';
import { LakeJob } from './lake-job';
import { RefreshFollowUp } from './refresh-follow-up';
import { RefreshWorkflow } from './refresh-workflow';
import { StreamToLake } from './stream-to-lake';
import { DEFAULT_METRICS_NAMESPACE } from '../../lambda/shared/metrics';

/** The generic CDC-merge script and the helper module it imports, shipped in the package. */
const GLUE_SCRIPTS = join(packageRoot(), 'glue-scripts');

/** The CDC-merge job's name for a dataset (orders: `orders_to_lake`), which also names its state and temp prefixes. */
export const datasetJobKey = (dataset: Pick<DatasetDescription, 'name'>): string => `${dataset.name}_to_lake`;

/** Where a dataset's objects are in the buckets: its change objects, lake table, merge state and backfill exports. */
export function datasetLayout(dataset: Pick<DatasetDescription, 'name'>) {
  return {
    /** Landing bucket: the stream bridge's change objects. */
    cdcPrefix: cdcPrefix(dataset.name),
    /** Lake bucket: the curated table. */
    curatedPrefix: curatedPrefix(dataset),
    /** Lake bucket: which change objects the job has merged. */
    statePrefix: jobStatePrefix(datasetJobKey(dataset)),
    /** Assets bucket: the DynamoDB exports of a backfill. */
    exportPrefix: exportPrefix(dataset.name),
    /** Assets bucket: Glue's temporary files. */
    glueTempPrefix: glueTempPrefix(datasetJobKey(dataset)),
  } as const;
}

/** The names a dataset's job arguments point at: tokens in a stack, plain names locally. */
export interface DatasetJobResources {
  readonly landingBucket: string;
  readonly lakeBucket: string;
  readonly assetsBucket: string;
  readonly tableArn: string;
  /** @default 'dynalake' */
  readonly metricsNamespace?: string;
}

/**
 * The CDC-merge job's arguments for a dataset (without the leading `--`), as its job definition
 * holds them: one function for the construct and the local Glue. DATASET is the description as
 * JSON; Glue allows 260 KB of arguments in all (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html).
 */
export function datasetJobArguments(dataset: DatasetDescription, resources: DatasetJobResources): Record<string, string> {
  const layout = datasetLayout(dataset);
  return {
    LANDING_BUCKET: resources.landingBucket,
    LAKE_BUCKET: resources.lakeBucket,
    CDC_PREFIX: layout.cdcPrefix,
    CURATED_PREFIX: layout.curatedPrefix,
    STATE_PREFIX: layout.statePrefix,
    MODE: 'incremental',
    SOURCE_TABLE_ARN: resources.tableArn,
    EXPORT_BUCKET: resources.assetsBucket,
    EXPORT_PREFIX: layout.exportPrefix,
    DATASET: JSON.stringify(dataset),
    METRICS_NAMESPACE: resources.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
  };
}

/** Properties of a {@link LakeDataset}. */
export interface LakeDatasetProps {
  /** The dataset: its name, key, columns with their lake types, and day partition. Checked at synth. */
  readonly dataset: DatasetDescription;
  /**
   * The DynamoDB table, created here (a {@link StreamedTable}) or imported with its stream ARN.
   * Its stream must send NEW_AND_OLD_IMAGES; a backfill exports it, which needs point-in-time recovery.
   */
  readonly table: ITable;
  /** The buckets: change objects land in `landing`, the table lives in `lake`, Glue's temporary files and backfill exports go to `assets`. */
  readonly buckets: { readonly landing: IBucket; readonly lake: IBucket; readonly assets: IBucket };
  /** The Glue catalog that declares the dataset's table (`curated_<name>`, partition projection). */
  readonly catalog: LakeCatalog;
  /**
   * The workflow whose runs merge the dataset: the stream bridge starts it after each batch, and
   * its owner starts `job` in it (PipelineStack starts the orders beside campaign_progress).
   * @default - a workflow of its own, `<stack name>-<dataset>-refresh`, running this job alone on `schedule`
   */
  readonly workflow?: RefreshWorkflow;
  /**
   * When the workflow of its own runs (EventBridge Scheduler cron, UTC); ignored with `workflow`.
   * @default 'cron(0 * * * ? *)' (hourly)
   */
  readonly schedule?: string;
  /**
   * The security configuration of the job (S3, logs and bookmarks encryption) and its key.
   * @default - a key and a security configuration of the job's own
   */
  readonly glueSecurity?: { readonly configuration: ISecurityConfiguration; readonly key: IKey };
  /**
   * Topic that the bridge's alarms and the job's failures (an EventBridge rule) notify.
   * @default - the alarms have no action and no rule is made: they show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
  /**
   * CloudWatch namespace of the dataset's metrics: its stream bridge's and its job's (dimensions `service` and `dataset`).
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
  /**
   * The worst lake freshness allowed: an alarm fires when a run merges a change older than this,
   * and another when no run reported for two of the workflow schedule's longest waits.
   * @default Duration.minutes(30)
   */
  readonly freshnessObjective?: Duration;
  /**
   * The customer-managed key of the table and buckets, when they have one.
   * @default - AWS-managed encryption
   */
  readonly dataKey?: IKey;
  /**
   * The Glue job's name.
   * @default - `<stack name>-<dataset>-to-lake`
   */
  readonly jobName?: string;
  /**
   * Worker type of the job.
   * @default WorkerType.G_1X
   */
  readonly workerType?: WorkerType;
  /**
   * Workers per run.
   * @default 2
   */
  readonly numberOfWorkers?: number;
  /**
   * Run time before a run is stopped as TIMEOUT.
   * @default Duration.hours(1)
   */
  readonly timeout?: Duration;
  /**
   * Most stream records per batch of the bridge.
   * @default 1000
   */
  readonly streamBatchSize?: number;
  /**
   * How long the bridge waits to fill a batch.
   * @default Duration.seconds(30)
   */
  readonly streamBatchingWindow?: Duration;
  /**
   * Days the bridge's logs are kept.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * What happens to the bridge's log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * One DynamoDB table in the lake, declared once by its {@link DatasetDescription}: the stream
 * bridge that writes its changes under `cdc/<name>/`, the generic CDC-merge job (this construct
 * is that job: latest change per key wins, deletes applied, only touched day partitions rewritten,
 * its own record of the change objects merged) that reads the column mapping from its DATASET
 * argument, the catalog table, and the grants of each, held to the dataset's prefixes.
 */
export class LakeDataset extends LakeJob {
  /** The dataset, as validated at synth. */
  readonly dataset: DatasetDescription;
  /** The stream bridge of the table. */
  readonly stream: StreamToLake;
  /** The workflow that runs the job: the one given, or its own. */
  readonly workflow: RefreshWorkflow;
  /** The freshness objective's alarms on the job's figures. */
  readonly freshness: FreshnessAlarms;
  /** The follow-up of its own workflow's runs; none when given a `workflow`, whose owner follows it up. */
  readonly followUp?: RefreshFollowUp;
  /** The EventBridge rule that announces the job's failures on the alarm topic; none without `alarmTopic`. */
  readonly failureRule?: Rule;

  constructor(scope: Construct, id: string, props: LakeDatasetProps) {
    const dataset = validDataset(props.dataset, `${scope.node.path}/${id}`);
    const layout = datasetLayout(dataset);
    const { landing, lake, assets } = props.buckets;
    super(scope, id, {
      jobName: props.jobName ?? `${Stack.of(scope).stackName}-${dataset.name.replace(/_/g, '-')}-to-lake`,
      description: `Merges ${dataset.name} changes (${layout.cdcPrefix}) into ${layout.curatedPrefix}, latest change per key wins`,
      scriptPath: join(GLUE_SCRIPTS, 'dataset_to_lake.py'),
      pythonModules: [join(GLUE_SCRIPTS, 'dynalake_glue.py')],
      arguments: datasetJobArguments(dataset, { landingBucket: landing.bucketName, lakeBucket: lake.bucketName, assetsBucket: assets.bucketName, tableArn: props.table.tableArn, metricsNamespace: props.metricsNamespace }),
      metricsNamespace: props.metricsNamespace,
      securityConfiguration: props.glueSecurity?.configuration,
      securityKey: props.glueSecurity?.key,
      tempLocation: { bucket: assets, prefix: layout.glueTempPrefix },
      workerType: props.workerType ?? WorkerType.G_1X,
      numberOfWorkers: props.numberOfWorkers ?? 2,
      timeout: props.timeout ?? Duration.hours(1),
    });
    this.dataset = dataset;
    props.catalog.addDataset(dataset);

    this.grantPrefixRead(landing, layout.cdcPrefix);
    this.grantPrefixWrite(lake, layout.curatedPrefix);
    this.grantPrefixWrite(lake, layout.statePrefix);
    this.grantPrefixWrite(assets, layout.exportPrefix, 'export');
    // DynamoDB writes the export of a backfill with the caller's permissions, and asks for these
    // beside s3:PutObject: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'], resources: [assets.arnForObjects(prefixPattern(layout.exportPrefix))] }),
    );
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime'], resources: [props.table.tableArn] }));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeExport'], resources: [`${props.table.tableArn}/export/*`] }));
    this.acknowledgeWildcardsOf(EXPORT_WILDCARD_REASONS);
    if (props.dataKey) this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.dataKey.keyArn] }));

    if (props.workflow) {
      this.workflow = props.workflow;
    } else {
      this.workflow = new RefreshWorkflow(this, 'Refresh', {
        workflowName: `${Stack.of(this).stackName}-${dataset.name.replace(/_/g, '-')}-refresh`,
        schedule: props.schedule ?? 'cron(0 * * * ? *)',
        description: `Merges ${dataset.name} changes into the lake`,
      });
      this.workflow.start([{ job: this.job }]);
      this.followUp = new RefreshFollowUp(this, 'FollowUp', {
        workflow: this.workflow,
        landingBucket: landing,
        lakeBucket: lake,
        merges: [{ job: datasetJobKey(dataset), statePrefix: layout.statePrefix, cdcPrefixes: [layout.cdcPrefix] }],
        dataKey: props.dataKey,
        alarmTopic: props.alarmTopic,
        metricsNamespace: props.metricsNamespace,
        logRetentionDays: props.logRetentionDays,
        removalPolicy: props.removalPolicy,
      });
      // A scheduled start the scheduler gave up on is a merge that never ran.
      countAlarm(this, 'ScheduleDeadLettersAlarm', {
        metric: this.workflow.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        description: `A scheduled start of the ${dataset.name} workflow failed after its retries (see its schedule dead-letter queue)`,
        topic: props.alarmTopic,
      });
    }

    this.freshness = new FreshnessAlarms(this, 'Freshness', {
      job: datasetJobKey(dataset),
      dataset: dataset.name,
      workflow: this.workflow,
      objective: props.freshnessObjective,
      metricsNamespace: props.metricsNamespace,
      alarmTopic: props.alarmTopic,
    });

    this.stream = new StreamToLake(this, 'Stream', {
      table: props.table,
      dataset: dataset.name,
      landingBucket: landing,
      workflowName: this.workflow.workflow.workflowName,
      alarmTopic: props.alarmTopic,
      metricsNamespace: props.metricsNamespace,
      dataKey: props.dataKey,
      batchSize: props.streamBatchSize,
      maxBatchingWindow: props.streamBatchingWindow,
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });

    if (props.alarmTopic) {
      this.failureRule = new Rule(this, 'JobFailed', {
        description: `The CDC-merge job of ${dataset.name} failed, timed out or errored`,
        eventPattern: { source: ['aws.glue'], detailType: ['Glue Job State Change'], detail: { jobName: [this.job.jobName], state: ['FAILED', 'TIMEOUT', 'ERROR'] } },
        targets: [new SnsTopic(props.alarmTopic)],
      });
    }
  }
}
