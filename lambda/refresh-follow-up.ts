import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConcurrentRunsExceededException, GetWorkflowCommand, GlueClient, StartWorkflowRunCommand, type WorkflowRun } from '@aws-sdk/client-glue';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { requiredEnvironment } from './shared/environment';
import { BRIDGE_STAGES, metricsNamespaceOf, RUN_METRICS, WORKFLOW_DIMENSION } from './shared/metrics';

/**
 * refresh-follow-up: when a run of the refresh workflow ends, counts its outcome and, if change
 * objects landed during it that its merge jobs did not merge, starts a follow-up run at once, so
 * no change waits for the next scheduled start.
 *
 * Glue sends no workflow event (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-glue.html
 * lists job and crawler state changes only), so an EventBridge rule sends the end of every job
 * and crawler of the workflow here, and the handler asks Glue whether that end was the run's:
 * GetWorkflow's LastRun, whose Statistics count the actions still running or waiting.
 */

/** A merge job of the workflow: where its state object lists the change objects it merged, and the change prefixes it reads. */
export interface MergeWatch {
  /** The job's name in its state object (`orders_to_lake`, `campaign_progress`). */
  readonly job: string;
  /** Its STATE_PREFIX in the lake bucket. */
  readonly statePrefix: string;
  /** Its CDC prefixes in the landing bucket. */
  readonly cdcPrefixes: readonly string[];
}

/** How long a run whose last action has ended may stay RUNNING before Glue marks it ended: the handler asks again meanwhile. */
export interface SettlePolicy {
  readonly attempts: number;
  readonly delayMs: number;
}

/** A minute, well inside the function's timeout. */
export const DEFAULT_SETTLE: SettlePolicy = { attempts: 12, delayMs: 5000 };

