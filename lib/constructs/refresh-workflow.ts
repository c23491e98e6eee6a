import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type { CfnCrawler, CfnTrigger, ICrawlerRef, IJobRef } from 'aws-cdk-lib/aws-glue';
import { Action, Condition, ConditionLogicalOperator, CrawlerState, JobState, PredicateLogical, Workflow } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Universal } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { isAwsCronExpression, longestCronGapMinutes } from '../cron';
import { acknowledgeCheckov, SSE_SQS_CHECKOV_REASON } from '../nag';

/** Something a trigger can start: a Glue job or a crawler. */
export type WorkflowTarget = { readonly job: IJobRef } | { readonly crawler: ICrawlerRef | CfnCrawler };

/**
 * A job or crawler that a trigger of the workflow starts. Only {@link RefreshWorkflow.start} and
 * {@link RefreshWorkflow.onSuccess} hand these out, so a conditional trigger can only watch a
 * node the same workflow starts: Glue never fires a condition on a node started any other way
 * (by hand, by its own schedule, by another workflow), and that mistake cannot be written here.
 */
export class StartedNode {
  /** @internal */
  constructor(
    /** The workflow that starts this node. */
    readonly workflow: RefreshWorkflow,
    /** What the node runs. */
    readonly target: WorkflowTarget,
  ) {}
}

/** Properties of a {@link RefreshWorkflow}. */
export interface RefreshWorkflowProps {
  /** Name of the workflow, as consoles and StartWorkflowRun use it. */
  readonly workflowName: string;
  /** Cron expression of the EventBridge Scheduler schedule that starts the workflow, e.g. `cron(0 * * * ? *)`. */
  readonly schedule: string;
  /**
   * IANA time zone the schedule runs in, daylight saving included.
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * How many times the scheduler retries a start Glue refused (ConcurrentRunsExceededException
   * while a run is still going, throttling) before it gives the start to the dead-letter queue.
   * @default 3
   */
  readonly scheduleRetryAttempts?: number;
  /**
   * How long a scheduled start may keep being retried: a later one is moot, the next schedule
   * will run.
   * @default Duration.hours(1)
   */
  readonly scheduleMaxEventAge?: Duration;
  /**
   * What the workflow does, for the console.
   * @default - none
   */
  readonly description?: string;
  /**
   * Runs of the workflow at once; a run requested while one is going fails with
   * ConcurrentRunsExceededException and the next scheduled run picks the change up.
   * @default 1
   */
  readonly maxConcurrentRuns?: number;
}

/**
 * A Glue workflow built as a chain: one on-demand start trigger, then conditional triggers that
 * each wait for every node of the previous step to succeed. Every conditional trigger belongs to
 * the workflow, is started on creation, and is created after the trigger it follows.
 *
 * The schedule is an EventBridge Scheduler schedule calling glue:StartWorkflowRun, the call the
 * stream bridge makes: AWS documents StartWorkflowRun for workflows whose start trigger is
 * ON_DEMAND, and not for SCHEDULED ones (https://docs.aws.amazon.com/glue/latest/dg/workflows_overview.html).
 * A start the scheduler cannot make goes, after its retries, to a dead-letter queue.
 */
export class RefreshWorkflow extends Construct {
  /** The Glue workflow. */
  readonly workflow: Workflow;
  /** The triggers, in the order they fire. */
  readonly triggers: CfnTrigger[] = [];
  /** What the triggers start, in the order they were added: the jobs and crawlers whose ends may end a run. */
  readonly nodes: WorkflowTarget[] = [];
  /** The EventBridge Scheduler schedule that starts the workflow. */
  readonly schedule: Schedule;
  /** Scheduled starts the scheduler gave up on. */
  readonly deadLetterQueue: Queue;
  /** The longest wait between two scheduled starts, daylight-saving shifts included: how long the lake may wait without changes starting a run. */
  readonly longestInterval: Duration;

