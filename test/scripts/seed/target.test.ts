import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Template } from 'aws-cdk-lib/assertions';
import { localClient, type LocalDynamoDB, startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import { resolveTarget, type SeedTarget, TABLE_OUTPUTS, tablesFromOutputsFile } from '../../../scripts/seed/target';
import { buildStacks } from '../../helpers/cdk-app';

let workdir: string;
beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), 'dynalake-target-'));
});
afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

const STORAGE_OUTPUTS = {
  OrdersTableName: 'dynalake-dev-storage-OrdersTable1F8332C7-ABC',
  UserCampaignTableName: 'dynalake-dev-storage-UserCampaignTable-DEF',
  CampaignInfoTableName: 'dynalake-dev-storage-CampaignInfoTable-GHI',
  LakeBucketName: 'lake-bucket',
};

function outputsFile(content: unknown): string {
  const path = join(workdir, 'cdk-outputs.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('tablesFromOutputsFile', () => {
  it('looks for the outputs the storage stack really has', () => {
    const outputs = Object.keys(Template.fromStack(buildStacks().storage).findOutputs('*'));
    expect(outputs).toEqual(expect.arrayContaining(Object.values(TABLE_OUTPUTS)));
  });

  it('reads the three table names of the storage stack', () => {
    expect(tablesFromOutputsFile(outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS, 'dynalake-dev-pipeline': { WorkflowName: 'w' } }))).toEqual({
      orders: STORAGE_OUTPUTS.OrdersTableName,
      userCampaign: STORAGE_OUTPUTS.UserCampaignTableName,
      campaignInfo: STORAGE_OUTPUTS.CampaignInfoTableName,
    });
  });

  it('keeps only the tables the stack names: a stack with just an orders table gives just that', () => {
    const tables = tablesFromOutputsFile(outputsFile({ 'dynalake-dev-storage': { OrdersTableName: 'orders-only' } }));
    expect(tables).toStrictEqual({ orders: 'orders-only' });
    expect(Object.keys(tables)).toEqual(['orders']);
  });

  it('asks for --stack when several stacks have tables', () => {
    const path = outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS, 'dynalake-prod-storage': STORAGE_OUTPUTS });
    expect(thrownBy(() => tablesFromOutputsFile(path))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: `${path}: several stacks have tables (dynalake-dev-storage, dynalake-prod-storage); pick one with --stack NAME`,
    });
  });

  it('says so when no stack has an orders table', () => {
    const path = outputsFile({ other: { Foo: 'bar' } });
    expect(thrownBy(() => tablesFromOutputsFile(path))).toMatchObject({
      code: 'BAD_INPUT',
      message: `${path}: no stack has an OrdersTableName output; is it the storage stack's outputs file?`,
    });
  });

  it("names the file when it is not JSON, with the parser's reason", () => {
    const path = outputsFile('{ not json');
    const reason = (thrownBy(() => JSON.parse('{ not json')) as Error).message;
    expect(thrownBy(() => tablesFromOutputsFile(path))).toMatchObject({ code: 'BAD_INPUT', message: `${path}: not a cdk outputs file (${reason})` });
  });
});

/** What a function throws. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Runs `body` with the working directory set to `dir`, restoring it afterwards. */
async function inDirectory<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return await body();
  } finally {
    process.chdir(previous);
  }
}

