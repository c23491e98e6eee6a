import type { PipelineConfigInput } from '../../../lib/config';
import { buildStacks } from '../../helpers/cdk-app';
import { allow, closed, inRegion, STORAGE } from '../../helpers/policy-lines';
import { accessControls, templateValues } from '../../helpers/template-values';

// Every expected value below is written out: a changed action, principal, condition, resource or
// target fails a test. References read as construct paths (test/helpers/template-values.ts).


const { landing: LANDING, lake: LAKE, assets: ASSETS, ordersTable: ORDERS_TABLE, uploadsTable: UPLOADS_TABLE } = STORAGE;
const CDK_ASSETS = 'arn:${AWS::Partition}:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}';
const CATALOG = inRegion('glue', 'catalog');
const DATABASE = inRegion('glue', 'database/${Catalog/Database}');
const LOG_WRITES = ['logs:AssociateKmsKey', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'];
const GLUE_KEY_USE = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** The marker keys of the parent folders of a prefix, as EMRFS HEADs and writes them. */
const CDC_MARKERS = ['cdc', 'cdc/', 'cdc_$folder$'];
const CURATED_MARKERS = ['curated', 'curated/', 'curated_$folder$'];
const STATE_MARKERS = ['state', 'state/', 'state_$folder$'];
const GLUE_TEMP_MARKERS = ['glue-temp', 'glue-temp/', 'glue-temp_$folder$'];
const EXPORTS_MARKERS = ['dynamodb-exports', 'dynamodb-exports/', 'dynamodb-exports_$folder$'];

/** EMRFS reading `keys` of `bucket`: the keys and the parent markers, and listing the bucket. */
function readUnder(bucket: string, keys: string, markers: readonly string[]): string[] {
  return [...allow(['s3:GetObject'], [keys, ...markers].map((key) => `${bucket}/${key}`)), ...allow(['s3:GetBucketLocation', 's3:ListBucket'], [bucket])];
}

/** EMRFS and its committers reading, writing and deleting `keys` of `bucket`; only the markers besides. */
function writeUnder(bucket: string, keys: string, markers: readonly string[]): string[] {
  return [
    ...readUnder(bucket, keys, markers),
    ...allow(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListMultipartUploadParts', 's3:PutObject'], [`${bucket}/${keys}`]),
    ...allow(['s3:PutObject'], markers.map((key) => `${bucket}/${key}`)),
    ...allow(['s3:ListBucketMultipartUploads'], [bucket]),
  ];
}

/** What every Glue job role holds besides its data: its temp folder, its logs, the Glue key, metrics in Glue's namespace and the deployment's, its script and helper module. */
function glueJobBase(script: string): string[] {
  return [
    ...writeUnder(ASSETS, `glue-temp/${script}*`, GLUE_TEMP_MARKERS),
    ...allow(LOG_WRITES, [inRegion('logs', 'log-group:/aws-glue/jobs/*')]),
    ...allow(GLUE_KEY_USE, ['${GlueKey.Arn}']),
    ...allow(['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': ['Glue', 'dynalake-dev'] } }),
    // aws-cdk-lib's asset grant: the script and the helper module zip in the bootstrap bucket.
    ...allow(['s3:GetBucket*', 's3:GetObject*', 's3:List*'], [CDK_ASSETS, `${CDK_ASSETS}/*`, `${CDK_ASSETS}/<asset-hash>.zip`]),
  ];
}

/** Each Glue job role's closed set of grants, as the README describes the job. */
const GLUE_JOB_GRANTS = {
  'OrdersToLake/Role': closed(
    glueJobBase('orders_to_lake'),
    readUnder(LANDING, 'cdc/orders*', CDC_MARKERS),
    writeUnder(LAKE, 'curated/orders*', CURATED_MARKERS),
    writeUnder(LAKE, 'state/orders_to_lake*', STATE_MARKERS),
    writeUnder(ASSETS, 'dynamodb-exports/orders*', EXPORTS_MARKERS),
    // The backfill: DynamoDB exports the orders table with the job's permissions.
    allow(['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'], [`${ASSETS}/dynamodb-exports/orders*`]),
    allow(['dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime'], [ORDERS_TABLE]),
    allow(['dynamodb:DescribeExport'], [`${ORDERS_TABLE}/export/*`]),
  ),
  'CampaignProgress/Role': closed(
    glueJobBase('campaign_progress'),
    readUnder(LANDING, 'cdc/user_Campaign*', CDC_MARKERS),
    readUnder(LANDING, 'cdc/campaignInfo*', CDC_MARKERS),
    writeUnder(LAKE, 'curated/campaign_progress*', CURATED_MARKERS),
    writeUnder(LAKE, 'state/campaign_progress*', STATE_MARKERS),
  ),
  'CsvToDynamodb/Role': closed(
    glueJobBase('csv_to_dynamodb'),
    readUnder(LANDING, 'raw*', []),
    allow(['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable', 'dynamodb:PutItem'], [UPLOADS_TABLE]),
  ),
  // Reads the curated orders, writes the warehouse and its build state: never writes or deletes under curated/.
  'SalesStarSchema/Role': closed(
    glueJobBase('sales_star_schema'),
    readUnder(LAKE, 'curated/orders*', CURATED_MARKERS),
    writeUnder(LAKE, 'warehouse*', []),
    writeUnder(LAKE, 'state/sales_star_schema*', STATE_MARKERS),
  ),
} as const;

type GlueJobRole = keyof typeof GLUE_JOB_GRANTS;
const GLUE_JOB_ROLES = Object.keys(GLUE_JOB_GRANTS) as GlueJobRole[];
const ASSUMED_BY_GLUE = ['Allow Service:glue.amazonaws.com sts:AssumeRole'];
const ASSUMED_BY_LAMBDA = ['Allow Service:lambda.amazonaws.com sts:AssumeRole'];

/** What both crawler roles hold: their logs, the Glue key, the database. */
const crawlerBase = [
  ...allow(LOG_WRITES, [inRegion('logs', 'log-group:/aws-glue/crawlers*')]),
  ...allow(GLUE_KEY_USE, ['${GlueKey.Arn}']),
  ...allow(['glue:GetDatabase'], [CATALOG, DATABASE]),
];
const LAKE_TABLES = ['curated_orders', 'campaign_progress', 'fact_sales', 'dim_date', 'dim_product', 'dim_customer', 'dim_country'];

/** A stream bridge: its stream, its cdc/ prefix, the refresh workflow, its logs, its on-failure queue, tracing. */
function streamBridgeGrants(id: string, table: string, cdcTable: string): string[] {
  return closed(
    allow(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], [`\${storage:${table}/Table.StreamArn}`]),
    allow(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']),
    allow(['s3:PutObject'], [`${LANDING}/cdc/${cdcTable}/*`]),
    allow(['glue:StartWorkflowRun'], [inRegion('glue', 'workflow/${Refresh/Workflow}')]),
    allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`\${${id}/Bridge/Logs.Arn}`]),
    allow(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], [`\${${id}/Bridge/FailureQueue.Arn}`]),
  );
}

