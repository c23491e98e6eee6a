/** npm run smoke: the end-to-end check, on the local pipeline's real services, and its AWS environment. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { decodeChangeObject } from '../../lambda/shared/cdc';
import { DynalakeError } from '../../lambda/shared/errors';
import { getObjectBytes, listObjects } from '../../scripts/local/glue/s3-files';
import type { JobRunner } from '../../scripts/local/services';
import { awsSmokeEnvironment, SMOKE_OUTPUTS } from '../../scripts/smoke/aws';
import { startLocalSmokeEnvironment } from '../../scripts/smoke/local';
import { lakeRowsQuery, runSmoke, type SmokeReport } from '../../scripts/smoke/smoke';
import { buildStacks } from '../helpers/cdk-app';

jest.setTimeout(120_000);

const STEPS = ['write items', 'change objects (INSERT)', 'refresh run', 'lake has the rows', 'delete items', 'change objects (REMOVE)', 'refresh run (deletes)', 'lake dropped the rows'];

const stateDirs: string[] = [];
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

/** The local smoke environment in a state folder of its own, with quick polls. */
async function localEnvironment(runJob?: JobRunner) {
  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-smoke-'));
  stateDirs.push(stateDir);
  const printed: string[] = [];
  const environment = await startLocalSmokeEnvironment({ stateDir, streamPollMs: 100, runJob, print: (line) => printed.push(line) });
  return { environment, printed };
}

/** The orders items of `invoice` left in the table. */
async function itemsOf(client: DynamoDBClient, table: string, invoice: string): Promise<number> {
  let count = 0;
  for await (const page of paginateScan({ client }, { TableName: table })) count += (page.Items ?? []).filter((item) => item.InvoiceNo?.S === invoice).length;
  return count;
}

describe('npm run smoke -- --local, on the local pipeline', () => {
  let report: SmokeReport;
  const printed: string[] = [];
  let landed: { eventName: string; line: number }[] = [];
  let left = -1;
  let lakeRows: string | undefined;

  beforeAll(async () => {
    const local = await localEnvironment();
    const { environment } = local;
    try {
      report = await runSmoke(environment, { stepTimeoutMs: 60_000, pollMs: 100, print: (line) => printed.push(line) });
      left = await itemsOf(environment.dynamodb, environment.ordersTable, report.invoice);
      lakeRows = await environment.queryScalar(lakeRowsQuery(environment.database, report.invoice, new Date().toISOString().slice(0, 10)));
      for (const object of await listObjects(environment.s3, environment.landingBucket, 'cdc/orders/')) {
        for (const record of decodeChangeObject(await getObjectBytes(environment.s3, environment.landingBucket, object.key))) {
          if (record.keys.InvoiceNo === report.invoice) landed.push({ eventName: record.eventName, line: Number(record.keys.LineNo) });
        }
      }
      landed = landed.sort((a, b) => a.eventName.localeCompare(b.eventName) || a.line - b.line);
    } finally {
      await environment.close();
    }
  });

  it('runs every step in order, each timed, and reports the end-to-end freshness', () => {
    expect(report.steps.map(([name]) => name)).toEqual(STEPS);
    expect(report.invoice).toMatch(/^SMOKE-[0-9A-F]{12}$/);
    const [, , , , ...afterDelete] = report.steps;
    const toLake = report.steps.slice(0, 4).reduce((sum, [, ms]) => sum + ms, 0);
    expect(report.freshnessMs).toBeGreaterThanOrEqual(toLake);
    expect(report.removalMs).toBeGreaterThanOrEqual(afterDelete.reduce((sum, [, ms]) => sum + ms, 0));
    for (const name of STEPS) expect(printed).toContainEqual(expect.stringMatching(new RegExp(`^  ✓ ${name.replace(/[()]/g, '\\$&')} \\(\\d+\\.\\d s\\)$`)));
    expect(printed.at(-1)).toMatch(/^✓ smoke test passed in \d+\.\d s: end-to-end freshness \d+\.\d s \(written → queryable\), removal \d+\.\d s \(deleted → gone\)$/);
  });

  it('sent its items through the real stream handler: an INSERT and a REMOVE change per line', () => {
    expect(landed).toEqual([1, 2, 3].map((line) => ({ eventName: 'INSERT', line })).concat([1, 2, 3].map((line) => ({ eventName: 'REMOVE', line }))));
  });

  it('leaves nothing behind: no test item in the table, no test row in the lake', () => {
    expect(left).toBe(0);
    expect(lakeRows).toBe('0');
  });
});

