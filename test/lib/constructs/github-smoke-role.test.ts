import { App, Stack } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { GitHubSmokeRole, type GitHubSmokeRoleProps } from '../../../lib/constructs/github-smoke-role';
import type { PipelineConfigInput } from '../../../lib/config';
import { acknowledgedRules, buildStacks } from '../../helpers/cdk-app';
import { thrownBy } from '../../helpers/errors';
import { allow, closed, inRegion, STORAGE } from '../../helpers/policy-lines';
import { accessControls, templateValues } from '../../helpers/template-values';

// Every trust and permission below is written out: a broadened condition, action or resource fails a test.

const { landing: LANDING, lake: LAKE, assets: ASSETS, ordersTable: ORDERS_TABLE, dataKey: DATA_KEY } = STORAGE;
/** The deploy-access stack's provider: IAM names it after the issuer. */
const ACCOUNT_PROVIDER = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com';
const viaService = (service: string) => ({ StringEquals: { 'kms:ViaService': `${service}.\${AWS::Region}.amazonaws.com` } });

const trust = (provider: string, repository: string, environment: string) => [
  `Allow Federated:${provider} sts:AssumeRoleWithWebIdentity if ${JSON.stringify({ StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': `repo:${repository}:environment:${environment}` } })}`,
];

/** What the smoke test of `stage` does, and nothing else. */
function smokeGrants(stage: string): string[] {
  return closed(
    // The outputs of the stage's two stacks.
    allow(['cloudformation:DescribeStacks'], [inRegion('cloudformation', `stack/dynalake-${stage}-storage/*`), inRegion('cloudformation', `stack/dynalake-${stage}-pipeline/*`)]),
    // Its own orders only: every partition key of the request starts with SMOKE-.
    allow(['dynamodb:DeleteItem', 'dynamodb:PutItem'], [ORDERS_TABLE], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SMOKE-*'] } }),
    // The orders' change objects.
    allow(['s3:ListBucket'], [LANDING], { StringLike: { 's3:prefix': ['cdc/orders/*'] } }),
    allow(['s3:GetObject'], [`${LANDING}/cdc/orders/*`]),
    // The refresh workflow.
    allow(['glue:GetWorkflow', 'glue:StartWorkflowRun'], [inRegion('glue', 'workflow/${Refresh/Workflow}')]),
    // The query: the workgroup, the catalog table and its ancestors, the curated orders, the results.
    allow(['athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StartQueryExecution'], [inRegion('athena', `workgroup/dynalake-${stage}`)]),
    allow(['glue:GetDatabase', 'glue:GetPartitions', 'glue:GetTable'], [inRegion('glue', 'catalog'), inRegion('glue', 'database/${Catalog/Database}'), inRegion('glue', 'table/${Catalog/Database}/curated_orders')]),
    allow(['glue:GetDatabase'], [inRegion('glue', 'database/default')]),
    allow(['s3:ListBucket'], [LAKE], { StringLike: { 's3:prefix': ['curated/orders/*'] } }),
    allow(['s3:GetObject'], [`${LAKE}/curated/orders/*`]),
    allow(['s3:ListBucket'], [ASSETS], { StringLike: { 's3:prefix': ['athena-results/*'] } }),
    allow(['s3:GetBucketLocation'], [LAKE, ASSETS]),
    allow(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], [`${ASSETS}/athena-results/*`]),
  );
}

/** The access controls of the pipeline stack built with `config`. */
function pipelineOf(config: PipelineConfigInput) {
  const stacks = buildStacks(config);
  const values = templateValues(stacks.pipeline, { storage: stacks.storage });
  return { ...stacks, values, roles: accessControls(values).roles };
}