const TLS_ONLY_QUEUE = (queue: string) => ({ queues: [`\${${queue}}`], allows: [`Deny AWS:* sqs:* \${${queue}.Arn} if {"Bool":{"aws:SecureTransport":"false"}}`] });

/** An alarm into the alert topic when `metric` reaches `threshold` in a 5-minute period; no data is no alarm. */
function alarm(namespace: string, metricName: string, statistic: string, dimension: { Name: string; Value: string }, threshold: number) {
  return {
    AlarmActions: ['${Alerts}'],
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Dimensions: [dimension],
    EvaluationPeriods: 1,
    MetricName: metricName,
    Namespace: namespace,
    Period: 300,
    Statistic: statistic,
    Threshold: threshold,
    TreatMissingData: 'notBreaching',
  };
}
/** The freshness objective of a CDC-merge job: a run over 30 minutes behind, and no run reported for two hours (the hourly schedule's two waits). */
const freshnessAlarms = (id: string, job: string, dataset: string) => {
  const dimensions = [
    { Name: 'dataset', Value: dataset },
    { Name: 'service', Value: job },
  ];
  return {
    [`${id}/FreshnessAlarm`]: {
      AlarmActions: ['${Alerts}'],
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: dimensions,
      EvaluationPeriods: 1,
      MetricName: 'LakeFreshnessSeconds',
      Namespace: 'dynalake-dev',
      Period: 300,
      Statistic: 'Maximum',
      Threshold: 1800,
      TreatMissingData: 'ignore',
    },
    [`${id}/NotReportingAlarm`]: {
      AlarmActions: ['${Alerts}'],
      ComparisonOperator: 'LessThanThreshold',
      DatapointsToAlarm: 1,
      Dimensions: dimensions,
      EvaluationPeriods: 1,
      MetricName: 'RunDurationSeconds',
      Namespace: 'dynalake-dev',
      Period: 7200,
      Statistic: 'SampleCount',
      Threshold: 1,
      TreatMissingData: 'breaching',
    },
  };
};
const bridgeAlarms = (id: string, stream: boolean) => ({
  [`${id}/Bridge/ErrorsAlarm`]: alarm('AWS/Lambda', 'Errors', 'Sum', { Name: 'FunctionName', Value: `\${${id}/Bridge/Function}` }, 1),
  [`${id}/Bridge/FailureQueueDepthAlarm`]: alarm('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', { Name: 'QueueName', Value: `\${${id}/Bridge/FailureQueue.QueueName}` }, 1),
  // Fifteen minutes behind the stream.
  ...(stream ? { [`${id}/Bridge/IteratorAgeAlarm`]: alarm('AWS/Lambda', 'IteratorAge', 'Maximum', { Name: 'FunctionName', Value: `\${${id}/Bridge/Function}` }, 900_000) } : {}),
});
const toAlerts = [{ Arn: '${Alerts}', Id: 'Target0' }];
const ROOT_ADMINISTERS_KEY = 'Allow AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root kms:* *';

