import { GetWorkflowCommand, StartWorkflowRunCommand } from '@aws-sdk/client-glue';
import { LocalGlueRunner, type LocalWorkflowRun, workflowRunEndEvent } from '../../../scripts/local/glue-runner';

/**
 * The local Glue answers StartWorkflowRun as the refresh schedule and the stream bridge call it,
 * through a real GlueClient: it starts a workflow whose start trigger is ON_DEMAND, refuses what
 * Glue does not document (a SCHEDULED start trigger) and a start beyond the workflow's one run.
 */
describe('the local Glue: StartWorkflowRun', () => {
  let release: () => void = () => undefined;
  const held = () => new Promise<void>((resolve) => (release = resolve));
  const runner = new LocalGlueRunner(
    { 'shop-load': { defaultArguments: {}, maxConcurrentRuns: 1, run: held } },
    { 'on-demand': { startTrigger: 'ON_DEMAND', stages: [['shop-load']] }, scheduled: { startTrigger: 'SCHEDULED', stages: [['shop-load']] } },
  );

  beforeAll(async () => {
    await runner.start();
  });
  afterAll(async () => {
    release();
    await runner.close();
  });

  it('starts a workflow whose start trigger is ON_DEMAND, and refuses a second run while it goes', async () => {
    const glue = runner.client();
    const { RunId } = await glue.send(new StartWorkflowRunCommand({ Name: 'on-demand' }));
    expect(RunId).toMatch(/^wr_/);
    await expect(glue.send(new StartWorkflowRunCommand({ Name: 'on-demand' }))).rejects.toMatchObject({ name: 'ConcurrentRunsExceededException' });
    release();
    await runner.idle();
    expect(runner.workflowRuns.find((run) => run.id === RunId)?.state).toBe('SUCCEEDED');
  });

  it('refuses to start a workflow whose start trigger is SCHEDULED, as AWS documents StartWorkflowRun for ON_DEMAND ones only', async () => {
    await expect(runner.client().send(new StartWorkflowRunCommand({ Name: 'scheduled' }))).rejects.toMatchObject({
      name: 'InvalidInputException',
      message: 'Workflow scheduled starts on a SCHEDULED trigger: StartWorkflowRun is documented for ON_DEMAND start triggers only',
    });
    await expect(runner.client().send(new StartWorkflowRunCommand({ Name: 'nowhere' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });
});

describe('the local Glue: GetWorkflow and the end of a run', () => {
  let release: () => void = () => undefined;
  let fail = false;
  // The first load of each test waits for release(); the follow-up's runs at once.
  let holding = false;
  const held = () => {
    if (!holding) return Promise.resolve();
    holding = false;
    return new Promise<void>((resolve, reject) => (release = () => (fail ? reject(new Error('the twin failed')) : resolve())));
  };
  const ended: LocalWorkflowRun[] = [];
  const runner = new LocalGlueRunner(
    { 'shop-load': { defaultArguments: {}, maxConcurrentRuns: 1, run: held }, 'shop-model': { defaultArguments: {}, maxConcurrentRuns: 1, run: () => Promise.resolve() } },
    { refresh: { startTrigger: 'ON_DEMAND', stages: [['shop-load'], ['shop-model']] } },
    {
      onWorkflowRunEnded: async (run) => {
        ended.push(run);
        // What the end starts, idle() waits for: a follow-up of the first run only.
        if (ended.length === 1) await runner.client().send(new StartWorkflowRunCommand({ Name: 'refresh' }));
      },
    },
  );

  beforeAll(async () => {
    await runner.start();
  });
  afterAll(async () => {
    release();
    await runner.close();
  });

  it('answers GetWorkflow as Glue does: no LastRun before the first, RUNNING with its running actions, then COMPLETED with the counts', async () => {
    const glue = runner.client();
    expect((await glue.send(new GetWorkflowCommand({ Name: 'refresh' }))).Workflow).toEqual({ Name: 'refresh' });
    holding = true;
    const { RunId } = await glue.send(new StartWorkflowRunCommand({ Name: 'refresh' }));
    const running = (await glue.send(new GetWorkflowCommand({ Name: 'refresh' }))).Workflow?.LastRun;
    expect(running).toMatchObject({ WorkflowRunId: RunId, Status: 'RUNNING', Statistics: { TotalActions: 1, RunningActions: 1, SucceededActions: 0, FailedActions: 0, WaitingActions: 0 } });
    expect(running?.StartedOn).toBeInstanceOf(Date);
    expect(running?.CompletedOn).toBeUndefined();
    release();
    await runner.idle();
    // The first run's end started a follow-up, which ran too before idle() resolved.
    expect(ended.map((run) => run.id)).toEqual([RunId, runner.workflowRuns[1]?.id]);
    const completed = (await glue.send(new GetWorkflowCommand({ Name: 'refresh' }))).Workflow?.LastRun;
    expect(completed).toMatchObject({ WorkflowRunId: runner.workflowRuns[1]?.id, Status: 'COMPLETED', Statistics: { TotalActions: 2, SucceededActions: 2, FailedActions: 0, RunningActions: 0 } });
    expect(completed?.CompletedOn?.getTime()).toBeGreaterThanOrEqual(completed?.StartedOn?.getTime() ?? Infinity);
  });

  it('reports a failed job as a failed action of a COMPLETED run, whose end is announced too', async () => {
    fail = true;
    holding = true;
    const glue = runner.client();
    await glue.send(new StartWorkflowRunCommand({ Name: 'refresh' }));
    release();
    await runner.idle();
    expect((await glue.send(new GetWorkflowCommand({ Name: 'refresh' }))).Workflow?.LastRun).toMatchObject({ Status: 'COMPLETED', Statistics: { TotalActions: 1, FailedActions: 1, SucceededActions: 0 } });
    expect(ended.at(-1)?.state).toBe('FAILED');
    expect(workflowRunEndEvent(ended.at(-1) as LocalWorkflowRun)).toMatchObject({ 'detail-type': 'Glue Job State Change', source: 'aws.glue', detail: { jobName: 'shop-load', state: 'FAILED' } });
    await expect(glue.send(new GetWorkflowCommand({ Name: 'nowhere' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });
});
