/**
 * `npm run smoke -- --stage S`: the smoke test's environment on a deployed stage, named by the
 * outputs of its storage and pipeline stacks, with the lake queried through its Athena workgroup.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../lambda/shared/errors';
import type { SmokeEnvironment } from './smoke';

/** The outputs the check reads, by stack (see StorageStack and PipelineStack). */
export const SMOKE_OUTPUTS = {
  storage: ['OrdersTableName', 'LandingBucketName'],
  pipeline: ['RefreshWorkflowName', 'GlueDatabaseName', 'AthenaWorkgroupName'],
} as const;

type OutputName = (typeof SMOKE_OUTPUTS)[keyof typeof SMOKE_OUTPUTS][number];

/** The SDK clients of a deployed environment (tests give mocked ones). */
export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly athena: AthenaClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly glue: GlueClient;
}

/** Clients for `region`, or the SDK's default region (AWS_REGION, the profile) when none. */
export function awsClients(region: string | undefined): AwsClients {
  return { cloudFormation: new CloudFormationClient({ region }), athena: new AthenaClient({ region }), dynamodb: new DynamoDBClient({ region }), s3: new S3Client({ region }), glue: new GlueClient({ region }) };
}

/** Options of {@link awsSmokeEnvironment}. */
export interface AwsSmokeOptions {
  readonly prefix: string;
  readonly stage: string;
  readonly clients: AwsClients;
  /** How long to wait between two looks at a running query. @default 1000 */
  readonly queryPollMs?: number;
}

async function stackOutputs(client: CloudFormationClient, stackName: string, names: readonly OutputName[]): Promise<Record<OutputName, string>> {
  let outputs: Record<string, string | undefined>;
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue]));
  } catch (error) {
    throw new DynalakeError('BAD_INVOCATION', `stack ${stackName}: DescribeStacks failed (${(error as Error).message}); is the stage deployed in this account and region?`);
  }
  const missing = names.filter((name) => outputs[name] === undefined);
  if (missing.length > 0) throw new DynalakeError('BAD_INVOCATION', `stack ${stackName} has no ${missing.join(', ')} output: deploy this version of dynalake first`);
  return Object.fromEntries(names.map((name) => [name, outputs[name] ?? ''])) as Record<OutputName, string>;
}

/** The environment of a deployed stage, from its stacks' outputs. */
export async function awsSmokeEnvironment(options: AwsSmokeOptions): Promise<SmokeEnvironment> {
  const { clients } = options;
  const name = `${options.prefix}-${options.stage}`;
  const storage = await stackOutputs(clients.cloudFormation, `${name}-storage`, SMOKE_OUTPUTS.storage);
  const pipeline = await stackOutputs(clients.cloudFormation, `${name}-pipeline`, SMOKE_OUTPUTS.pipeline);
  const workgroup = pipeline.AthenaWorkgroupName;
  return {
    description: `stage ${options.stage} (stacks ${name}-storage, ${name}-pipeline)`,
    dynamodb: clients.dynamodb,
    s3: clients.s3,
    glue: clients.glue,
    ordersTable: storage.OrdersTableName,
    landingBucket: storage.LandingBucketName,
    workflowName: pipeline.RefreshWorkflowName,
    database: pipeline.GlueDatabaseName,
    queryScalar: async (sql) => {
      // The workgroup enforces its result location and encryption: the query names neither.
      const { QueryExecutionId } = await clients.athena.send(new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: workgroup, QueryExecutionContext: { Database: pipeline.GlueDatabaseName } }));
      for (;;) {
        const { QueryExecution } = await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
        const state = QueryExecution?.Status?.State;
        if (state === 'SUCCEEDED') break;
        if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`Athena query ${QueryExecutionId ?? '?'} ${state}: ${QueryExecution?.Status?.StateChangeReason ?? 'no reason given'}`);
        await sleep(options.queryPollMs ?? 1000);
      }
      const { ResultSet } = await clients.athena.send(new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 2 }));
      // The first row is the header.
      return ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue;
    },
  };
}
