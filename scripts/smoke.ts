/**
 * npm run smoke -- --stage S [--region R] | --local [--state DIR]   [--timeout-minutes N]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { integerOption, parseCommandLine, runCli } from './lib/cli';
import { readConfig } from './local/services';
import { awsClients, awsSmokeEnvironment } from './smoke/aws';
import { startLocalSmokeEnvironment } from './smoke/local';
import { runSmoke } from './smoke/smoke';

const USAGE = `npm run smoke -- --stage S [options] | --local [options]

The end-to-end check after a deployment: writes a few order items under a test invoice of their
own (SMOKE-…), waits for their change object in the landing bucket, starts or waits for a refresh
run, and queries the curated orders table until the rows are there; then deletes the items and
waits for the lake to drop them. Prints each step's time and the end-to-end freshness, deletes
the items even when it fails, and exits 1 naming the step that failed or timed out.

  --stage S            the deployed stage S: its stacks' outputs (<prefix>-S-storage, -pipeline)
                       name the table, bucket, workflow and Athena workgroup; AWS credentials from
                       the environment (in GitHub Actions, the stage's smoke role)
  --region R           the stage's region (default: the SDK's, e.g. AWS_REGION)
  --local              the local pipeline's services instead (embedded DynamoDB and S3, the real
                       handlers, the DuckDB twins), started for the check and stopped after it
  --state DIR          with --local: the state folder (default .dynalake-smoke; .dynalake runs
                       it against what npm start left)
  --timeout-minutes N  how long each step may take (default 15 with --stage, 2 with --local)
  --help               this text

Exit status: 0 passed, 1 a step failed or timed out, 2 bad invocation or the stage not found.`;

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run smoke', () =>
    parseArgs({
      args: process.argv.slice(2),
      options: { stage: { type: 'string' }, region: { type: 'string' }, local: { type: 'boolean' }, state: { type: 'string' }, 'timeout-minutes': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if ((values.stage === undefined) === (values.local === undefined)) throw new DynalakeError('BAD_INVOCATION', 'give --stage S (a deployed stage) or --local, one of them (see npm run smoke -- --help)');
  if (values.local && values.region !== undefined) throw new DynalakeError('BAD_INVOCATION', '--region goes with --stage');
  if (values.stage !== undefined && values.state !== undefined) throw new DynalakeError('BAD_INVOCATION', '--state goes with --local');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const timeoutMinutes = integerOption('timeout-minutes', values['timeout-minutes'], 1) ?? (values.local ? 2 : 15);
  const smokeOptions = { stepTimeoutMs: timeoutMinutes * 60_000, pollMs: values.local ? 500 : 5000 };
  if (values.stage !== undefined) {
    const environment = await awsSmokeEnvironment({ prefix: readConfig().prefix, stage: values.stage, clients: awsClients(values.region) });
    await runSmoke(environment, smokeOptions);
    return 0;
  }
  const environment = await startLocalSmokeEnvironment({ stateDir: resolve(values.state ?? '.dynalake-smoke') });
  try {
    await runSmoke(environment, smokeOptions);
  } finally {
    await environment.close();
  }
  return 0;
}

runCli(main);
