/**
 * npm start -- [--engine duckdb|spark] [--rows N | --file PATH] [--fresh] [--no-changes] [--state DIR] [--help]
 * npm start -- --assembly DIR [--every N] [--state DIR] [--fresh]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { integerOption, parseCommandLine, runCli } from './lib/cli';
import { REAL_RETAIL_ROWS } from './lib/retail-sample';
import { LOCAL_STATE_DIR } from './local/layout';
import { runLocalPipeline } from './local/pipeline';
import { runAssemblyDatasets } from './local-datasets';

const USAGE = `npm start -- [options]

Runs the whole dynalake pipeline on this machine, with no AWS account: an embedded DynamoDB
(dynalite) and S3 (s3rver), the real Lambda handlers, and a local twin of each Glue job on DuckDB
(or, with --engine spark, the real PySpark jobs on a local Spark).
  1. seed      the orders CSV into the orders table (the seed loader), and generated campaigns
  2. stream    each table's changes as stream records → the stream-to-lake handler → cdc/ objects
  3. refresh   the refresh workflow: orders_to_lake + campaign_progress → sales_star_schema
  4. upload    the CSV to raw/ → the upload-to-glue handler → csv_to_dynamodb (twice: the second
               delivery of the same event must start nothing)
  5. queries   the Athena named queries, on the lake (npm run query -- "SQL" asks your own)
  6. changes   updates and deletes a few orders, streams and refreshes again, and shows exactly
               those rows in the lake before and after
State lives in .dynalake/ and is kept between runs; --fresh starts from nothing.

Options:
  --engine E     duckdb (default: the DuckDB twins, no Python needed) or spark (the PySpark
                 scripts of glue-scripts/ on a local Spark; needs Python 3.11 and Java 17, and
                 makes .venv/ with the pinned PySpark the first time)
  --file PATH    an e-commerce CSV of your own (the full Kaggle file, say) instead of the sample
  --rows N       the synthetic generator's N rows instead of the real 1,071-row sample
                 (--rows ${String(REAL_RETAIL_ROWS)} is the full file's size)
  --fresh        delete the state folder first
  --no-changes   skip step 6
  --state DIR    state folder (default .dynalake)
  --help         this text

Any app's datasets instead (yours too: every LakeDataset of a synthesized assembly):
  --assembly DIR the cloud assembly (cdk.out) whose datasets to run, as npm run local:datasets
                 does: each table in the embedded DynamoDB (its endpoint printed, for any client),
                 its changes through the stream-to-lake handler, the merge into its lake table
  --every N      with --assembly: a pass every N seconds until Ctrl-C (default: one pass)`;

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm start', () =>
    parseArgs({
      args: process.argv.slice(2),
      options: {
        engine: { type: 'string' },
        file: { type: 'string' },
        rows: { type: 'string' },
        fresh: { type: 'boolean' },
        'no-changes': { type: 'boolean' },
        state: { type: 'string' },
        assembly: { type: 'string' },
        every: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  // The SDK's notice about Node 22 from 2027 says nothing about this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (values.assembly !== undefined) {
    const builtInOnly = (['engine', 'file', 'rows', 'no-changes'] as const).filter((option) => values[option] !== undefined);
    if (builtInOnly.length > 0) throw new DynalakeError('BAD_INVOCATION', `--assembly runs an assembly's datasets: --${builtInOnly.join(', --')} belong to the built-in pipeline`);
    return runAssemblyDatasets({ assembly: values.assembly, every: integerOption('every', values.every, 1), stateDir: resolve(values.state ?? '.dynalake-datasets'), fresh: values.fresh ?? false });
  }
  if (values.every !== undefined) throw new DynalakeError('BAD_INVOCATION', '--every goes with --assembly');
  const engine = values.engine ?? 'duckdb';
  if (engine !== 'duckdb' && engine !== 'spark') throw new DynalakeError('BAD_INVOCATION', `--engine must be duckdb or spark, not ${JSON.stringify(engine)}`);
  await runLocalPipeline({
    engine,
    file: values.file,
    stateDir: resolve(values.state ?? LOCAL_STATE_DIR),
    rows: integerOption('rows', values.rows, 1),
    fresh: values.fresh ?? false,
    changes: !(values['no-changes'] ?? false),
  });
  return 0;
}

runCli(main);
