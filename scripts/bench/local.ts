/**
 * npm run bench:local -- [--engine duckdb|spark] [--rows N] [--help]
 *
 * Without --engine (or with --engine duckdb): `npm start` on the synthetic file (default: the full
 * 541,909 rows) in a fresh state folder, then rows/s of each stage. Then, in the same process, on
 * the same change objects:
 *   - orders_to_lake in one run over the whole change history (a state of its own, an empty table);
 *   - its ceiling: a plain DuckDB COPY of the same change objects (local gzip JSON lines) into
 *     day-partitioned Parquet, with no validation, no latest-wins merge and no S3;
 *   - the S3 part alone: copying those objects out of s3rver, and the ceiling's Parquet files into
 *     it, which the job has to do and the ceiling does not.
 *
 * With --engine spark: the pipeline on the real sample, then on the synthetic file (default
 * 100,000 rows), each once on the DuckDB twins and once as the PySpark jobs on a local Spark, each
 * run in a fresh state folder. Then, per data set, each stage's time on both engines and the ratio
 * spark / duckdb, the Spark start-up apart, and each job's summed run time: figures of one process
 * run on one machine, to compare, not to hold a run to.
 * Progress goes to stderr, the figures to stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../../lambda/shared/errors';
import { ORDERS_DATASET } from '../../lib/dataset';
import { LAKE_LAYOUT } from '../../lib/stacks/pipeline-stack';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { REAL_RETAIL_ROWS } from '../lib/retail-sample';
import { isChangeObject } from '../local/glue/changes';
import { sqlLiteral, withDuckDB } from '../local/glue/duckdb';
import { runDatasetToLake } from '../local/glue/dataset-to-lake';
import { downloadObjects, listObjects, uploadFolder } from '../local/glue/s3-files';
import { type LocalPipelineReport, runLocalPipeline } from '../local/pipeline';
import type { GlueEngine } from '../local/services';
import { startLocalS3 } from '../local/s3';
import { textTable } from '../lib/text-table';

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const PER_ROW_STAGES = new Set(['seed', 'stream', 'refresh', 'upload']);
const ENGINES = ['duckdb', 'spark'] as const satisfies readonly GlueEngine[];
/** Big enough for the jobs' own work to show past Spark's fixed costs, small enough for a few minutes on both engines. */
const ENGINE_COMPARISON_ROWS = 100_000;

const USAGE = `npm run bench:local -- [options]

Times the local pipeline (npm start) on this machine. Progress goes to stderr, the figures to stdout.

Options:
  --engine E   duckdb (default): npm start on the synthetic file, rows/s of each stage, then
               orders_to_lake in one run against a plain DuckDB COPY of the same change objects.
               spark: the real sample, then the synthetic file, each on the DuckDB twins and on
               the PySpark jobs on a local Spark (needs what npm start -- --engine spark needs);
               each stage's time on both engines and spark / duckdb, the Spark start-up apart
  --rows N     the synthetic file's rows (default ${String(REAL_RETAIL_ROWS)} with duckdb,
               ${String(ENGINE_COMPARISON_ROWS)} with spark)
  --help       this text`;

/** The ceiling's SELECT: each new image's fields with plain casts, as the curated columns. */
function plainCuratedSelect(files: readonly string[]): string {
  const field = (name: string) => `(newImage ->> ${sqlLiteral(name)})`;
  return `
    SELECT ${field('InvoiceNo')} AS invoice_no, CAST(${field('LineNo')} AS INTEGER) AS line_no, ${field('StockCode')} AS stock_code,
      ${field('Description')} AS description, CAST(${field('Quantity')} AS INTEGER) AS quantity, CAST(${field('UnitPrice')} AS DECIMAL(12,3)) AS unit_price,
      CAST(${field('InvoiceDate')} AS TIMESTAMP) AS invoice_ts, CAST(${field('CustomerID')} AS BIGINT) AS customer_id, ${field('Country')} AS country,
      CAST(${field('IsCancellation')} AS BOOLEAN) AS is_cancellation, ${field('InvoiceDay')} AS invoice_day
    FROM read_json([${files.map(sqlLiteral).join(', ')}], format = 'newline_delimited', compression = 'gzip',
      columns = {eventName: 'VARCHAR', newImage: 'JSON'})
    WHERE eventName <> 'REMOVE'`;
}

