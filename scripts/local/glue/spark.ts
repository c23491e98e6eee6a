import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { DynalakeError } from '../../../lambda/shared/errors';
import { count, counted, type GlueTwinResult, type JobArguments, type JobMetric, type JobMetricName } from './job';
import { JOB_METRIC_UNITS } from '../../../lambda/shared/metrics';
import { type GlueJobLayouts, synthesizedJobLayouts } from './job-layout';

/**
 * The real PySpark jobs of glue-scripts/ on a local Spark (`--engine spark`), through the Python
 * runner scripts/local/spark/local_glue.py and its `awsglue` stand-in. One Python process, and so
 * one Spark session, serves every job run of a LocalSpark; runs are queued, one at a time.
 */

const ROOT = resolve(__dirname, '..', '..', '..');
const RUNNER = join(ROOT, 'scripts', 'local', 'spark', 'local_glue.py');

/** Where {@link preparePython} finds the environment: the project's, unless a test gives another. */
export interface PythonEnvironment {
  /** The Bash script that makes the environment, or finds it unchanged. */
  readonly setupScript: string;
  /** The Python it makes. */
  readonly python: string;
}

/** The project's environment: scripts/python/setup.sh (npm run setup:python) and the Python of .venv/. */
export const PROJECT_PYTHON: PythonEnvironment = { setupScript: join(ROOT, 'scripts', 'python', 'setup.sh'), python: join(ROOT, '.venv', 'bin', 'python') };

/**
 * The Python of .venv/, made (or found unchanged) by scripts/python/setup.sh first, its progress
 * (stderr) passed line by line to `log`; throws BAD_INVOCATION with the setup's last word when it
 * cannot be made.
 */
export function preparePython(log: (line: string) => void = () => undefined, environment: PythonEnvironment = PROJECT_PYTHON): string {
  const setup = spawnSync('bash', [environment.setupScript], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  const lines = setup.stderr.trim().split('\n').filter((line) => line !== '');
  for (const line of lines) log(line);
  if (setup.status !== 0 || !existsSync(environment.python)) {
    throw new DynalakeError('BAD_INVOCATION', `--engine spark needs the project's Python environment: ${lines.at(-1) ?? 'scripts/python/setup.sh failed'}`);
  }
  return environment.python;
}

/** Options of {@link LocalSpark.start}. */
export interface LocalSparkOptions {
  /** The Python with PySpark (see {@link preparePython}). */
  readonly python: string;
  /** The folder of the buckets' local mirror (kept between runs: only changes cross). */
  readonly mirrorDir: string;
  /** The buckets jobs may use, mounted as `s3://<bucket>/`. */
  readonly buckets: readonly string[];
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  /** Where Spark's own output goes. @default <mirrorDir>/../spark.log */
  readonly logFile?: string;
  /**
   * Each job's script and `--extra-py-files`, as the synthesized pipeline lays them out.
   * @default - synthesized now into <mirrorDir>/../glue-jobs ({@link synthesizedJobLayouts})
   */
  readonly jobs?: GlueJobLayouts;
}

/** One job run's answer from the runner. */
interface RunAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly traceback?: string;
  readonly seconds: number;
  readonly downloaded: number;
  readonly uploaded: number;
  readonly deleted: number;
  readonly items_written: number;
  readonly committed: boolean;
  /** The last lines the script printed (its log on Glue). */
  readonly output?: readonly string[];
  /** What the script gave PutMetricData, each datum with its namespace (the local Glue keeps them: there is no CloudWatch here). */
  readonly metrics?: readonly { readonly Namespace: string; readonly MetricName: string; readonly Unit: string; readonly Value: number; readonly Dimensions: readonly { readonly Name: string; readonly Value: string }[] }[];
}

/** A PutMetricData datum of a run as a {@link JobMetric}; refuses a name, unit or dimension set the jobs do not publish. */
function jobMetricOf(job: string, datum: NonNullable<RunAnswer['metrics']>[number]): JobMetric {
  const name = datum.MetricName as JobMetricName;
  const dimensions = Object.fromEntries(datum.Dimensions.map((dimension) => [dimension.Name, dimension.Value]));
  if (JOB_METRIC_UNITS[name] !== datum.Unit || Object.keys(dimensions).sort().join() !== 'dataset,service') {
    throw new DynalakeError('LOAD_FAILED', `${job}: published ${JSON.stringify(datum)}, not a job metric of lambda/shared/metrics.ts JOB_METRICS with dimensions service and dataset`);
  }
  return { namespace: datum.Namespace, name, unit: JOB_METRIC_UNITS[name], value: datum.Value, service: dimensions.service ?? '', dataset: dimensions.dataset ?? '' };
}

/** What a Spark job run did, as the local runner saw it. */
export interface SparkJobResult extends GlueTwinResult {
  readonly engine: 'spark';
  readonly seconds: number;
  /** Objects copied from S3 into the mirror before the run (changes since the last run only). */
  readonly objectsDownloaded: number;
  readonly objectsWritten: number;
  readonly objectsDeleted: number;
  readonly itemsWritten: number;
}

