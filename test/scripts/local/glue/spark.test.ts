import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GlueJobLayouts } from '../../../../scripts/local/glue/job-layout';
import { thrownBy } from '../../../helpers/errors';
import { LocalSpark, type LocalSparkOptions, PROJECT_PYTHON, preparePython } from '../../../../scripts/local/glue/spark';
import { VENV_BIN } from '../../../helpers/spark';

/**
 * LocalSpark's side of the runner protocol (start, queued runs, answers, failures, close) against
 * a scripted runner that speaks it without Spark (test/fixtures/scripted-spark-runner.mjs).
 * job-layout.test.ts runs the real runner on the local Spark.
 */

const ROOT = resolve(__dirname, '..', '..', '..', '..');
const RUNNER = join(ROOT, 'scripts', 'local', 'spark', 'local_glue.py');
const JOBS: GlueJobLayouts = {
  orders_to_lake: { jobName: 'dynalake-dev-orders_to_lake', script: '/layout/orders_to_lake.py', extraPyFiles: ['/layout/helpers.zip'] },
  sales_star_schema: { jobName: 'dynalake-dev-sales_star_schema', script: '/layout/sales_star_schema.py', extraPyFiles: [] },
};

let scratch: string;
let python: string;

/**
 * LocalSpark runs `<python> local_glue.py …`: this "python" runs the scripted runner instead, with
 * `redirect` (`>&-`: its stdout closed); `python -m …` (the job layout zipping a folder) goes to python3.
 */
function scriptedPython(name: string, redirect = ''): string {
  const path = join(scratch, name);
  const runner = resolve(__dirname, '..', '..', '..', 'fixtures', 'scripted-spark-runner.mjs');
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "-m" ]; then exec python3 "$@"; fi\nexec "${process.execPath}" "${runner}" "$@" ${redirect}\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dynalake-spark-protocol-'));
  python = scriptedPython('python');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let runs = 0;
/** Options for a runner of its own, in a fresh folder. */
function options(overrides: Partial<LocalSparkOptions> = {}): LocalSparkOptions & { readonly dir: string } {
  const dir = join(scratch, `run-${String((runs += 1))}`);
  return { dir, python, mirrorDir: join(dir, 'mirror'), buckets: ['landing', 'lake'], s3Endpoint: 'http://127.0.0.1:4569', dynamodbEndpoint: 'http://127.0.0.1:4567', jobs: JOBS, ...overrides };
}

/** `text` as a regular expression that matches it literally. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The JSON requests the runner received, in order, from its log. */
function requests(logFile: string): { id: number; script: string; extra_py_files: string[]; arguments: Record<string, string> }[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('request '))
    .map((line) => JSON.parse(line.slice('request '.length)) as ReturnType<typeof requests>[number]);
}

describe('preparePython', () => {
  /** A setup script that writes `stderr` and exits with `status`, for a Python at `python`. */
  function environment(stderr: string, status: number, pythonExists: boolean) {
    const dir = mkdtempSync(join(scratch, 'setup-'));
    const setupScript = join(dir, 'setup.sh');
    writeFileSync(setupScript, `printf '%s' '${stderr}' >&2\nexit ${String(status)}\n`);
    const venvPython = join(dir, 'python');
    if (pythonExists) writeFileSync(venvPython, '');
    return { setupScript, python: venvPython };
  }

  it("runs the setup, passes on each line it says, and answers with the environment's Python", () => {
    const lines: string[] = [];
    const made = environment('  python: .venv up to date\n\npins: 12 packages\n', 0, true);
    expect(preparePython((line) => lines.push(line), made)).toBe(made.python);
    expect(lines).toEqual(['python: .venv up to date', 'pins: 12 packages']);
  });

  it.each<[string, string, number, boolean, string]>([
    ['the setup fails', 'pip: no route to PyPI\nsetup failed: pyspark==3.5.3 could not be installed\n', 1, true, 'setup failed: pyspark==3.5.3 could not be installed'],
    ['the setup fails silently', '', 2, true, 'scripts/python/setup.sh failed'],
    ['the setup leaves no Python', 'done\n', 0, false, 'done'],
  ])('refuses --engine spark with the setup\'s last word when %s', (_, stderr, status, pythonExists, reason) => {
    expect(thrownBy(() => preparePython(undefined, environment(stderr, status, pythonExists)))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: `--engine spark needs the project's Python environment: ${reason}`,
    });
  });

  it("leaves the setup's stdout on the terminal, where the tools it runs (pip) write", () => {
    const dir = mkdtempSync(join(scratch, 'setup-'));
    const setupScript = join(dir, 'setup.sh');
    writeFileSync(setupScript, 'readlink /proc/$$/fd/1 >&2\n');
    const lines: string[] = [];
    preparePython((line) => lines.push(line), { setupScript, python: setupScript });
    expect(lines).toEqual([readlinkSync('/proc/self/fd/1')]);
  });

  it("makes the project's environment by default: npm run setup:python's script, and the Python of .venv/ that the Spark suites look for", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['setup:python']).toBe('bash scripts/python/setup.sh');
    expect(PROJECT_PYTHON).toEqual({ setupScript: join(ROOT, 'scripts', 'python', 'setup.sh'), python: join(VENV_BIN, 'python') });
  });
});