describe('the smoke role of the pipeline stack', () => {
  it('is trusted by the stage’s GitHub environment of that repository only, through the account’s provider, for an hour at most', () => {
    const { pipeline, values, roles } = pipelineOf({ githubRepository: 'acme/shop-lake' });
    expect(pipeline.smokeRole).toBeDefined();
    expect(roles['GitHubSmokeRole/Role']?.assumedBy).toEqual(trust(ACCOUNT_PROVIDER, 'acme/shop-lake', 'dev'));
    expect(roles['GitHubSmokeRole/Role']?.managedPolicies).toEqual([]);
    const { RoleName, MaxSessionDuration } = values.resources['GitHubSmokeRole/Role']?.Properties ?? {};
    expect([RoleName, MaxSessionDuration]).toEqual(['dynalake-dev-github-smoke', 3600]);
    // No provider of its own: the deploy-access stack holds the account's.
    expect(values.ofType('AWS::IAM::OIDCProvider')).toEqual({});
  });

  it('may do what the smoke test does and nothing else', () => {
    const { roles } = pipelineOf({ githubRepository: 'acme/shop-lake' });
    expect(roles['GitHubSmokeRole/Role']?.allows).toEqual(smokeGrants('dev'));
  });

  it('uses the data key, when there is one, through DynamoDB to read its items and through S3 to read objects and write query results', () => {
    const { roles } = pipelineOf({ githubRepository: 'acme/shop-lake', encryption: 'kms' });
    expect(roles['GitHubSmokeRole/Role']?.allows).toEqual(
      closed(smokeGrants('dev'), allow(['kms:Decrypt'], [DATA_KEY], viaService('dynamodb')), allow(['kms:Decrypt', 'kms:GenerateDataKey'], [DATA_KEY], viaService('s3'))),
    );
  });

  it('exports its ARN as <prefix>-<stage>-smoke-role-arn', () => {
    const { values } = pipelineOf({ githubRepository: 'acme/shop-lake' });
    expect(values.outputs.SmokeRoleArn).toEqual({ Value: '${GitHubSmokeRole/Role.Arn}', Export: { Name: 'dynalake-dev-smoke-role-arn' } });
  });

  it('trusts the account’s own provider when given, and is the prod stage’s in prod', () => {
    const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
    const { values, roles } = pipelineOf({ githubRepository: 'acme/shop', githubOidcProviderArn: arn, stage: 'prod', prefix: 'shop' });
    expect(roles['GitHubSmokeRole/Role']?.assumedBy).toEqual(trust(arn, 'acme/shop', 'prod'));
    expect(values.resources['GitHubSmokeRole/Role']?.Properties.RoleName).toBe('shop-prod-github-smoke');
    expect(values.outputs.SmokeRoleArn).toEqual({ Value: '${GitHubSmokeRole/Role.Arn}', Export: { Name: 'shop-prod-smoke-role-arn' } });
    expect(roles['GitHubSmokeRole/Role']?.allows).toContain(`Allow cloudformation:DescribeStacks ${inRegion('cloudformation', 'stack/shop-prod-storage/*')}`);
  });

  it.each([
    ['without githubRepository', {}],
    ['for a stage GitHub does not deploy', { githubRepository: 'acme/shop-lake', stage: 'qa' }],
    ['for a stage GitHub does not deploy, with the stages given', { githubRepository: 'acme/shop-lake', stage: 'dev', githubDeployStages: ['staging', 'prod'] }],
  ] as const)('is not there %s', (_case, config: PipelineConfigInput) => {
    const { pipeline, values, roles } = pipelineOf(config);
    expect(pipeline.smokeRole).toBeUndefined();
    expect(Object.keys(roles).filter((path) => path.startsWith('GitHubSmokeRole'))).toEqual([]);
    expect(values.outputs.SmokeRoleArn).toBeUndefined();
  });

  it('synthesizes with cdk-nag and the deploy rules and no finding, with and without the data key', () => {
    for (const encryption of ['default', 'kms'] as const) {
      const { app } = buildStacks({ githubRepository: 'acme/shop-lake', encryption });
      expect(() => app.synth()).not.toThrow();
    }
  });

  it('acknowledges its wildcards, each with its reason: the ids of the two stacks and its three folders', () => {
    const { app, pipeline } = buildStacks({ githubRepository: 'acme/shop-lake' });
    app.synth();
    const policy = pipeline.smokeRole?.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (!policy) throw new Error('the role has its default policy');
    // cdk-nag renders a bucket imported from the storage stack by its export, whose name ends in hashes.
    const unhashed = (text: string) => text.replace(/([A-Za-z])[0-9A-F]{8}Arn[0-9A-F]{8}/g, '$1<hash>Arn<hash>');
    const acknowledged = Object.fromEntries(Object.entries(acknowledgedRules(policy)).map(([id, reason]) => [unhashed(id), reason]));
    const path = 'dynalake-dev-pipeline/GitHubSmokeRole';
    const stackId = "a stack's ARN ends in the id CloudFormation gives it when it creates the stack; the name before it is exact";
    const folder = (keys: string, access: string) => `object keys under ${keys} of the bucket are data written at run time; ${path} is held to its own prefixes (${access})`;
    const finding = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;
    const bucket = (id: string, keys: string) => finding(`dynalake-dev-storage:ExportsOutputFnGetAttBuckets${id}<hash>Arn<hash>/${keys}`);
    expect(acknowledged).toEqual(
      Object.fromEntries(
        [
          [finding('arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/dynalake-dev-storage/*'), stackId],
          [finding('arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/dynalake-dev-pipeline/*'), stackId],
          [bucket('Landing', 'cdc/orders/*'), folder('cdc/orders/*', 'read')],
          [bucket('Lake', 'curated/orders/*'), folder('curated/orders/*', 'read')],
          [bucket('Assets', 'athena-results/*'), folder('athena-results/*', 'write')],
        ].map(([id, reason]) => [id, `${path}/Role/DefaultPolicy/Resource: ${reason}`]),
      ),
    );
  });

  it('fails synth when it may read beyond its folders: another dataset’s change objects', () => {
    const { app, pipeline, storage } = buildStacks({ githubRepository: 'acme/shop-lake' });
    pipeline.smokeRole?.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [storage.buckets.landing.arnForObjects('cdc/*')] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::dynalake-dev-storage:ExportsOutputFnGetAttBucketsLanding[0-9A-F]{8}Arn[0-9A-F]{8}\/cdc\/\*\]/);
  });

  it('fails synth when it may write where it only reads', () => {
    const { app, pipeline, storage } = buildStacks({ githubRepository: 'acme/shop-lake' });
    pipeline.smokeRole?.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [storage.buckets.lake.arnForObjects('curated/orders/*')] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::dynalake-dev-storage:ExportsOutputFnGetAttBucketsLake[0-9A-F]{8}Arn[0-9A-F]{8}\/curated\/orders\/\*\]/);
  });
});

