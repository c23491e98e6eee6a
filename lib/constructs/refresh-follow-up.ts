import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BridgeFunction, checkedMetricsNamespace } from './bridge-function';
import type { RefreshWorkflow } from './refresh-workflow';

/**
 * The states a Glue Job State Change event ends a run with: SUCCEEDED, FAILED, TIMEOUT and STOPPED
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-glue.html), and ERROR, which the
 * failure rules watch too.
 */
export const JOB_END_STATES = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'] as const;
/** The states a Glue Crawler State Change event ends a crawl with, as it spells them (its third is Started): same page. */
export const CRAWLER_END_STATES = ['Succeeded', 'Failed'] as const;

/**
 * A merge job of the workflow, as the handler reads it from MERGES (its MergeWatch, to which the
 * local runtimes pass these). Declared here rather than imported, so the library's types do not
 * reach the handler's, which need the Lambda type package a consumer's app does not have.
 */
export interface FollowUpMerge {
  /** The job's name in its state object (`orders_to_lake`, `campaign_progress`, `<dataset>_to_lake`). */
  readonly job: string;
  /** Its STATE_PREFIX in the lake bucket. */
  readonly statePrefix: string;
  /** Its CDC prefixes in the landing bucket. */
  readonly cdcPrefixes: readonly string[];
}

/** Properties of a {@link RefreshFollowUp}. */
export interface RefreshFollowUpProps {
  /** The workflow to follow up: its jobs' and crawlers' ends are sent to the handler, which may start it again. */
  readonly workflow: RefreshWorkflow;
  /** The bucket of the change objects. */
  readonly landingBucket: IBucket;
  /** The bucket of the merge jobs' state objects. */
  readonly lakeBucket: IBucket;
  /** The workflow's merge jobs: their state prefixes in the lake bucket and the CDC prefixes they read. */
  readonly merges: readonly FollowUpMerge[];
  /**
   * The customer-managed key of the buckets, when they have one: the state objects are read with it.
   * @default - S3-managed encryption
   */
  readonly dataKey?: IKey;
  /**
   * Topic that the function's alarms notify.
   * @default - no action: the alarms show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
  /**
   * CloudWatch namespace of the run outcomes it publishes (dimensions `service` and `workflow`).
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
  /** Days the function's logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** What happens to the function's log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * No change waits for the schedule: when a run of the workflow ends, the refresh-follow-up
 * handler counts its outcome and, when change objects landed during it that its merge jobs did
 * not merge, starts a follow-up run at once. Glue sends no workflow event, so EventBridge rules
 * send it the end of each of the workflow's jobs and crawlers; the handler asks Glue
 * (GetWorkflow) whether that end was the run's.
 */
export class RefreshFollowUp extends Construct {
  /** The function, its role, failure queue and alarms. */
  readonly bridge: BridgeFunction;
  /** The rules that send the nodes' ends to the function. */
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: RefreshFollowUpProps) {
    super(scope, id);
    if (props.merges.length === 0) throw new Error(`${this.node.path}: merges must name at least one merge job of the workflow`);
    for (const merge of props.merges) {
      if (merge.cdcPrefixes.length === 0) throw new Error(`${this.node.path}: merge job ${merge.job} reads no CDC prefix`);
    }
    const jobNames = props.workflow.nodes.flatMap((node) => ('job' in node ? [node.job.jobRef.jobName] : []));
    const crawlerNames = props.workflow.nodes.flatMap((node) => ('crawler' in node ? [node.crawler.crawlerRef.crawlerName] : []));
    if (jobNames.length + crawlerNames.length === 0) throw new Error(`${this.node.path}: ${props.workflow.node.path} starts nothing yet: add its triggers first`);
    const workflowName = props.workflow.workflow.workflowName;

    this.bridge = new BridgeFunction(this, 'Bridge', {
      handlerName: 'refresh-follow-up',
      description: `Follows up the runs of ${workflowName}: their outcome, and a new run when changes landed during one`,
      environment: {
        WORKFLOW_NAME: workflowName,
        LANDING_BUCKET: props.landingBucket.bucketName,
        LAKE_BUCKET: props.lakeBucket.bucketName,
        MERGES: JSON.stringify(props.merges),
        METRICS_NAMESPACE: checkedMetricsNamespace(this, props.metricsNamespace),
      },
      alarmTopic: props.alarmTopic,
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
      // Room to wait for Glue to mark an ended run (DEFAULT_SETTLE: about a minute) and to list the change objects.
      timeout: Duration.minutes(2),
    });
    const { role, function: handler, failureQueue } = this.bridge;
    const workflowArn = Stack.of(this).formatArn({ service: 'glue', resource: 'workflow', resourceName: workflowName });
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['glue:GetWorkflow', 'glue:StartWorkflowRun'], resources: [workflowArn] }));
    // Key names under the CDC prefixes, not their content; and each merge job's state object, which is only key names too.
    const cdcPatterns = props.merges.flatMap((merge) => merge.cdcPrefixes.map((prefix) => `${prefix.replace(/^\/+|\/+$/g, '')}/*`));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.landingBucket.bucketArn], conditions: { StringLike: { 's3:prefix': cdcPatterns } } }));
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: props.merges.map((merge) => props.lakeBucket.arnForObjects(`${merge.statePrefix.replace(/^\/+|\/+$/g, '')}/merged.json`)) }),
    );
    if (props.dataKey) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.dataKey.keyArn] }));
    // EventBridge invokes it asynchronously: Lambda retries twice, then the event goes to the failure queue (alarmed).
    handler.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1), onFailure: new SqsDestination(failureQueue) });

    const target = new LambdaFunction(handler);
    if (jobNames.length > 0) {
      this.rules.push(
        new Rule(this, 'JobEnded', {
          description: `A job of ${workflowName} ended`,
          eventPattern: { source: ['aws.glue'], detailType: ['Glue Job State Change'], detail: { jobName: jobNames, state: [...JOB_END_STATES] } },
          targets: [target],
        }),
      );
    }
    if (crawlerNames.length > 0) {
      this.rules.push(
        new Rule(this, 'CrawlerEnded', {
          description: `A crawler of ${workflowName} ended`,
          eventPattern: { source: ['aws.glue'], detailType: ['Glue Crawler State Change'], detail: { crawlerName: crawlerNames, state: [...CRAWLER_END_STATES] } },
          targets: [target],
        }),
      );
    }
  }
}
