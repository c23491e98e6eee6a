import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  type DescribeStacksCommandInput,
  DescribeStacksCommand,
  type GetTemplateCommandInput,
  GetTemplateCommand,
  type ListStackResourcesCommandInput,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import type { PipelineConfigInput } from '../../lib/config';
import { emptyVersionedBucket } from '../../scripts/destroy/report';
import { retainedResources, templateResources } from '../../scripts/destroy/retained';
import { TYPESCRIPT_HOOK } from '../helpers/cli';
import { cdkArguments, destroyStage, type DestroyOptions } from '../../scripts/destroy/run';
import { buildStacks, resourceOf } from '../helpers/cdk-app';

const ROOT = join(__dirname, '..', '..');
const cloudFormation = mockClient(CloudFormationClient);

type TemplateJson = { Resources: Record<string, { Type: string; DeletionPolicy?: string; Properties?: Record<string, unknown> }> } & Record<string, unknown>;

/** A name CloudFormation could have generated: `<stack>-<logical id>-<suffix>`, lowercase for buckets, a key id for keys. */
function physicalId(stackName: string, logicalId: string, type: string): string {
  if (type === 'AWS::KMS::Key') {
    const hex = createHash('sha256').update(logicalId).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
  const name = `${stackName}-${logicalId}-1A2B3C4D5E6F`;
  return type === 'AWS::S3::Bucket' ? name.toLowerCase() : name;
}

interface FakeStack {
  readonly id: string;
  readonly template: TemplateJson;
  readonly terminationProtection: boolean;
  status: string;
}

/**
 * The CloudFormation of one account, behind the mocked client: DescribeStacks (by name while a
 * stack lives, by id after), GetTemplate, ListStackResources in pages of 10. `runCdk` deletes the
 * stacks it is given, the way cdk destroy would, unless told to fail.
 */
class FakeAccount {
  readonly stacks = new Map<string, FakeStack>();
  readonly cdkCalls: string[][] = [];
  readonly printed: string[] = [];
  readonly logged: string[] = [];

  constructor() {
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand).callsFake((input: DescribeStacksCommandInput) => {
      const [name, stack] = this.find(input.StackName);
      return { Stacks: [{ StackName: name, StackId: stack.id, StackStatus: stack.status, EnableTerminationProtection: stack.terminationProtection, CreationTime: new Date(0) }] };
    });
    cloudFormation.on(GetTemplateCommand).callsFake((input: GetTemplateCommandInput) => ({ TemplateBody: JSON.stringify(this.find(input.StackName)[1].template) }));
    cloudFormation.on(ListStackResourcesCommand).callsFake((input: ListStackResourcesCommandInput) => {
      const [name, stack] = this.find(input.StackName);
      const summaries: StackResourceSummary[] = Object.entries(stack.template.Resources).map(([logicalId, resource]) => ({
        LogicalResourceId: logicalId,
        PhysicalResourceId: physicalId(name, logicalId, resource.Type),
        ResourceType: resource.Type,
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(0),
      }));
      const start = Number(input.NextToken ?? 0);
      return { StackResourceSummaries: summaries.slice(start, start + 10), NextToken: start + 10 < summaries.length ? String(start + 10) : undefined };
    });
  }

  deploy(name: string, template: TemplateJson, terminationProtection = false): this {
    this.stacks.set(name, { id: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/0a1b2c3d-0000-4000-8000-000000000000`, template, terminationProtection, status: 'CREATE_COMPLETE' });
    return this;
  }

  /** A live stack by name, any stack by id; CloudFormation's ValidationError otherwise. */
  private find(nameOrId: string | undefined): [string, FakeStack] {
    for (const [name, stack] of this.stacks) {
      if (stack.id === nameOrId || (name === nameOrId && stack.status !== 'DELETE_COMPLETE')) return [name, stack];
    }
    throw Object.assign(new Error(`Stack with id ${String(nameOrId)} does not exist`), { name: 'ValidationError' });
  }

  options(overrides: Partial<DestroyOptions> & { cdkExitCode?: number } = {}): DestroyOptions {
    const { cdkExitCode = 0, ...rest } = overrides;
    return {
      prefix: 'dynalake',
      stage: 'dev',
      force: false,
      cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }),
      runCdk: (args) => {
        this.cdkCalls.push([...args]);
        if (cdkExitCode === 0) for (const name of args) {
          const stack = this.stacks.get(name);
          if (stack) stack.status = 'DELETE_COMPLETE';
        }
        return Promise.resolve(cdkExitCode);
      },
      print: (line) => this.printed.push(line),
      log: (line) => this.logged.push(line),
      ...rest,
    };
  }
}

interface Synthesized {
  readonly storage: TemplateJson;
  readonly pipeline: TemplateJson;
  readonly deployAccess?: TemplateJson;
  readonly retainedLogicalIds: Record<string, string>;
}

/** The real app's templates, synthesized once per configuration. */
const synthesized = new Map<string, Synthesized>();
function synth(config: PipelineConfigInput = {}): Synthesized {
  const key = JSON.stringify(config);
  const cached = synthesized.get(key);
  if (cached) return cached;
  const { storage, pipeline, deployAccess } = buildStacks(config);
  const json = (stack: Stack) => Template.fromStack(stack).toJSON() as TemplateJson;
  const logicalId = (construct: Parameters<typeof resourceOf>[0]) => resourceOf(construct).logicalId;
  const result: Synthesized = {
    storage: json(storage),
    pipeline: json(pipeline),
    deployAccess: deployAccess && json(deployAccess),
    retainedLogicalIds: {
      orders: logicalId(storage.orders.table),
      userCampaign: logicalId(storage.userCampaign.table),
      campaignInfo: logicalId(storage.campaignInfo.table),
      uploads: logicalId(storage.uploads.table),
      landing: logicalId(storage.buckets.landing),
      lake: logicalId(storage.buckets.lake),
      assets: logicalId(storage.buckets.assets),
      accessLogs: logicalId(storage.buckets.accessLogs),
      ...(storage.encryptionKey ? { dataKey: logicalId(storage.encryptionKey) } : {}),
    },
  };
  synthesized.set(key, result);
  return result;
}

/** The printed lines that name a resource (two-space indent, not a command), as `<stack> <logical id>`. */
function listedResources(printed: readonly string[]): string[] {
  return printed.flatMap((line) => {
    const match = /^ {2}\S+ {2}\((\S+) (\w+)[,)]/.exec(line);
    return match ? [`${match[1] ?? ''} ${match[2] ?? ''}`] : [];
  });
}

/** The group headings and their counts, in printed order. */
function headings(printed: readonly string[]): string[] {
  return printed.filter((line) => /^[A-Z][\w ]+ \(\d+\)$/.test(line));
}

describe('destroyStage with the real templates (removalPolicy retain)', () => {
  it("lists what the stacks really retain: storage's 4 tables, 4 buckets and key, the pipeline's keys, log groups and idempotency table", async () => {
    const { storage, pipeline, retainedLogicalIds } = synth({ encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);

    await expect(destroyStage(account.options())).resolves.toBe(0);

    const listed = listedResources(account.printed);
    expect(listed.filter((entry) => entry.startsWith('dynalake-dev-storage ')).sort()).toEqual(Object.values(retainedLogicalIds).map((id) => `dynalake-dev-storage ${id}`).sort());
    expect(headings(account.printed)).toEqual(['DynamoDB tables (5)', 'S3 buckets (4)', 'CloudWatch log groups (5)', 'KMS keys (3)']);
    expect(account.printed[0]).toBe('Retained: 17 resources of dynalake-dev-pipeline and dynalake-dev-storage still exist (DeletionPolicy Retain, removalPolicy retain).');
    // Every resource the templates retain, and nothing else.
    const retainedInTemplates = [
      ['dynalake-dev-pipeline', pipeline],
      ['dynalake-dev-storage', storage],
    ].flatMap(([name, template]) =>
      Object.entries((template as TemplateJson).Resources)
        .filter(([, resource]) => resource.DeletionPolicy === 'Retain')
        .map(([id]) => `${name as string} ${id}`),
    );
    expect(listed.sort()).toEqual(retainedInTemplates.sort());
  });

  it('prints the delete command of each table, the emptying of each bucket, the access-logs bucket last and the keys after everything', async () => {
    const { storage, pipeline, retainedLogicalIds } = synth({ encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    await destroyStage(account.options());
    const text = account.printed.join('\n');
    const id = (logicalId: string | undefined, type: string) => physicalId('dynalake-dev-storage', logicalId ?? '', type);
    const orders = id(retainedLogicalIds.orders, 'AWS::DynamoDB::Table');
    const landing = id(retainedLogicalIds.landing, 'AWS::S3::Bucket');
    const assets = id(retainedLogicalIds.assets, 'AWS::S3::Bucket');
    const accessLogs = id(retainedLogicalIds.accessLogs, 'AWS::S3::Bucket');
    const dataKey = id(retainedLogicalIds.dataKey, 'AWS::KMS::Key');

    expect(text).toContain(`    aws dynamodb delete-table --table-name ${orders}\n`);
    expect(text).not.toContain('--no-deletion-protection-enabled'); // dev: no deletion protection
    // landing and lake are versioned: emptied version by version; assets and access logs are not.
    expect(text).toContain(`    ${emptyVersionedBucket(landing)}\n    aws s3api delete-bucket --bucket ${landing}\n`);
    expect(text).toContain(`    aws s3 rm s3://${assets} --recursive\n    aws s3api delete-bucket --bucket ${assets}\n`);
    expect(text).not.toContain(`aws s3 rm s3://${landing}`);
    expect(text).toContain(`    aws kms schedule-key-deletion --key-id ${dataKey} --pending-window-in-days 30`);

    const position = (needle: string) => text.indexOf(needle);
    const bucketDeletions = ['landing', 'lake', 'assets', 'accessLogs'].map((name) => position(`delete-bucket --bucket ${id(retainedLogicalIds[name], 'AWS::S3::Bucket')}`));
    expect(bucketDeletions.every((at) => at > 0)).toBe(true);
    expect(Math.max(...bucketDeletions)).toBe(position(`delete-bucket --bucket ${accessLogs}`));
    expect(position('aws kms schedule-key-deletion')).toBeGreaterThan(Math.max(position('delete-table'), position('delete-log-group'), ...bucketDeletions));
    expect(text).toContain(`  ${accessLogs}  (dynalake-dev-storage ${retainedLogicalIds.accessLogs ?? ''})\n    # the access logs of ${[retainedLogicalIds.landing, retainedLogicalIds.lake, retainedLogicalIds.assets].join(', ')}: deleted last`);
  });

  it('turns deletion protection off before deleting a prod table', async () => {
    const { storage, pipeline, retainedLogicalIds } = synth({ stage: 'prod' });
    const account = new FakeAccount().deploy('dynalake-prod-storage', storage).deploy('dynalake-prod-pipeline', pipeline);
    // The prod storage stack has termination protection, which the stack tests check; turned off by hand first.
    await expect(destroyStage(account.options({ stage: 'prod' }))).resolves.toBe(0);
    const orders = physicalId('dynalake-prod-storage', retainedLogicalIds.orders ?? '', 'AWS::DynamoDB::Table');
    expect(account.printed.join('\n')).toContain(
      [
        '    # deletion protection is on (prod): turn it off first',
        `    aws dynamodb update-table --table-name ${orders} --no-deletion-protection-enabled`,
        `    aws dynamodb delete-table --table-name ${orders}`,
      ].join('\n'),
    );
  });

  it('reads every page of ListStackResources, by the stack id', async () => {
    const { storage, pipeline } = synth({ encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    await destroyStage(account.options());
    const pipelineId = account.stacks.get('dynalake-dev-pipeline')?.id;
    const pages = cloudFormation.commandCalls(ListStackResourcesCommand).filter((call) => call.args[0].input.StackName === pipelineId);
    expect(pages.length).toBe(Math.ceil(Object.keys(pipeline.Resources).length / 10));
    expect(pages.map((call) => call.args[0].input.NextToken)).toEqual([undefined, ...pages.slice(1).map((_, index) => String((index + 1) * 10))]);
    expect(cloudFormation.commandCalls(GetTemplateCommand).map((call) => call.args[0].input.TemplateStage)).toEqual(['Original', 'Original']);
  });
});

describe('destroyStage and cdk', () => {
  it('runs cdk destroy on the two stacks of the stage, by name, with the stage as context, and --force only when asked', async () => {
    const account = new FakeAccount();
    await destroyStage(account.options());
    await destroyStage(account.options({ stage: 'test', force: true }));
    expect(account.cdkCalls).toEqual([
      ['destroy', 'dynalake-dev-pipeline', 'dynalake-dev-storage', '--exclusively', '--context', 'dynalake.stage=dev'],
      ['destroy', 'dynalake-test-pipeline', 'dynalake-test-storage', '--exclusively', '--context', 'dynalake.stage=test', '--force'],
    ]);
    expect(cdkArguments(['a-pipeline', 'a-storage'], 'x', false)).toEqual(['destroy', 'a-pipeline', 'a-storage', '--exclusively', '--context', 'dynalake.stage=x']);
  });

  it('never destroys or reads the deploy-access stack, which every stage shares', async () => {
    const { storage, pipeline, deployAccess } = synth({ githubRepository: 'octo/lake' });
    if (!deployAccess) throw new Error('no deploy-access stack synthesized');
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline).deploy('dynalake-deploy-access', deployAccess);
    await expect(destroyStage(account.options({ force: true }))).resolves.toBe(0);
    expect(account.cdkCalls.flat().filter((arg) => arg.includes('deploy-access'))).toEqual([]);
    expect(account.cdkCalls[0]).toContain('--exclusively');
    expect(account.stacks.get('dynalake-deploy-access')?.status).toBe('CREATE_COMPLETE');
    expect(cloudFormation.calls().map((call) => JSON.stringify(call.args[0].input))).not.toContainEqual(expect.stringContaining('deploy-access'));
  });

  it("exits with cdk's code and lists nothing when cdk destroy fails", async () => {
    const { storage, pipeline } = synth({ encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    await expect(destroyStage(account.options({ cdkExitCode: 3 }))).resolves.toBe(3);
    expect(account.printed).toEqual([]);
    expect(account.logged).toContain("destroy: cdk destroy exited with 3: nothing is listed as removed or retained (cdk's output above says which stacks it deleted, if any)");
  });

  it('refuses a stack with termination protection before cdk runs', async () => {
    const { storage, pipeline } = synth({ stage: 'prod' });
    const account = new FakeAccount().deploy('dynalake-prod-storage', storage, true).deploy('dynalake-prod-pipeline', pipeline);
    await expect(destroyStage(account.options({ stage: 'prod' }))).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: expect.stringContaining(
        'dynalake-prod-storage has termination protection (stage prod turns it on), so cdk destroy would fail on it; nothing was destroyed. If it really is to go: aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name dynalake-prod-storage',
      ) as unknown,
    });
    expect(account.cdkCalls).toEqual([]);
  });

  it('stops before cdk when CloudFormation cannot be read', async () => {
    const account = new FakeAccount();
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException' }));
    await expect(destroyStage(account.options())).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      message: 'could not read dynalake-dev-pipeline, so nothing was destroyed: ExpiredTokenException: The security token included in the request is expired',
    });
    expect(account.cdkCalls).toEqual([]);
  });

  it('says nothing is retained when removalPolicy is destroy', async () => {
    const { storage, pipeline } = synth({ removalPolicy: 'destroy', encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    await expect(destroyStage(account.options())).resolves.toBe(0);
    expect(account.printed).toEqual(['Nothing retained: deleting dynalake-dev-pipeline and dynalake-dev-storage removed every resource of them.']);
  });

  it('says when neither stack is deployed, and lists only the stack that was', async () => {
    const none = new FakeAccount();
    await expect(destroyStage(none.options())).resolves.toBe(0);
    expect(none.logged).toEqual(['destroy: reading dynalake-dev-pipeline and dynalake-dev-storage: their resources and deployed templates', 'destroy: dynalake-dev-pipeline is not deployed', 'destroy: dynalake-dev-storage is not deployed']);
    expect(none.printed).toEqual(['Nothing to destroy: neither dynalake-dev-pipeline nor dynalake-dev-storage is deployed.']);

    const { storage } = synth({ encryption: 'kms' });
    const storageOnly = new FakeAccount().deploy('dynalake-dev-storage', storage);
    await destroyStage(storageOnly.options());
    expect(storageOnly.printed[0]).toBe('Retained: 9 resources of dynalake-dev-storage still exist (DeletionPolicy Retain, removalPolicy retain).');
  });

  it('exits 1, listing nothing of it, when a stack is still there after cdk succeeded', async () => {
    const { storage, pipeline } = synth({ encryption: 'kms' });
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    const options = account.options();
    const keepStorage: DestroyOptions = {
      ...options,
      runCdk: async (args) => {
        const code = await options.runCdk(args.filter((arg) => arg !== 'dynalake-dev-storage'));
        return code;
      },
    };
    await expect(destroyStage(keepStorage)).resolves.toBe(1);
    expect(account.logged).toContain('destroy: dynalake-dev-storage is still there (CREATE_COMPLETE) although cdk destroy succeeded: its resources are not listed');
    expect(account.printed[0]).toBe('Retained: 8 resources of dynalake-dev-pipeline still exist (DeletionPolicy Retain, removalPolicy retain).');
  });
});

describe('the listing of a small stack, line by line', () => {
  const template: TemplateJson = {
    Resources: {
      Logs: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' },
      Data: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'RetainExceptOnCreate', Properties: { VersioningConfiguration: { Status: 'Enabled' }, LoggingConfiguration: { DestinationBucketName: { Ref: 'Logs' } } } },
      Table: { Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain', Properties: { DeletionProtectionEnabled: true } },
      Key: { Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain' },
      Topic: { Type: 'AWS::SNS::Topic', DeletionPolicy: 'Retain' },
      Group: { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'Retain' },
      Queue: { Type: 'AWS::SQS::Queue', DeletionPolicy: 'Delete' },
      Function: { Type: 'AWS::Lambda::Function' },
    },
  };

  it('prints each group in the order the commands work, with --region on every command', async () => {
    const account = new FakeAccount().deploy('x-dev-storage', template);
    await expect(destroyStage(account.options({ prefix: 'x', region: 'eu-west-1' }))).resolves.toBe(0);
    const data = 'x-dev-storage-data-1a2b3c4d5e6f';
    const listVersions = `aws s3api list-object-versions --bucket ${data} --no-paginate`;
    expect(account.printed).toEqual([
      'Retained: 6 resources of x-dev-storage still exist (DeletionPolicy Retain, removalPolicy retain).',
      'To remove them, run these commands in this order: tables, buckets (the access-logs bucket last), log groups, then the keys.',
      '',
      'DynamoDB tables (1)',
      '  x-dev-storage-Table-1A2B3C4D5E6F  (x-dev-storage Table)',
      '    # deletion protection is on (prod): turn it off first',
      '    aws dynamodb update-table --table-name x-dev-storage-Table-1A2B3C4D5E6F --no-deletion-protection-enabled --region eu-west-1',
      '    aws dynamodb delete-table --table-name x-dev-storage-Table-1A2B3C4D5E6F --region eu-west-1',
      '',
      'S3 buckets (2)',
      `  ${data}  (x-dev-storage Data)`,
      "    # versioned: every object version and delete marker must go (aws s3 rm --recursive leaves them); the S3 console's Empty action does it, or:",
      `    while [ "$(${listVersions} --output text --query 'length([Versions, DeleteMarkers][])' --region eu-west-1)" != 0 ]; do aws s3api delete-objects --bucket ${data} --delete "$(${listVersions} --output json --query '{Objects: [Versions, DeleteMarkers][].{Key: Key, VersionId: VersionId}, Quiet: \`true\`}' --region eu-west-1)" --region eu-west-1 > /dev/null || break; done`,
      `    aws s3api delete-bucket --bucket ${data} --region eu-west-1`,
      '  x-dev-storage-logs-1a2b3c4d5e6f  (x-dev-storage Logs)',
      '    # the access logs of Data: deleted last, as their last logs may arrive hours later (empty it again if delete-bucket says BucketNotEmpty)',
      '    aws s3 rm s3://x-dev-storage-logs-1a2b3c4d5e6f --recursive --region eu-west-1',
      '    aws s3api delete-bucket --bucket x-dev-storage-logs-1a2b3c4d5e6f --region eu-west-1',
      '',
      'CloudWatch log groups (1)',
      '  x-dev-storage-Group-1A2B3C4D5E6F  (x-dev-storage Group)',
      '    aws logs delete-log-group --log-group-name x-dev-storage-Group-1A2B3C4D5E6F --region eu-west-1',
      '',
      'Other (1)',
      '  x-dev-storage-Topic-1A2B3C4D5E6F  (x-dev-storage Topic, AWS::SNS::Topic)',
      "    # AWS::SNS::Topic: no command here; remove it with its service's console or CLI",
      '',
      'KMS keys (1)',
      '  # Last, once nothing encrypted with them is needed: what a key encrypted (table backups, objects, logs) can no longer be read once it is gone.',
      '  # AWS deletes a key after the waiting period (7 to 30 days); aws kms cancel-key-deletion --key-id ID undoes it until then.',
      `  ${physicalId('x-dev-storage', 'Key', 'AWS::KMS::Key')}  (x-dev-storage Key)`,
      `    aws kms schedule-key-deletion --key-id ${physicalId('x-dev-storage', 'Key', 'AWS::KMS::Key')} --pending-window-in-days 30 --region eu-west-1`,
    ]);
  });

  it('leaves out what the stack does not have (no physical id, or already deleted) and policies that delete', () => {
    const summaries: StackResourceSummary[] = [
      { LogicalResourceId: 'Logs', ResourceType: 'AWS::S3::Bucket', PhysicalResourceId: 'logs', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date(0) },
      { LogicalResourceId: 'Table', ResourceType: 'AWS::DynamoDB::Table', ResourceStatus: 'CREATE_FAILED', LastUpdatedTimestamp: new Date(0) },
      { LogicalResourceId: 'Key', ResourceType: 'AWS::KMS::Key', PhysicalResourceId: 'k', ResourceStatus: 'DELETE_COMPLETE', LastUpdatedTimestamp: new Date(0) },
      { LogicalResourceId: 'Queue', ResourceType: 'AWS::SQS::Queue', PhysicalResourceId: 'q', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date(0) },
    ];
    expect(retainedResources('s', template.Resources, summaries)).toEqual([
      { stackName: 's', logicalId: 'Logs', type: 'AWS::S3::Bucket', physicalId: 'logs', deletionProtection: false, versioned: false, logsFrom: ['Data'] },
    ]);
  });

  it('reads a YAML template as well as a JSON one', () => {
    const yaml = ['Resources:', '  Table:', '    Type: AWS::DynamoDB::Table', '    DeletionPolicy: Retain', '    Properties:', '      TableName: !Ref Name', ''].join('\n');
    expect(templateResources(yaml)).toMatchObject({ Table: { Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain' } });
    expect(templateResources(JSON.stringify({ Resources: { A: { Type: 'T' } } }))).toEqual({ A: { Type: 'T' } });
    expect(templateResources('{}')).toEqual({});
  });
});

describe('README', () => {
  it('shows what npm run destroy prints for the default configuration', async () => {
    const { storage, pipeline } = synth();
    const account = new FakeAccount().deploy('dynalake-dev-storage', storage).deploy('dynalake-dev-pipeline', pipeline);
    await destroyStage(account.options());
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const [, block] = /<!-- destroy-example:start[^\n]*\n```\n([\s\S]*?)```\n<!-- destroy-example:end -->/.exec(readme) ?? [];
    expect(block).toBe(`${account.printed.join('\n')}\n`);
  });
});

describe('npm run destroy', () => {
  const run = (args: readonly string[]) => spawnSync(process.execPath, [...TYPESCRIPT_HOOK, 'scripts/destroy.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1' } });

  it('prints its help', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run destroy -- \[--stage S\] \[--force\] \[--region R\]\n/);
    expect(result.stdout).toContain('never <prefix>-deploy-access');
  });

  it.each([
    [['--stages', 'dev'], "Unknown option '--stages'"],
    [['dev'], 'unexpected argument "dev": the stage goes after --stage'],
    [['--region', 'europe'], '--region: "europe" is not an AWS region (expected e.g. eu-west-1)'],
    [['--stage', 'Prod'], 'dynalake.stage: "Prod" is not a stage name'],
  ])('refuses %j with exit 2, before any AWS call', (args, message) => {
    const result = run(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
