/**
 * `npm run destroy`: reads what the stage's stacks will keep, runs `cdk destroy` on them, then
 * lists what was kept with the commands that remove it. cdk and CloudFormation come in as
 * dependencies, so the tests run it against a mocked CloudFormation and a fake cdk.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynalakeError } from '../../lambda/shared/errors';
import { formatRetained } from './report';
import { type DeployedStack, readDeployedStack, stackStatus } from './retained';

/** Runs the cdk CLI with these arguments (after `npx cdk`) and resolves with its exit code. */
export type CdkRunner = (args: readonly string[]) => Promise<number>;

export interface DestroyOptions {
  readonly prefix: string;
  readonly stage: string;
  /** Passed to cdk as --force: no confirmation prompt. */
  readonly force: boolean;
  /** Added to the printed AWS CLI commands; the client and cdk get it from the caller. */
  readonly region?: string;
  readonly cloudFormation: CloudFormationClient;
  readonly runCdk: CdkRunner;
  /** The report (stdout). */
  readonly print: (line: string) => void;
  /** Progress and problems (stderr). */
  readonly log: (line: string) => void;
}

/**
 * The stage's stacks in the order they are deleted: the pipeline imports the storage stack's
 * exports, so it goes first. `<prefix>-deploy-access` is shared by every stage and never one of them.
 */
export function stageStacks(prefix: string, stage: string): [string, string] {
  return [`${prefix}-${stage}-pipeline`, `${prefix}-${stage}-storage`];
}

/**
 * The cdk command line: the two stacks by name and --exclusively, so that cdk adds no stack that
 * depends on them (the deploy-access stack depends on neither), the stage as context so the app
 * synthesizes those stacks, and --force only when the user asked for no prompt.
 */
export function cdkArguments(stacks: readonly string[], stage: string, force: boolean): string[] {
  return ['destroy', ...stacks, '--exclusively', '--context', `dynalake.stage=${stage}`, ...(force ? ['--force'] : [])];
}

/** Runs the whole destroy and returns the exit code. */
export async function destroyStage(options: DestroyOptions): Promise<number> {
  const { cloudFormation, log, print } = options;
  const stacks = stageStacks(options.prefix, options.stage);

  log(`destroy: reading ${stacks.join(' and ')}: their resources and deployed templates`);
  const deployed: DeployedStack[] = [];
  for (const name of stacks) {
    let stack;
    try {
      stack = await readDeployedStack(cloudFormation, name);
    } catch (error) {
      // Expired credentials, no permission, no region: the user's to fix, and nothing has gone yet.
      throw new DynalakeError('LOAD_FAILED', `could not read ${name}, so nothing was destroyed: ${(error as Error).name}: ${(error as Error).message}`);
    }
    if (stack === undefined) log(`destroy: ${name} is not deployed`);
    else deployed.push(stack);
  }
  const protectedStack = deployed.find((stack) => stack.terminationProtection);
  if (protectedStack !== undefined) {
    // cdk would delete the stacks before it and then fail on this one: stop before anything goes.
    throw new DynalakeError(
      'BAD_INVOCATION',
      `${protectedStack.stackName} has termination protection (stage prod turns it on), so cdk destroy would fail on it; nothing was destroyed. ` +
        `If it really is to go: aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name ${protectedStack.stackName}`,
    );
  }

  const code = await options.runCdk(cdkArguments(stacks, options.stage, options.force));
  if (code !== 0) {
    log(`destroy: cdk destroy exited with ${code}: nothing is listed as removed or retained (cdk's output above says which stacks it deleted, if any)`);
    return code;
  }

  const deleted: DeployedStack[] = [];
  let stillThere = 0;
  for (const stack of deployed) {
    const status = await stackStatus(cloudFormation, stack.stackId);
    if (status === 'DELETE_COMPLETE') deleted.push(stack);
    else {
      stillThere += 1;
      log(`destroy: ${stack.stackName} is still there (${status ?? 'no status'}) although cdk destroy succeeded: its resources are not listed`);
    }
  }
  if (deployed.length === 0) print(`Nothing to destroy: neither ${stacks.join(' nor ')} is deployed.`);
  else if (deleted.length > 0) {
    const lines = formatRetained(
      deleted.flatMap((stack) => stack.retained),
      deleted.map((stack) => stack.stackName),
      options.region,
    );
    for (const line of lines) print(line);
  }
  return stillThere > 0 ? 1 : 0;
}
