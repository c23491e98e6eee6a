import { Logger } from '@aws-lambda-powertools/logger';
import { ConcurrentRunsExceededException, EntityNotFoundException, GetWorkflowCommand, GlueClient, StartWorkflowRunCommand, type WorkflowRun } from '@aws-sdk/client-glue';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { BRIDGE_STAGES, WORKFLOW_DIMENSION } from '../../lambda/shared/metrics';
import { createRefreshFollowUpHandler, followUpRunEnd, type GlueStateChange, handler, mergeWatchesOf, type RefreshFollowUpDependencies, refreshFollowUpDependenciesFromEnvironment } from '../../lambda/refresh-follow-up';
import { CapturedMetrics } from '../../scripts/local/metrics';
import { emfMetrics, lambdaContext, printedLogs } from '../helpers/lambda-fixtures';
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
let logger: Logger;

beforeAll(async () => {
  buckets = { landing: await createBucket(local(), 'landing'), lake: await createBucket(local(), 'lake') };
});
beforeEach(() => {
  glue.reset();
  metrics = new CapturedMetrics({ namespace: 'dynalake-dev', serviceName: BRIDGE_STAGES.refreshFollowUp, defaultDimensions: { [WORKFLOW_DIMENSION]: WORKFLOW } });
  sleeps = [];
  logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
});
afterAll(() => {
  glue.restore();
});

