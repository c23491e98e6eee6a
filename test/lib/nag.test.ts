import { type App, CfnResource, Fn, Stack } from 'aws-cdk-lib';
import { CfnManagedPolicy, CfnPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import {
  acknowledgeAtSynth,
  acknowledgeCheckov,
  acknowledgeWildcards,
  addComplianceChecks,
  PIPELINE_WILDCARD_REASONS,
  prefixWildcardReason,
  type WildcardReasons,
  wildcardFindings,
} from '../../lib/nag';
import { acknowledgedRules, buildStacks, testApp } from '../helpers/cdk-app';

/**
 * The acknowledgement rules of lib/nag.ts on small constructs, without a synth where none is
 * needed: which wildcard has which reason, for which role and action, and which Checkov checks are
 * skipped beside which resource. compliance.test.ts and pipeline-nag.test.ts prove on the whole app
 * that what is not acknowledged fails the synth.
 */

interface StatementJson {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
}

/** A CfnPolicy at `path` (construct ids separated by `/`, the last one the policy's) in a fresh stack. */
function policyAt(stack: Stack, path: string, statements: readonly StatementJson[]): CfnPolicy {
  const ids = path.split('/');
  const policyId = ids.pop() ?? 'Resource';
  const scope = ids.reduce<Construct>((parent, id) => {
    const existing = parent.node.tryFindChild(id);
    return existing instanceof Construct ? existing : new Construct(parent, id);
  }, stack);
  return new CfnPolicy(scope, policyId, { policyName: policyId, roles: ['role'], policyDocument: { Version: '2012-10-17', Statement: statements } });
}

const allow = (Action: string | string[], Resource: unknown): StatementJson => ({ Effect: 'Allow', Action, Resource });

describe('wildcardFindings', () => {
  it('names each wildcard action and resource of each Allow statement as cdk-nag does, with the statement actions', () => {
    const stack = new Stack();
    const policy = policyAt(stack, 'Role/DefaultPolicy/Resource', [
      allow('s3:Get*', 'arn:aws:s3:::bucket/key'),
      allow(['s3:GetObject', 's3:List*'], ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*', '*']),
      { Effect: 'Deny', Action: '*', Resource: '*' },
      allow('sqs:SendMessage', Fn.join('', [Fn.importValue('other-stack:QueueArn'), '/*'])),
      allow('sqs:SendMessage', 'arn:aws:sqs:eu-west-1:123456789012:queue'),
    ]);
    expect(wildcardFindings(policy)).toEqual([
      { finding: 'Action::s3:Get*', actions: ['s3:Get*'] },
      { finding: 'Action::s3:List*', actions: ['s3:GetObject', 's3:List*'] },
      { finding: 'Resource::arn:aws:s3:::bucket/*', actions: ['s3:GetObject', 's3:List*'] },
      { finding: 'Resource::*', actions: ['s3:GetObject', 's3:List*'] },
      { finding: 'Resource::other-stack:QueueArn/*', actions: ['sqs:SendMessage'] },
    ]);
  });

  it('names a finding once per statement, and finds none in a policy without statements', () => {
    const stack = new Stack();
    expect(wildcardFindings(policyAt(stack, 'A/Resource', [allow(['s3:Get*', 's3:Get*'], ['*', '*'])]))).toEqual([
      { finding: 'Action::s3:Get*', actions: ['s3:Get*', 's3:Get*'] },
      { finding: 'Resource::*', actions: ['s3:Get*', 's3:Get*'] },
    ]);
    expect(wildcardFindings(new CfnPolicy(stack, 'Empty', { policyName: 'empty', roles: ['role'], policyDocument: {} }))).toEqual([]);
  });

  it('reads a policy whose Statement is a single statement, as IAM allows', () => {
    const stack = new Stack();
    const policy = new CfnPolicy(stack, 'Single', { policyName: 'single', roles: ['role'], policyDocument: { Version: '2012-10-17', Statement: allow('s3:List*', '*') } });
    expect(wildcardFindings(policy)).toEqual([
      { finding: 'Action::s3:List*', actions: ['s3:List*'] },
      { finding: 'Resource::*', actions: ['s3:List*'] },
    ]);
  });

  it('names the wildcards of a statement with NotAction or NotResource, with no actions for the former', () => {
    const stack = new Stack();
    const policy = policyAt(stack, 'Role/DefaultPolicy/Resource', [
      { Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' },
      { Effect: 'Allow', Action: 's3:Get*', NotResource: 'arn:aws:s3:::secret/*' },
    ]);
    expect(wildcardFindings(policy)).toEqual([
      { finding: 'Resource::*', actions: [] },
      { finding: 'Action::s3:Get*', actions: ['s3:Get*'] },
    ]);
  });
});

describe('acknowledgeWildcards', () => {
  const reasons: WildcardReasons = [
    [/^Resource::\*$/, 'metrics have no resource-level permissions', /^cloudwatch:PutMetricData$/],
    [/^Resource::\*$/, 'traces have no resource-level permissions', /^xray:PutTraceSegments$/],
    [/^Resource::arn:aws:s3:::bucket\/\*$/, 'the objects of the one bucket'],
    [/^Resource::arn:aws:s3:::held\/\*$/, 'only the reader may read these', undefined, /Stack\/Reader\/DefaultPolicy\/Resource/],
    [/Resource::arn:aws:s3:::whole\/\*/, 'unanchored, yet matched whole', /s3:GetObject/, /Stack\/Whole\/DefaultPolicy\/Resource/],
  ];

  it('acknowledges a finding whose every action has a reason, naming the policy and each distinct reason once', () => {
    const stack = new Stack(undefined, 'Stack');
    const policy = policyAt(stack, 'Role/DefaultPolicy/Resource', [
      allow(['cloudwatch:PutMetricData', 'xray:PutTraceSegments'], '*'),
      allow(['s3:GetObject', 's3:PutObject'], 'arn:aws:s3:::bucket/*'),
    ]);
    acknowledgeWildcards(stack, reasons);
    expect(acknowledgedRules(policy)).toEqual({
      'AwsSolutions-IAM5[Resource::*]': 'Stack/Role/DefaultPolicy/Resource: metrics have no resource-level permissions; traces have no resource-level permissions',
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]': 'Stack/Role/DefaultPolicy/Resource: the objects of the one bucket',
    });
  });

  it('leaves a finding unacknowledged when one action of its statement has no reason, even when another statement raising it has one', () => {
    const stack = new Stack(undefined, 'Stack');
    const merged = policyAt(stack, 'Merged/DefaultPolicy/Resource', [allow(['cloudwatch:PutMetricData', 'dynamodb:GetRecords'], '*')]);
    const split = policyAt(stack, 'Split/DefaultPolicy/Resource', [allow('cloudwatch:PutMetricData', '*'), allow('dynamodb:GetRecords', '*')]);
    acknowledgeWildcards(stack, reasons);
    expect(acknowledgedRules(merged)).toEqual({});
    expect(acknowledgedRules(split)).toEqual({});
  });

  it('holds a reason to the policies whose path it matches', () => {
    const stack = new Stack(undefined, 'Stack');
    const reader = policyAt(stack, 'Reader/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::held/*')]);
    const writer = policyAt(stack, 'Writer/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::held/*')]);
    acknowledgeWildcards(stack, reasons);
    expect(acknowledgedRules(reader)).toEqual({ 'AwsSolutions-IAM5[Resource::arn:aws:s3:::held/*]': 'Stack/Reader/DefaultPolicy/Resource: only the reader may read these' });
    expect(acknowledgedRules(writer)).toEqual({});
  });

  it('matches each pattern against the whole finding, action and policy path, anchored or not', () => {
    const stack = new Stack(undefined, 'Stack');
    const whole = policyAt(stack, 'Whole/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::whole/*')]);
    const nearMisses = [
      policyAt(stack, 'Whole/DefaultPolicy/Resource2', [allow('s3:GetObject', 'arn:aws:s3:::whole/*')]),
      policyAt(stack, 'Outer/Stack/Whole/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::whole/*')]),
      policyAt(stack, 'A/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::whole/*/more')]),
      policyAt(stack, 'B/DefaultPolicy/Resource', [allow('s3:GetObject', 'arn:aws:s3:::other/Resource::arn:aws:s3:::whole/*')]),
      policyAt(stack, 'C/DefaultPolicy/Resource', [allow('s3:GetObjectAcl', 'arn:aws:s3:::whole/*')]),
      policyAt(stack, 'D/DefaultPolicy/Resource', [allow('xs3:GetObject', 'arn:aws:s3:::whole/*')]),
    ];
    acknowledgeWildcards(stack, reasons);
    expect(acknowledgedRules(whole)).toEqual({ 'AwsSolutions-IAM5[Resource::arn:aws:s3:::whole/*]': 'Stack/Whole/DefaultPolicy/Resource: unanchored, yet matched whole' });
    expect(nearMisses.map((policy) => acknowledgedRules(policy))).toEqual(nearMisses.map(() => ({})));
  });

  it('leaves the wildcard resource of a statement without actions (NotAction) unacknowledged, whatever the reasons', () => {
    const stack = new Stack(undefined, 'Stack');
    const policy = policyAt(stack, 'Role/DefaultPolicy/Resource', [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }]);
    acknowledgeWildcards(stack, [[/Resource::\*/, 'any statement']]);
    expect(acknowledgedRules(policy)).toEqual({});
  });

  it('acknowledges only the policies under the scope it is given', () => {
    const stack = new Stack(undefined, 'Stack');
    const inside = policyAt(stack, 'Inside/Role/DefaultPolicy/Resource', [allow('xray:PutTraceSegments', '*')]);
    const outside = policyAt(stack, 'Outside/Role/DefaultPolicy/Resource', [allow('xray:PutTraceSegments', '*')]);
    acknowledgeWildcards(stack.node.findChild('Inside'), reasons);
    expect(Object.keys(acknowledgedRules(inside))).toEqual(['AwsSolutions-IAM5[Resource::*]']);
    expect(acknowledgedRules(outside)).toEqual({});
  });
});