/** Progress lines of a pipeline run (its stages' starts and ends) to stderr, tagged with `tag` when given. */
const progressTo =
  (tag?: string) =>
  (line: string): void => {
    if (/^\s*(▶|✓)/.test(line)) console.error(`bench:local: ${tag ? `[${tag}] ` : ''}${line.trim()}`);
  };

/** npm start on `rows` synthetic rows, then orders_to_lake in one run against its DuckDB COPY ceiling. */
async function benchDuckDB(rows: number): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-bench-local-'));
  const progress = progressTo();
  try {
    console.error(`bench:local: npm start on ${fmt(rows)} synthetic rows in ${stateDir}`);
    const report = await runLocalPipeline({ stateDir, rows, fresh: true, changes: false, print: progress });
    console.log(`npm start on ${fmt(rows)} synthetic rows (${fmt(report.seeded.written)} items):`);
    for (const [stage, ms] of report.timings) console.log(`  ${stage.padEnd(8)} ${secs(ms).padStart(9)}  ${PER_ROW_STAGES.has(stage) ? `${fmt((rows * 1000) / ms)} rows/s` : ''}`);
    console.log(`  total    ${secs(report.timings.reduce((sum, [, ms]) => sum + ms, 0)).padStart(9)}`);
    const pipelineRuns = report.jobRuns.filter((run) => run.jobName.endsWith(`-${ORDERS_DATASET.name}-to-lake`) && run.state === 'SUCCEEDED');
    const pipelineMs = pipelineRuns.reduce((sum, run) => sum + (run.milliseconds ?? 0), 0);
    console.log(`  orders_to_lake inside it: ${String(pipelineRuns.length)} incremental runs as the change objects arrived, ${secs(pipelineMs)} in all`);

    console.error('bench:local: orders_to_lake in one run, then the ceiling, on the same change objects');
    const s3 = await startLocalS3({ path: join(stateDir, 's3') });
    try {
      const context = { s3: s3.client, scratchDir: join(stateDir, 'scratch') };
      const cdcPrefix = LAKE_LAYOUT.cdcPrefix('orders');
      let started = performance.now();
      const oneRun = await runDatasetToLake(context, {
        DATASET: JSON.stringify(ORDERS_DATASET),
        LANDING_BUCKET: report.buckets.landing,
        LAKE_BUCKET: report.buckets.lake,
        CDC_PREFIX: cdcPrefix,
        CURATED_PREFIX: 'bench/curated/orders/',
        // A state of its own, empty: the one run merges the whole change history.
        STATE_PREFIX: 'bench/state/orders_to_lake/',
      });
      const oneRunMs = performance.now() - started;

      started = performance.now();
      const objects = (await listObjects(s3.client, report.buckets.landing, cdcPrefix)).filter((object) => isChangeObject(object.key));
      const files = await downloadObjects(s3.client, report.buckets.landing, objects, cdcPrefix, join(stateDir, 'ceiling-in'));
      const transferMs = performance.now() - started;

      const ceiling = await withDuckDB(async (connection) => {
        const begin = performance.now();
        const copied = await connection.run(`COPY (${plainCuratedSelect(files)}) TO ${sqlLiteral(join(stateDir, 'ceiling-out'))} (FORMAT parquet, PARTITION_BY (invoice_day))`);
        return { ms: performance.now() - begin, rows: copied.rowsChanged };
      });
      if (ceiling.rows !== oneRun.rowsWritten) throw new Error(`the ceiling wrote ${fmt(ceiling.rows)} rows, orders_to_lake ${fmt(oneRun.rowsWritten)}: not the same rows`);

      // The other S3 part: the ceiling's partitions into s3rver, as the job uploads its own.
      started = performance.now();
      const uploaded = await uploadFolder(s3.client, report.buckets.lake, 'bench/ceiling/orders/', join(stateDir, 'ceiling-out'));
      const uploadMs = performance.now() - started;

      console.log(`orders_to_lake, one run over all ${fmt(oneRun.changeObjects)} change objects: ${fmt(oneRun.changeRecords)} records → ${fmt(oneRun.rowsWritten)} rows in ${fmt(oneRun.partitionsRewritten)} partitions, ${secs(oneRunMs)} (${fmt((oneRun.rowsWritten * 1000) / oneRunMs)} rows/s)`);
      console.log(`  of which the S3 transfers alone: ${secs(transferMs)} for the same change objects out of s3rver, ${secs(uploadMs)} for the ceiling's ${fmt(uploaded.length)} Parquet files into it`);
      console.log(`ceiling: DuckDB COPY of the same change objects into day-partitioned Parquet: ${fmt(ceiling.rows)} rows, ${secs(ceiling.ms)} (${fmt((ceiling.rows * 1000) / ceiling.ms)} rows/s)`);
      console.log(`orders_to_lake / ceiling: ${(oneRunMs / ceiling.ms).toFixed(1)}× the time (${((oneRunMs - transferMs - uploadMs) / ceiling.ms).toFixed(1)}× without those S3 transfers, which the ceiling does not make)`);
    } finally {
      await s3.close();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** One data set of the engine comparison: the real sample (no rows) or the synthetic file's rows. */
interface Dataset {
  readonly name: string;
  readonly rows?: number;
}

/** The pipeline on `dataset` with `engine`, in a fresh state folder of its own, removed afterwards. */
async function runOn(dataset: Dataset, engine: GlueEngine): Promise<LocalPipelineReport> {
  const stateDir = mkdtempSync(join(tmpdir(), `dynalake-bench-local-${engine}-`));
  try {
    console.error(`bench:local: ${dataset.name} on ${engine} in ${stateDir}`);
    return await runLocalPipeline({ stateDir, engine, rows: dataset.rows, fresh: true, changes: true, print: progressTo(`${engine}, ${dataset.name}`) });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const ratio = (spark: number | undefined, duckdb: number | undefined) => (spark !== undefined && duckdb !== undefined && duckdb > 0 ? `${(spark / duckdb).toFixed(1)}×` : '');
const stageMs = (report: LocalPipelineReport, stage: string) => report.timings.find(([name]) => name === stage)?.[1];
const totalMs = (report: LocalPipelineReport) => report.timings.reduce((sum, [, ms]) => sum + ms, 0);

/**
 * textTable, with every column but the first right-aligned: textTable right-aligns only columns
 * that are all numbers, and these have units and blank cells.
 */
function figureTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, index) => Math.max(column.length, ...rows.map((row) => row[index]?.length ?? 0)));
  const heads = columns.map((column, index) => (index === 0 ? column : column.padStart(widths[index] ?? 0)));
  return textTable(
    heads,
    rows.map((row) => Object.fromEntries(heads.map((head, index) => [head, index === 0 ? (row[index] ?? '') : (row[index] ?? '').padStart(widths[index] ?? 0)]))),
  );
}

/** Each stage on both engines; the Spark start-up (inside setup) apart, so setup and total can be compared without it. */
function stageTable(duckdb: LocalPipelineReport, spark: LocalPipelineReport): string {
  const startupMs = (spark.sparkStartupSeconds ?? 0) * 1000;
  const figures = (stage: string, duckdbMs: number | undefined, sparkMs: number | undefined) => [stage, duckdbMs === undefined ? '' : secs(duckdbMs), sparkMs === undefined ? '' : secs(sparkMs), ratio(sparkMs, duckdbMs)];
  const rows: string[][] = [];
  for (const stage of new Set([...duckdb.timings, ...spark.timings].map(([name]) => name))) {
    const duckdbMs = stageMs(duckdb, stage);
    const sparkMs = stageMs(spark, stage);
    rows.push(figures(stage, duckdbMs, sparkMs));
    if (stage === 'setup') {
      rows.push(figures('  of which Spark start-up', undefined, startupMs));
      rows.push(figures('setup without Spark start-up', duckdbMs, sparkMs === undefined ? undefined : sparkMs - startupMs));
    }
  }
  rows.push(figures('total', totalMs(duckdb), totalMs(spark)));
  rows.push(figures('total without Spark start-up', totalMs(duckdb), totalMs(spark) - startupMs));
  return figureTable(['stage', 'duckdb', 'spark', 'spark / duckdb'], rows);
}

/** Each job's SUCCEEDED runs on both engines, summed: the refresh stage runs several jobs, so its time alone does not say which one costs. */
function jobTable(duckdb: LocalPipelineReport, spark: LocalPipelineReport): string {
  const byJob = (report: LocalPipelineReport) => {
    const jobs = new Map<string, { runs: number; ms: number }>();
    for (const run of report.jobRuns) {
      if (run.state !== 'SUCCEEDED') continue;
      const job = jobs.get(run.jobName) ?? { runs: 0, ms: 0 };
      // A Spark run's own time: the local Spark runs one job at a time, and a run queued behind
      // another job of its workflow stage would otherwise count that job's time as its own.
      const sparkSeconds = (run.result as { engine?: string; seconds?: number } | undefined)?.engine === 'spark' ? (run.result as { seconds: number }).seconds : undefined;
      jobs.set(run.jobName, { runs: job.runs + 1, ms: job.ms + (sparkSeconds === undefined ? (run.milliseconds ?? 0) : sparkSeconds * 1000) });
    }
    return jobs;
  };
  const [duckdbJobs, sparkJobs] = [byJob(duckdb), byJob(spark)];
  const rows = [...new Set([...duckdbJobs.keys(), ...sparkJobs.keys()])].map((jobName) => {
    const [onDuckDB, onSpark] = [duckdbJobs.get(jobName), sparkJobs.get(jobName)];
    return [jobName, String(onDuckDB?.runs ?? 0), onDuckDB ? secs(onDuckDB.ms) : '', String(onSpark?.runs ?? 0), onSpark ? secs(onSpark.ms) : '', ratio(onSpark?.ms, onDuckDB?.ms)];
  });
  return figureTable(['job', 'duckdb runs', 'duckdb', 'spark runs', 'spark', 'spark / duckdb'], rows);
}

/** The real sample, then `rows` synthetic rows, each on the DuckDB twins and on a local Spark; a table per data set as soon as it is done. */
async function compareEngines(rows: number): Promise<void> {
  const datasets: Dataset[] = [{ name: 'the real sample' }, { name: `${fmt(rows)} synthetic rows`, rows }];
  for (const dataset of datasets) {
    const reports: Partial<Record<GlueEngine, LocalPipelineReport>> = {};
    // One after the other, never at once: two pipelines on two cores would time each other.
    for (const engine of ENGINES) reports[engine] = await runOn(dataset, engine);
    const { duckdb, spark } = reports;
    if (!duckdb || !spark) throw new Error(`${dataset.name}: a run on each engine was expected`);
    console.log(`\n${dataset.name}: ${fmt(duckdb.seeded.read)} rows read, ${fmt(duckdb.seeded.written)} items on duckdb, ${fmt(spark.seeded.written)} on spark; each stage on each engine, in a fresh state folder:`);
    console.log(stageTable(duckdb, spark));
    // Jobs of one workflow stage run at the same time, and a slower engine lets fewer workflow runs start: say so by the figures.
    console.log(`\n${dataset.name}: each job's SUCCEEDED runs, their times summed (DuckDB runs of one workflow stage overlap, so their sums exceed the stage's time; Spark runs one job at a time, and a run's time excludes its wait):`);
    console.log(jobTable(duckdb, spark));
  }
}

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:local', () =>
    parseArgs({ args: process.argv.slice(2), options: { engine: { type: 'string' }, rows: { type: 'string' }, help: { type: 'boolean' } }, strict: true }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const engine = values.engine ?? 'duckdb';
  if (engine !== 'duckdb' && engine !== 'spark') throw new DynalakeError('BAD_INVOCATION', `--engine must be duckdb or spark, not ${JSON.stringify(engine)}`);
  const rows = integerOption('rows', values.rows, 1);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (engine === 'spark') await compareEngines(rows ?? ENGINE_COMPARISON_ROWS);
  else await benchDuckDB(rows ?? REAL_RETAIL_ROWS);
  return 0;
}

runCli(main);
