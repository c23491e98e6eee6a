/**
 * npm run query -- "SQL" [--json] [--state DIR]: runs SQL against the local lake that `npm start`
 * wrote, as Athena runs it against the Glue catalog. The lake bucket's Parquet is copied (only
 * what changed) from the embedded S3 into the scratch folder, and DuckDB reads it through one view
 * per catalog table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { ConfigError, configFromContext } from '../lib/config';
import { parseCommandLine, runCli } from './lib/cli';
import { formatTable, type LakeQueryEngine, openLakeQueryEngine, syncLake, TABLE_ALIASES } from './local/lake';
import { LAKE_TABLES } from './local/lake-tables';
import { LOCAL_STATE_DIR, localBucketNames, localLayout } from './local/layout';
import { startLocalS3 } from './local/s3';

const HELP = `Usage: npm run query -- "SQL" [options]

Runs SQL against the local lake (what \`npm start\` wrote), as Athena does against the Glue catalog.

Tables (the catalog's names and columns; empty until a job has written them)
  ${LAKE_TABLES.map((table) => table.name).join(', ')}
  ${Object.entries(TABLE_ALIASES)
    .map(([alias, name]) => `${alias} (another name for ${name})`)
    .join(', ')}

Options
  --json         print the rows as one JSON array of objects on stdout
  --state DIR    the local state folder (default ${LOCAL_STATE_DIR})
  -h, --help     this text

Values with --json: DECIMAL as strings, exact ("2.550"); integers as numbers (as strings beyond
2^53); DOUBLE as numbers; DATE "YYYY-MM-DD"; TIMESTAMP "YYYY-MM-DDTHH:MM:SS" (UTC wall clock);
NULL as null. Partition columns (invoice_day, created_day) are strings, as in the catalog.

Examples
  npm run query -- "SELECT country, sum(quantity * unit_price) AS revenue FROM orders GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
  npm run query -- "SELECT * FROM dim_date ORDER BY date_key LIMIT 3" --json

Exit status: 0 done, 2 bad SQL (DuckDB's message) or no local state (run \`npm start\` first), 1 anything else.`;

const OPTIONS = {
  json: { type: 'boolean' },
  state: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The local lake bucket's name, from cdk.json's \`dynalake\` context in the working directory (defaults without one). */
function lakeBucket(): string {
  const path = resolve('cdk.json');
  const context = existsSync(path) ? ((JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> }).context ?? {}) : {};
  try {
    return localBucketNames(configFromContext({ tryGetContext: (key) => context[key], getAllContext: () => context })).lake;
  } catch (error) {
    if (error instanceof ConfigError) throw new DynalakeError('BAD_INVOCATION', error.message);
    throw error;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('npm run query', () => parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true, allowPositionals: true }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sql, ...extra] = positionals;
  if (sql === undefined || sql.trim() === '') throw new DynalakeError('BAD_INVOCATION', 'give the SQL to run, in quotes (see npm run query -- --help)');
  if (extra.length > 0) throw new DynalakeError('BAD_INVOCATION', `one SQL text only, in quotes; also got ${JSON.stringify(extra.join(' '))} (see npm run query -- --help)`);

  // The SDK's notice about Node 22 from 2027 says nothing about this query.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const layout = localLayout(resolve(values.state ?? LOCAL_STATE_DIR));
  const firstRun = `run \`npm start\` first${values.state === undefined ? ', or pass --state DIR' : ''}`;
  if (!existsSync(layout.s3Dir)) throw new DynalakeError('BAD_INVOCATION', `no local lake in ${layout.root}: ${firstRun}`);
  const bucket = lakeBucket();
  const s3 = await startLocalS3({ path: layout.s3Dir });
  let engine: LakeQueryEngine | undefined;
  try {
    const lakeDir = join(layout.scratchDir, 'lake');
    let sync;
    try {
      sync = await syncLake(s3.client, bucket, lakeDir);
    } catch (error) {
      if (error instanceof DynalakeError && error.code === 'BAD_INVOCATION') throw new DynalakeError('BAD_INVOCATION', `${layout.s3Dir} has no lake bucket ${bucket}: ${firstRun}`);
      throw error;
    }
    if (sync.downloaded > 0 || sync.removed > 0) console.error(`query: ${sync.downloaded} Parquet files copied from s3://${bucket} (${sync.unchanged} unchanged, ${sync.removed} removed)`);
    engine = await openLakeQueryEngine({ lakeDir });
    const result = await engine.query(sql);
    console.log(values.json ? JSON.stringify(result.rows) : formatTable(result));
    return 0;
  } finally {
    engine?.close();
    await s3.close();
  }
}

if (require.main === module) runCli(main);