/** Whether PIPELINE_WILDCARD_REASONS acknowledges `resource` for `action` in the policy of `role` (its path in the pipeline stack). */
function pipelineAcknowledges(role: string, action: string, resource: unknown): string | undefined {
  const stack = new Stack(undefined, 'dynalake-dev-pipeline');
  const policy = policyAt(stack, `${role}/DefaultPolicy/Resource`, [allow(action, resource)]);
  acknowledgeWildcards(stack, PIPELINE_WILDCARD_REASONS);
  const [reason, ...more] = Object.values(acknowledgedRules(policy));
  expect(more).toEqual([]);
  return reason;
}

/** A key pattern of a storage bucket as the pipeline stack imports it (cdk-nag renders the import by its export name). */
const storageObjects = (bucket: string, keys: string) => Fn.join('', [Fn.importValue(`dynalake-dev-storage:ExportsOutputFnGetAttBuckets${bucket}1A2B3C4DArn5E6F7A8B`), `/${keys}`]);

describe('PIPELINE_WILDCARD_REASONS: each role of the pipeline stack is held to its prefixes', () => {
  const READ = ['s3:GetObject'];
  const WRITE = [...READ, 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
  const EXPORT = [...WRITE, 's3:PutObjectAcl'];
  const PUT = ['s3:PutObject'];
  // The README's "each job is held to its prefixes", role by role: [bucket, keys, the actions a wildcard over them may carry].
  const HELD: Record<string, readonly (readonly [string, string, readonly string[]])[]> = {
    'OrdersToLake/Role': [
      ['Landing', 'cdc/orders*', READ],
      ['Lake', 'curated/orders*', WRITE],
      ['Lake', 'state/orders_to_lake*', WRITE],
      ['Assets', 'dynamodb-exports/orders*', EXPORT],
      ['Assets', 'glue-temp/orders_to_lake*', WRITE],
    ],
    'CampaignProgress/Role': [
      ['Landing', 'cdc/user_Campaign*', READ],
      ['Landing', 'cdc/campaignInfo*', READ],
      ['Lake', 'curated/campaign_progress*', WRITE],
      ['Lake', 'state/campaign_progress*', WRITE],
      ['Assets', 'glue-temp/campaign_progress*', WRITE],
    ],
    'CsvToDynamodb/Role': [
      ['Landing', 'raw*', READ],
      ['Assets', 'glue-temp/csv_to_dynamodb*', WRITE],
    ],
    'SalesStarSchema/Role': [
      ['Lake', 'curated/orders*', READ],
      ['Lake', 'warehouse*', WRITE],
      ['Lake', 'state/sales_star_schema*', WRITE],
      ['Assets', 'glue-temp/sales_star_schema*', WRITE],
    ],
    LakeCrawlerRole: [
      ['Lake', 'curated/orders*', READ],
      ['Lake', 'curated/campaign_progress*', READ],
      ['Lake', 'warehouse*', READ],
    ],
    'OrdersToLake/Stream/Bridge/Role': [['Landing', 'cdc/orders/*', PUT]],
    'UserCampaignStreamToLake/Bridge/Role': [['Landing', 'cdc/user_Campaign/*', PUT]],
    'CampaignInfoStreamToLake/Bridge/Role': [['Landing', 'cdc/campaignInfo/*', PUT]],
  };
  const allKeys = [...new Set(Object.values(HELD).flatMap((prefixes) => prefixes.map(([, keys]) => keys)))];
  const cases = Object.entries(HELD).flatMap(([role, prefixes]) =>
    ['Landing', 'Lake', 'Assets'].flatMap((bucket) =>
      allKeys.flatMap((keys) =>
        EXPORT.map((action) => {
          const held = prefixes.find(([heldBucket, heldKeys]) => heldBucket === bucket && heldKeys === keys);
          return { role, bucket, keys, action, acknowledged: held?.[2].includes(action) ?? false };
        }),
      ),
    ),
  );

  it(`acknowledges exactly the (role, bucket, prefix, action) wildcards of the table, and none of the other ${String(cases.filter((c) => !c.acknowledged).length)}`, () => {
    const outcome = cases.map(({ role, bucket, keys, action }) => ({ role, bucket, keys, action, acknowledged: pipelineAcknowledges(role, action, storageObjects(bucket, keys)) !== undefined }));
    expect(outcome).toEqual(cases);
  });

  it('gives each held prefix its reason, naming the prefix, bucket, role and access', () => {
    expect(pipelineAcknowledges('SalesStarSchema/Role', 's3:PutObject', storageObjects('Lake', 'warehouse*'))).toBe(
      'dynalake-dev-pipeline/SalesStarSchema/Role/DefaultPolicy/Resource: object keys under warehouse* of the lake bucket are data written at run time; SalesStarSchema/Role is held to its own prefixes (write)',
    );
    expect(pipelineAcknowledges('OrdersToLake/Role', 's3:PutObjectAcl', storageObjects('Assets', 'dynamodb-exports/orders*'))).toMatch(/dynamodb-exports\/orders\* of the assets bucket .* \(export\)$/);
    expect(pipelineAcknowledges('LakeCrawlerRole', 's3:GetObject', storageObjects('Lake', 'warehouse*'))).toMatch(/LakeCrawlerRole is held to its own prefixes \(read\)$/);
    expect(pipelineAcknowledges('OrdersToLake/Stream/Bridge/Role', 's3:PutObject', storageObjects('Landing', 'cdc/orders/*'))).toMatch(/\(put\)$/);
  });

  it("holds a role to its prefixes in the managed policies its statements overflow into, as in its inline policy", () => {
    const stack = new Stack(undefined, 'dynalake-dev-pipeline');
    const role = new Construct(new Construct(stack, 'OrdersToLake'), 'Role');
    const overflow = (id: string, keys: string) =>
      new CfnManagedPolicy(new Construct(role, id), 'Resource', { policyDocument: { Version: '2012-10-17', Statement: [allow('s3:PutObject', storageObjects('Lake', keys))] } });
    const own = overflow('OverflowPolicy1', 'curated/orders*');
    const other = overflow('OverflowPolicy2', 'warehouse*');
    const misnamed = overflow('OverflowPolicyA', 'curated/orders*');
    acknowledgeWildcards(stack, PIPELINE_WILDCARD_REASONS);
    expect(Object.values(acknowledgedRules(own))).toEqual([expect.stringMatching(/^dynalake-dev-pipeline\/OrdersToLake\/Role\/OverflowPolicy1\/Resource: object keys under curated\/orders\*/)]);
    expect(acknowledgedRules(other)).toEqual({});
    expect(acknowledgedRules(misnamed)).toEqual({});
  });

  it('takes a prefix literally: no other key pattern, bucket export or stack path matches it', () => {
    expect(pipelineAcknowledges('OrdersToLake/Role', 's3:GetObject', storageObjects('Lake', 'curated/ordersX'))).toBeUndefined();
    expect(pipelineAcknowledges('OrdersToLake/Role', 's3:GetObject', storageObjects('Lake', 'curated/orders*/more'))).toBeUndefined();
    expect(pipelineAcknowledges('OrdersToLake/Role', 's3:GetObject', storageObjects('Lake', 'xcurated/orders*'))).toBeUndefined();
    expect(pipelineAcknowledges('OrdersToLake/Role', 's3:GetObject', Fn.join('', [Fn.importValue('dynalake-dev-storage:ExportsOutputFnGetAttBucketsLake1A2B3C4DArn5E6F7A8'), '/curated/orders*']))).toBeUndefined();
    expect(pipelineAcknowledges('Nested/OrdersToLake/Role', 's3:GetObject', storageObjects('Lake', 'curated/orders*'))).toBeUndefined();
    expect(pipelineAcknowledges('OrdersToLake/RoleX', 's3:GetObject', storageObjects('Lake', 'curated/orders*'))).toBeUndefined();
  });
});

describe('PIPELINE_WILDCARD_REASONS: wildcards that are not a prefix of one role', () => {
  const ROLE = 'AnyJob/Role';
  // How cdk-nag renders the ARNs the pipeline stack builds with Stack.formatArn and the bootstrap bucket.
  const logGroups = (name: string) => `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${name}`;
  const glueTables = (database: string, name: string) => Fn.join('', ['arn:', Fn.ref('AWS::Partition'), ':glue:', Fn.ref('AWS::Region'), ':', Fn.ref('AWS::AccountId'), ':table/', Fn.ref(database), `/${name}`]);
  const ASSETS = 'arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>';
  // Each case titled by its resource as CloudFormation sees it: a token's own text holds a counter that changes from run to run.
  const titled = <T extends unknown[]>(cases: readonly (readonly [string, unknown, ...T])[]) =>
    cases.map(([action, resource, ...rest]) => [action, JSON.stringify(new Stack().resolve(resource)), resource, ...rest] as const);
  it.each(titled<[RegExp]>([
    ['s3:GetObject*', 'arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1/script.py', /asset grant .* fixed by aws-cdk-lib/],
    ['s3:GetBucket*', 'arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1', /asset grant/],
    ['s3:List*', 'arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1', /asset grant/],
    ['s3:GetObject', Fn.join('', ['arn:', Fn.ref('AWS::Partition'), ':s3:::cdk-hnb659fds-assets-', Fn.ref('AWS::AccountId'), '-', Fn.ref('AWS::Region'), '/*']), /objects are named by content hash/],
    ['cloudwatch:PutMetricData', '*', /PutMetricData has no resource-level permissions; a condition limits it to the Glue namespace/],
    ['xray:PutTraceSegments', '*', /X-Ray .* no resource-level permissions/],
    ['xray:PutTelemetryRecords', '*', /X-Ray .* no resource-level permissions/],
    ['dynamodb:ListStreams', '*', /ListStreams has no resource-level permissions/],
    ['logs:CreateLogStream', logGroups('/aws-glue/jobs/*'), /log groups of an encrypted job/],
    ['logs:AssociateKmsKey', logGroups('/aws-glue/crawlers*'), /crawler log groups/],
    ['dynamodb:DescribeExport', Fn.join('', [Fn.importValue('dynalake-dev-storage:ExportsOutputFnGetAttOrdersTable1A2B3C4DArn5E6F7A8B'), '/export/*']), /export ARNs are created at run time/],
    ['glue:UpdateTable', glueTables('CatalogDatabase1A2B3C4D', 'ddb_*'), /ddb_ tables it discovers/],
  ]))('acknowledges %s on %s', (action, _title, resource, reason) => {
    expect(pipelineAcknowledges(ROLE, action, resource)).toMatch(reason);
  });

  it.each(titled<[]>([
    ['s3:Put*', 'arn:aws:s3:::bucket'],
    ['s3:GetObject', 'arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1/*'],
    ['dynamodb:GetRecords', '*'],
    ['cloudwatch:PutMetricAlarm', '*'],
    ['logs:CreateLogStream', 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/other/*'],
    ['logs:CreateLogStream', 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/*/more'],
    ['dynamodb:DescribeExport', 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/*/more'],
    ['glue:UpdateTable', glueTables('CatalogDatabase1A2B3C4D', 'other_*')],
    ['glue:UpdateTable', glueTables('OtherDatabase1A2B3C4D', 'ddb_*')],
    ['glue:UpdateTable', glueTables('CatalogDatabase1A2B3C4D', 'ddb_*/more')],
    ['glue:UpdateTable', 'arn:aws:glue:eu-west-1:123456789012:table/dynalake_dev/ddb_*'],
    ['logs:CreateLogStream', 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/*'],
    ['logs:CreateLogStream', logGroups('/aws-glue/crawlers*:log-stream:x')],
    ['dynamodb:DescribeTable', 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/*'],
    ['s3:List*Tags', 'arn:aws:s3:::bucket'],
    ['s3:GetObject', `${ASSETS}/*/more`],
    ['cloudwatch:PutMetricData', '*/x'],
    ['cloudwatch:PutMetricDataStream', '*'],
    ['xray:PutTraceSegmentsBatch', '*'],
    ['dynamodb:ListStreamsOfAll', '*'],
  ]))('does not acknowledge %s on %s', (action, _title, resource) => {
    expect(pipelineAcknowledges(ROLE, action, resource)).toBeUndefined();
  });
});

describe('prefixWildcardReason: a wildcard over one prefix of one bucket, for one role', () => {
  /** The IAM5 findings acknowledged on `role`'s policy once the app is synthesized. */
  function acknowledgedOf(app: App, role: Role): string[] {
    app.synth();
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as IConstruct;
    return Object.keys(acknowledgedRules(policy)).filter((id) => id.startsWith('AwsSolutions-IAM5['));
  }

  function setUp() {
    const app = testApp();
    const storage = new Stack(app, 'Storage');
    const [lake, other] = [new Bucket(storage, 'Lake'), new Bucket(storage, 'Other')];
    const stack = new Stack(app, 'Jobs');
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('glue.amazonaws.com') });
    const neighbour = new Role(stack, 'Neighbour', { assumedBy: new ServicePrincipal('glue.amazonaws.com') });
    return { app, lake, other, role, neighbour };
  }

  it('acknowledges the prefix of that bucket, rendered as the import of another stack, for the access it names', () => {
    const { app, lake, role } = setUp();
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [lake.arnForObjects('curated/sensors*')] }));
    acknowledgeAtSynth(role, () => { acknowledgeWildcards(role, [prefixWildcardReason(role, lake, 'curated/sensors*', 'write')]); });
    const [acknowledged] = acknowledgedOf(app, role);
    expect(acknowledged).toMatch(/^AwsSolutions-IAM5\[Resource::Storage:ExportsOutputFnGetAttLake[0-9A-F]{8}Arn[0-9A-F]{8}\/curated\/sensors\*\]$/);
    expect(acknowledgedRules(role.node.findChild('DefaultPolicy').node.defaultChild as IConstruct)[acknowledged ?? '']).toBe(
      'Jobs/Role/DefaultPolicy/Resource: object keys under curated/sensors* of the bucket are data written at run time; Jobs/Role is held to its own prefixes (write)',
    );
  });

  it.each<[string, (parts: ReturnType<typeof setUp>) => void]>([
    ['another bucket', ({ other, role }) => role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [other.arnForObjects('curated/sensors*')] }))],
    ['a longer key pattern', ({ lake, role }) => role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects('curated/sensors*/x*')] }))],
    ['an action beyond the access', ({ lake, role }) => role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [lake.arnForObjects('curated/sensors*')] }))],
  ])('leaves a wildcard over %s unacknowledged', (_case, grant) => {
    const parts = setUp();
    grant(parts);
    acknowledgeAtSynth(parts.role, () => { acknowledgeWildcards(parts.role, [prefixWildcardReason(parts.role, parts.lake, 'curated/sensors*', 'read')]); });
    expect(acknowledgedOf(parts.app, parts.role)).toEqual([]);
  });

  it("is no reason for another role's policy", () => {
    const { app, lake, role, neighbour } = setUp();
    neighbour.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects('curated/sensors*')] }));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects('curated/sensors*')] }));
    acknowledgeAtSynth(role, () => { acknowledgeWildcards(neighbour, [prefixWildcardReason(role, lake, 'curated/sensors*', 'read')]); });
    expect(acknowledgedOf(app, neighbour)).toEqual([]);
  });
});

describe('the synth-time acknowledgement of wildcards (acknowledgeAtSynth with addComplianceChecks)', () => {
  function appWithWildcard(reasons: WildcardReasons): App {
    const app = testApp();
    const stack = new Stack(app, 'Small');
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('glue.amazonaws.com') });
    acknowledgeAtSynth(role, () => { acknowledgeWildcards(role, reasons); });
    // Granted after the acknowledgement is registered: it runs at synth, on the finished policy.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
    addComplianceChecks(app);
    return app;
  }

  it('passes when every wildcard has a reason', () => {
    expect(() => appWithWildcard([[/^Resource::arn:aws:s3:::bucket\/\*$/, 'the objects of the one bucket']]).synth()).not.toThrow();
  });

  it('fails on a wildcard without one', () => {
    expect(() => appWithWildcard([]).synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\]/);
  });
});

describe('Checkov acknowledgements', () => {
  const checkovSkips = (construct: IConstruct) => (CfnResource.isCfnResource(construct) ? (construct.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip : undefined);

  it('records a skip with the resource path and reason, replacing an earlier one of the same check', () => {
    const stack = new Stack(undefined, 'Stack');
    const resource = new CfnResource(stack, 'Queue', { type: 'AWS::SQS::Queue' });
    acknowledgeCheckov(resource, 'CKV_AWS_27', 'first');
    acknowledgeCheckov(resource, 'CKV_AWS_999', 'other');
    acknowledgeCheckov(resource, 'CKV_AWS_27', 'second');
    expect(checkovSkips(resource)).toEqual([
      { id: 'CKV_AWS_999', comment: 'Stack/Queue: other' },
      { id: 'CKV_AWS_27', comment: 'Stack/Queue: second' },
    ]);
  });

  it('refuses a construct without a CloudFormation resource', () => {
    const stack = new Stack(undefined, 'Stack');
    expect(() => acknowledgeCheckov(new Construct(stack, 'Bare'), 'CKV_AWS_27', 'reason')).toThrow('Stack/Bare is not backed by a CloudFormation resource');
  });

  /** Every Checkov skip and cdk-nag acknowledgement of an app, as `path check-id` lines, each reason checked to start with its path. */
  function acknowledgements(app: App): string[] {
    const lines: string[] = [];
    for (const node of app.node.findAll()) {
      for (const { id, comment } of checkovSkips(node) ?? []) {
        const path = comment.slice(0, comment.indexOf(': '));
        expect(comment.slice(path.length + 2).length).toBeGreaterThan(40);
        lines.push(`${path} ${id}`);
      }
      // The wildcard acknowledgements (IAM5) have their own tests above.
      for (const [id, reason] of Object.entries(acknowledgedRules(node)).filter(([rule]) => !rule.startsWith('AwsSolutions-IAM5['))) {
        expect(reason.startsWith(`${node.node.path}: `)).toBe(true);
        expect(reason.length).toBeGreaterThan(node.node.path.length + 40);
        lines.push(`${node.node.path} ${id}`);
      }
    }
    return lines.sort();
  }

  const bridge = (name: string) => [
    `dynalake-dev-pipeline/${name}/Bridge/FailureQueue AwsSolutions-SQS3`,
    `dynalake-dev-pipeline/${name}/Bridge/FailureQueue CKV_AWS_27`,
    `dynalake-dev-pipeline/${name}/Bridge/Function CKV_AWS_115`,
    `dynalake-dev-pipeline/${name}/Bridge/Function CKV_AWS_116`,
    `dynalake-dev-pipeline/${name}/Bridge/Function CKV_AWS_117`,
    `dynalake-dev-pipeline/${name}/Bridge/Function CKV_AWS_173`,
    `dynalake-dev-pipeline/${name}/Bridge/Logs CKV_AWS_158`,
  ];
  const common = [
    ...bridge('OrdersToLake/Stream'),
    ...bridge('UserCampaignStreamToLake'),
    ...bridge('CampaignInfoStreamToLake'),
    ...bridge('UploadToGlue'),
    ...bridge('RefreshFollowUp'),
    'dynalake-dev-pipeline/Refresh/ScheduleDeadLetters AwsSolutions-SQS3',
    'dynalake-dev-pipeline/Refresh/ScheduleDeadLetters CKV_AWS_27',
    'dynalake-dev-pipeline/UploadToGlue/Idempotency CKV_AWS_119',
    'dynalake-dev-pipeline/UploadToGlue/NotificationsRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'dynalake-dev-storage/Buckets/AccessLogs CKV_AWS_18',
    'dynalake-dev-storage/Buckets/AccessLogs CKV_AWS_21',
    'dynalake-dev-storage/Buckets/Assets CKV_AWS_21',
  ];
  const awsCdkHandlers = (names: readonly string[]) => names.flatMap((path) => ['CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_117'].map((id) => `${path} ${id}`));

  it('acknowledges exactly these checks in the default app, each with its path and a reason', () => {
    const { app } = buildStacks();
    app.synth(); // the singletons' acknowledgements are made at synth
    const handlers = app.node
      .findAll()
      .filter((node) => CfnResource.isCfnResource(node) && node.cfnResourceType === 'AWS::Lambda::Function' && /BucketNotificationsHandler|AutoDeleteObjects/.test(node.node.path))
      .map((node) => node.node.path);
    expect(handlers).toHaveLength(1);
    const tables = ['Orders', 'UserCampaign', 'CampaignInfo', 'Uploads'].map((table) => `dynalake-dev-storage/${table}/Table CKV_AWS_119`);
    expect(acknowledgements(app)).toEqual([...common, ...tables, ...awsCdkHandlers(handlers)].sort());
  });

  it('acknowledges no AWS-owned-key finding on tables under a customer-managed key', () => {
    const { app } = buildStacks({ stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy' });
    app.synth();
    const handlers = app.node
      .findAll()
      .filter((node) => CfnResource.isCfnResource(node) && node.cfnResourceType === 'AWS::Lambda::Function' && /BucketNotificationsHandler|AutoDeleteObjects/.test(node.node.path))
      .map((node) => node.node.path);
    expect(handlers).toHaveLength(2);
    expect(acknowledgements(app)).toEqual([...common.map((line) => line.replace('-dev-', '-sandbox-')), ...awsCdkHandlers(handlers)].sort());
  });
});
