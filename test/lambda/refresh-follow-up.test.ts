import { Logger } from '@aws-lambda-powertools/logger';
import { ConcurrentRunsExceededException, EntityNotFoundException, GetWorkflowCommand, GlueClient, StartWorkflowRunCommand, type WorkflowRun } from '@aws-sdk/client-glue';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { BRIDGE_STAGES, WORKFLOW_DIMENSION } from '../../lambda/shared/metrics';
import { followUpRunEnd, type GlueStateChange, mergeWatchesOf, type RefreshFollowUpDependencies, refreshFollowUpDependenciesFromEnvironment } from '../../lambda/refresh-follow-up';
import { CapturedMetrics } from '../../scripts/local/metrics';
import { emfMetrics } from '../helpers/lambda-fixtures';
import { createBucket, useLocalS3 } from '../helpers/local-s3';

const WORKFLOW = 'dynalake-dev-refresh';
const STARTED = new Date('2026-11-02T10:00:00Z');
const MERGES = [
  { job: 'orders_to_lake', statePrefix: 'state/orders_to_lake/', cdcPrefixes: ['cdc/orders/'] },
  { job: 'campaign_progress', statePrefix: 'state/campaign_progress/', cdcPrefixes: ['cdc/user_Campaign/', 'cdc/campaignInfo/'] },
];
const EVENT: GlueStateChange = {
  version: '0',
  id: 'e1',
  'detail-type': 'Glue Crawler State Change',
  source: 'aws.glue',
  account: '123456789012',
  time: '2026-11-02T10:06:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { crawlerName: 'dynalake-dev-lake', state: 'Succeeded' },
};

const local = useLocalS3();
// Glue cannot run here: its client is mocked (all instances), and reset before each test.
const glue = mockClient(GlueClient);
let buckets: { landing: string; lake: string };
let metrics: CapturedMetrics;
let sleeps: number[];

beforeAll(async () => {
  buckets = { landing: await createBucket(local(), 'landing'), lake: await createBucket(local(), 'lake') };
});
beforeEach(() => {
  glue.reset();
  metrics = new CapturedMetrics({ namespace: 'dynalake-dev', serviceName: BRIDGE_STAGES.refreshFollowUp, defaultDimensions: { [WORKFLOW_DIMENSION]: WORKFLOW } });
  sleeps = [];
});
afterAll(() => {
  glue.restore();
});

function dependencies(landing = buckets.landing, lake = buckets.lake): RefreshFollowUpDependencies {
  return {
    glue: new GlueClient({ region: 'eu-west-1' }),
    s3: local().client,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    metrics,
    workflowName: WORKFLOW,
    landingBucket: landing,
    lakeBucket: lake,
    merges: MERGES,
    settle: { attempts: 3, delayMs: 5_000 },
    sleep: (milliseconds) => {
      sleeps.push(milliseconds);
      return Promise.resolve();
    },
  };
}

function run(overrides: Partial<WorkflowRun> = {}, statistics: WorkflowRun['Statistics'] = {}): WorkflowRun {
  return { WorkflowRunId: 'wr_1', Status: 'COMPLETED', StartedOn: STARTED, Statistics: { TotalActions: 4, SucceededActions: 4, ...statistics }, ...overrides };
}

