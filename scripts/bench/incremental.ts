/**
 * npm run bench:incremental -- [--rows N] [--refreshes N] [--change-percent P] [--help]
 *
 * Whether a refresh costs what changed or what the lake holds: `npm start` builds a lake of N
 * synthetic orders (default 100,000) in a fresh state folder; then each of 10 refreshes updates
 * 1% of the orders (Quantity + 1, distinct random keys drawn with a fixed seed), streams them
 * through the real stream bridge, whose one change object starts the refresh workflow, and waits
 * for it. A last refresh runs the workflow with no new change. Printed per refresh and job: the
 * run's time, the change objects (or, for the star, curated files) it read and the partitions
 * (or tables) it rewrote; then each job's last refresh against its first, and what the refresh
 * without changes read and wrote.
 * Targets (issue 19): the last refresh at most 1.5× the first; the refresh without changes reads
 * no change object and rewrites nothing in any job. Exits 1 when the second is not met.
 * Progress goes to stderr, the figures to stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AttributeValue, paginateScan, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynalakeError } from '../../lambda/shared/errors';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { textTable } from '../lib/text-table';
import type { LocalWorkflowRun } from '../local/glue-runner';
import { mapConcurrent } from '../local/glue/s3-files';
import { runLocalPipeline } from '../local/pipeline';
import { type LocalServices, localJobName, startLocalServices } from '../local/services';

const USAGE = `npm run bench:incremental -- [options]

Builds a lake with npm start, then refreshes it after small changes, and prints what each job of
the refresh workflow read and rewrote each time. Progress goes to stderr, the figures to stdout.

Options:
  --rows N            synthetic orders in the lake (default 100000)
  --refreshes N       refreshes after a change (default 10)
  --change-percent P  orders updated before each refresh, in percent (default 1)
  --help              this text`;

/** The refresh workflow's jobs, in the order they run. */
const JOBS = ['orders_to_lake', 'campaign_progress', 'sales_star_schema'] as const;
type Job = (typeof JOBS)[number];

/** What one job did in one refresh (summed over the workflow runs of that refresh). */
interface JobCost {
  readonly ms: number;
  /** Change objects read (orders_to_lake, campaign_progress) or curated files read (sales_star_schema). */
  readonly objectsRead: number;
  /** Partitions rewritten or emptied and deleted (the merges), or tables rewritten (the star). */
  readonly rewritten: number;
}

/** One refresh: the orders changed, the stream pass, the workflow runs and each job's cost. */
interface Refresh {
  readonly label: string;
  readonly changed: number;
  readonly streamMs: number;
  /** What the stream emulation read: the items written since the last pass (the write journal), or a scan of the table. */
  readonly streamRead?: { readonly scanned: boolean; readonly items: number };
  readonly runs: number;
  readonly jobs: Readonly<Record<Job, JobCost>>;
}

/** What a job's twin returns that this bench reads (see each twin's result type). */
interface TwinFigures {
  readonly changeObjects?: number;
  readonly partitionsRewritten?: number;
  readonly partitionsDeleted?: number;
  readonly filesRead?: number;
  readonly parquetFiles?: number;
}

/** A job's cost in these workflow runs, from its runs' times and its twin's own figures. */
function jobCost(runs: readonly LocalWorkflowRun[], jobName: string, job: Job): JobCost {
  let ms = 0;
  let objectsRead = 0;
  let rewritten = 0;
  for (const jobRun of runs.flatMap((run) => run.jobRuns).filter((run) => run.jobName === jobName)) {
    if (jobRun.state !== 'SUCCEEDED') throw new DynalakeError('LOAD_FAILED', `${jobName} run ${jobRun.id} ${jobRun.state}: ${jobRun.error ?? ''}`);
    const figures = (jobRun.result ?? {}) as TwinFigures;
    ms += jobRun.milliseconds ?? 0;
    if (job === 'sales_star_schema') {
      objectsRead += figures.filesRead ?? 0;
      rewritten += figures.parquetFiles ?? 0;
    } else {
      objectsRead += figures.changeObjects ?? 0;
      rewritten += (figures.partitionsRewritten ?? 0) + (figures.partitionsDeleted ?? 0);
    }
  }
  return { ms, objectsRead, rewritten };
}