/** What the handler needs; the Lambda entry builds it from its environment, tests and the local Glue pass their own. */
export interface RefreshFollowUpDependencies {
  readonly glue: GlueClient;
  readonly s3: S3Client;
  readonly logger: Logger;
  /** Where each ended run's figures go (RUN_METRICS), published as one EMF line. */
  readonly metrics: Metrics;
  readonly workflowName: string;
  readonly landingBucket: string;
  readonly lakeBucket: string;
  readonly merges: readonly MergeWatch[];
  /** @default DEFAULT_SETTLE */
  readonly settle?: SettlePolicy;
  /** Keys per ListObjectsV2 page. @default 1000 (S3's most) */
  readonly listPageSize?: number;
  /** @default setTimeout */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

/** What the handler made of one event. */
export type RunEndResult =
  | { readonly outcome: 'no-run' | 'running' }
  | {
      readonly outcome: 'succeeded' | 'failed';
      readonly runId: string;
      /** Change objects of the merge jobs' prefixes that their state objects do not list. */
      readonly waiting: number;
      readonly followUp: { readonly runId: string } | { readonly skipped: 'run-failed' | 'nothing-waiting' | 'already-running' };
    };

/** The Glue events the rule sends: a job's or a crawler's state change. */
export type GlueStateChange = EventBridgeEvent<'Glue Job State Change' | 'Glue Crawler State Change', { readonly jobName?: string; readonly crawlerName?: string; readonly state?: string }>;

/** The state objects' format (glue-scripts/dynalake_glue.py STATE_FORMAT). */
const STATE_FORMAT = 1;
/** What the stream bridge writes under a CDC prefix; nothing else there is a change object. */
const CHANGE_OBJECT_SUFFIX = '.jsonl.gz';
const DAY_MS = 24 * 3600 * 1000;

const sleepFor = (delayMs: number) => new Promise<void>((resolve) => setTimeout(resolve, delayMs));

/** The workflow's last run once it has ended, or why there is none to follow up. Throws when Glue has not marked it ended within the settle policy (Lambda then retries the event). */
async function endedRun(dependencies: RefreshFollowUpDependencies): Promise<WorkflowRun | 'no-run' | 'running'> {
  const { glue, workflowName, logger } = dependencies;
  const settle = dependencies.settle ?? DEFAULT_SETTLE;
  const sleep = dependencies.sleep ?? sleepFor;
  for (let attempt = 1; ; attempt++) {
    const { Workflow } = await glue.send(new GetWorkflowCommand({ Name: workflowName, IncludeGraph: false }));
    const run = Workflow?.LastRun;
    if (run === undefined) return 'no-run';
    if (run.Status !== 'RUNNING') return run;
    const { RunningActions = 0, WaitingActions = 0 } = run.Statistics ?? {};
    // Another action runs or waits: this event ended a step, not the run.
    if (RunningActions + WaitingActions > 0) return 'running';
    if (attempt >= settle.attempts) throw new Error(`workflow run ${run.WorkflowRunId ?? '?'} of ${workflowName} still RUNNING with no action running or waiting after ${String(settle.attempts)} looks`);
    logger.info('the run has no action left but is still RUNNING; asking again', { runId: run.WorkflowRunId, attempt });
    await sleep(settle.delayMs);
  }
}

/** Whether the run ended with every action succeeded. */
function succeeded(run: WorkflowRun): boolean {
  const { FailedActions = 0, TimeoutActions = 0, ErroredActions = 0, StoppedActions = 0 } = run.Statistics ?? {};
  return run.Status === 'COMPLETED' && FailedActions + TimeoutActions + ErroredActions + StoppedActions === 0;
}

function isNoSuchKey(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || $metadata?.httpStatusCode === 404;
}

/** The keys a merge job's state object lists, per source (`s3://bucket/prefix/`); none before its first run. */
async function mergedKeys(dependencies: RefreshFollowUpDependencies, merge: MergeWatch): Promise<Map<string, Set<string>>> {
  const key = `${merge.statePrefix.replace(/^\/+|\/+$/g, '')}/merged.json`;
  let text: string;
  try {
    const object = await dependencies.s3.send(new GetObjectCommand({ Bucket: dependencies.lakeBucket, Key: key }));
    text = (await object.Body?.transformToString()) ?? '';
  } catch (error) {
    if (isNoSuchKey(error)) return new Map();
    throw error;
  }
  const where = `s3://${dependencies.lakeBucket}/${key}`;
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON: ${text.slice(0, 80)}`);
  }
  const { format, sources } = (state ?? {}) as { format?: unknown; sources?: unknown };
  if (format !== STATE_FORMAT || typeof sources !== 'object' || sources === null) {
    throw new Error(`${where} is not a format-${String(STATE_FORMAT)} state object of ${merge.job}`);
  }
  return new Map(
    Object.entries(sources).map(([source, keys]) => {
      if (!Array.isArray(keys)) throw new Error(`${where}: sources[${JSON.stringify(source)}] is not a list of object keys`);
      return [source, new Set(keys.map(String))];
    }),
  );
}

/**
 * Change objects under the merge jobs' prefixes that their state objects do not list: `waiting`,
 * those that landed once the run had started, and `leftUnmerged`, those that were there before it
 * (its jobs should have merged them). Only keys from the day before the run started on are listed
 * (a change object's `dt=` is the day of its first change, cdc.ts changeObjectKey).
 */
async function unmergedObjects(dependencies: RefreshFollowUpDependencies, runStarted: Date): Promise<{ waiting: number; leftUnmerged: number }> {
  const { s3, landingBucket } = dependencies;
  const dayBefore = new Date(runStarted.getTime() - DAY_MS).toISOString().slice(0, 10);
  let waiting = 0;
  let leftUnmerged = 0;
  for (const merge of dependencies.merges) {
    const merged = await mergedKeys(dependencies, merge);
    for (const prefix of merge.cdcPrefixes) {
      const folder = `${prefix.replace(/^\/+|\/+$/g, '')}/`;
      const listed = merged.get(`s3://${landingBucket}/${folder}`) ?? new Set<string>();
      let token: string | undefined;
      do {
        // The continuation token carries the position: StartAfter goes with the first page only.
        const position = token === undefined ? { StartAfter: `${folder}dt=${dayBefore}` } : { ContinuationToken: token };
        const page = await s3.send(new ListObjectsV2Command({ Bucket: landingBucket, Prefix: folder, MaxKeys: dependencies.listPageSize ?? 1000, ...position }));
        for (const { Key, LastModified } of page.Contents ?? []) {
          if (Key === undefined || !Key.endsWith(CHANGE_OBJECT_SUFFIX) || listed.has(Key)) continue;
          // A listed object's LastModified is its creation date (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html),
          // given to the second: only one created a whole second before the run started surely was there for its jobs to list.
          if (LastModified !== undefined && LastModified.getTime() + 1000 <= runStarted.getTime()) leftUnmerged++;
          else waiting++;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    }
  }
  return { waiting, leftUnmerged };
}

/** The handler's logic for one job or crawler state change of the workflow. */
export async function followUpRunEnd(dependencies: RefreshFollowUpDependencies, event: GlueStateChange): Promise<RunEndResult> {
  const { glue, logger, metrics, workflowName } = dependencies;
  const run = await endedRun(dependencies);
  if (run === 'no-run' || run === 'running') {
    logger.info('not the end of a run', { workflowName, outcome: run, detailType: event['detail-type'], detail: event.detail });
    return { outcome: run };
  }
  const runId = run.WorkflowRunId ?? '';
  try {
    const ok = succeeded(run);
    metrics.addMetric(RUN_METRICS.workflowRunsSucceeded, MetricUnit.Count, ok ? 1 : 0);
    metrics.addMetric(RUN_METRICS.workflowRunsFailed, MetricUnit.Count, ok ? 0 : 1);
    // A failed run's changes wait for the schedule: following it up at once would repeat the failure in a loop; the failure rules alert.
    if (!ok) {
      logger.warn('the refresh run failed: no follow-up run', { runId, status: run.Status, statistics: run.Statistics });
      return { outcome: 'failed', runId, waiting: 0, followUp: { skipped: 'run-failed' } };
    }
    const { waiting, leftUnmerged } = await unmergedObjects(dependencies, run.StartedOn ?? new Date(0));
    metrics.addMetric(RUN_METRICS.changeObjectsWaiting, MetricUnit.Count, waiting);
    metrics.addMetric(RUN_METRICS.changeObjectsLeftUnmerged, MetricUnit.Count, leftUnmerged);
    if (leftUnmerged > 0) {
      // Following these up would start run after run that leave them again.
      logger.warn('the refresh run succeeded but left change objects that were there before it started unmerged: they are not followed up', { runId, leftUnmerged });
    }
    if (waiting === 0) {
      metrics.addMetric(RUN_METRICS.followUpRunsStarted, MetricUnit.Count, 0);
      logger.info('the refresh run merged every change object there was', { runId });
      return { outcome: 'succeeded', runId, waiting, followUp: { skipped: 'nothing-waiting' } };
    }
    try {
      const followUp = await glue.send(new StartWorkflowRunCommand({ Name: workflowName }));
      metrics.addMetric(RUN_METRICS.followUpRunsStarted, MetricUnit.Count, 1);
      logger.info('change objects landed during the run: follow-up run started', { runId, waiting, followUpRunId: followUp.RunId });
      return { outcome: 'succeeded', runId, waiting, followUp: { runId: followUp.RunId ?? '' } };
    } catch (error) {
      if (!(error instanceof ConcurrentRunsExceededException)) throw error;
      // A stream batch started the next run first: it merges them.
      metrics.addMetric(RUN_METRICS.followUpRunsStarted, MetricUnit.Count, 0);
      logger.info('change objects landed during the run; a run is already going', { runId, waiting });
      return { outcome: 'succeeded', runId, waiting, followUp: { skipped: 'already-running' } };
    }
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** The handler over given dependencies. */
export function createRefreshFollowUpHandler(dependencies: RefreshFollowUpDependencies): (event: GlueStateChange, context?: Context) => Promise<RunEndResult> {
  return async (event, context) => {
    if (context) dependencies.logger.addContext(context);
    return followUpRunEnd(dependencies, event);
  };
}

/** Parses MERGES: a JSON list of {job, statePrefix, cdcPrefixes}. */
export function mergeWatchesOf(text: string): MergeWatch[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`environment variable MERGES is not JSON: ${text}`);
  }
  const valid = (entry: unknown): entry is MergeWatch => {
    const { job, statePrefix, cdcPrefixes } = (entry ?? {}) as Partial<Record<keyof MergeWatch, unknown>>;
    return typeof job === 'string' && typeof statePrefix === 'string' && Array.isArray(cdcPrefixes) && cdcPrefixes.length > 0 && cdcPrefixes.every((prefix) => typeof prefix === 'string');
  };
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(valid)) {
    throw new Error(`environment variable MERGES is not a list of {"job", "statePrefix", "cdcPrefixes": [...]}: ${text}`);
  }
  return parsed;
}