  constructor(scope: Construct, id: string, props: RefreshWorkflowProps) {
    super(scope, id);
    if (!isAwsCronExpression(props.schedule)) throw new Error(`${this.node.path}: schedule ${JSON.stringify(props.schedule)} is not an AWS cron expression (cron(Minutes Hours Day-of-month Month Day-of-week Year))`);
    const longestWait = longestCronGapMinutes(props.schedule, props.timeZone ?? 'UTC');
    if (longestWait === undefined) throw new Error(`${this.node.path}: schedule ${props.schedule} starts fewer than twice in the next eight years, so the workflow would stop refreshing`);
    this.longestInterval = Duration.minutes(longestWait);
    this.workflow = new Workflow(this, 'Workflow', {
      workflowName: props.workflowName,
      description: props.description,
      maxConcurrentRuns: props.maxConcurrentRuns ?? 1,
    });
    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetters', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `${this.deadLetterQueue.node.path}: the dead-letter queue of the refresh schedule is itself the dead-letter queue; an alarm watches its depth`,
    });
    acknowledgeCheckov(this.deadLetterQueue, 'CKV_AWS_27', SSE_SQS_CHECKOV_REASON);
    const target = new Universal({
      service: 'glue',
      action: 'startWorkflowRun',
      input: ScheduleTargetInput.fromObject({ Name: props.workflowName }),
      // The role the target creates may start this workflow and nothing else.
      policyStatements: [new PolicyStatement({ actions: ['glue:StartWorkflowRun'], resources: [Stack.of(this).formatArn({ service: 'glue', resource: 'workflow', resourceName: props.workflowName })] })],
      retryAttempts: props.scheduleRetryAttempts ?? 3,
      maxEventAge: props.scheduleMaxEventAge ?? Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Starts the Glue workflow ${props.workflowName}`,
      schedule: ScheduleExpression.expression(props.schedule, TimeZone.of(props.timeZone ?? 'UTC')),
      target,
    });
  }

  /** The start trigger: ON_DEMAND, so the schedule and the stream bridge start it with StartWorkflowRun. Call once, first. */
  start(targets: readonly WorkflowTarget[]): StartedNode[] {
    if (this.triggers.length > 0) throw new Error(`${this.node.path}: start() must be called once, before onSuccess()`);
    // No StartOnCreation: Glue does not support it on ON_DEMAND triggers (CreateTrigger API).
    this.addTrigger((id) => this.workflow.addOnDemandTrigger(id, { actions: targets.map(actionOf) }), 'Start');
    this.nodes.push(...targets);
    return targets.map((target) => new StartedNode(this, target));
  }

  /** A conditional trigger: runs `targets` once every node in `after` has succeeded in the same run. */
  onSuccess(after: readonly StartedNode[], targets: readonly WorkflowTarget[]): StartedNode[] {
    if (after.length === 0) throw new Error(`${this.node.path}: onSuccess() needs at least one node to wait for`);
    for (const node of after) {
      if (node.workflow !== this) throw new Error(`${this.node.path}: a condition may only watch nodes this workflow starts`);
    }
    const trigger = this.addTrigger(
      (id) =>
        this.workflow.addConditionalTrigger(id, {
          startOnCreation: true,
          predicate: { logical: PredicateLogical.AND, conditions: after.map(conditionOf) },
          actions: targets.map(actionOf),
        }),
      `After${this.triggers.length}`,
    );
    // The L2 renders an event-batching condition on every non-scheduled trigger; it belongs to
    // EVENT triggers only, so a conditional trigger carries none.
    trigger.addPropertyDeletionOverride('EventBatchingCondition');
    this.nodes.push(...targets);
    return targets.map((target) => new StartedNode(this, target));
  }

  private addTrigger(create: (id: string) => unknown, id: string): CfnTrigger {
    const trigger = create(id) as CfnTrigger;
    // Created after the trigger it follows: CloudFormation then never holds a condition on a
    // node whose starting trigger does not exist yet.
    const previous = this.triggers.at(-1);
    if (previous) trigger.node.addDependency(previous);
    this.triggers.push(trigger);
    return trigger;
  }
}

function actionOf(target: WorkflowTarget): Action {
  return 'job' in target ? Action.job(target.job) : Action.crawler(target.crawler);
}

function conditionOf(node: StartedNode): Condition {
  const options = { logicalOperator: ConditionLogicalOperator.EQUALS };
  return 'job' in node.target ? Condition.job(node.target.job, JobState.SUCCEEDED, options) : Condition.crawler(node.target.crawler, CrawlerState.SUCCEEDED, options);
}