/** Runs `body` with AWS_REGION set (or unset), restoring it afterwards. */
async function withRegionEnv<T>(region: string | undefined, body: () => Promise<T>): Promise<T> {
  const previous = process.env.AWS_REGION;
  if (region === undefined) delete process.env.AWS_REGION;
  else process.env.AWS_REGION = region;
  try {
    return await body();
  } finally {
    if (previous === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = previous;
  }
}

/** The CloudFormation outputs of a stack with these values. */
function stackWith(outputs: Record<string, string>) {
  return { StackName: 'dynalake-dev-storage', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE' as const, Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) };
}

describe('resolveTarget', () => {
  it('uses the outputs file when no table is named', async () => {
    const path = outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS });
    const target = await resolveTarget({ outputsFile: path, region: 'eu-west-1' });
    await target.close();
    expect(target.tables).toStrictEqual({ orders: STORAGE_OUTPUTS.OrdersTableName, userCampaign: STORAGE_OUTPUTS.UserCampaignTableName, campaignInfo: STORAGE_OUTPUTS.CampaignInfoTableName });
    expect(target.description).toBe(`the stack in ${path}`);
  });

  it('reads cdk-outputs.json in the working directory by default', async () => {
    outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS });
    const target = await inDirectory(workdir, () => resolveTarget({ region: 'eu-west-1', endpoint: 'http://localhost:8000' }));
    await target.close();
    expect(target.tables.orders).toBe(STORAGE_OUTPUTS.OrdersTableName);
    expect(target.description).toBe('the stack in cdk-outputs.json at http://localhost:8000');
  });

  it('prefers an explicit --table', async () => {
    const target = await resolveTarget({ table: 'my-orders', outputsFile: outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS }), region: 'eu-west-1' });
    await target.close();
    expect(target.tables).toEqual({ orders: 'my-orders' });
    expect(target.description).toBe('table my-orders');
  });

  it('writes to AWS in the region given, and close releases the client', async () => {
    const target = await resolveTarget({ table: 'my-orders', region: 'ap-southeast-2' });
    const destroy = jest.spyOn(target.client, 'destroy');
    expect(await target.client.config.region()).toBe('ap-southeast-2');
    expect(destroy).not.toHaveBeenCalled();
    await target.close();
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it('fails with the ways to name a target when there is none', async () => {
    await expect(resolveTarget({ outputsFile: join(workdir, 'missing.json'), region: 'eu-west-1' })).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: expect.stringContaining('no target table: pass --table NAME, --stack NAME, or --local [DIR]') as unknown,
    });
  });

  it('names the default outputs file when there is no target and no cdk-outputs.json', async () => {
    await expect(inDirectory(workdir, () => resolveTarget({ region: 'eu-west-1' }))).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: 'no target table: pass --table NAME, --stack NAME, or --local [DIR], or deploy with `npx cdk deploy --all --outputs-file cdk-outputs.json` first (cdk-outputs.json not found)',
    });
  });

  it('reads the table names from a deployed stack with DescribeStacks', async () => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-dev-storage' }).resolves({
      Stacks: [{ StackName: 'dynalake-dev-storage', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: Object.entries(STORAGE_OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    });
    const destroy = jest.spyOn(CloudFormationClient.prototype, 'destroy');
    try {
      const target = await resolveTarget({ stack: 'dynalake-dev-storage', region: 'ap-southeast-2' });
      await target.close();
      expect(target.tables).toStrictEqual({ orders: STORAGE_OUTPUTS.OrdersTableName, userCampaign: STORAGE_OUTPUTS.UserCampaignTableName, campaignInfo: STORAGE_OUTPUTS.CampaignInfoTableName });
      expect(target.description).toBe('stack dynalake-dev-storage');
      // CloudFormation is asked in the region given, and its client is released afterwards.
      const asked = cloudFormation.commandCalls(DescribeStacksCommand);
      expect(asked).toHaveLength(1);
      expect(await (asked[0]?.thisValue as CloudFormationClient).config.region()).toBe('ap-southeast-2');
      expect(destroy).toHaveBeenCalledTimes(1);
    } finally {
      destroy.mockRestore();
      cloudFormation.restore();
    }
  });

  it.each([
    ['has no orders table output', { Stacks: [stackWith({ LakeBucketName: 'lake-bucket' })] }],
    ['has no outputs', { Stacks: [{ ...stackWith({}), Outputs: undefined }] }],
    ['is missing from an empty list', { Stacks: [] }],
    ['is missing from the answer', {}],
  ])('says the stack is not the storage stack when it %s', async (_case, answer) => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand).resolves(answer);
    const destroy = jest.spyOn(CloudFormationClient.prototype, 'destroy');
    try {
      await expect(resolveTarget({ stack: 'dynalake-dev-pipeline', region: 'eu-west-1', endpoint: 'http://localhost:8000' })).rejects.toMatchObject({
        code: 'BAD_INVOCATION',
        message: 'stack dynalake-dev-pipeline has no OrdersTableName output; is it the storage stack?',
      });
      expect(destroy).toHaveBeenCalledTimes(1);
    } finally {
      destroy.mockRestore();
      cloudFormation.restore();
    }
  });

  it('says the stack and the endpoint it writes to', async () => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [stackWith(STORAGE_OUTPUTS)] });
    try {
      const target = await resolveTarget({ stack: 'dynalake-dev-storage', endpoint: 'http://localhost:8000' });
      await target.close();
      expect(target.description).toBe('stack dynalake-dev-storage at http://localhost:8000');
    } finally {
      cloudFormation.restore();
    }
  });

  it('explains a DescribeStacks failure', async () => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Stack with id nope does not exist'));
    try {
      await expect(resolveTarget({ stack: 'nope', region: 'eu-west-1' })).rejects.toMatchObject({
        code: 'BAD_INVOCATION',
        message: '--stack nope: DescribeStacks failed: Stack with id nope does not exist',
      });
    } finally {
      cloudFormation.restore();
    }
  });

  it('keeps the embedded DynamoDB in its folder, says where it runs, and stops it on close', async () => {
    const folder = join(workdir, 'db');
    const first = await resolveTarget({ local: folder });
    let endpoint: string;
    try {
      const [, address] = /^embedded DynamoDB in (?:.*) \((http:\/\/127\.0\.0\.1:\d+)\)$/.exec(first.description) ?? [];
      expect(first.description).toBe(`embedded DynamoDB in ${folder} (${address ?? 'no address'})`);
      endpoint = address ?? '';
      await first.client.send(new PutItemCommand({ TableName: 'dynalake-dev-orders', Item: { InvoiceNo: { S: '536365' }, LineNo: { N: '1' } } }));
    } finally {
      await first.close();
    }
    // Stopped: a fresh client finds nothing listening there any more.
    const probe = localClient(endpoint);
    await expect(probe.send(new ListTablesCommand({}))).rejects.toThrow();
    probe.destroy();
    // Persisted: the next run on the same folder finds the item.
    const second = await resolveTarget({ local: folder });
    try {
      const { Item } = await second.client.send(new GetItemCommand({ TableName: 'dynalake-dev-orders', Key: { InvoiceNo: { S: '536365' }, LineNo: { N: '1' } } }));
      expect(Item).toEqual({ InvoiceNo: { S: '536365' }, LineNo: { N: '1' } });
    } finally {
      await second.close();
    }
  });

  it('starts an embedded DynamoDB in a child process, which ends with the target', async () => {
    const target = await resolveTarget({ local: join(workdir, 'child') });
    const pid = target.localPid ?? process.pid;
    expect(pid).not.toBe(process.pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
    await target.close();
    const gone = (() => {
      try {
        process.kill(pid, 0);
        return 'running';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code;
      }
    })();
    expect(gone).toBe('ESRCH');
  });

  it('starts an embedded DynamoDB with the storage stack tables, keys and index as synthesized', async () => {
    const target = await resolveTarget({ local: join(workdir, 'db') });
    try {
      expect(target.tables).toEqual({ orders: 'dynalake-dev-orders', userCampaign: 'dynalake-dev-user-campaign', campaignInfo: 'dynalake-dev-campaign-info', uploads: 'dynalake-dev-uploads' });
      const { Table } = await target.client.send(new DescribeTableCommand({ TableName: 'dynalake-dev-orders' }));
      expect(Table?.KeySchema).toEqual([
        { AttributeName: 'InvoiceNo', KeyType: 'HASH' },
        { AttributeName: 'LineNo', KeyType: 'RANGE' },
      ]);
      expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual([
        [
          'ByCustomerAndDate',
          [
            { AttributeName: 'CustomerID', KeyType: 'HASH' },
            { AttributeName: 'InvoiceDate', KeyType: 'RANGE' },
          ],
        ],
      ]);
    } finally {
      await target.close();
    }
  });
});

