/**
 * npm run bench:local -- [--rows N]
 *
 * `npm start` on the synthetic file (default: the full 541,909 rows) in a fresh state folder,
 * then rows/s of each stage. Then, in the same process, on the same change objects:
 *   - orders_to_lake in one run over the whole change history (a state of its own, an empty table);
 *   - its ceiling: a plain DuckDB COPY of the same change objects (local gzip JSON lines) into
 *     day-partitioned Parquet, with no validation, no latest-wins merge and no S3;
 *   - the S3 part alone: copying those objects out of s3rver, which the job has to do and the
 *     ceiling does not.
 * Progress goes to stderr, the figures to stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LAKE_LAYOUT } from '../../lib/stacks/pipeline-stack';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { REAL_RETAIL_ROWS } from '../lib/retail-sample';
import { isChangeObject } from '../local/glue/changes';
import { sqlLiteral, withDuckDB } from '../local/glue/duckdb';
import { runOrdersToLake } from '../local/glue/orders-to-lake';
import { downloadObjects, listObjects } from '../local/glue/s3-files';
import { runLocalPipeline } from '../local/pipeline';
import { startLocalS3 } from '../local/s3';

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const PER_ROW_STAGES = new Set(['seed', 'stream', 'refresh', 'upload']);

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

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:local', () => parseArgs({ args: process.argv.slice(2), options: { rows: { type: 'string' } }, strict: true }));
  const rows = integerOption('rows', values.rows, 1) ?? REAL_RETAIL_ROWS;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-bench-local-'));
  const progress = (line: string) => {
    if (/^\s*(▶|✓)/.test(line)) console.error(`bench:local: ${line.trim()}`);
  };
  try {
    console.error(`bench:local: npm start on ${fmt(rows)} synthetic rows in ${stateDir}`);
    const report = await runLocalPipeline({ stateDir, rows, fresh: true, changes: false, print: progress });
    console.log(`npm start on ${fmt(rows)} synthetic rows (${fmt(report.seeded.written)} items):`);
    for (const [stage, ms] of report.timings) console.log(`  ${stage.padEnd(8)} ${secs(ms).padStart(9)}  ${PER_ROW_STAGES.has(stage) ? `${fmt((rows * 1000) / ms)} rows/s` : ''}`);
    console.log(`  total    ${secs(report.timings.reduce((sum, [, ms]) => sum + ms, 0)).padStart(9)}`);
    const pipelineRuns = report.jobRuns.filter((run) => run.jobName.endsWith('orders-to-lake') && run.state === 'SUCCEEDED');
    const pipelineMs = pipelineRuns.reduce((sum, run) => sum + (run.milliseconds ?? 0), 0);
    console.log(`  orders_to_lake inside it: ${String(pipelineRuns.length)} incremental runs as the change objects arrived, ${secs(pipelineMs)} in all`);

    console.error('bench:local: orders_to_lake in one run, then the ceiling, on the same change objects');
    const s3 = await startLocalS3({ path: join(stateDir, 's3') });
    try {
      const context = { s3: s3.client, scratchDir: join(stateDir, 'scratch') };
      const cdcPrefix = LAKE_LAYOUT.cdcPrefix('orders');
      let started = performance.now();
      const oneRun = await runOrdersToLake(context, {
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

      console.log(`orders_to_lake, one run over all ${fmt(oneRun.changeObjects)} change objects: ${fmt(oneRun.changeRecords)} records → ${fmt(oneRun.rowsWritten)} rows in ${fmt(oneRun.partitionsRewritten)} partitions, ${secs(oneRunMs)} (${fmt((oneRun.rowsWritten * 1000) / oneRunMs)} rows/s)`);
      console.log(`  of which the S3 transfer alone (the same objects out of s3rver): ${secs(transferMs)}`);
      console.log(`ceiling: DuckDB COPY of the same change objects into day-partitioned Parquet: ${fmt(ceiling.rows)} rows, ${secs(ceiling.ms)} (${fmt((ceiling.rows * 1000) / ceiling.ms)} rows/s)`);
      console.log(`orders_to_lake / ceiling: ${(oneRunMs / ceiling.ms).toFixed(1)}× the time`);
    } finally {
      await s3.close();
    }
    return 0;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runCli(main);