function pipelineControls(config: PipelineConfigInput = {}) {
  const { pipeline, storage } = buildStacks(config);
  return accessControls(templateValues(pipeline, { storage }));
}

describe('the Glue job roles of the pipeline stack', () => {
  const controls = pipelineControls();

  it.each(GLUE_JOB_ROLES)('holds %s to its closed set of (action, resource) pairs, assumed by Glue alone, with no managed policy', (role) => {
    expect(controls.roles[role]).toEqual({ assumedBy: ASSUMED_BY_GLUE, allows: GLUE_JOB_GRANTS[role], managedPolicies: [] });
  });
});

describe('the Glue job roles with a customer-managed data key', () => {
  const controls = pipelineControls({ encryption: 'kms' });

  it.each(GLUE_JOB_ROLES)('adds to %s only the use of the data key', (role) => {
    expect(controls.roles[role]?.allows).toEqual(closed(GLUE_JOB_GRANTS[role], allow(['kms:Decrypt', 'kms:GenerateDataKey'], ['${storage:DataKey.Arn}'])));
  });
});

describe('every access control, alert route and alarm of the pipeline stack', () => {
  const controls = pipelineControls();

  it('gives each role exactly these grants, and no role more', () => {
    expect(controls.roles).toEqual({
      ...Object.fromEntries(GLUE_JOB_ROLES.map((role) => [role, { assumedBy: ASSUMED_BY_GLUE, allows: GLUE_JOB_GRANTS[role], managedPolicies: [] }])),
      SourceCrawlerRole: {
        assumedBy: ASSUMED_BY_GLUE,
        allows: closed(
          crawlerBase,
          allow(['dynamodb:DescribeTable', 'dynamodb:Scan'], ['Orders', 'UserCampaign', 'CampaignInfo', 'Uploads'].map((table) => `\${storage:${table}/Table.Arn}`)),
          allow(['glue:BatchGetPartition', 'glue:CreateTable', 'glue:GetPartitions', 'glue:GetTable', 'glue:GetTables', 'glue:UpdateTable'], [CATALOG, DATABASE, inRegion('glue', 'table/${Catalog/Database}/ddb_*')]),
        ),
        managedPolicies: [],
      },
      LakeCrawlerRole: {
        assumedBy: ASSUMED_BY_GLUE,
        allows: closed(
          crawlerBase,
          allow(['s3:GetObject'], [`${LAKE}/curated/orders*`, `${LAKE}/curated/campaign_progress*`, `${LAKE}/warehouse*`]),
          ...['curated/orders*', 'curated/campaign_progress*', 'warehouse*'].map((keys) => allow(['s3:ListBucket'], [LAKE], { StringLike: { 's3:prefix': [keys] } })),
          allow(
            ['glue:BatchCreatePartition', 'glue:BatchGetPartition', 'glue:BatchUpdatePartition', 'glue:CreatePartition', 'glue:GetPartition', 'glue:GetPartitions', 'glue:GetTable', 'glue:UpdatePartition'],
            [CATALOG, DATABASE, ...LAKE_TABLES.map((table) => inRegion('glue', `table/\${Catalog/Database}/\${Catalog/${table}/Table}`))],
          ),
        ),
        managedPolicies: [],
      },
      // The schedule's role: start this one workflow, give up into its dead-letter queue.
      'SchedulerRoleForTarget-68a2ef': {
        assumedBy: [
          'Allow Service:scheduler.amazonaws.com sts:AssumeRole if {"StringEquals":{"aws:SourceAccount":"${AWS::AccountId}","aws:SourceArn":"arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/default"}}',
        ],
        allows: closed(allow(['glue:StartWorkflowRun'], [inRegion('glue', 'workflow/dynalake-dev-refresh')]), allow(['sqs:SendMessage'], ['${Refresh/ScheduleDeadLetters.Arn}'])),
        managedPolicies: [],
      },
      'OrdersToLake/Stream/Bridge/Role': { assumedBy: ASSUMED_BY_LAMBDA, allows: streamBridgeGrants('OrdersToLake/Stream', 'Orders', 'orders'), managedPolicies: [] },
      'UserCampaignStreamToLake/Bridge/Role': { assumedBy: ASSUMED_BY_LAMBDA, allows: streamBridgeGrants('UserCampaignStreamToLake', 'UserCampaign', 'user_Campaign'), managedPolicies: [] },
      'CampaignInfoStreamToLake/Bridge/Role': { assumedBy: ASSUMED_BY_LAMBDA, allows: streamBridgeGrants('CampaignInfoStreamToLake', 'CampaignInfo', 'campaignInfo'), managedPolicies: [] },
      'UploadToGlue/Bridge/Role': {
        assumedBy: ASSUMED_BY_LAMBDA,
        allows: closed(
          allow(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], ['${UploadToGlue/Idempotency.Arn}']),
          allow(['glue:StartJobRun'], [inRegion('glue', 'job/${CsvToDynamodb/Job}')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], ['${UploadToGlue/Bridge/Logs.Arn}']),
          allow(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], ['${UploadToGlue/Bridge/FailureQueue.Arn}']),
          allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']),
        ),
        managedPolicies: [],
      },
      // The end of a refresh run: Glue's view of it, the next run, the change objects' names and the merge jobs' state objects.
      'RefreshFollowUp/Bridge/Role': {
        assumedBy: ASSUMED_BY_LAMBDA,
        allows: closed(
          allow(['glue:GetWorkflow', 'glue:StartWorkflowRun'], [inRegion('glue', 'workflow/${Refresh/Workflow}')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], ['${RefreshFollowUp/Bridge/Logs.Arn}']),
          allow(['s3:GetObject'], [`${LAKE}/state/campaign_progress/merged.json`, `${LAKE}/state/orders_to_lake/merged.json`]),
          allow(['s3:ListBucket'], [LANDING], { StringLike: { 's3:prefix': ['cdc/orders/*', 'cdc/user_Campaign/*', 'cdc/campaignInfo/*'] } }),
          allow(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], ['${RefreshFollowUp/Bridge/FailureQueue.Arn}']),
          allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']),
        ),
        managedPolicies: [],
      },
      // aws-cdk-lib's bucket-notifications custom resource: the landing bucket's notifications, its own logs.
      'UploadToGlue/NotificationsRole': {
        assumedBy: ASSUMED_BY_LAMBDA,
        allows: allow(['s3:GetBucketNotification', 's3:PutBucketNotification'], [LANDING]),
        managedPolicies: ['arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
    });
  });

  it('lets the logs service use the Glue key for Glue log groups only, and EventBridge and CloudWatch use the alerts key', () => {
    const logsOnGlueLogGroups = { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': inRegion('logs', 'log-group:/aws-glue/*') } };
    expect(controls.keyPolicies).toEqual({
      GlueKey: closed(
        [ROOT_ADMINISTERS_KEY],
        allow(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'], ['*'], logsOnGlueLogGroups).map((line) =>
          line.replace(/^Allow /, 'Allow Service:logs.${AWS::Region}.amazonaws.com '),
        ),
      ),
      AlertsKey: [
        ROOT_ADMINISTERS_KEY,
        'Allow Service:cloudwatch.amazonaws.com kms:Decrypt *',
        'Allow Service:cloudwatch.amazonaws.com kms:GenerateDataKey* *',
        'Allow Service:events.amazonaws.com kms:Decrypt *',
        'Allow Service:events.amazonaws.com kms:GenerateDataKey* *',
      ],
    });
  });

  it('lets only EventBridge and this account’s alarms publish to the alert topic, over TLS', () => {
    expect(controls.topicPolicies).toEqual({
      'Alerts/Policy': {
        topics: ['${Alerts}'],
        allows: [
          'Allow Service:cloudwatch.amazonaws.com sns:Publish ${Alerts} if {"StringEquals":{"aws:SourceAccount":"${AWS::AccountId}"},"ArnLike":{"aws:SourceArn":"arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}}',
          'Allow Service:events.amazonaws.com sns:Publish ${Alerts}',
          'Deny * sns:Publish ${Alerts} if {"Bool":{"aws:SecureTransport":"false"}}',
        ],
      },
    });
  });

  it('refuses plain HTTP on every queue, and grants nothing in queue policies', () => {
    expect(controls.queuePolicies).toEqual({
      'Refresh/ScheduleDeadLetters/Policy': TLS_ONLY_QUEUE('Refresh/ScheduleDeadLetters'),
      'OrdersToLake/Stream/Bridge/FailureQueue/Policy': TLS_ONLY_QUEUE('OrdersToLake/Stream/Bridge/FailureQueue'),
      'UserCampaignStreamToLake/Bridge/FailureQueue/Policy': TLS_ONLY_QUEUE('UserCampaignStreamToLake/Bridge/FailureQueue'),
      'CampaignInfoStreamToLake/Bridge/FailureQueue/Policy': TLS_ONLY_QUEUE('CampaignInfoStreamToLake/Bridge/FailureQueue'),
      'UploadToGlue/Bridge/FailureQueue/Policy': TLS_ONLY_QUEUE('UploadToGlue/Bridge/FailureQueue'),
      'RefreshFollowUp/Bridge/FailureQueue/Policy': TLS_ONLY_QUEUE('RefreshFollowUp/Bridge/FailureQueue'),
    });
    expect(controls.bucketPolicies).toEqual({});
  });

  it('lets only the landing bucket of this account invoke the upload bridge, and only the refresh run-end rules the follow-up', () => {
    expect(controls.lambdaPermissions).toEqual([
      { Action: 'lambda:InvokeFunction', FunctionName: '${RefreshFollowUp/Bridge/Function.Arn}', Principal: 'events.amazonaws.com', SourceArn: '${RefreshFollowUp/CrawlerEnded.Arn}' },
      { Action: 'lambda:InvokeFunction', FunctionName: '${RefreshFollowUp/Bridge/Function.Arn}', Principal: 'events.amazonaws.com', SourceArn: '${RefreshFollowUp/JobEnded.Arn}' },
      { Action: 'lambda:InvokeFunction', FunctionName: '${UploadToGlue/Bridge/Function.Arn}', Principal: 's3.amazonaws.com', SourceAccount: '${AWS::AccountId}', SourceArn: LANDING },
    ]);
  });

  it('routes the failures of the jobs, the crawlers and the workgroup to the alert topic, the ends of the refresh workflow’s jobs and crawler to the follow-up, and nothing else', () => {
    const toFollowUp = [{ Arn: '${RefreshFollowUp/Bridge/Function.Arn}', Id: 'Target0' }];
    expect(controls.rules).toEqual({
      'RefreshFollowUp/JobEnded': {
        State: 'ENABLED',
        EventPattern: {
          source: ['aws.glue'],
          'detail-type': ['Glue Job State Change'],
          detail: { jobName: ['${OrdersToLake/Job}', '${CampaignProgress/Job}', '${SalesStarSchema/Job}'], state: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'] },
        },
        Targets: toFollowUp,
      },
      'RefreshFollowUp/CrawlerEnded': {
        State: 'ENABLED',
        EventPattern: { source: ['aws.glue'], 'detail-type': ['Glue Crawler State Change'], detail: { crawlerName: ['${LakeCrawler}'], state: ['Succeeded', 'Failed'] } },
        Targets: toFollowUp,
      },
      GlueJobFailed: {
        State: 'ENABLED',
        EventPattern: {
          source: ['aws.glue'],
          'detail-type': ['Glue Job State Change'],
          detail: { jobName: ['${CampaignProgress/Job}', '${SalesStarSchema/Job}'], state: ['FAILED', 'TIMEOUT', 'ERROR'] },
        },
        Targets: toAlerts,
      },
      // An upload's load, apart, for the alarm that counts its failures.
      UploadRunFailed: {
        State: 'ENABLED',
        EventPattern: { source: ['aws.glue'], 'detail-type': ['Glue Job State Change'], detail: { jobName: ['${CsvToDynamodb/Job}'], state: ['FAILED', 'TIMEOUT', 'ERROR'] } },
        Targets: toAlerts,
      },
      // The orders dataset announces its own job's failures, as any LakeDataset given a topic does.
      'OrdersToLake/JobFailed': {
        State: 'ENABLED',
        EventPattern: { source: ['aws.glue'], 'detail-type': ['Glue Job State Change'], detail: { jobName: ['${OrdersToLake/Job}'], state: ['FAILED', 'TIMEOUT', 'ERROR'] } },
        Targets: toAlerts,
      },
      GlueCrawlerFailed: {
        State: 'ENABLED',
        EventPattern: { source: ['aws.glue'], 'detail-type': ['Glue Crawler State Change'], detail: { crawlerName: ['${SourceCrawler}', '${LakeCrawler}'], state: ['Failed'] } },
        Targets: toAlerts,
      },
      AthenaQueryFailed: {
        State: 'ENABLED',
        EventPattern: { source: ['aws.athena'], 'detail-type': ['Athena Query State Change'], detail: { workgroupName: ['${Workgroup}'], currentState: ['FAILED'] } },
        Targets: toAlerts,
      },
    });
  });

  it('alarms into the alert topic on every bridge error, on-failure queue, stream lag, scheduled start given up, failed upload run, and on the freshness objective of each CDC merge', () => {
    expect(controls.alarms).toEqual({
      ...freshnessAlarms('OrdersToLake/Freshness', 'orders_to_lake', 'orders'),
      ...freshnessAlarms('CampaignProgressFreshness', 'campaign_progress', 'campaign_progress'),
      RefreshScheduleDeadLettersAlarm: alarm('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', { Name: 'QueueName', Value: '${Refresh/ScheduleDeadLetters.QueueName}' }, 1),
      // Each failed upload run invokes its rule's target once.
      UploadRunsFailedAlarm: alarm('AWS/Events', 'Invocations', 'Sum', { Name: 'RuleName', Value: '${UploadRunFailed}' }, 1),
      ...bridgeAlarms('OrdersToLake/Stream', true),
      ...bridgeAlarms('UserCampaignStreamToLake', true),
      ...bridgeAlarms('CampaignInfoStreamToLake', true),
      ...bridgeAlarms('UploadToGlue', false),
      ...bridgeAlarms('RefreshFollowUp', false),
    });
  });
});