describe('LocalSpark.start', () => {
  it("starts the runner on the mirror and buckets with the local endpoints and s3rver's credentials, no instance metadata and unbuffered output, its output in spark.log beside the mirror", async () => {
    const run = options();
    const spark = await LocalSpark.start(run);
    await spark.close();
    expect(spark.startupSeconds).toBe(1.5);
    expect(existsSync(run.mirrorDir)).toBe(true);
    expect(readFileSync(join(run.dir, 'spark.log'), 'utf8').split('\n').slice(0, 3)).toEqual([
      `runner ${RUNNER} --mirror ${run.mirrorDir} --bucket landing --bucket lake`,
      'endpoints http://127.0.0.1:4569 http://127.0.0.1:4567 us-east-1',
      'credentials S3RVER:S3RVER metadata-disabled=true unbuffered=1',
    ]);
  });

  it('appends to the log file it is given', async () => {
    const run = options();
    const logFile = join(scratch, 'given.log');
    writeFileSync(logFile, 'earlier\n');
    await (await LocalSpark.start({ ...run, logFile })).close();
    expect(readFileSync(logFile, 'utf8')).toMatch(/^earlier\nrunner /);
  });

  it('lays out the synthesized pipeline’s jobs in glue-jobs beside the mirror when given no layouts', async () => {
    const run = options({ jobs: undefined });
    const spark = await LocalSpark.start(run);
    try {
      await spark.run('orders_to_lake', 'dynalake-dev-orders-to-lake', {});
    } finally {
      await spark.close();
    }
    const jobsDir = join(run.dir, 'glue-jobs');
    expect(requests(join(run.dir, 'spark.log'))).toEqual([
      {
        id: 1,
        script: expect.stringMatching(new RegExp(`^${literally(jobsDir)}/assembly-[^/]+/asset\\.[0-9a-f]{64}\\.py$`)) as unknown,
        extra_py_files: [expect.stringMatching(new RegExp(`^${literally(jobsDir)}/files/[0-9a-f]{64}\\.zip$`)) as unknown],
        arguments: { '--JOB_NAME': 'dynalake-dev-orders-to-lake' },
      },
    ]);
    expect(existsSync(run.mirrorDir)).toBe(true);
  }, 60_000);

  it("keeps logging the runner's stderr after its stdout closes", async () => {
    const run = options({ python: scriptedPython('python-without-stdout', '>&-') });
    const spark = await LocalSpark.start(run);
    await spark.run('sales_star_schema', 'job', {});
    await spark.run('sales_star_schema', 'job', {});
    await spark.close();
    const request = (id: number) => `request {"id":${String(id)},"script":"/layout/sales_star_schema.py","extra_py_files":[],"arguments":{"--JOB_NAME":"job"}}`;
    expect(readFileSync(join(run.dir, 'spark.log'), 'utf8')).toBe(`${request(1)}\n${request(2)}\n`);
  });

  it("keeps logging the runner's stdout after its stderr closes", async () => {
    const run = options({ python: scriptedPython('python-without-stderr', '2>&-') });
    const spark = await LocalSpark.start(run);
    await spark.run('sales_star_schema', 'job', { PRINT: 'Spark: stage 1 done' });
    await spark.run('sales_star_schema', 'job', { PRINT: 'Spark: stage 2 done' });
    await spark.close();
    expect(readFileSync(join(run.dir, 'spark.log'), 'utf8').split('\n').slice(3)).toEqual(['Spark: stage 1 done', 'Spark: stage 2 done', '']);
  });

  it('rejects when the Python cannot be started', async () => {
    await expect(LocalSpark.start(options({ python: join(scratch, 'no-such-python') }))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects with the exit code and the log when the runner exits before Spark starts', async () => {
    const run = options({ buckets: ['exit-before-start'] });
    await expect(LocalSpark.start(run)).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      message: `the local Spark runner exited (3) before Spark started; see ${join(run.dir, 'spark.log')}`,
    });
  });
});