describe('npm run smoke -- --local, when the pipeline is broken', () => {
  it('fails naming "lake has the rows" when the lake is held stale (every job succeeds and merges nothing), and still deletes its items', async () => {
    // Held, each run succeeds without merging and its end starts the next (refresh-follow-up sees
    // the objects still waiting); released, the next run merges them, so the services can stop.
    let held = true;
    const { environment } = await localEnvironment((_script, _jobName, args, twin) => (held ? Promise.resolve({ summary: 'held stale: merged nothing' }) : twin(args)));
    const printed: string[] = [];
    let failure: unknown;
    try {
      await runSmoke(environment, { stepTimeoutMs: 3000, pollMs: 100, invoice: 'SMOKE-STALE', print: (line) => printed.push(line) }).catch((error: unknown) => (failure = error));
      expect(await itemsOf(environment.dynamodb, environment.ordersTable, 'SMOKE-STALE')).toBe(0);
    } finally {
      held = false;
      await environment.close();
    }
    expect(failure).toBeInstanceOf(DynalakeError);
    expect((failure as DynalakeError).code).toBe('LOAD_FAILED');
    const day = new Date().toISOString().slice(0, 10);
    expect((failure as DynalakeError).message).toBe(`smoke step "lake has the rows" timed out after 3.0 s: curated_orders holds 0 of invoice SMOKE-STALE (partition ${day}), expected 3`);
    expect(printed).toContain('cleanup: deleted the 3 test items of SMOKE-STALE from dynalake-dev-orders');
    expect(printed).not.toContainEqual(expect.stringMatching(/^ {2}✓ lake has the rows/));
  });

  it('fails naming "refresh run" when a job of the run fails', async () => {
    const failing: JobRunner = (script, _jobName, args, twin) => (script === 'orders_to_lake' ? Promise.reject(new Error('no space left on device')) : twin(args));
    const { environment } = await localEnvironment(failing);
    let failure: unknown;
    try {
      await runSmoke(environment, { stepTimeoutMs: 30_000, pollMs: 100, invoice: 'SMOKE-FAILING', print: () => undefined }).catch((error: unknown) => (failure = error));
    } finally {
      await environment.close();
    }
    expect((failure as Error).message).toMatch(/^smoke step "refresh run" failed: run wr_\d{6} completed with 1 failed job run\(s\)$/);
  });

  it('refuses a test invoice outside SMOKE-, which the smoke role may not write', async () => {
    const environment = { description: 'unused' } as Parameters<typeof runSmoke>[0];
    await expect(runSmoke(environment, { stepTimeoutMs: 1000, invoice: '536365' })).rejects.toThrow('the test invoice must start with SMOKE-, not "536365"');
  });
});

