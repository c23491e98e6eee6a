import { StartWorkflowRunCommand } from '@aws-sdk/client-glue';
import { LocalGlueRunner } from '../../../scripts/local/glue-runner';

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
