import { existsSync, readFileSync } from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynalakeError } from '../../lambda/shared/errors';
import { ensureTables, localClient, startLocalDynamoDB } from '../local/dynamodb';
import type * as TableDefinitions from '../local/table-definitions';

/** The storage stack outputs that name the tables (see StorageStack). */
export const TABLE_OUTPUTS = {
  orders: 'OrdersTableName',
  userCampaign: 'UserCampaignTableName',
  campaignInfo: 'CampaignInfoTableName',
} as const;

/** A table the seed writes to. */
export type SeedTable = keyof typeof TABLE_OUTPUTS;

/** Where to write, as the command line says it. */
export interface TargetOptions {
  /** Explicit table name (orders only). */
  readonly table?: string;
  /** Read the table names from this deployed stack's outputs (DescribeStacks). */
  readonly stack?: string;
  /** Outputs file written by `cdk deploy --outputs-file`. @default cdk-outputs.json */
  readonly outputsFile?: string;
  readonly endpoint?: string;
  readonly region?: string;
  /** Start an embedded dynalite persisted in this folder and create the tables there. */
  readonly local?: string;
}

/** A resolved target: a client and table names; `close` stops what was started for it. */
export interface SeedTarget {
  readonly client: DynamoDBClient;
  readonly tables: Partial<Record<SeedTable, string>>;
  /** How the user can tell where the data went. */
  readonly description: string;
  /** The process of the embedded DynamoDB started for it (`local`), a child of this one. */
  readonly localPid?: number;
  close(): Promise<void>;
}

/** Finds the tables to write and a client for them, from the most explicit source given. */
export async function resolveTarget(options: TargetOptions): Promise<SeedTarget> {
  if (options.local !== undefined) {
    // Loaded only here: synthesizing the stack pulls in aws-cdk-lib, which a cloud load does not need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { storageTableDefinitions } = require('../local/table-definitions') as typeof TableDefinitions;
    const definitions = storageTableDefinitions();
    // In a process of its own: the load parses and validates on one core while DynamoDB writes on the other.
    const local = await startLocalDynamoDB({ path: options.local, inChildProcess: true });
    await ensureTables(local.client, Object.values(definitions));
    return {
      client: local.client,
      tables: Object.fromEntries(Object.entries(definitions).map(([id, definition]) => [id, definition.TableName])),
      description: `embedded DynamoDB in ${options.local} (${local.endpoint})`,
      localPid: local.pid,
      close: () => local.close(),
    };
  }
  const client = options.endpoint ? clientFor(options.endpoint, options.region) : new DynamoDBClient({ region: options.region });
  const where = options.endpoint ? ` at ${options.endpoint}` : '';
  const close = () => {
    client.destroy();
    return Promise.resolve();
  };
  if (options.table !== undefined) return { client, tables: { orders: options.table }, description: `table ${options.table}${where}`, close };
  if (options.stack !== undefined) {
    const tables = await tablesFromStack(options.stack, options.region);
    return { client, tables, description: `stack ${options.stack}${where}`, close };
  }
  const outputsFile = options.outputsFile ?? 'cdk-outputs.json';
  if (!existsSync(outputsFile)) {
    client.destroy();
    throw new DynalakeError(
      'BAD_INVOCATION',
      `no target table: pass --table NAME, --stack NAME, or --local [DIR], or deploy with \`npx cdk deploy --all --outputs-file ${outputsFile}\` first (${outputsFile} not found)`,
    );
  }
  return { client, tables: tablesFromOutputsFile(outputsFile), description: `the stack in ${outputsFile}${where}`, close };
}

function clientFor(endpoint: string, region: string | undefined): DynamoDBClient {
  // A custom endpoint (dynalite, DynamoDB Local) with no region: any credentials do.
  if (region === undefined && /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])/.test(endpoint)) return localClient(endpoint);
  return new DynamoDBClient({ endpoint, region });
}

function pickTables(outputs: Record<string, string | undefined>): Partial<Record<SeedTable, string>> {
  return Object.fromEntries(
    Object.entries(TABLE_OUTPUTS)
      .map(([id, output]) => [id, outputs[output]] as const)
      .filter(([, name]) => name !== undefined),
  );
}

/** Table names from a `cdk deploy --outputs-file` file; exactly one stack must have them. */
export function tablesFromOutputsFile(path: string): Partial<Record<SeedTable, string>> {
  let outputs: Record<string, Record<string, string>>;
  try {
    outputs = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `${path}: not a cdk outputs file (${(error as Error).message})`);
  }
  const stacks = Object.entries(outputs).filter(([, values]) => TABLE_OUTPUTS.orders in values);
  if (stacks.length === 0) throw new DynalakeError('BAD_INPUT', `${path}: no stack has an ${TABLE_OUTPUTS.orders} output; is it the storage stack's outputs file?`);
  if (stacks.length > 1) {
    throw new DynalakeError('BAD_INVOCATION', `${path}: several stacks have tables (${stacks.map(([name]) => name).join(', ')}); pick one with --stack NAME`);
  }
  return pickTables((stacks[0] as [string, Record<string, string>])[1]);
}

async function tablesFromStack(stackName: string, region: string | undefined): Promise<Partial<Record<SeedTable, string>>> {
  const cloudFormation = new CloudFormationClient({ region });
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue]));
    const tables = pickTables(outputs);
    if (tables.orders === undefined) throw new DynalakeError('BAD_INVOCATION', `stack ${stackName} has no ${TABLE_OUTPUTS.orders} output; is it the storage stack?`);
    return tables;
  } catch (error) {
    if (error instanceof DynalakeError) throw error;
    throw new DynalakeError('BAD_INVOCATION', `--stack ${stackName}: DescribeStacks failed: ${(error as Error).message}`);
  } finally {
    cloudFormation.destroy();
  }
}
