import type { CfnCrawler, CfnTrigger, ICrawlerRef, IJobRef } from 'aws-cdk-lib/aws-glue';
import { Action, Condition, ConditionLogicalOperator, CrawlerState, JobState, PredicateLogical, TriggerSchedule, Workflow } from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';

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
  /** AWS cron expression of the start trigger, e.g. `cron(0 * * * ? *)`. */
  readonly schedule: string;
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
 * A Glue workflow built as a chain: one scheduled start trigger (which StartWorkflowRun can
 * also fire on demand), then conditional triggers that each wait for every node of the previous
 * step to succeed. Every trigger belongs to the workflow, is started on creation, and is created
 * after the trigger it follows.
 */
export class RefreshWorkflow extends Construct {
  /** The Glue workflow. */
  readonly workflow: Workflow;
  /** The triggers, in the order they fire. */
  readonly triggers: CfnTrigger[] = [];
  private readonly schedule: string;

  constructor(scope: Construct, id: string, props: RefreshWorkflowProps) {
    super(scope, id);
    this.schedule = props.schedule;
    this.workflow = new Workflow(this, 'Workflow', {
      workflowName: props.workflowName,
      description: props.description,
      maxConcurrentRuns: props.maxConcurrentRuns ?? 1,
    });
  }

  /** The start trigger: runs `targets` on the schedule and on StartWorkflowRun. Call once, first. */
  start(targets: readonly WorkflowTarget[]): StartedNode[] {
    if (this.triggers.length > 0) throw new Error(`${this.node.path}: start() must be called once, before onSuccess()`);
    this.addTrigger(
      (id) =>
        this.workflow.addScheduledTrigger(id, {
          schedule: TriggerSchedule.expression(this.schedule),
          startOnCreation: true,
          actions: targets.map(actionOf),
        }),
      'Start',
    );
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
