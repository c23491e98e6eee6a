/**
 * npm run bench:local -- [--rows N]
 *
 * `npm start` on the synthetic file (default: the full 541,909 rows) in a fresh state folder,
 * then rows/s of each stage, and orders_to_lake's time against its ceiling measured in the same
 * process: a plain DuckDB COPY of the same rows (the curated orders it wrote, read back from
 * Parquet) into day-partitioned Parquet, with no change records, no merge and no S3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { REAL_RETAIL_ROWS } from '../lib/retail-sample';
import { downloadObjects, listObjects } from '../local/glue/s3-files';
import { sqlLiteral, withDuckDB } from '../local/glue/duckdb';
import { runLocalPipeline } from '../local/pipeline';
import { startLocalS3 } from '../local/s3';

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:local', () => parseArgs({ args: process.argv.slice(2), options: { rows: { type: 'string' } }, strict: true }));
  const rows = integerOption('rows', values.rows, 1) ?? REAL_RETAIL_ROWS;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-bench-local-'));
  try {
    console.error(`bench:local: npm start on ${fmt(rows)} synthetic rows in ${stateDir} (the run's own report is not shown)…`);
    const report = await runLocalPipeline({ stateDir, rows, fresh: true, changes: false, print: () => undefined });
    console.log(`npm start on ${fmt(rows)} synthetic rows (${fmt(report.seeded.written)} items):`);
    for (const [stage, ms] of report.timings) console.log(`  ${stage.padEnd(8)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${['seed', 'stream', 'refresh', 'upload'].includes(stage) ? `${fmt((rows * 1000) / ms)} rows/s` : ''}`);
    const total = report.timings.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(`  total    ${(total / 1000).toFixed(1).padStart(7)} s`);

    const ordersRuns = report.jobRuns.filter((run) => run.jobName.endsWith('orders-to-lake') && run.state === 'SUCCEEDED');
    const ordersMs = ordersRuns.reduce((sum, run) => sum + (run.milliseconds ?? 0), 0);
    // The ceiling: the same rows straight from Parquet into day-partitioned Parquet.
    const s3 = await startLocalS3({ path: join(stateDir, 's3') });
    let ceilingMs: number;
    try {
      const objects = (await listObjects(s3.client, report.buckets.lake, 'curated/orders/')).filter((object) => object.key.endsWith('.parquet'));
      const files = await downloadObjects(s3.client, report.buckets.lake, objects, 'curated/orders/', join(stateDir, 'ceiling-in'));
      ceilingMs = await withDuckDB(async (connection) => {
        const started = performance.now();
        await connection.run(
          `COPY (SELECT * FROM read_parquet([${files.map(sqlLiteral).join(', ')}], hive_partitioning = true)) TO ${sqlLiteral(join(stateDir, 'ceiling-out'))} (FORMAT parquet, PARTITION_BY (invoice_day))`,
        );
        return performance.now() - started;
      });
    } finally {
      await s3.close();
    }
    console.log(`orders_to_lake: ${String(ordersRuns.length)} runs, ${(ordersMs / 1000).toFixed(1)} s in all (${fmt((rows * 1000) / ordersMs)} rows/s)`);
    console.log(`ceiling (DuckDB COPY of the same ${fmt(rows)} rows into day partitions): ${(ceilingMs / 1000).toFixed(2)} s`);
    console.log(`orders_to_lake / ceiling: ${(ordersMs / ceilingMs).toFixed(1)}× the time`);
    return 0;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runCli(main);