describe('npm run smoke -- --stage S: the deployed environment', () => {
  const outputs = { OrdersTableName: 'dl-orders', LandingBucketName: 'dl-landing', RefreshWorkflowName: 'dynalake-dev-refresh', GlueDatabaseName: 'dynalake_dev', AthenaWorkgroupName: 'dynalake-dev' };
  const clients = () => {
    const cloudFormation = mockClient(CloudFormationClient);
    const athena = mockClient(AthenaClient);
    const stack = (names: readonly string[]) => ({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE' as const, Outputs: names.map((name) => ({ OutputKey: name, OutputValue: outputs[name as keyof typeof outputs] })) }] });
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-dev-storage' }).resolves(stack(SMOKE_OUTPUTS.storage));
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-dev-pipeline' }).resolves(stack(SMOKE_OUTPUTS.pipeline));
    return { cloudFormation, athena, sdk: { cloudFormation: new CloudFormationClient({}), athena: new AthenaClient({}), dynamodb: new DynamoDBClient({}), s3: new S3Client({}), glue: new GlueClient({}) } };
  };
  afterEach(() => {
    mockClient(CloudFormationClient).restore();
    mockClient(AthenaClient).restore();
  });

  it('names the table, bucket, workflow and database by the stacks’ outputs, and counts through the workgroup', async () => {
    const { athena, sdk } = clients();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } }).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { Rows: [{ Data: [{ VarCharValue: '_col0' }] }, { Data: [{ VarCharValue: '3' }] }] } });
    const environment = await awsSmokeEnvironment({ prefix: 'dynalake', stage: 'dev', clients: sdk, queryPollMs: 1 });
    expect({ table: environment.ordersTable, bucket: environment.landingBucket, workflow: environment.workflowName, database: environment.database }).toEqual({ table: 'dl-orders', bucket: 'dl-landing', workflow: 'dynalake-dev-refresh', database: 'dynalake_dev' });
    const sql = lakeRowsQuery(environment.database, 'SMOKE-1', '2026-12-06');
    expect(sql).toBe(`SELECT count(*) FROM "dynalake_dev"."curated_orders" WHERE invoice_day = '2026-12-06' AND invoice_no = 'SMOKE-1'`);
    expect(await environment.queryScalar(sql)).toBe('3');
    expect(athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input)).toEqual([{ QueryString: sql, WorkGroup: 'dynalake-dev', QueryExecutionContext: { Database: 'dynalake_dev' } }]);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(2);
    expect(athena.commandCalls(GetQueryResultsCommand)[0]?.args[0].input).toEqual({ QueryExecutionId: 'q-1', MaxResults: 2 });
  });

  it('says which query failed and why', async () => {
    const { athena, sdk } = clients();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND: curated_orders' } } });
    const environment = await awsSmokeEnvironment({ prefix: 'dynalake', stage: 'dev', clients: sdk, queryPollMs: 1 });
    await expect(environment.queryScalar('SELECT 1')).rejects.toThrow('Athena query q-2 FAILED: TABLE_NOT_FOUND: curated_orders');
  });

  it('refuses a stage that is not deployed, or deployed without the outputs, as a bad invocation', async () => {
    const { cloudFormation, sdk } = clients();
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-prod-storage' }).rejects(new Error('Stack with id dynalake-prod-storage does not exist'));
    await expect(awsSmokeEnvironment({ prefix: 'dynalake', stage: 'prod', clients: sdk })).rejects.toThrow(
      new DynalakeError('BAD_INVOCATION', 'stack dynalake-prod-storage: DescribeStacks failed (Stack with id dynalake-prod-storage does not exist); is the stage deployed in this account and region?'),
    );
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-dev-pipeline' }).resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: [] }] });
    await expect(awsSmokeEnvironment({ prefix: 'dynalake', stage: 'dev', clients: sdk })).rejects.toThrow('stack dynalake-dev-pipeline has no RefreshWorkflowName, GlueDatabaseName, AthenaWorkgroupName output: deploy this version of dynalake first');
  });

  it('reads outputs the stacks really have', () => {
    const { storage, pipeline } = buildStacks();
    expect(Object.keys(Template.fromStack(storage).findOutputs('*'))).toEqual(expect.arrayContaining([...SMOKE_OUTPUTS.storage]));
    expect(Object.keys(Template.fromStack(pipeline).findOutputs('*'))).toEqual(expect.arrayContaining([...SMOKE_OUTPUTS.pipeline]));
  });
});