async function put(bucket: string, key: string, body = '') {
  await local().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** A lake whose merge jobs merged `merged` and a landing bucket holding `landed`, in fresh buckets. */
async function lakeWith(landed: readonly string[], merged: Record<string, Record<string, readonly string[]>>) {
  const landing = await createBucket(local(), 'landing');
  const lake = await createBucket(local(), 'lake');
  for (const key of landed) await put(landing, key);
  for (const [job, sources] of Object.entries(merged)) {
    const state = { format: 1, job, sources: Object.fromEntries(Object.entries(sources).map(([prefix, keys]) => [`s3://${landing}/${prefix}`, keys])), updatedAt: '2026-11-02T10:05:00Z' };
    await put(lake, `state/${job}/merged.json`, JSON.stringify(state));
  }
  return { landing, lake };
}

/** The figures of the one EMF line published. */
function published() {
  expect(metrics.documents).toHaveLength(1);
  const document = emfMetrics(metrics.documents[0] as Record<string, unknown>);
  expect(document).toMatchObject({ namespace: 'dynalake-dev', dimensions: { service: 'refresh-follow-up', workflow: WORKFLOW } });
  return Object.fromEntries(Object.entries(document.metrics).map(([name, { unit, value }]) => [name, `${String(value)} ${unit}`]));
}

const day = (date: string, name: string) => `dt=${date}/local-${name}.jsonl.gz`;

describe('refresh-follow-up at the end of a run', () => {
  it('starts a follow-up run when change objects landed that the merge jobs did not merge, and counts them', async () => {
    const merged = `cdc/orders/${day('2026-11-02', '1-2')}`;
    const late = [`cdc/orders/${day('2026-11-02', '3-4')}`, `cdc/campaignInfo/${day('2026-11-02', '5-5')}`];
    const { landing, lake } = await lakeWith([merged, ...late, 'cdc/orders/dt=2026-11-02/notes.txt'], { orders_to_lake: { 'cdc/orders/': [merged] }, campaign_progress: {} });
    glue.on(GetWorkflowCommand).resolves({ Workflow: { Name: WORKFLOW, LastRun: run() } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });

    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 2, followUp: { runId: 'wr_2' } });
    expect(glue.commandCalls(GetWorkflowCommand)[0]?.args[0].input).toEqual({ Name: WORKFLOW, IncludeGraph: false });
    expect(glue.commandCalls(StartWorkflowRunCommand).map((call) => call.args[0].input)).toEqual([{ Name: WORKFLOW }]);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '2 Count', FollowUpRunsStarted: '1 Count' });
  });

  it('starts nothing when the run merged every change object, and looks no further back than the day before it started', async () => {
    const merged = [`cdc/orders/${day('2026-11-01', '1-2')}`, `cdc/user_Campaign/${day('2026-11-02', '3-3')}`];
    // Two days before the run started: outside what the handler lists, whatever the state says.
    const older = `cdc/orders/${day('2026-10-31', '0-0')}`;
    const { landing, lake } = await lakeWith([...merged, older], { orders_to_lake: { 'cdc/orders/': [merged[0] as string] }, campaign_progress: { 'cdc/user_Campaign/': [merged[1] as string] } });
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } });

    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 0, followUp: { skipped: 'nothing-waiting' } });
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(0);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '0 Count', FollowUpRunsStarted: '0 Count' });
  });

  it('takes a merge job without a state object yet as having merged nothing', async () => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toMatchObject({ waiting: 1, followUp: { runId: 'wr_2' } });
  });

  it('lists every page of a long prefix, from the day before the run started on the first page and by token after', async () => {
    // s3rver cannot continue a listing on this Node: its tokens are DES-encrypted, which OpenSSL 3 refuses. S3 is mocked here only.
    const s3 = new S3Client({ region: 'eu-west-1' });
    const s3Mock = mockClient(s3);
    const keys = Array.from({ length: 5 }, (_, index) => `cdc/orders/${day('2026-11-02', String(index))}`);
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'none', $metadata: {} }));
    s3Mock.on(ListObjectsV2Command).callsFake((input: { Prefix?: string; ContinuationToken?: string }) => {
      if (input.Prefix !== 'cdc/orders/') return { Contents: [] };
      return input.ContinuationToken === 't1' ? { Contents: keys.slice(2).map((Key) => ({ Key })), IsTruncated: false } : { Contents: keys.slice(0, 2).map((Key) => ({ Key })), IsTruncated: true, NextContinuationToken: 't1' };
    });
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });
    expect(await followUpRunEnd({ ...dependencies('landing', 'lake'), s3, listPageSize: 2 }, EVENT)).toMatchObject({ waiting: 5 });
    const orders = s3Mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input).filter((input) => input.Prefix === 'cdc/orders/');
    expect(orders).toEqual([
      { Bucket: 'landing', Prefix: 'cdc/orders/', MaxKeys: 2, StartAfter: 'cdc/orders/dt=2026-11-01' },
      { Bucket: 'landing', Prefix: 'cdc/orders/', MaxKeys: 2, ContinuationToken: 't1' },
    ]);
    expect(s3Mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input.Prefix)).toEqual(['cdc/orders/', 'cdc/orders/', 'cdc/user_Campaign/', 'cdc/campaignInfo/']);
    s3Mock.restore();
  });

  it('leaves the follow-up to a run a stream batch already started', async () => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).rejects(new ConcurrentRunsExceededException({ message: 'Concurrent runs exceeded', $metadata: {} }));
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 1, followUp: { skipped: 'already-running' } });
    expect(published()).toMatchObject({ ChangeObjectsWaiting: '1 Count', FollowUpRunsStarted: '0 Count' });
  });

  it('throws any other Glue error, so Lambda retries the event, and still publishes what it counted', async () => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).rejects(new EntityNotFoundException({ message: 'no workflow', $metadata: {} }));
    await expect(followUpRunEnd(dependencies(landing, lake), EVENT)).rejects.toThrow('no workflow');
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '1 Count' });
  });

  it.each([
    ['a failed job', { FailedActions: 1 }, 'COMPLETED'],
    ['a timed-out job', { TimeoutActions: 1 }, 'COMPLETED'],
    ['an errored action', { ErroredActions: 1 }, 'COMPLETED'],
    ['a stopped action', { StoppedActions: 1 }, 'COMPLETED'],
    ['a stopped run', {}, 'STOPPED'],
    ['a run in error', {}, 'ERROR'],
  ] as const)('counts a run with %s as failed and starts no follow-up run, whatever is waiting', async (_what, statistics, status) => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: status }, statistics) } });
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'failed', runId: 'wr_1', waiting: 0, followUp: { skipped: 'run-failed' } });
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(0);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '0 Count', WorkflowRunsFailed: '1 Count' });
  });

  it('does nothing when the event ended a step and another action runs or waits', async () => {
    for (const statistics of [{ RunningActions: 1 }, { WaitingActions: 1 }]) {
      glue.reset();
      glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, statistics) } });
      expect(await followUpRunEnd(dependencies(), EVENT)).toEqual({ outcome: 'running' });
      expect(glue.commandCalls(GetWorkflowCommand)).toHaveLength(1);
    }
    expect(sleeps).toEqual([]);
    expect(metrics.documents).toEqual([]);
  });

  it('does nothing for a workflow that never ran', async () => {
    glue.on(GetWorkflowCommand).resolves({ Workflow: { Name: WORKFLOW } });
    expect(await followUpRunEnd(dependencies(), EVENT)).toEqual({ outcome: 'no-run' });
    expect(metrics.documents).toEqual([]);
  });

  it('asks again while the run has no action left but Glue has not marked it ended', async () => {
    const { landing, lake } = await lakeWith([], {});
    glue
      .on(GetWorkflowCommand)
      .resolvesOnce({ Workflow: { LastRun: run({ Status: 'RUNNING' }, { RunningActions: 0, WaitingActions: 0 }) } })
      .resolvesOnce({ Workflow: { LastRun: run({ Status: 'RUNNING' }) } })
      .resolves({ Workflow: { LastRun: run() } });
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toMatchObject({ outcome: 'succeeded', followUp: { skipped: 'nothing-waiting' } });
    expect(sleeps).toEqual([5_000, 5_000]);
  });

  it('fails the event when the run stays RUNNING with nothing left past the settle policy (Lambda retries it)', async () => {
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, {}) } });
    await expect(followUpRunEnd(dependencies(), EVENT)).rejects.toThrow(`workflow run wr_1 of ${WORKFLOW} still RUNNING with no action running or waiting after 3 looks`);
    expect(sleeps).toEqual([5_000, 5_000]);
  });

  it('refuses a state object of another format, naming it', async () => {
    const { landing, lake } = await lakeWith([], {});
    await put(lake, 'state/orders_to_lake/merged.json', JSON.stringify({ format: 2, sources: {} }));
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } });
    await expect(followUpRunEnd(dependencies(landing, lake), EVENT)).rejects.toThrow(`s3://${lake}/state/orders_to_lake/merged.json is not a format-1 state object of orders_to_lake`);
    await put(lake, 'state/orders_to_lake/merged.json', JSON.stringify({ format: 1, sources: null }));
    await expect(followUpRunEnd(dependencies(landing, lake), EVENT)).rejects.toThrow('is not a format-1 state object of orders_to_lake');
  });
});