/** A small seeded generator (mulberry32): the same keys change on every run of the bench. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct items of `items`, drawn by a partial Fisher–Yates shuffle of a copy. */
function drawDistinct<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  for (let index = 0; index < count; index++) {
    const pick = index + Math.floor(random() * (pool.length - index));
    [pool[index], pool[pick]] = [pool[pick] as T, pool[index] as T];
  }
  return pool.slice(0, count);
}

/** An order's key, as DynamoDB gives it. */
type OrderKey = Readonly<Record<'InvoiceNo' | 'LineNo', AttributeValue>>;

/** Every order's key, read once. */
async function orderKeys(services: LocalServices): Promise<OrderKey[]> {
  const keys: OrderKey[] = [];
  const pages = paginateScan({ client: services.dynamodb.client }, { TableName: services.tables.orders.TableName, ProjectionExpression: 'InvoiceNo, LineNo' });
  for await (const page of pages) for (const item of page.Items ?? []) keys.push(item as OrderKey);
  return keys;
}

/** One refresh: `keys` updated, streamed, and the workflow runs they start (and any follow-up) waited for. */
async function refresh(services: LocalServices, label: string, keys: readonly OrderKey[]): Promise<Refresh> {
  await mapConcurrent(keys, 16, (key) =>
    services.dynamodb.client.send(
      new UpdateItemCommand({
        TableName: services.tables.orders.TableName,
        Key: key,
        UpdateExpression: 'SET Quantity = Quantity + :one',
        ConditionExpression: 'attribute_exists(InvoiceNo)',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    ),
  );
  const runsBefore = services.glue.runner.workflowRuns.length;
  const started = performance.now();
  let streamRead: Refresh['streamRead'];
  if (keys.length === 0) services.glue.runner.startWorkflowRun(services.glue.workflowName);
  else {
    const [pass] = await services.streamChanges(['orders']);
    if (pass?.kinds.MODIFY !== keys.length) throw new DynalakeError('LOAD_FAILED', `${label}: ${String(keys.length)} orders updated, but the stream carried ${String(pass?.kinds.MODIFY ?? 0)} MODIFY records`);
    streamRead = { scanned: pass.scanned, items: pass.itemsRead };
  }
  const streamMs = keys.length === 0 ? 0 : performance.now() - started;
  await services.glue.runner.idle();
  const runs = services.glue.runner.workflowRuns.slice(runsBefore);
  if (runs.length === 0) throw new DynalakeError('LOAD_FAILED', `${label}: no workflow run started`);
  const failed = runs.find((run) => run.state !== 'SUCCEEDED');
  if (failed) throw new DynalakeError('LOAD_FAILED', `${label}: workflow run ${failed.id} ${failed.state}${failed.error ? `: ${failed.error}` : ''}`);
  const jobs = Object.fromEntries(JOBS.map((job) => [job, jobCost(runs, localJobName(services.config, job), job)])) as Record<Job, JobCost>;
  return { label, changed: keys.length, streamMs, streamRead, runs: runs.length, jobs };
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const jobsMs = (entry: Refresh) => JOBS.reduce((sum, job) => sum + entry.jobs[job].ms, 0);

function report(refreshes: readonly Refresh[], unchanged: Refresh): boolean {
  const short: Readonly<Record<Job, string>> = { orders_to_lake: 'orders', campaign_progress: 'campaigns', sales_star_schema: 'star' };
  const columns = ['refresh', 'orders changed', 'stream', 'runs', ...JOBS.flatMap((job) => [`${short[job]} time`, `${short[job]} read`, `${short[job]} rewrote`]), 'jobs in all'];
  const row = (entry: Refresh) => ({
    refresh: entry.label,
    'orders changed': fmt(entry.changed),
    stream: entry.streamRead === undefined ? '' : `${secs(entry.streamMs)} (${entry.streamRead.scanned ? 'scanned' : 'read'} ${fmt(entry.streamRead.items)})`,
    runs: String(entry.runs),
    ...Object.fromEntries(
      JOBS.flatMap((job) => [
        [`${short[job]} time`, secs(entry.jobs[job].ms)],
        [`${short[job]} read`, fmt(entry.jobs[job].objectsRead)],
        [`${short[job]} rewrote`, fmt(entry.jobs[job].rewritten)],
      ]),
    ),
    'jobs in all': secs(jobsMs(entry)),
  });
  console.log(textTable(columns, [...refreshes.map(row), row(unchanged)], columns.slice(1)));
  console.log('read: change objects (the merges) or curated files (the star); rewrote: partitions rewritten or emptied (the merges) or tables (the star)');

  const first = refreshes[0];
  const last = refreshes.at(-1);
  if (first !== undefined && last !== undefined) {
    console.log(`\nlast refresh against the first (target 1.5× or less):`);
    for (const job of JOBS) {
      const ratio = first.jobs[job].ms > 0 ? last.jobs[job].ms / first.jobs[job].ms : 0;
      console.log(`  ${job.padEnd(18)} ${secs(first.jobs[job].ms).padStart(8)} → ${secs(last.jobs[job].ms).padStart(8)}  ${ratio.toFixed(2)}×`);
    }
    console.log(`  ${'the three jobs'.padEnd(18)} ${secs(jobsMs(first)).padStart(8)} → ${secs(jobsMs(last)).padStart(8)}  ${(jobsMs(last) / jobsMs(first)).toFixed(2)}×`);
  }
  const idle = JOBS.filter((job) => unchanged.jobs[job].objectsRead === 0 && unchanged.jobs[job].rewritten === 0);
  console.log(`\nrefresh with no new change: ${JOBS.map((job) => `${job} read ${fmt(unchanged.jobs[job].objectsRead)}, rewrote ${fmt(unchanged.jobs[job].rewritten)}`).join('; ')}`);
  const met = idle.length === JOBS.length;
  console.log(met ? '  target met: no job read a change object or rewrote a partition' : `  target NOT met: ${JOBS.filter((job) => !idle.includes(job)).join(', ')} read or rewrote`);
  return met;
}

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:incremental', () =>
    parseArgs({
      args: process.argv.slice(2),
      options: { rows: { type: 'string' }, refreshes: { type: 'string' }, 'change-percent': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rows = integerOption('rows', values.rows, 1) ?? 100_000;
  const refreshCount = integerOption('refreshes', values.refreshes, 1) ?? 10;
  const percent = values['change-percent'] === undefined ? 1 : Number(values['change-percent']);
  if (!(percent > 0 && percent <= 100)) throw new DynalakeError('BAD_INVOCATION', `--change-percent ${String(values['change-percent'])} is not a percent above 0 and at most 100`);

  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-bench-incremental-'));
  try {
    console.error(`bench:incremental: npm start on ${fmt(rows)} synthetic rows in ${stateDir}`);
    const built = await runLocalPipeline({ stateDir, rows, fresh: true, changes: false, print: (line) => { if (/^\s*(▶|✓)/.test(line)) console.error(`bench:incremental: ${line.trim()}`); } });
    console.log(`lake built by npm start from ${fmt(built.seeded.written)} orders in ${secs(built.timings.reduce((sum, [, ms]) => sum + ms, 0))}`);

    const services = await startLocalServices({ stateDir });
    try {
      const keys = await orderKeys(services);
      const perRefresh = Math.max(1, Math.round((keys.length * percent) / 100));
      const random = seededRandom(19);
      const refreshes: Refresh[] = [];
      for (let index = 1; index <= refreshCount; index++) {
        console.error(`bench:incremental: refresh ${String(index)} of ${String(refreshCount)}: ${fmt(perRefresh)} orders updated`);
        refreshes.push(await refresh(services, String(index), drawDistinct(keys, perRefresh, random)));
      }
      console.error('bench:incremental: a refresh with no new change');
      const unchanged = await refresh(services, 'no change', []);
      console.log(`${String(refreshCount)} refreshes, each after updating ${fmt(perRefresh)} of ${fmt(keys.length)} orders (${String(percent)}%):\n`);
      return report(refreshes, unchanged) ? 0 : 1;
    } finally {
      await services.close();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runCli(main);