describe('GitHubSmokeRole', () => {
  const smokeRole = (props: Partial<GitHubSmokeRoleProps> & { query?: Partial<GitHubSmokeRoleProps['query']> }) => {
    const stack = new Stack(new App(), 'Smoke');
    const bucket = Bucket.fromBucketName(stack, 'Bucket', 'lake');
    const { query, ...rest } = props;
    return new GitHubSmokeRole(stack, 'Role', {
      repository: 'acme/shop',
      environment: 'dev',
      roleName: 'lake-dev-github-smoke',
      stackNames: ['lake-dev-storage'],
      table: Table.fromTableName(stack, 'Table', 'orders'),
      changes: { bucket, prefix: 'cdc/orders/' },
      workflowName: 'lake-dev-refresh',
      ...rest,
      query: {
        workgroupName: 'lake-dev',
        catalogArn: 'arn:aws:glue:eu-west-1:123456789012:catalog',
        databaseArn: 'arn:aws:glue:eu-west-1:123456789012:database/lake',
        tableArn: 'arn:aws:glue:eu-west-1:123456789012:table/lake/curated_orders',
        data: { bucket, prefix: 'curated/orders/' },
        results: { bucket, prefix: 'athena-results/' },
        ...query,
      },
    });
  };

  it('holds the items it may touch to the key prefix it is given', () => {
    const construct = smokeRole({ testKeyPrefix: 'CANARY#' });
    const { allows } = accessControls(templateValues(Stack.of(construct))).roles['Role/Role'] ?? { allows: [] };
    expect(allows.filter((line) => line.includes('dynamodb:'))).toEqual(
      allow(['dynamodb:DeleteItem', 'dynamodb:PutItem'], ['arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CANARY#*'] } }),
    );
  });

  it.each([
    [{ repository: 'acme/*' }, 'Smoke/Role: repository "acme/*" is not a GitHub repository (expected owner/name)'],
    [{ environment: '*' }, 'Smoke/Role: environment "*" is not a GitHub environment name'],
    [{ roleName: 'lake smoke' }, 'Smoke/Role: roleName "lake smoke" is not an IAM role name (1 to 64 letters, digits or +=,.@_-)'],
    [
      { oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/*' },
      'Smoke/Role: oidcProviderArn "arn:aws:iam::123456789012:oidc-provider/*" is not the ARN of a GitHub OIDC provider (expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)',
    ],
    [{ stackNames: [] }, 'Smoke/Role: stackNames must name at least one stack'],
    [{ stackNames: ['lake-*'] }, 'Smoke/Role: stack name "lake-*" is not a CloudFormation stack name'],
    [{ testKeyPrefix: '' }, 'Smoke/Role: testKeyPrefix "" is not a key prefix (at least one character, no * ? or $): the role could reach other items'],
    [{ testKeyPrefix: 'SMOKE*' }, 'Smoke/Role: testKeyPrefix "SMOKE*" is not a key prefix (at least one character, no * ? or $): the role could reach other items'],
    [{ workflowName: 'lake-*' }, 'Smoke/Role: workflowName "lake-*" is not a Glue or Athena name (letters, digits and ._-)'],
    [{ query: { workgroupName: '*' } }, 'Smoke/Role: query.workgroupName "*" is not a Glue or Athena name (letters, digits and ._-)'],
    [{ changes: { bucket: undefined as never, prefix: 'cdc/orders' } }, 'Smoke/Role: changes.prefix "cdc/orders" is not a folder (ends in /, no leading /, no * ? or $)'],
    [{ query: { data: { bucket: undefined as never, prefix: '/curated/orders/' } } }, 'Smoke/Role: query.data.prefix "/curated/orders/" is not a folder (ends in /, no leading /, no * ? or $)'],
    [{ query: { results: { bucket: undefined as never, prefix: 'athena-*/' } } }, 'Smoke/Role: query.results.prefix "athena-*/" is not a folder (ends in /, no leading /, no * ? or $)'],
  ])('refuses %j, naming the construct: a wildcard would reach other repositories, items, stacks or objects', (props, message) => {
    expect((thrownBy(() => smokeRole(props as Partial<GitHubSmokeRoleProps>)) as Error).message).toBe(message);
  });
});