describe('refresh-follow-up from its environment', () => {
  const environment = { WORKFLOW_NAME: WORKFLOW, LANDING_BUCKET: 'landing', LAKE_BUCKET: 'lake', MERGES: JSON.stringify(MERGES), METRICS_NAMESPACE: 'shop-prod' };

  it('reads the workflow, the buckets, the merge jobs and the namespace', () => {
    const dependencies = refreshFollowUpDependenciesFromEnvironment(environment);
    expect(dependencies).toMatchObject({ workflowName: WORKFLOW, landingBucket: 'landing', lakeBucket: 'lake', merges: MERGES });
    dependencies.metrics.addMetric('Probe', 'Count', 1);
    expect(emfMetrics(dependencies.metrics.serializeMetrics() as unknown as Record<string, unknown>)).toMatchObject({ namespace: 'shop-prod', dimensions: { service: 'refresh-follow-up', workflow: WORKFLOW } });
  });

  it('names every missing variable', () => {
    expect(() => refreshFollowUpDependenciesFromEnvironment({})).toThrow('missing environment variables: WORKFLOW_NAME, LANDING_BUCKET, LAKE_BUCKET, MERGES');
  });

  it.each([
    ['not JSON', '[{', 'environment variable MERGES is not JSON: [{'],
    ['an empty list', '[]', 'environment variable MERGES is not a list of {"job", "statePrefix", "cdcPrefixes": [...]}: []'],
    ['an object', '{"job":"j"}', 'is not a list of'],
    ['an entry without prefixes', '[{"job":"j","statePrefix":"state/j/","cdcPrefixes":[]}]', 'is not a list of'],
    ['a prefix that is no string', '[{"job":"j","statePrefix":"state/j/","cdcPrefixes":[1]}]', 'is not a list of'],
    ['an entry without a state prefix', '[{"job":"j","cdcPrefixes":["cdc/a/"]}]', 'is not a list of'],
    ['an entry without a job', '[{"statePrefix":"state/j/","cdcPrefixes":["cdc/a/"]}]', 'is not a list of'],
    ['a null entry', '[null]', 'is not a list of'],
  ])('refuses MERGES that is %s', (_what, text, message) => {
    expect(() => mergeWatchesOf(text)).toThrow(message);
  });
});