function dependencies(landing = buckets.landing, lake = buckets.lake): RefreshFollowUpDependencies {
  return {
    glue: new GlueClient({ region: 'eu-west-1' }),
    s3: local().client,
    logger,
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
    const info = jest.spyOn(logger, 'info');

    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 2, followUp: { runId: 'wr_2' } });
    expect(info.mock.calls).toEqual([['change objects landed during the run: follow-up run started', { runId: 'wr_1', waiting: 2, followUpRunId: 'wr_2' }]]);
    expect(glue.commandCalls(GetWorkflowCommand)[0]?.args[0].input).toEqual({ Name: WORKFLOW, IncludeGraph: false });
    expect(glue.commandCalls(StartWorkflowRunCommand).map((call) => call.args[0].input)).toEqual([{ Name: WORKFLOW }]);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '2 Count', ChangeObjectsLeftUnmerged: '0 Count', FollowUpRunsStarted: '1 Count' });
  });

  it('starts nothing when the run merged every change object, and looks no further back than the day before it started', async () => {
    const merged = [`cdc/orders/${day('2026-11-01', '1-2')}`, `cdc/user_Campaign/${day('2026-11-02', '3-3')}`];
    // Two days before the run started: outside what the handler lists, whatever the state says.
    const older = `cdc/orders/${day('2026-10-31', '0-0')}`;
    const { landing, lake } = await lakeWith([...merged, older], { orders_to_lake: { 'cdc/orders/': [merged[0] as string] }, campaign_progress: { 'cdc/user_Campaign/': [merged[1] as string] } });
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } });
    const info = jest.spyOn(logger, 'info');
    const warn = jest.spyOn(logger, 'warn');

    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 0, followUp: { skipped: 'nothing-waiting' } });
    expect(info.mock.calls).toEqual([['the refresh run merged every change object there was', { runId: 'wr_1' }]]);
    // Nothing left unmerged: no warning.
    expect(warn).not.toHaveBeenCalled();
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(0);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '0 Count', ChangeObjectsLeftUnmerged: '0 Count', FollowUpRunsStarted: '0 Count' });
  });

  it('never follows up change objects that were there before the run started and that it left unmerged (a job that succeeds without merging), and says so', async () => {
    // Today's folders: the run below starts now, and the handler lists from the day before it started.
    const today = new Date().toISOString().slice(0, 10);
    const before = [`cdc/orders/${day(today, '1-2')}`, `cdc/campaignInfo/${day(today, '3-3')}`];
    const { landing, lake } = await lakeWith(before, { orders_to_lake: {}, campaign_progress: {} });
    // The run started after both landed. Listings give times to the second: they are stamped at most now, truncated.
    const landedBy = Math.floor(Date.now() / 1000) * 1000;
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ StartedOn: new Date(landedBy + 1000) }) } });
    const warn = jest.spyOn(logger, 'warn');

    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 0, followUp: { skipped: 'nothing-waiting' } });
    expect(warn.mock.calls).toEqual([['the refresh run succeeded but left change objects that were there before it started unmerged: they are not followed up', { runId: 'wr_1', leftUnmerged: 2 }]]);
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(0);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '0 Count', ChangeObjectsLeftUnmerged: '2 Count', FollowUpRunsStarted: '0 Count' });

    // One created in the second the run started (it may have landed after): followed up; the two are still only counted.
    // s3rver stamps LastModified with the file's mtime, which the kernel takes from a coarse clock a
    // few milliseconds behind Date.now(): put 50 ms into the second, or it may be stamped the one before.
    while (Date.now() < landedBy + 1050) await new Promise((resolve) => setTimeout(resolve, landedBy + 1050 - Date.now()));
    await put(landing, `cdc/orders/${day(today, '4-4')}`);
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ StartedOn: new Date(landedBy + 1500) }) } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });
    metrics = new CapturedMetrics({ namespace: 'dynalake-dev', serviceName: BRIDGE_STAGES.refreshFollowUp, defaultDimensions: { [WORKFLOW_DIMENSION]: WORKFLOW } });
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 1, followUp: { runId: 'wr_2' } });
    expect(published()).toMatchObject({ ChangeObjectsWaiting: '1 Count', ChangeObjectsLeftUnmerged: '2 Count', FollowUpRunsStarted: '1 Count' });
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
      // A page without Contents, and an entry without a key, count nothing.
      if (input.Prefix !== 'cdc/orders/') return input.Prefix === 'cdc/campaignInfo/' ? {} : { Contents: [{ Size: 0 }] };
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
    const info = jest.spyOn(logger, 'info');
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: 'wr_1', waiting: 1, followUp: { skipped: 'already-running' } });
    expect(info.mock.calls).toEqual([['change objects landed during the run; a run is already going', { runId: 'wr_1', waiting: 1 }]]);
    expect(published()).toMatchObject({ ChangeObjectsWaiting: '1 Count', FollowUpRunsStarted: '0 Count' });
  });

  it('throws any other Glue error, so Lambda retries the event, and still publishes what it counted', async () => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).rejects(new EntityNotFoundException({ message: 'no workflow', $metadata: {} }));
    await expect(followUpRunEnd(dependencies(landing, lake), EVENT)).rejects.toThrow('no workflow');
    expect(published()).toEqual({ WorkflowRunsSucceeded: '1 Count', WorkflowRunsFailed: '0 Count', ChangeObjectsWaiting: '1 Count', ChangeObjectsLeftUnmerged: '0 Count' });
  });

  it.each([
    ['a failed job', { FailedActions: 1 }, 'COMPLETED'],
    ['a timed-out job', { TimeoutActions: 1 }, 'COMPLETED'],
    ['an errored action', { ErroredActions: 1 }, 'COMPLETED'],
    ['a stopped action', { StoppedActions: 1 }, 'COMPLETED'],
    ['a stopped run', {}, 'STOPPED'],
    ['a run in error', {}, 'ERROR'],
    // Counts that cancel out if subtracted.
    ['a failed and a timed-out job', { FailedActions: 1, TimeoutActions: 1 }, 'COMPLETED'],
    ['a failed job and an errored action', { FailedActions: 1, ErroredActions: 1 }, 'COMPLETED'],
    ['a failed job and a stopped action', { FailedActions: 1, StoppedActions: 1 }, 'COMPLETED'],
  ] as const)('counts a run with %s as failed and starts no follow-up run, whatever is waiting', async (_what, statistics, status) => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: status }, statistics) } });
    const warn = jest.spyOn(logger, 'warn');
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'failed', runId: 'wr_1', waiting: 0, followUp: { skipped: 'run-failed' } });
    expect(warn.mock.calls).toEqual([['the refresh run failed: no follow-up run', { runId: 'wr_1', status, statistics: { TotalActions: 4, SucceededActions: 4, ...statistics } }]]);
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(0);
    expect(published()).toEqual({ WorkflowRunsSucceeded: '0 Count', WorkflowRunsFailed: '1 Count' });
  });

  it('does nothing when the event ended a step and another action runs or waits', async () => {
    const info = jest.spyOn(logger, 'info');
    for (const statistics of [{ RunningActions: 1 }, { WaitingActions: 1 }]) {
      glue.reset();
      glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, statistics) } });
      expect(await followUpRunEnd(dependencies(), EVENT)).toEqual({ outcome: 'running' });
      expect(glue.commandCalls(GetWorkflowCommand)).toHaveLength(1);
    }
    expect(info.mock.calls[0]).toEqual(['not the end of a run', { workflowName: WORKFLOW, outcome: 'running', detailType: 'Glue Crawler State Change', detail: EVENT.detail }]);
    expect(sleeps).toEqual([]);
    expect(metrics.documents).toEqual([]);
  });

  it('does nothing for a workflow that never ran, or that Glue does not describe', async () => {
    glue.on(GetWorkflowCommand).resolvesOnce({ Workflow: { Name: WORKFLOW } }).resolvesOnce({});
    expect(await followUpRunEnd(dependencies(), EVENT)).toEqual({ outcome: 'no-run' });
    expect(await followUpRunEnd(dependencies(), EVENT)).toEqual({ outcome: 'no-run' });
    expect(metrics.documents).toEqual([]);
  });

  it('takes a run or a follow-up Glue gave no id as one with an empty id', async () => {
    const { landing, lake } = await lakeWith([`cdc/orders/${day('2026-11-02', '1-1')}`], {});
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ WorkflowRunId: undefined }) } }).on(StartWorkflowRunCommand).resolves({});
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toEqual({ outcome: 'succeeded', runId: '', waiting: 1, followUp: { runId: '' } });
  });

  it('asks again while the run has no action left but Glue has not marked it ended', async () => {
    const { landing, lake } = await lakeWith([], {});
    glue
      .on(GetWorkflowCommand)
      .resolvesOnce({ Workflow: { LastRun: run({ Status: 'RUNNING' }, { RunningActions: 0, WaitingActions: 0 }) } })
      .resolvesOnce({ Workflow: { LastRun: run({ Status: 'RUNNING', Statistics: undefined }) } })
      .resolves({ Workflow: { LastRun: run() } });
    const info = jest.spyOn(logger, 'info');
    expect(await followUpRunEnd(dependencies(landing, lake), EVENT)).toMatchObject({ outcome: 'succeeded', followUp: { skipped: 'nothing-waiting' } });
    expect(sleeps).toEqual([5_000, 5_000]);
    expect(info.mock.calls.slice(0, 2)).toEqual([
      ['the run has no action left but is still RUNNING; asking again', { runId: 'wr_1', attempt: 1 }],
      ['the run has no action left but is still RUNNING; asking again', { runId: 'wr_1', attempt: 2 }],
    ]);
  });

  it('fails the event when the run stays RUNNING with nothing left past the settle policy (Lambda retries it)', async () => {
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, {}) } });
    await expect(followUpRunEnd(dependencies(), EVENT)).rejects.toThrow(`workflow run wr_1 of ${WORKFLOW} still RUNNING with no action running or waiting after 3 looks`);
    expect(sleeps).toEqual([5_000, 5_000]);
    glue.reset();
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING', WorkflowRunId: undefined }, {}) } });
    await expect(followUpRunEnd(dependencies(), EVENT)).rejects.toThrow(`workflow run ? of ${WORKFLOW} still RUNNING`);
  });

  it('waits by default 5 s between looks, a minute in all', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, {}) } });
      const { settle: _settle, sleep: _sleep, ...defaults } = dependencies();
      const outcome = followUpRunEnd(defaults, EVENT).catch((error: unknown) => error as Error);
      await jest.advanceTimersByTimeAsync(4_999);
      expect(glue.commandCalls(GetWorkflowCommand)).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(glue.commandCalls(GetWorkflowCommand)).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(10 * 5_000);
      expect(((await outcome) as Error).message).toBe(`workflow run wr_1 of ${WORKFLOW} still RUNNING with no action running or waiting after 12 looks`);
      expect(glue.commandCalls(GetWorkflowCommand)).toHaveLength(12);
    } finally {
      jest.useRealTimers();
    }
  });

  it.each([
    ['of another format', JSON.stringify({ format: 2, sources: {} }), 'is not a format-1 state object of orders_to_lake'],
    ['without sources', JSON.stringify({ format: 1, sources: null }), 'is not a format-1 state object of orders_to_lake'],
    ['whose sources are a number', JSON.stringify({ format: 1, sources: 5 }), 'is not a format-1 state object of orders_to_lake'],
    ['that is null', 'null', 'is not a format-1 state object of orders_to_lake'],
    ['that is not JSON', '{"format": 1,', 'is not JSON: {"format": 1,'],
    ['that is long and not JSON, shown in its first 80 characters', `{"format": 1, "sources": {${'x'.repeat(100)}`, `is not JSON: {"format": 1, "sources": {${'x'.repeat(54)}`],
    ['whose keys are no list', JSON.stringify({ format: 1, sources: { 's3://b/cdc/orders/': 'k' } }), ': sources["s3://b/cdc/orders/"] is not a list of object keys'],
  ])('refuses a state object %s, naming it', async (_what, body, message) => {
    const { landing, lake } = await lakeWith([], {});
    await put(lake, 'state/orders_to_lake/merged.json', body);
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } });
    await expect(followUpRunEnd(dependencies(landing, lake), EVENT)).rejects.toThrow(new Error(`s3://${lake}/state/orders_to_lake/merged.json${message.startsWith(':') ? '' : ' '}${message}`));
  });

  it('reads prefixes given with extra slashes as the jobs do', async () => {
    const merged = `cdc/orders/${day('2026-11-02', '1-1')}`;
    const { landing, lake } = await lakeWith([merged, `cdc/orders/${day('2026-11-02', '2-2')}`], { orders_to_lake: { 'cdc/orders/': [merged] } });
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });
    const slashed = [{ job: 'orders_to_lake', statePrefix: '//state/orders_to_lake//', cdcPrefixes: ['//cdc/orders//'] }];
    expect(await followUpRunEnd({ ...dependencies(landing, lake), merges: slashed }, EVENT)).toMatchObject({ waiting: 1 });
  });

  it('takes a state object that is missing by status (404) as none, and fails on any other read error', async () => {
    const s3 = new S3Client({ region: 'eu-west-1' });
    const s3Mock = mockClient(s3);
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `cdc/orders/${day('2026-11-02', '1-1')}` }] });
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run() } }).on(StartWorkflowRunCommand).resolves({ RunId: 'wr_2' });
    expect(await followUpRunEnd({ ...dependencies('landing', 'lake'), s3, merges: [MERGES[0] as (typeof MERGES)[number]] }, EVENT)).toMatchObject({ waiting: 1 });
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    await expect(followUpRunEnd({ ...dependencies('landing', 'lake'), s3 }, EVENT)).rejects.toThrow('Access Denied');
    // An error without an HTTP status is no missing object either.
    s3Mock.on(GetObjectCommand).rejects(new Error('socket hang up'));
    await expect(followUpRunEnd({ ...dependencies('landing', 'lake'), s3 }, EVENT)).rejects.toThrow(new Error('socket hang up'));
    // An object without a body reads as no text, which is no state.
    s3Mock.on(GetObjectCommand).resolves({});
    await expect(followUpRunEnd({ ...dependencies('landing', 'lake'), s3 }, EVENT)).rejects.toThrow(new Error('s3://lake/state/orders_to_lake/merged.json is not JSON: '));
    s3Mock.restore();
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

  it('logs as the dynalake-refresh-follow-up service', async () => {
    const { logger: built } = refreshFollowUpDependenciesFromEnvironment(environment);
    expect(await printedLogs(() => built.info('probe'))).toEqual([expect.objectContaining({ level: 'INFO', message: 'probe', service: 'dynalake-refresh-follow-up' })]);
  });

  it('handles an event given without an invocation context', async () => {
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, { RunningActions: 1 }) } });
    expect(await createRefreshFollowUpHandler(dependencies())(EVENT)).toEqual({ outcome: 'running' });
  });

  it("logs with the invocation's context from the handler", async () => {
    glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, { RunningActions: 1 }) } });
    const loud = new Logger({ serviceName: 'dynalake-refresh-follow-up' });
    const handle = createRefreshFollowUpHandler({ ...dependencies(), logger: loud });
    const lines = await printedLogs(() => handle(EVENT, lambdaContext('refresh-follow-up')));
    expect(lines).toEqual([expect.objectContaining({ message: 'not the end of a run', function_name: 'refresh-follow-up' })]);
  });

  describe('the Lambda entry', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it("reads the environment on the first event that finds it complete, and keeps those dependencies for the container's life", async () => {
      glue.on(GetWorkflowCommand).resolves({ Workflow: { LastRun: run({ Status: 'RUNNING' }, { RunningActions: 1 }) } });
      process.env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name in environment)));
      await expect(handler(EVENT, lambdaContext('refresh-follow-up'))).rejects.toThrow('missing environment variables: WORKFLOW_NAME, LANDING_BUCKET, LAKE_BUCKET, MERGES');
      Object.assign(process.env, environment, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
      await handler(EVENT, lambdaContext('refresh-follow-up'));
      // Built once: a later event does not read the environment again.
      delete process.env.MERGES;
      await handler(EVENT, lambdaContext('refresh-follow-up'));
      expect(glue.commandCalls(GetWorkflowCommand).map((call) => call.args[0].input.Name)).toEqual([WORKFLOW, WORKFLOW]);
    });
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
    ['a good entry beside a bad one', '[{"job":"j","statePrefix":"state/j/","cdcPrefixes":["cdc/a/"]},{"job":"k"}]', 'is not a list of'],
    ['a good prefix beside a bad one', '[{"job":"j","statePrefix":"state/j/","cdcPrefixes":["cdc/a/",2]}]', 'is not a list of'],
  ])('refuses MERGES that is %s', (_what, text, message) => {
    expect(() => mergeWatchesOf(text)).toThrow(message);
  });
});
