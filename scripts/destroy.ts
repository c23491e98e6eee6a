/**
 * npm run destroy -- [--stage S] [--force] [--region R]: `cdk destroy` of a stage's two stacks,
 * then the list of what CloudFormation kept (removalPolicy retain) with the AWS CLI commands that
 * remove it. The work lives in scripts/destroy/; this file reads the command line and cdk.json,
 * and runs the real cdk.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynalakeError } from '../lambda/shared/errors';
import { CONFIG_CONTEXT_KEY, ConfigError, configFromContext, type PipelineConfig } from '../lib/config';
import { type CdkRunner, destroyStage } from './destroy/run';
import { parseCommandLine, runCli } from './lib/cli';

const HELP = `Usage: npm run destroy -- [--stage S] [--force] [--region R]

Deletes a stage's stacks with cdk destroy, <prefix>-<stage>-pipeline then <prefix>-<stage>-storage
(prefix and stage from cdk.json's \`dynalake\` context), never <prefix>-deploy-access, which every
stage shares. Before, it reads each deployed stack's resources and template (CloudFormation
ListStackResources and GetTemplate) for those whose DeletionPolicy is Retain; after cdk succeeds, it
lists the ones that still exist, grouped (DynamoDB tables, S3 buckets, log groups, other, KMS keys),
each with the AWS CLI commands that remove it, in an order that works. With removalPolicy destroy
it says "Nothing retained".

  --stage S     the stage to destroy (default: cdk.json's dynalake.stage, else dev); passed to cdk
                as --context dynalake.stage=S
  --force       passed to cdk destroy: no confirmation prompt (without it cdk asks as usual)
  --region R    the region of the stacks (default: the AWS CLI's, AWS_REGION or the profile's); also
                added to the printed commands
  -h, --help    this text

A stack with termination protection (the prod storage stack) is refused before anything is deleted.
Nothing is removed beyond what cdk destroy removes: the listed commands are for you to run.

Exit status: 0 destroyed (and listed), cdk's own status when cdk destroy fails (nothing is listed
then), 1 anything else, 2 bad invocation (unknown option, bad stage or region, termination protection).`;

const OPTIONS = {
  stage: { type: 'string' },
  force: { type: 'boolean' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The configuration cdk will synthesize: cdk.json's context in the working directory (defaults
 * without one) with --stage as the same `dynalake.stage` override cdk is given.
 */
function configuration(stage: string | undefined): PipelineConfig {
  const path = resolve('cdk.json');
  const context: Record<string, unknown> = existsSync(path) ? ((JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> }).context ?? {}) : {};
  if (stage !== undefined) context[`${CONFIG_CONTEXT_KEY}.stage`] = stage;
  try {
    return configFromContext({ tryGetContext: (key) => context[key], getAllContext: () => context });
  } catch (error) {
    if (error instanceof ConfigError) throw new DynalakeError('BAD_INVOCATION', error.message);
    throw error;
  }
}

/** The real cdk, `npx cdk ARGS` in the working directory, on this terminal; the region through the environment. */
function cdkRunner(region: string | undefined): CdkRunner {
  return (args) =>
    new Promise((resolveCode, reject) => {
      const env = region === undefined ? process.env : { ...process.env, AWS_REGION: region, AWS_DEFAULT_REGION: region };
      const child = spawn('npx', ['cdk', ...args], { stdio: 'inherit', env });
      child.once('error', reject);
      child.once('close', (code, signal) => {
        resolveCode(code ?? (signal === 'SIGINT' ? 130 : 1));
      });
    });
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('npm run destroy', () => parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true, allowPositionals: true }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new DynalakeError('BAD_INVOCATION', `unexpected argument ${JSON.stringify(positionals[0])}: the stage goes after --stage (see npm run destroy -- --help)`);
  const { region } = values;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new DynalakeError('BAD_INVOCATION', `--region: ${JSON.stringify(region)} is not an AWS region (expected e.g. eu-west-1)`);
  const config = configuration(values.stage);
  const cloudFormation = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    return await destroyStage({
      prefix: config.prefix,
      stage: config.stage,
      force: values.force === true,
      region,
      cloudFormation,
      runCdk: cdkRunner(region),
      print: (line) => {
        console.log(line);
      },
      log: (line) => {
        console.error(line);
      },
    });
  } finally {
    cloudFormation.destroy();
  }
}

if (require.main === module) runCli(main);