describe('LocalSpark.run', () => {
  it("sends the job's layout and its arguments as Glue passes them, and sums up the runner's answer", async () => {
    const run = options();
    const spark = await LocalSpark.start(run);
    const result = await spark.run('orders_to_lake', 'dynalake-dev-orders_to_lake', { LAKE_BUCKET: 'lake', SKIPPED: undefined, EMPTY: '' });
    await spark.close();
    expect(requests(join(run.dir, 'spark.log'))).toEqual([
      { id: 1, script: '/layout/orders_to_lake.py', extra_py_files: ['/layout/helpers.zip'], arguments: { '--JOB_NAME': 'dynalake-dev-orders_to_lake', '--LAKE_BUCKET': 'lake', '--EMPTY': '' } },
    ]);
    expect(result).toEqual({
      engine: 'spark',
      summary: 'wrote 5 rows; Spark 2.3 s: 3 objects staged in, 2 objects written, 1 deleted',
      seconds: 2.25,
      objectsDownloaded: 3,
      objectsWritten: 2,
      objectsDeleted: 1,
      itemsWritten: 0,
      metrics: [],
    });
  });

  it('hands on the figures the script gave PutMetricData, and refuses one no job publishes', async () => {
    const spark = await LocalSpark.start(options());
    try {
      const datum = { Namespace: 'dynalake-dev', MetricName: 'RowsWritten', Unit: 'Count', Value: 5, Dimensions: [{ Name: 'service', Value: 'orders_to_lake' }, { Name: 'dataset', Value: 'orders' }] };
      const result = await spark.run('orders_to_lake', 'job', { ANSWER: JSON.stringify({ metrics: [datum, { ...datum, MetricName: 'LakeFreshnessSeconds', Unit: 'Seconds', Value: 61.5 }] }) });
      expect(result.metrics).toEqual([
        { namespace: 'dynalake-dev', name: 'RowsWritten', unit: 'Count', value: 5, service: 'orders_to_lake', dataset: 'orders' },
        { namespace: 'dynalake-dev', name: 'LakeFreshnessSeconds', unit: 'Seconds', value: 61.5, service: 'orders_to_lake', dataset: 'orders' },
      ]);
      for (const wrong of [{ ...datum, Unit: 'Seconds' }, { ...datum, MetricName: 'Rows' }, { ...datum, Dimensions: datum.Dimensions.slice(0, 1) }, { ...datum, Dimensions: [...datum.Dimensions, { Name: 'stage', Value: 'dev' }] }]) {
        await expect(spark.run('orders_to_lake', 'job', { ANSWER: JSON.stringify({ metrics: [wrong] }) })).rejects.toMatchObject({
          code: 'LOAD_FAILED',
          message: `orders_to_lake: published ${JSON.stringify(wrong)}, not a job metric of lambda/shared/metrics.ts JOB_METRICS with dimensions service and dataset`,
        });
      }
    } finally {
      await spark.close();
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['items written to DynamoDB, in the singular', { items_written: 1, downloaded: 1, uploaded: 1, deleted: 0, output: [] }, 'Spark 2.3 s: 1 object staged in, 1 object written, 0 deleted, 1 item written to DynamoDB'],
    ['thousands, and a script that never committed', { items_written: 1234, downloaded: 0, uploaded: 0, deleted: 1000, output: ['loaded'], committed: false }, 'loaded; Spark 2.3 s: 0 objects staged in, 0 objects written, 1,000 deleted, 1,234 items written to DynamoDB (the script never reached job.commit())'],
    ['no output at all', { seconds: 0.04, output: null }, 'Spark 0.0 s: 3 objects staged in, 2 objects written, 1 deleted'],
  ])('sums up %s', async (_, answer, summary) => {
    const spark = await LocalSpark.start(options());
    try {
      const result = await spark.run('orders_to_lake', 'job', { ANSWER: JSON.stringify(answer) });
      expect(result.summary).toBe(summary);
      expect(result.itemsWritten).toBe(answer.items_written ?? 0);
    } finally {
      await spark.close();
    }
  });

  it("rejects a failed run with the job's error, and runs the next one", async () => {
    const spark = await LocalSpark.start(options());
    try {
      const failed = spark.run('orders_to_lake', 'job', { ANSWER: JSON.stringify({ ok: false, error: "ModuleNotFoundError: No module named 'dynalake_glue'" }) });
      const unexplained = spark.run('orders_to_lake', 'job', { ANSWER: JSON.stringify({ ok: false }) });
      const next = spark.run('sales_star_schema', 'job', {});
      await expect(failed).rejects.toMatchObject({ code: 'LOAD_FAILED', message: "orders_to_lake: ModuleNotFoundError: No module named 'dynalake_glue'" });
      await expect(unexplained).rejects.toMatchObject({ code: 'LOAD_FAILED', message: 'orders_to_lake: failed' });
      await expect(next).resolves.toMatchObject({ engine: 'spark', objectsWritten: 2 });
    } finally {
      await spark.close();
    }
  });

  it('runs queued jobs one at a time, in order', async () => {
    const run = options();
    const spark = await LocalSpark.start(run);
    const results = await Promise.all([
      spark.run('orders_to_lake', 'first', { DELAY_MS: '200', ANSWER: JSON.stringify({ uploaded: 1 }) }),
      spark.run('sales_star_schema', 'second', { ANSWER: JSON.stringify({ uploaded: 2 }) }),
      spark.run('orders_to_lake', 'third', { ANSWER: JSON.stringify({ uploaded: 3 }) }),
    ]);
    await spark.close();
    expect(results.map((result) => result.objectsWritten)).toEqual([1, 2, 3]);
    expect(requests(join(run.dir, 'spark.log')).map((request) => [request.id, request.arguments['--JOB_NAME']])).toEqual([
      [1, 'first'],
      [2, 'second'],
      [3, 'third'],
    ]);
  });

  it('ignores an answer for a run it never asked for, and goes on', async () => {
    const spark = await LocalSpark.start(options());
    try {
      await expect(spark.run('orders_to_lake', 'job', { STRAY_ANSWER: '99', ANSWER: JSON.stringify({ uploaded: 4 }) })).resolves.toMatchObject({ objectsWritten: 4 });
      await expect(spark.run('sales_star_schema', 'job', {})).resolves.toMatchObject({ objectsWritten: 2 });
    } finally {
      await spark.close();
    }
  });

  it('refuses a job the synthesized pipeline does not run, naming the jobs it does', async () => {
    const spark = await LocalSpark.start(options());
    try {
      await expect(spark.run('campaign_progress', 'job', {})).rejects.toMatchObject({
        code: 'BAD_INVOCATION',
        message: 'no Glue job of the synthesized pipeline runs campaign_progress.py (jobs: orders_to_lake, sales_star_schema)',
      });
    } finally {
      await spark.close();
    }
  });

  it('fails the running job and every later one when the runner exits, naming the exit code and the log', async () => {
    const run = options();
    const spark = await LocalSpark.start(run);
    const reason = `the local Spark runner exited (7); see ${join(run.dir, 'spark.log')}`;
    await expect(spark.run('orders_to_lake', 'job', { EXIT: '7' })).rejects.toMatchObject({ code: 'LOAD_FAILED', message: `orders_to_lake: ${reason}` });
    await expect(spark.run('sales_star_schema', 'job', {})).rejects.toMatchObject({ code: 'LOAD_FAILED', message: `sales_star_schema: ${reason}` });
    await spark.close();
  });
});

describe('LocalSpark.close', () => {
  it('waits for the queued runs, then stops the runner and closes the log', async () => {
    const run = options();
    const spark = await LocalSpark.start(run);
    let finished = false;
    const queued = spark.run('orders_to_lake', 'job', { DELAY_MS: '150' }).then(() => {
      finished = true;
    });
    await spark.close();
    expect(finished).toBe(true);
    await queued;
    await expect(spark.run('orders_to_lake', 'job', {})).rejects.toMatchObject({ code: 'LOAD_FAILED', message: expect.stringMatching(/^orders_to_lake: the local Spark runner exited \(0\)/) as unknown });
  });
});