describe('resolveTarget with --endpoint', () => {
  let dynamo: LocalDynamoDB;
  beforeAll(async () => {
    dynamo = await startLocalDynamoDB();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  /** Resolves, runs `check` on the target, and closes it. */
  async function withTarget(options: Parameters<typeof resolveTarget>[0], check: (target: SeedTarget) => Promise<void>): Promise<void> {
    const target = await resolveTarget(options);
    try {
      await check(target);
    } finally {
      await target.close();
    }
  }

  it('talks to a local endpoint with no region and no credentials configured', async () => {
    await withRegionEnv(undefined, () =>
      withTarget({ table: 'my-orders', endpoint: dynamo.endpoint }, async (target) => {
        expect(target.description).toBe(`table my-orders at ${dynamo.endpoint}`);
        await expect(target.client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      }),
    );
  });

  it.each(['http://localhost:8000', 'https://localhost:8000', 'http://[::1]:8000'])('takes %s for a local endpoint, with its dummy region', async (endpoint) => {
    await withRegionEnv('ca-central-1', () =>
      withTarget({ table: 'my-orders', endpoint }, async (target) => {
        expect(await target.client.config.region()).toBe('us-east-1');
      }),
    );
  });

  it.each(['https://dynamodb.example.com', 'https://proxy.example.com/http://localhost:8000'])('treats %s as a remote endpoint, in the environment region', async (endpoint) => {
    await withRegionEnv('ca-central-1', () =>
      withTarget({ table: 'my-orders', endpoint }, async (target) => {
        expect(await target.client.config.region()).toBe('ca-central-1');
      }),
    );
  });

  it('uses the region given even for a local endpoint, and the endpoint given', async () => {
    await withRegionEnv(undefined, () =>
      withTarget({ table: 'my-orders', endpoint: 'http://localhost:8000', region: 'ap-southeast-2' }, async (target) => {
        expect(await target.client.config.region()).toBe('ap-southeast-2');
        expect(await target.client.config.endpoint?.()).toMatchObject({ hostname: 'localhost', port: 8000, protocol: 'http:' });
      }),
    );
  });
});
