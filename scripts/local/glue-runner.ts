import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GlueClient } from '@aws-sdk/client-glue';
import type { GlueStateChange } from '../../lambda/refresh-follow-up';

/**
 * A local Glue, reached by the handlers' own GlueClient through its endpoint: it speaks the Glue
 * API's wire protocol (JSON 1.1, `X-Amz-Target: AWSGlue.<Operation>`) for the calls the pipeline
 * makes, and runs each job's local twin. Like Glue, it refuses a start beyond a job's or
 * workflow's concurrency with ConcurrentRunsExceededException, so the handlers' handling of
 * that answer runs here exactly as in the cloud.
 */

/** A job the runner knows: its default arguments (without `--`) and its twin. */
export interface LocalJob {
  readonly defaultArguments: Readonly<Record<string, string>>;
  readonly maxConcurrentRuns: number;
  readonly run: (args: Readonly<Record<string, string>>) => Promise<unknown>;
}

/** A workflow: the jobs of each stage run after the previous stage succeeded (the conditional triggers). */
export interface LocalWorkflow {
  /**
   * The type of its start trigger. StartWorkflowRun is documented for ON_DEMAND start triggers
   * only (https://docs.aws.amazon.com/glue/latest/dg/workflows_overview.html), so the local Glue
   * starts no other kind: what Glue may refuse is refused here.
   */
  readonly startTrigger: 'ON_DEMAND' | 'SCHEDULED' | 'EVENT';
  readonly stages: readonly (readonly string[])[];
}

export type RunState = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** One job run, with what its twin returned. */
export interface LocalJobRun {
  readonly id: string;
  readonly jobName: string;
  readonly arguments: Readonly<Record<string, string>>;
  state: RunState;
  result?: unknown;
  error?: string;
  workflowRunId?: string;
  milliseconds?: number;
}

/** One workflow run and its job runs. */
export interface LocalWorkflowRun {
  readonly id: string;
  readonly workflowName: string;
  state: RunState;
  readonly jobRuns: LocalJobRun[];
  readonly startedOn: Date;
  completedOn?: Date;
  error?: string;
}

/** Options of a {@link LocalGlueRunner}. */
export interface LocalGlueOptions {
  /**
   * Called when a workflow run has ended, as the EventBridge rules of a RefreshFollowUp call
   * refresh-follow-up with the end of the run's last job: what it starts is waited for by idle().
   * @default - nothing
   */
  readonly onWorkflowRunEnded?: (run: LocalWorkflowRun) => Promise<void>;
}

class GlueError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class LocalGlueRunner {
  readonly jobRuns: LocalJobRun[] = [];
  readonly workflowRuns: LocalWorkflowRun[] = [];
  private readonly pending = new Set<Promise<void>>();
  private server?: Server;
  private endpointUrl?: string;
  private counter = 0;

  constructor(
    private readonly jobs: Readonly<Record<string, LocalJob>>,
    private readonly workflows: Readonly<Record<string, LocalWorkflow>>,
    private readonly options: LocalGlueOptions = {},
  ) {}