export class LocalSpark {
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Map<number, (answer: RunAnswer) => void>();
  private exited?: string;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    private readonly jobs: GlueJobLayouts,
    /** Seconds the runner took to start Spark. */
    readonly startupSeconds: number,
  ) {}

  /** Starts the runner and its Spark session; resolves once Spark is up. */
  static async start(options: LocalSparkOptions): Promise<LocalSpark> {
    mkdirSync(options.mirrorDir, { recursive: true });
    const jobs = options.jobs ?? synthesizedJobLayouts(join(dirname(options.mirrorDir), 'glue-jobs'), options.python);
    const logFile = options.logFile ?? join(dirname(options.mirrorDir), 'spark.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const args = [RUNNER, '--mirror', options.mirrorDir, ...options.buckets.flatMap((bucket) => ['--bucket', bucket])];
    const child = spawn(options.python, args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_S3: options.s3Endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        PYTHONUNBUFFERED: '1',
      },
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const answers = createInterface({ input: child.stdio[3] as Readable });
    const first = await new Promise<{ startup_seconds: number }>((resolveReady, reject) => {
      const onExit = (code: number | null) => reject(new DynalakeError('LOAD_FAILED', `the local Spark runner exited (${String(code)}) before Spark started; see ${logFile}`));
      child.once('exit', onExit);
      child.once('error', reject);
      answers.once('line', (line) => {
        child.off('exit', onExit);
        resolveReady(JSON.parse(line) as { startup_seconds: number });
      });
    });
    const spark = new LocalSpark(child, log, jobs, first.startup_seconds);
    answers.on('line', (line) => spark.answer(JSON.parse(line) as RunAnswer));
    child.once('exit', (code) => spark.fail(`the local Spark runner exited (${String(code)}); see ${logFile}`));
    return spark;
  }

  private answer(answer: RunAnswer): void {
    this.waiting.get(answer.id)?.(answer);
    this.waiting.delete(answer.id);
  }

  private fail(reason: string): void {
    this.exited = reason;
    for (const [id, settle] of this.waiting) settle({ id, ok: false, error: reason, seconds: 0, downloaded: 0, uploaded: 0, deleted: 0, items_written: 0, committed: false });
    this.waiting.clear();
  }

  /**
   * Runs the job of script `<job>.py` as Glue would, from its synthesized layout: `--JOB_NAME` and
   * every argument as `--NAME value`.
   * Resolves with what it did; rejects with LOAD_FAILED and the job's own error when it fails.
   */
  run(job: string, jobName: string, args: JobArguments): Promise<SparkJobResult> {
    const run = this.queue.then(() => this.runNow(job, jobName, args));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runNow(job: string, jobName: string, args: JobArguments): Promise<SparkJobResult> {
    if (this.exited) throw new DynalakeError('LOAD_FAILED', `${job}: ${this.exited}`);
    const layout = this.jobs[job];
    if (!layout) throw new DynalakeError('BAD_INVOCATION', `no Glue job of the synthesized pipeline runs ${job}.py (jobs: ${Object.keys(this.jobs).join(', ')})`);
    const id = this.nextId++;
    const argumentsWithDashes: Record<string, string> = { '--JOB_NAME': jobName };
    for (const [name, value] of Object.entries(args)) if (value !== undefined) argumentsWithDashes[`--${name}`] = value;
    const answer = await new Promise<RunAnswer>((settle) => {
      this.waiting.set(id, settle);
      (this.child.stdin as Writable).write(`${JSON.stringify({ id, script: layout.script, extra_py_files: layout.extraPyFiles, arguments: argumentsWithDashes })}\n`);
    });
    if (!answer.ok) throw new DynalakeError('LOAD_FAILED', `${job}: ${answer.error ?? 'failed'}`);
    const said = answer.output?.at(-1);
    const summary =
      (said === undefined ? '' : `${said}; `) +
      `Spark ${answer.seconds.toFixed(1)} s: ${counted(answer.downloaded, 'object')} staged in, ${counted(answer.uploaded, 'object')} written, ${count(answer.deleted)} deleted` +
      (answer.items_written > 0 ? `, ${counted(answer.items_written, 'item')} written to DynamoDB` : '') +
      (answer.committed ? '' : ' (the script never reached job.commit())');
    const metrics = (answer.metrics ?? []).map((datum) => jobMetricOf(job, datum));
    return { engine: 'spark', summary, seconds: answer.seconds, objectsDownloaded: answer.downloaded, objectsWritten: answer.uploaded, objectsDeleted: answer.deleted, itemsWritten: answer.items_written, metrics };
  }

  /** Stops Spark once the queued runs are done. */
  async close(): Promise<void> {
    await this.queue;
    if (this.exited === undefined) {
      const exited = new Promise<void>((resolveExit) => this.child.once('exit', () => resolveExit()));
      this.child.stdin?.end();
      await exited;
    }
    await new Promise<void>((resolveClose) => this.log.end(() => resolveClose()));
  }
}
