/**
 * npm start -- [--rows N] [--fresh] [--no-changes] [--state DIR] [--help]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { integerOption, parseCommandLine, runCli } from './lib/cli';
import { REAL_RETAIL_ROWS } from './lib/retail-sample';
import { LOCAL_STATE_DIR } from './local/layout';
import { runLocalPipeline } from './local/pipeline';

const USAGE = `npm start -- [options]

Runs the whole dynalake pipeline on this machine, with no AWS account: an embedded DynamoDB
(dynalite) and S3 (s3rver), the real Lambda handlers, and a local twin of each Glue job on DuckDB.
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
  --rows N       the synthetic generator's N rows instead of the real 1,071-row sample
                 (--rows ${String(REAL_RETAIL_ROWS)} is the full file's size)
  --fresh        delete the state folder first
  --no-changes   skip step 6
  --state DIR    state folder (default .dynalake)
  --help         this text`;

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm start', () =>
    parseArgs({
      args: process.argv.slice(2),
      options: { rows: { type: 'string' }, fresh: { type: 'boolean' }, 'no-changes': { type: 'boolean' }, state: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  // The SDK's notice about Node 22 from 2027 says nothing about this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await runLocalPipeline({
    stateDir: resolve(values.state ?? LOCAL_STATE_DIR),
    rows: integerOption('rows', values.rows, 1),
    fresh: values.fresh ?? false,
    changes: !(values['no-changes'] ?? false),
  });
  return 0;
}

runCli(main);