  /** Listens on a free loopback port; resolves to the endpoint. */
  async start(): Promise<string> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.endpointUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    return this.endpointUrl;
  }

  /** A Glue client for this runner, as a handler would create one with an endpoint override. */
  client(): GlueClient {
    if (!this.endpointUrl) throw new Error('LocalGlueRunner: start() first');
    return new GlueClient({ endpoint: this.endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  }

  /** Resolves when no run is going (runs started meanwhile are waited for too). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** StartWorkflowRun, as the stream bridge and the refresh schedule call it. */
  startWorkflowRun(workflowName: string): LocalWorkflowRun {
    const workflow = this.workflows[workflowName];
    if (!workflow) throw new GlueError('EntityNotFoundException', `Workflow ${workflowName} not found`);
    if (workflow.startTrigger !== 'ON_DEMAND') {
      throw new GlueError('InvalidInputException', `Workflow ${workflowName} starts on a ${workflow.startTrigger} trigger: StartWorkflowRun is documented for ON_DEMAND start triggers only`);
    }
    if (this.workflowRuns.some((run) => run.workflowName === workflowName && run.state === 'RUNNING')) {
      throw new GlueError('ConcurrentRunsExceededException', `Concurrent runs exceeded for workflow: ${workflowName}`);
    }
    const run: LocalWorkflowRun = { id: `wr_${String(++this.counter).padStart(6, '0')}`, workflowName, state: 'RUNNING', jobRuns: [], startedOn: new Date() };
    this.workflowRuns.push(run);
    // Tracked for idle(), with what its end starts; its outcome is recorded on the run itself.
    void this.track(
      (async () => {
        await this.runStages(run, workflow);
        run.completedOn = new Date();
        await this.options.onWorkflowRunEnded?.(run);
      })(),
    );
    return run;
  }

  /** The stages in turn, each once the one before succeeded, as the conditional triggers run them. */
  private async runStages(run: LocalWorkflowRun, workflow: LocalWorkflow): Promise<void> {
    for (const stage of workflow.stages) {
      const runs = stage.map((jobName) => this.startJobRun(jobName, {}, run.id));
      run.jobRuns.push(...runs.map(({ jobRun }) => jobRun));
      await Promise.all(runs.map(({ done }) => done));
      const failed = runs.find(({ jobRun }) => jobRun.state === 'FAILED');
      if (failed) {
        run.state = 'FAILED';
        run.error = `${failed.jobRun.jobName}: ${failed.jobRun.error ?? 'failed'}`;
        return;
      }
    }
    run.state = 'SUCCEEDED';
  }

  /**
   * GetWorkflow's LastRun, as Glue reports it: RUNNING, then COMPLETED whatever became of the
   * jobs, with their counts in Statistics (a failed job is a FailedAction of a COMPLETED run).
   */
  private lastRunOf(workflowName: string): Record<string, unknown> | undefined {
    const run = this.workflowRuns.filter((candidate) => candidate.workflowName === workflowName).at(-1);
    if (!run) return undefined;
    const count = (state: RunState) => run.jobRuns.filter((jobRun) => jobRun.state === state).length;
    return {
      Name: workflowName,
      WorkflowRunId: run.id,
      Status: run.state === 'RUNNING' ? 'RUNNING' : 'COMPLETED',
      StartedOn: run.startedOn.getTime() / 1000,
      ...(run.completedOn ? { CompletedOn: run.completedOn.getTime() / 1000 } : {}),
      Statistics: { TotalActions: run.jobRuns.length, SucceededActions: count('SUCCEEDED'), FailedActions: count('FAILED'), RunningActions: count('RUNNING'), WaitingActions: 0 },
    };
  }

  private startJobRun(jobName: string, runArguments: Readonly<Record<string, string>>, workflowRunId?: string): { jobRun: LocalJobRun; done: Promise<void> } {
    const job = this.jobs[jobName];
    if (!job) throw new GlueError('EntityNotFoundException', `Job ${jobName} not found`);
    if (this.jobRuns.filter((run) => run.jobName === jobName && run.state === 'RUNNING').length >= job.maxConcurrentRuns) {
      throw new GlueError('ConcurrentRunsExceededException', `Concurrent runs exceeded for ${jobName}`);
    }
    const args = { ...job.defaultArguments, ...Object.fromEntries(Object.entries(runArguments).map(([name, value]) => [name.replace(/^--/, ''), value])) };
    const jobRun: LocalJobRun = { id: `jr_${String(++this.counter).padStart(6, '0')}`, jobName, arguments: args, state: 'RUNNING', workflowRunId };
    this.jobRuns.push(jobRun);
    const started = performance.now();
    const done = this.track(
      job.run(args).then(
        (result) => {
          jobRun.state = 'SUCCEEDED';
          jobRun.result = result;
          jobRun.milliseconds = performance.now() - started;
        },
        (error: unknown) => {
          jobRun.state = 'FAILED';
          jobRun.error = error instanceof Error ? error.message : String(error);
          jobRun.milliseconds = performance.now() - started;
        },
      ),
    );
    return { jobRun, done };
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return tracked;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^AWSGlue\./, '');
    const reply = (status: number, body: unknown, errorType?: string) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      response.end(JSON.stringify(body));
    };
    try {
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      switch (operation) {
        case 'StartJobRun': {
          const { jobRun } = this.startJobRun(String(input.JobName), (input.Arguments ?? {}) as Record<string, string>);
          reply(200, { JobRunId: jobRun.id });
          return;
        }
        case 'StartWorkflowRun':
          reply(200, { RunId: this.startWorkflowRun(String(input.Name)).id });
          return;
        case 'GetWorkflow': {
          const name = String(input.Name);
          if (!(name in this.workflows)) throw new GlueError('EntityNotFoundException', `Workflow ${name} not found`);
          const lastRun = this.lastRunOf(name);
          reply(200, { Workflow: { Name: name, ...(lastRun ? { LastRun: lastRun } : {}) } });
          return;
        }
        case 'GetJobRun': {
          const run = this.jobRuns.find((candidate) => candidate.id === input.RunId && candidate.jobName === input.JobName);
          if (!run) throw new GlueError('EntityNotFoundException', `Job run ${String(input.RunId)} not found`);
          reply(200, { JobRun: { Id: run.id, JobName: run.jobName, JobRunState: run.state, ErrorMessage: run.error, Arguments: run.arguments } });
          return;
        }
        default:
          throw new GlueError('InvalidInputException', `the local Glue runner does not implement ${operation || '(no X-Amz-Target)'}`);
      }
    } catch (error) {
      const type = error instanceof GlueError ? error.type : 'InternalServiceException';
      reply(400, { __type: type, message: (error as Error).message }, type);
    }
  }

  async close(): Promise<void> {
    await this.idle();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * The EventBridge event that ends a workflow run in the cloud, from a local run: the state change
 * of its last job (refresh-follow-up asks the local Glue whether that end was the run's, as it asks Glue).
 */
export function workflowRunEndEvent(run: LocalWorkflowRun): GlueStateChange {
  const last = run.jobRuns.at(-1);
  return {
    version: '0',
    id: `local-${run.id}`,
    'detail-type': 'Glue Job State Change',
    source: 'aws.glue',
    account: '000000000000',
    time: (run.completedOn ?? new Date()).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { jobName: last?.jobName, state: last?.state },
  };
}
