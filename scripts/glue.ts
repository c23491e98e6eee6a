/**
 * npm run glue -- <job> [--engine duckdb|spark] [--state DIR] [--arg NAME=VALUE ...] [--help]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { parseCommandLine, runCli } from './lib/cli';
import { startLocalDynamoDB } from './local/dynamodb';
import { LocalSpark, preparePython } from './local/glue/spark';
import type { GlueTwinContext } from './local/glue/job';
import { LOCAL_STATE_DIR, localBucketNames, localLayout } from './local/layout';
import { localGlue, readConfig, runOnSpark, runTwin } from './local/services';
import { startLocalS3 } from './local/s3';

const JOBS = ['orders_to_lake', 'campaign_progress', 'sales_star_schema', 'csv_to_dynamodb'] as const;
type Job = (typeof JOBS)[number];

const USAGE = `npm run glue -- <job> [options]

Runs one Glue job against the local pipeline's state (what npm start left in .dynalake/), with
the arguments the pipeline stack gives it: ${JOBS.join(', ')}.

Options:
  --engine E          duckdb (default: the job's DuckDB twin) or spark (the PySpark script of
                      glue-scripts/ on a local Spark; needs Python 3.11 and Java 17)
  --state DIR         state folder (default ${LOCAL_STATE_DIR})
  --arg NAME=VALUE    a run argument on top of the job's own (repeat), as StartJobRun passes
                      them: csv_to_dynamodb needs --arg S3_KEY=raw/<file>.csv; orders_to_lake
                      --arg MODE=backfill rebuilds the curated table from an export of the table
  --help              this text`;

function runArguments(pairs: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^--?([A-Za-z_][\w-]*)=(.*)$/s.exec(pair.startsWith('-') ? pair : `--${pair}`);
    if (!match?.[1] || match[2] === undefined) throw new DynalakeError('BAD_INVOCATION', `--arg ${JSON.stringify(pair)} is not NAME=VALUE`);
    args[match[1]] = match[2];
  }
  return args;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('npm run glue', () =>
    parseArgs({
      args: process.argv.slice(2),
      options: { engine: { type: 'string' }, state: { type: 'string' }, arg: { type: 'string', multiple: true }, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [job, ...extra] = positionals;
  if (job === undefined || !(JOBS as readonly string[]).includes(job) || extra.length > 0) {
    throw new DynalakeError('BAD_INVOCATION', `name one job: ${JOBS.join(', ')} (see npm run glue -- --help)`);
  }
  const engine = values.engine ?? 'duckdb';
  if (engine !== 'duckdb' && engine !== 'spark') throw new DynalakeError('BAD_INVOCATION', `--engine must be duckdb or spark, not ${JSON.stringify(engine)}`);
  const extraArgs = runArguments(values.arg ?? []);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const layout = localLayout(resolve(values.state ?? LOCAL_STATE_DIR));
  if (!existsSync(layout.s3Dir)) throw new DynalakeError('BAD_INVOCATION', `${layout.root} holds no local pipeline: run npm start first (or give --state)`);
  const config = readConfig();
  const buckets = localBucketNames(config);
  const dynamodb = await startLocalDynamoDB({ path: layout.dynamodbDir });
  const s3 = await startLocalS3({ path: layout.s3Dir });
  let spark: LocalSpark | undefined;
  try {
    if (engine === 'spark') {
      spark = await LocalSpark.start({ python: preparePython((line) => console.error(line)), mirrorDir: join(layout.root, 'spark', 'mirror'), buckets: Object.values(buckets), s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint });
      console.error(`local Spark up in ${spark.startupSeconds.toFixed(1)} s`);
    }
    const context: GlueTwinContext = { s3: s3.client, dynamodb: dynamodb.client, scratchDir: layout.scratchDir, log: (line) => console.error(line) };
    const glue = localGlue(config, context, buckets, spark ? runOnSpark(spark) : runTwin);
    const jobName = `${config.prefix}-${config.stage}-${(job as Job).replace(/_/g, '-')}`;
    const definition = glue.jobs[jobName];
    if (!definition) throw new Error(`no local job ${jobName}`);
    const args = { ...definition.defaultArguments, ...extraArgs };
    console.error(`${jobName} (${engine}): ${Object.entries(args).map(([name, value]) => `--${name} ${value}`).join(' ')}`);
    const started = performance.now();
    const result = (await definition.run(args)) as { summary?: string };
    console.log(`${job}: ${result.summary ?? 'done'} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return 0;
  } finally {
    await spark?.close();
    await s3.close();
    await dynamodb.close();
  }
}

runCli(main);