/** Dependencies from the Lambda environment: WORKFLOW_NAME, LANDING_BUCKET, LAKE_BUCKET, MERGES, and METRICS_NAMESPACE (default `dynalake`). */
export function refreshFollowUpDependenciesFromEnvironment(environment: NodeJS.ProcessEnv = process.env): RefreshFollowUpDependencies {
  const { WORKFLOW_NAME, LANDING_BUCKET, LAKE_BUCKET, MERGES } = requiredEnvironment(environment, ['WORKFLOW_NAME', 'LANDING_BUCKET', 'LAKE_BUCKET', 'MERGES']);
  return {
    glue: new GlueClient({}),
    s3: new S3Client({}),
    logger: new Logger({ serviceName: 'dynalake-refresh-follow-up' }),
    metrics: new Metrics({ namespace: metricsNamespaceOf(environment.METRICS_NAMESPACE), serviceName: BRIDGE_STAGES.refreshFollowUp, defaultDimensions: { [WORKFLOW_DIMENSION]: WORKFLOW_NAME } }),
    workflowName: WORKFLOW_NAME,
    landingBucket: LANDING_BUCKET,
    lakeBucket: LAKE_BUCKET,
    merges: mergeWatchesOf(MERGES),
  };
}

let coldStartHandler: ReturnType<typeof createRefreshFollowUpHandler> | undefined;

/** The Lambda entry: environment checked and clients created once per container, on the first event. */
export const handler = async (event: GlueStateChange, context: Context): Promise<void> => {
  coldStartHandler ??= createRefreshFollowUpHandler(refreshFollowUpDependenciesFromEnvironment());
  await coldStartHandler(event, context);
};
