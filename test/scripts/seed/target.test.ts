import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Template } from 'aws-cdk-lib/assertions';
import { resolveTarget, TABLE_OUTPUTS, tablesFromOutputsFile } from '../../../scripts/seed/target';
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

  it('asks for --stack when several stacks have tables', () => {
    const path = outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS, 'dynalake-prod-storage': STORAGE_OUTPUTS });
    expect(() => tablesFromOutputsFile(path)).toThrow('several stacks have tables (dynalake-dev-storage, dynalake-prod-storage); pick one with --stack NAME');
  });

  it('says so when no stack has an orders table', () => {
    expect(() => tablesFromOutputsFile(outputsFile({ other: { Foo: 'bar' } }))).toThrow("no stack has an OrdersTableName output; is it the storage stack's outputs file?");
  });

  it('names the file when it is not JSON', () => {
    const path = outputsFile('{ not json');
    expect(() => tablesFromOutputsFile(path)).toThrow(`${path}: not a cdk outputs file`);
  });
});

describe('resolveTarget', () => {
  it('uses the outputs file when no table is named', async () => {
    const target = await resolveTarget({ outputsFile: outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS }), region: 'eu-west-1' });
    await target.close();
    expect(target.tables.orders).toBe(STORAGE_OUTPUTS.OrdersTableName);
  });

  it('prefers an explicit --table', async () => {
    const target = await resolveTarget({ table: 'my-orders', outputsFile: outputsFile({ 'dynalake-dev-storage': STORAGE_OUTPUTS }), region: 'eu-west-1' });
    await target.close();
    expect(target.tables).toEqual({ orders: 'my-orders' });
  });

  it('fails with the ways to name a target when there is none', async () => {
    await expect(resolveTarget({ outputsFile: join(workdir, 'missing.json'), region: 'eu-west-1' })).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: expect.stringContaining('no target table: pass --table NAME, --stack NAME, or --local [DIR]') as unknown,
    });
  });

  it('reads the table names from a deployed stack with DescribeStacks', async () => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand, { StackName: 'dynalake-dev-storage' }).resolves({
      Stacks: [{ StackName: 'dynalake-dev-storage', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: Object.entries(STORAGE_OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    });
    try {
      const target = await resolveTarget({ stack: 'dynalake-dev-storage', region: 'eu-west-1' });
      await target.close();
      expect(target.tables.campaignInfo).toBe(STORAGE_OUTPUTS.CampaignInfoTableName);
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
