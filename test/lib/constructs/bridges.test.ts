import { Match, Template } from 'aws-cdk-lib/assertions';
import type { BridgeFunction } from '../../../lib/constructs/bridge-function';
import { buildStacks, resourceOf } from '../../helpers/cdk-app';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const actionsOf = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);

describe('the Lambda bridges of the pipeline stack', () => {
  const { pipeline, storage } = buildStacks();
  const template = Template.fromStack(pipeline);
  const resolve = (value: unknown) => pipeline.resolve(value) as unknown;
  const streamBridge = (cdcTable: string) => {
    // The orders' bridge is its dataset's (OrdersToLake/Stream), the others are the stack's own (<Table>StreamToLake).
    const bridge = pipeline.streamBridges.find((candidate) => candidate.node.path.split('/')[1]?.toLowerCase().startsWith(cdcTable.replace(/_/g, '').toLowerCase()));
    if (!bridge) throw new Error(`no stream bridge for ${cdcTable}`);
    return bridge.bridge;
  };
  const policyStatements = (bridge: BridgeFunction): Statement[] => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: resourceOf(bridge.role).logicalId }] } });
    return Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  };
  const bridges: [string, BridgeFunction][] = [
    ['orders', streamBridge('orders')],
    ['user_Campaign', streamBridge('user_Campaign')],
    ['campaignInfo', streamBridge('campaignInfo')],
    ['upload', pipeline.uploadBridge.bridge],
  ];

  it.each(bridges)('runs the %s bridge on Node.js 24 on arm64, traced, with JSON logs kept 30 days', (_name, bridge) => {
    expect(resourceOf(bridge.function).Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: resourceOf(bridge.logGroup).logicalId } },
    });
    expect(resourceOf(bridge.logGroup).Properties).toMatchObject({ RetentionInDays: 30 });
  });

  it.each(bridges)('gives the %s bridge a role with no managed policy', (_name, bridge) => {
    expect(resourceOf(bridge.role).Properties.ManagedPolicyArns).toBeUndefined();
  });

  it.each(bridges)('gives the %s bridge an encrypted, TLS-only on-failure queue', (_name, bridge) => {
    expect(resourceOf(bridge.failureQueue).Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: resourceOf(bridge.failureQueue).logicalId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it.each(bridges)('alarms on errors and on-failure queue depth of the %s bridge into the alerts topic', (_name, bridge) => {
    const alarms = bridge.alarms.map((alarm) => resourceOf(alarm).Properties);
    const byMetric = Object.fromEntries(alarms.map((alarm) => [alarm.MetricName as string, alarm]));
    expect(byMetric.Errors).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(byMetric.ApproximateNumberOfMessagesVisible).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 1 });
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: resourceOf(pipeline.alerts).logicalId }]);
  });

  it.each(['orders', 'user_Campaign', 'campaignInfo'])('maps the %s stream with bisect, bounded retries and age, partial responses and the on-failure queue', (cdcTable) => {
    const bridge = streamBridge(cdcTable);
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: resourceOf(bridge.function).logicalId } } });
    expect(Object.values(mappings)).toHaveLength(1);
    const table = { orders: storage.orders, user_Campaign: storage.userCampaign, campaignInfo: storage.campaignInfo }[cdcTable];
    expect((Object.values(mappings)[0] as { Properties: unknown }).Properties).toMatchObject({
      EventSourceArn: resolve(table?.table.tableStreamArn),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 30,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [resourceOf(bridge.failureQueue).logicalId, 'Arn'] } } },
    });
    expect(resourceOf(bridge.function).Properties.Environment).toEqual({
      Variables: expect.objectContaining({
        DATASET: cdcTable,
        LANDING_BUCKET: resolve(storage.buckets.landing.bucketName),
        WORKFLOW_NAME: resolve(pipeline.refresh.workflow.workflowName),
        // One namespace per deployment: <prefix>-<stage>.
        METRICS_NAMESPACE: 'dynalake-dev',
      }) as unknown,
    });
  });

  it.each(['orders', 'user_Campaign', 'campaignInfo'])('alarms when the %s bridge lags 15 minutes behind its stream', (cdcTable) => {
    const iteratorAge = streamBridge(cdcTable).alarms.map((alarm) => resourceOf(alarm).Properties).find((alarm) => alarm.MetricName === 'IteratorAge');
    expect(iteratorAge).toMatchObject({ Statistic: 'Maximum', Threshold: 900_000 });
  });

  it.each(['orders', 'user_Campaign', 'campaignInfo'])('lets the %s bridge read its own stream, put under its own cdc/ prefix and start the refresh workflow, and nothing else', (cdcTable) => {
    const table = { orders: storage.orders, user_Campaign: storage.userCampaign, campaignInfo: storage.campaignInfo }[cdcTable];
    const statements = policyStatements(streamBridge(cdcTable));
    const grants = statements.map((statement) => ({ actions: actionsOf(statement).sort(), resource: statement.Resource }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resource: resolve(table?.table.tableStreamArn) },
        { actions: ['s3:PutObject'], resource: resolve(storage.buckets.landing.arnForObjects(`cdc/${cdcTable}/*`)) },
        {
          actions: ['glue:StartWorkflowRun'],
          resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':glue:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workflow/', resolve(pipeline.refresh.workflow.workflowName)]] },
        },
      ]),
    );
    const allActions = statements.flatMap(actionsOf).sort();
    expect(allActions).toEqual(
      [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'glue:StartWorkflowRun',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:PutObject',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // `*` only for the APIs without resource-level permissions.
    const wildcardActions = statements.filter((statement) => statement.Resource === '*').flatMap(actionsOf).sort();
    expect(wildcardActions).toEqual(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('notifies the upload bridge of raw/*.csv creations only, filtered in the notification itself', () => {
    const upload = pipeline.uploadBridge.bridge;
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: resolve(storage.buckets.landing.bucketName),
      Managed: false,
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: Match.arrayEquals([{ Name: 'suffix', Value: '.csv' }, { Name: 'prefix', Value: 'raw/' }]) } },
            LambdaFunctionArn: { 'Fn::GetAtt': [resourceOf(upload.function).logicalId, 'Arn'] },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [resourceOf(upload.function).logicalId, 'Arn'] },
      SourceArn: resolve(storage.buckets.landing.bucketArn),
    });
  });

  it('retries a failed upload event twice, then sends it to the on-failure queue', () => {
    const upload = pipeline.uploadBridge.bridge;
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: resourceOf(upload.function).logicalId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [resourceOf(upload.failureQueue).logicalId, 'Arn'] } } },
    });
  });

  it('lets the upload bridge start the one csv_to_dynamodb job and use its idempotency table, and nothing else', () => {
    const { bridge, idempotencyTable } = pipeline.uploadBridge;
    const statements = policyStatements(bridge);
    expect(statements.map((statement) => ({ actions: actionsOf(statement).sort(), resource: statement.Resource }))).toEqual(
      expect.arrayContaining([
        {
          actions: ['glue:StartJobRun'],
          resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':glue:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':job/', resolve(pipeline.jobs.csv_to_dynamodb.job.jobName)]] },
        },
        { actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resource: { 'Fn::GetAtt': [resourceOf(idempotencyTable).logicalId, 'Arn'] } },
      ]),
    );
    expect(statements.filter((statement) => statement.Resource === '*').flatMap(actionsOf).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('s3:') || action.startsWith('glue:') && action !== 'glue:StartJobRun')).toEqual([]);
    expect(resourceOf(bridge.function).Properties.Environment).toEqual({
      Variables: expect.objectContaining({
        GLUE_JOB_NAME: resolve(pipeline.jobs.csv_to_dynamodb.job.jobName),
        TARGET_TABLE_NAME: resolve(storage.uploads.table.tableName),
        IDEMPOTENCY_TABLE_NAME: { Ref: resourceOf(idempotencyTable).logicalId },
        DATASET: 'uploads',
        METRICS_NAMESPACE: 'dynalake-dev',
      }) as unknown,
    });
  });

  it('keeps idempotency records in an encrypted, PITR-protected table that expires them', () => {
    expect(resourceOf(pipeline.uploadBridge.idempotencyTable).Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('lets CloudWatch alarms publish to the encrypted alerts topic', () => {
    const key = pipeline.alerts.masterKey;
    if (!key) throw new Error('the alerts topic has no key');
    const keyPolicy = resourceOf(key).Properties.KeyPolicy as { Statement: { Principal?: { Service?: string | string[] }; Action: string[] }[] };
    const forCloudWatch = keyPolicy.Statement.find((statement) => [statement.Principal?.Service].flat().includes('cloudwatch.amazonaws.com'));
    expect(forCloudWatch?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });
});

describe('the Lambda bridges with a customer-managed key and custom stream settings', () => {
  const { pipeline, storage } = buildStacks({ encryption: 'kms', streamBatchSize: 250, streamBatchingWindowSeconds: 5, logRetentionDays: 90 });
  const template = Template.fromStack(pipeline);

  it('takes batch size, batching window and log retention from config', () => {
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 250, MaximumBatchingWindowInSeconds: 5 });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('lets each stream bridge decrypt its stream and encrypt its change objects with the data key', () => {
    const keyArn = pipeline.resolve(storage.encryptionKey?.keyArn) as unknown;
    for (const { bridge } of pipeline.streamBridges) {
      const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: resourceOf(bridge.role).logicalId }] } });
      const statements = Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
      expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']) as unknown, Resource: keyArn }));
    }
  });
});
