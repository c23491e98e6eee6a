import { classify, diffStack, type DiffReport, failsOn, isDataLoss, type ResourceChange } from '../../../scripts/diff/classify';
import type { Template } from '../../../scripts/diff/synth';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

type Resources = Record<string, Record<string, unknown>>;

function template(resources: Resources, outputs?: Record<string, unknown>): Template {
  return { Resources: resources, ...(outputs === undefined ? {} : { Outputs: outputs }) };
}

function at(path: string, resource: Record<string, unknown>): Record<string, unknown> {
  return { ...resource, Metadata: { ...(resource.Metadata as object | undefined), 'aws:cdk:path': `app/${path}/Resource` } };
}

function table(key: string, policy: 'Retain' | 'Delete' = 'Retain'): Record<string, unknown> {
  return at('Uploads/Table', {
    Type: 'AWS::DynamoDB::Table',
    Properties: { KeySchema: [{ AttributeName: key, KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' },
    DeletionPolicy: policy,
    UpdateReplacePolicy: policy,
  });
}

function lambda(hash: string): Record<string, unknown> {
  return at('Bridge/Function', {
    Type: 'AWS::Lambda::Function',
    Properties: { Code: { S3Bucket: 'cdk-assets', S3Key: `${hash}.zip` }, Handler: 'index.handler', Runtime: 'nodejs24.x', Role: { 'Fn::GetAtt': ['BridgeRole', 'Arn'] } },
    Metadata: { 'aws:asset:path': `asset.${hash}`, 'aws:asset:property': 'Code' },
  });
}

function policy(statements: unknown[]): Record<string, unknown> {
  return at('Bridge/Role/DefaultPolicy', {
    Type: 'AWS::IAM::Policy',
    Properties: { PolicyName: 'BridgePolicy', Roles: [{ Ref: 'BridgeRole' }], PolicyDocument: { Version: '2012-10-17', Statement: statements } },
  });
}

const READ = { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': ['UploadsTable', 'Arn'] } };
const WRITE = { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': ['UploadsTable', 'Arn'] } };

function one(name: string, before: Template | undefined, after: Template | undefined) {
  return diffStack(name, before, after);
}

function only(changes: readonly ResourceChange[]): ResourceChange {
  expect(changes).toHaveLength(1);
  return changes[0] as ResourceChange;
}

function report(before: Template | undefined, after: Template | undefined): DiffReport {
  const side = (stack: Template | undefined) => new Map(stack === undefined ? [] : [['app', stack]]);
  return classify({ label: 'base', stacks: side(before) }, { label: 'head', stacks: side(after) });
}

describe('classify', () => {
  it('calls a Lambda whose code alone changed asset-only: S3 key and asset metadata differ by the hash', () => {
    const change = only(one('app', template({ Fn: lambda(HASH_A) }), template({ Fn: lambda(HASH_B) })).resources);
    expect(change).toMatchObject({ logicalId: 'Fn', path: 'Bridge/Function', type: 'AWS::Lambda::Function', impact: 'update', category: 'asset-only' });
  });

  it('does not call a change asset-only when something besides the hash changed', () => {
    const after = lambda(HASH_B);
    (after.Properties as Record<string, unknown>).Handler = 'main.handler';
    expect(only(one('app', template({ Fn: lambda(HASH_A) }), template({ Fn: after })).resources).category).toBe('other');
  });

  it('classifies a table whose key changed as a stateful replacement, caused by KeySchema, retained by its policy', () => {
    const change = only(one('app', template({ UploadsTable: table('id') }), template({ UploadsTable: table('rowId') })).resources);
    expect(change).toMatchObject({ impact: 'replace', category: 'destructive', stateful: 'its items', retained: true, causes: ['KeySchema'] });
    expect(change.details).toEqual(['AttributeDefinitions[0].AttributeName: "id" → "rowId"', 'KeySchema[0].AttributeName: "id" → "rowId"']);
    expect(isDataLoss(change)).toBe(true);
  });

  it('says when a replaced table is not retained', () => {
    expect(only(one('app', template({ UploadsTable: table('id', 'Delete') }), template({ UploadsTable: table('rowId', 'Delete') })).resources).retained).toBe(false);
  });

  it('calls a retained bucket that leaves the template orphaned, and still data loss', () => {
    const bucket = { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' };
    const change = only(one('app', template({ Lake: bucket }), template({})).resources);
    expect(change).toMatchObject({ impact: 'orphan', category: 'destructive', stateful: 'its objects', retained: true });
    expect(isDataLoss(change)).toBe(true);
  });

  it('calls a bucket without a retain policy destroyed', () => {
    expect(only(one('app', template({ Lake: { Type: 'AWS::S3::Bucket' } }), template({})).resources)).toMatchObject({ impact: 'destroy', retained: false });
  });

  it('puts a stateless replacement among replacements without calling it data loss', () => {
    const topic = (name: string) => ({ Type: 'AWS::SNS::Topic', Properties: { TopicName: name } });
    const change = only(one('app', template({ Alerts: topic('a') }), template({ Alerts: topic('b') })).resources);
    expect(change).toMatchObject({ impact: 'replace', category: 'destructive', causes: ['TopicName'] });
    expect(change.stateful).toBeUndefined();
    expect(isDataLoss(change)).toBe(false);
  });

  it('lists an added IAM statement as a broadening security change, on the policy resource', () => {
    const stack = one('app', template({ UploadsTable: table('id'), Policy: policy([READ]) }), template({ UploadsTable: table('id'), Policy: policy([READ, WRITE]) }));
    expect(stack.broadened).toBe(true);
    expect(stack.security).toEqual([{ kind: 'statement', sign: '+', effect: 'Allow', actions: 'dynamodb:PutItem', resources: '${Uploads/Table.Arn}', principals: 'AWS:${BridgeRole}', condition: '' }]);
    expect(only(stack.resources)).toMatchObject({ path: 'Bridge/Role/DefaultPolicy', category: 'security' });
  });

  it('does not call a removed Allow broadening, but does a removed Deny', () => {
    const deny = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    expect(one('app', template({ Policy: policy([READ, WRITE]) }), template({ Policy: policy([READ]) })).broadened).toBe(false);
    expect(one('app', template({ Policy: policy([READ, deny]) }), template({ Policy: policy([READ]) })).broadened).toBe(true);
  });

  it('cancels a statement that only moved to another asset object, and calls the change asset-only', () => {
    const grant = (hash: string) => ({ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::cdk-assets/${hash}.py` });
    const stack = one('app', template({ Policy: policy([grant(HASH_A)]) }), template({ Policy: policy([grant(HASH_B)]) }));
    expect(stack.security).toEqual([]);
    expect(stack.broadened).toBe(false);
    expect(only(stack.resources).category).toBe('asset-only');
  });

  it('lists an added security-group ingress rule as broadening', () => {
    const group = (ingress: unknown[]) => ({ Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'db', SecurityGroupIngress: ingress } });
    const rule = { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, CidrIp: '0.0.0.0/0' };
    const stack = one('app', template({ Db: group([]) }), template({ Db: group([rule]) }));
    expect(stack.broadened).toBe(true);
    expect(stack.security).toContainEqual(expect.objectContaining({ kind: 'security-group-rule', sign: '+', direction: 'ingress', protocol: 'TCP 5432', peer: 'Everyone (IPv4)' }));
    expect(only(stack.resources).category).toBe('security');
  });

  it('names what another stack output refers to, in statements and in details', () => {
    const storage = template({ UploadsTable: { ...table('id'), Metadata: { 'aws:cdk:path': 'storage/Uploads/Table/Resource' } } }, { ExportUploadsArn: { Value: { 'Fn::GetAtt': ['UploadsTable', 'Arn'] } } });
    const fromStorage = { 'Fn::GetStackOutput': { StackName: 'storage', Region: { Ref: 'AWS::Region' }, OutputName: 'ExportUploadsArn' } };
    const pipeline = (statements: unknown[]) => template({ Policy: policy(statements) });
    const base = new Map([
      ['storage', storage],
      ['pipeline', pipeline([READ])],
    ]);
    const head = new Map([
      ['storage', storage],
      ['pipeline', pipeline([READ, { Effect: 'Allow', Action: 'dynamodb:DeleteItem', Resource: fromStorage }])],
    ]);
    const stack = classify({ label: 'base', stacks: base }, { label: 'head', stacks: head }).stacks.find((candidate) => candidate.name === 'pipeline');
    expect(stack?.security).toEqual([expect.objectContaining({ sign: '+', actions: 'dynamodb:DeleteItem', resources: '${storage/Uploads/Table.Arn}' })]);
    expect(stack?.resources[0]?.details).toEqual(['PolicyDocument.Statement: + {"Effect":"Allow","Action":"dynamodb:DeleteItem","Resource":"${storage/Uploads/Table.Arn}"}']);
  });

  it('joins intrinsic ARNs in details the way a reader writes them', () => {
    const topic = (suffix: string) => ({ Type: 'AWS::SNS::Topic', Properties: { KmsMasterKeyId: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:::key/', suffix]] } } });
    expect(only(one('app', template({ Alerts: topic('a') }), template({ Alerts: topic('b') })).resources).details).toEqual(['KmsMasterKeyId: "arn:${AWS::Partition}:kms:::key/a" → "arn:${AWS::Partition}:kms:::key/b"']);
  });

  it('treats a stack only in the head as added, and one only in the base as removed with its data', () => {
    const added = one('app', undefined, template({ UploadsTable: table('id') }));
    expect(added).toMatchObject({ presence: 'added' });
    expect(only(added.resources)).toMatchObject({ impact: 'create', category: 'other' });
    const removed = report(template({ UploadsTable: table('id') }), undefined);
    expect(removed.stacks[0]).toMatchObject({ name: 'app', presence: 'removed' });
    expect(removed.counts).toMatchObject({ stacks: 1, changes: 1, destructive: 1, stateful: 1 });
  });

  it('ignores the CDK metadata resource', () => {
    const metadata = (analytics: string) => ({ Type: 'AWS::CDK::Metadata', Properties: { Analytics: analytics } });
    expect(report(template({ CDKMetadata: metadata('v2:a') }), template({ CDKMetadata: metadata('v2:b') })).counts.changes).toBe(0);
  });

  it('counts outputs and other template sections as other changes', () => {
    const result = report(template({}, { TableName: { Value: 'a' } }), template({}, { TableName: { Value: 'b' }, TableArn: { Value: 'c' } }));
    expect(result.stacks[0]?.templateChanges).toEqual([
      { section: 'Outputs', id: 'TableName', change: 'changed' },
      { section: 'Outputs', id: 'TableArn', change: 'added' },
    ]);
    expect(result.counts).toMatchObject({ changes: 2, other: 2 });
  });
});

describe('failsOn', () => {
  const replaced = report(template({ UploadsTable: table('id') }), template({ UploadsTable: table('rowId') }));
  const widened = report(template({ Policy: policy([READ]) }), template({ Policy: policy([READ, WRITE]) }));
  const narrowed = report(template({ Policy: policy([READ, WRITE]) }), template({ Policy: policy([READ]) }));
  const code = report(template({ Fn: lambda(HASH_A) }), template({ Fn: lambda(HASH_B) }));
  const nothing = report(template({ Fn: lambda(HASH_A) }), template({ Fn: lambda(HASH_A) }));

  it.each([
    ['never', [false, false, false, false, false]],
    ['destructive', [true, false, false, false, false]],
    ['security', [true, true, false, false, false]],
    ['any', [true, true, true, true, false]],
  ] as const)('%s fails for [replaced table, widened, narrowed, code only, nothing] = %j', (level, expected) => {
    expect([replaced, widened, narrowed, code, nothing].map((result) => failsOn(result, level))).toEqual(expected);
  });
});
