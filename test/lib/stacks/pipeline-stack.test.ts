import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ORDERS_DATASET } from '../../../lib/dataset';
import { parentFolderMarkers } from '../../../lib/s3-grants';
import { GLUE_SCRIPTS_DIR, type PipelineStack, RUN_ARGUMENTS } from '../../../lib/stacks/pipeline-stack';
import { buildStacks, resourceOf } from '../../helpers/cdk-app';
import { dashboardWidgets, metricLine, widgetTitled } from '../../helpers/dashboard-body';
import { accessControls, templateValues } from '../../helpers/template-values';
import { describeTriggerGraph, triggerEdges, triggerGraphProblems } from '../../helpers/trigger-graph';

type JobName = keyof PipelineStack['jobs'];
const JOBS: readonly JobName[] = ['orders_to_lake', 'campaign_progress', 'csv_to_dynamodb', 'sales_star_schema'];

interface PolicyDocument {
  readonly Statement: readonly { readonly Effect: string; readonly Action: string | string[]; readonly Resource: unknown }[];
}

/** Every statement of every inline policy of a template. */
function statements(template: Template) {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => (policy as { Properties: { PolicyDocument: PolicyDocument } }).Properties.PolicyDocument.Statement);
}

describe('PipelineStack with the default configuration', () => {
  const { pipeline, storage } = buildStacks();
  const template = Template.fromStack(pipeline);
  // References read as construct paths: `${GlueKey.Arn}`, `${storage:Buckets/Assets}`.
  const values = templateValues(pipeline, { storage });
  const controls = accessControls(values);
  const job = (name: JobName) => resourceOf(pipeline.jobs[name].job);

  it('names the stack from prefix and stage, apart from the storage stack', () => {
    expect(pipeline.stackName).toBe('dynalake-dev-pipeline');
  });

  it.each(JOBS)('runs %s on Glue 5.0 with its own role, the security configuration and continuous logging', (name) => {
    expect(job(name).Properties).toMatchObject({
      Name: `dynalake-dev-${name.replace(/_/g, '-')}`,
      GlueVersion: '5.0',
      Command: { Name: 'glueetl', PythonVersion: '3' },
      WorkerType: 'G.1X',
      NumberOfWorkers: 2,
      Timeout: 60,
      SecurityConfiguration: { Ref: resourceOf(pipeline.node.findChild('SecurityConfiguration')).logicalId },
      Role: { 'Fn::GetAtt': [resourceOf(pipeline.jobs[name].role).logicalId, 'Arn'] },
      DefaultArguments: expect.objectContaining({ '--enable-continuous-cloudwatch-log': 'true' }) as unknown,
    });
  });

  it('keeps no Glue job bookmarks: the jobs that read new change objects keep their own state in the lake', () => {
    const bookmarks = Object.fromEntries(JOBS.map((name) => [name, (job(name).Properties.DefaultArguments as Record<string, string>)['--job-bookmark-option']]));
    expect(bookmarks).toEqual({
      orders_to_lake: 'job-bookmark-disable',
      campaign_progress: 'job-bookmark-disable',
      csv_to_dynamodb: 'job-bookmark-disable',
      sales_star_schema: 'job-bookmark-disable',
    });
    expect((job('orders_to_lake').Properties.DefaultArguments as Record<string, string>)['--STATE_PREFIX']).toBe('state/orders_to_lake/');
    expect((job('campaign_progress').Properties.DefaultArguments as Record<string, string>)['--STATE_PREFIX']).toBe('state/campaign_progress/');
  });

  it('gives the CDC merge the orders dataset description, which the job reads as the lake table it keeps', () => {
    const dataset = (job('orders_to_lake').Properties.DefaultArguments as Record<string, string>)['--DATASET'];
    expect(JSON.parse(dataset ?? 'null')).toEqual(ORDERS_DATASET);
  });

  it('lets csv_to_dynamodb use half the write capacity of the table by default', () => {
    expect((job('csv_to_dynamodb').Properties.DefaultArguments as Record<string, string>)['--WRITE_PERCENT']).toBe('0.5');
  });

  it('runs every job one at a time except csv_to_dynamodb, whose limit comes from config', () => {
    expect(Object.fromEntries(JOBS.map((name) => [name, (job(name).Properties.ExecutionProperty as { MaxConcurrentRuns: number }).MaxConcurrentRuns]))).toEqual({
      orders_to_lake: 1,
      campaign_progress: 1,
      csv_to_dynamodb: 3,
      sales_star_schema: 1,
    });
  });

  it('encrypts S3 output, CloudWatch logs and bookmarks in the security configuration, logs and bookmarks with the Glue key', () => {
    expect(values.resources.SecurityConfiguration?.Properties).toEqual({
      Name: 'dynalake-dev-glue',
      EncryptionConfiguration: {
        S3Encryptions: [{ S3EncryptionMode: 'SSE-S3' }],
        CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: '${GlueKey.Arn}' },
        JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: '${GlueKey.Arn}' },
      },
    });
  });

  // Logs only writes an encrypted log group when the key policy lets the logs service use the key.
  const LOGS_SERVICE_ON_GLUE_LOG_GROUPS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'].map(
    (action) =>
      `Allow Service:logs.\${AWS::Region}.amazonaws.com ${action} * if {"ArnLike":{"kms:EncryptionContext:aws:logs:arn":"arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws-glue/*"}}`,
  );

  it("lets the account administer the Glue key and the logs service use it for Glue's log groups only", () => {
    expect(controls.keyPolicies.GlueKey).toEqual(['Allow AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root kms:* *', ...LOGS_SERVICE_ON_GLUE_LOG_GROUPS]);
  });

  it('encrypts the CloudWatch logs of Glue with the very key whose policy lets the logs service use it', () => {
    const encryption = (values.resources.SecurityConfiguration?.Properties.EncryptionConfiguration as { CloudWatchEncryption: { KmsKeyArn: string } }).CloudWatchEncryption;
    const keyPath = /^\$\{(.+)\.Arn\}$/.exec(encryption.KmsKeyArn)?.[1] ?? '';
    expect(values.resources[keyPath]?.Type).toBe('AWS::KMS::Key');
    expect(controls.keyPolicies[keyPath]).toEqual(expect.arrayContaining(LOGS_SERVICE_ON_GLUE_LOG_GROUPS));
  });

  it('gives every role only its own statements: no AWS managed policy but the one CDK attaches to its bucket-notifications role', () => {
    const notificationsRole = resourceOf(pipeline.uploadBridge.notificationsRole).logicalId;
    const withManagedPolicies = Object.entries(template.findResources('AWS::IAM::Role'))
      .filter(([, role]) => (role as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns !== undefined)
      .map(([logicalId]) => logicalId);
    expect(withManagedPolicies).toEqual([notificationsRole]);
  });

  it('has no wildcard action outside the CDK asset grant of the Glue scripts', () => {
    const wildcardActions = statements(template)
      .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]))
      .filter((action) => action.includes('*'));
    expect([...new Set(wildcardActions)].sort()).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
  });

  it('uses Resource "*" only for actions that have no resource-level permissions', () => {
    const starred = statements(template)
      .filter((statement) => statement.Resource === '*')
      .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
    expect([...new Set(starred)].sort()).toEqual(['cloudwatch:PutMetricData', 'dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it("holds cloudwatch:PutMetricData of every job to Glue's namespace and the deployment's, which each job is told", () => {
    const metrics = statements(template).filter((statement) => statement.Action === 'cloudwatch:PutMetricData');
    expect(metrics).toHaveLength(JOBS.length);
    for (const statement of metrics) expect(statement).toEqual({ Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': ['Glue', 'dynalake-dev'] } } });
    for (const name of JOBS) expect((resourceOf(pipeline.jobs[name].job).Properties.DefaultArguments as Record<string, unknown>)['--METRICS_NAMESPACE']).toBe('dynalake-dev');
  });

  /** The S3 statements of a job role, each as `bucket:key-pattern` per action. */
  const s3Grants = (name: JobName, action: string): string[] => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: resourceOf(pipeline.jobs[name].role).logicalId }] } });
    const grants = Object.values(policies)
      .flatMap((policy) => (policy as { Properties: { PolicyDocument: PolicyDocument } }).Properties.PolicyDocument.Statement)
      .filter((statement) => [statement.Action].flat().includes(action))
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => {
        const text = JSON.stringify(resource);
        return `${(/Buckets(Lake|Landing|Assets)/.exec(text)?.[1] ?? '?').toLowerCase()}:${/"\/([^"]*)"/.exec(text)?.[1] ?? ''}`;
      });
    return [...new Set(grants)].sort();
  };
  /** A prefix pattern and its parent folders' marker keys, as `bucket:key`. */
  const withParents = (grant: string): string[] => {
    const [bucket, pattern] = grant.split(':') as [string, string];
    return [grant, ...parentFolderMarkers(pattern.replace(/\*$/, '')).map((key) => `${bucket}:${key}`)];
  };

  it.each([
    ['orders_to_lake', ['assets:dynamodb-exports/orders*', 'lake:curated/orders*', 'lake:state/orders_to_lake*']],
    ['campaign_progress', ['lake:curated/campaign_progress*', 'lake:state/campaign_progress*']],
    ['csv_to_dynamodb', []],
    ['sales_star_schema', ['lake:state/sales_star_schema*', 'lake:warehouse*']],
  ] as const)('holds the S3 writes of %s to its own prefixes (and its own Glue temp folder), and their parent folder markers', (name, prefixes) => {
    const expected = [`assets:glue-temp/${name}*`, ...prefixes].flatMap(withParents).sort();
    expect(s3Grants(name, 's3:PutObject')).toEqual(expected);
    expect(s3Grants(name, 's3:DeleteObject')).toEqual([`assets:glue-temp/${name}*`, ...prefixes].sort());
    // EMRFS's committers upload in parts: they may abort and list the parts of their own prefixes only.
    expect(s3Grants(name, 's3:AbortMultipartUpload')).toEqual([`assets:glue-temp/${name}*`, ...prefixes].sort());
    expect(s3Grants(name, 's3:ListMultipartUploadParts')).toEqual([`assets:glue-temp/${name}*`, ...prefixes].sort());
  });

  it.each(JOBS)('lets %s list the buckets it uses and HEAD the parent folders of its prefixes, as EMRFS does', (name) => {
    const reads = s3Grants(name, 's3:GetObject');
    for (const grant of s3Grants(name, 's3:PutObject')) expect(reads).toContain(grant);
    const buckets = [...new Set(reads.map((grant) => grant.split(':')[0]))].sort();
    expect(s3Grants(name, 's3:ListBucket')).toEqual(buckets.map((bucket) => `${bucket}:`));
    expect(s3Grants(name, 's3:GetBucketLocation')).toEqual(buckets.map((bucket) => `${bucket}:`));
  });

  it('lets orders_to_lake have DynamoDB export its table to the export prefix (backfill), with the S3 actions the export asks for', () => {
    expect(s3Grants('orders_to_lake', 's3:PutObjectAcl')).toEqual(['assets:dynamodb-exports/orders*']);
    expect(s3Grants('orders_to_lake', 's3:AbortMultipartUpload')).toContain('assets:dynamodb-exports/orders*');
  });

  it('lets csv_to_dynamodb write only the uploads table', () => {
    const policy = resourceOf(pipeline.jobs.csv_to_dynamodb.role.node.findChild('DefaultPolicy')).Properties.PolicyDocument as PolicyDocument;
    const dynamo = policy.Statement.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]?.Action ?? []].flat().sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable', 'dynamodb:PutItem']);
    expect(JSON.stringify(dynamo[0]?.Resource)).toMatch(/"Fn::ImportValue":"dynalake-dev-storage:ExportsOutputFnGetAttUploadsTable[0-9A-F]+Arn/);
  });

  it('crawls the DynamoDB tables on the catalog schedule from config', () => {
    expect(resourceOf(pipeline.crawlers.source).Properties).toMatchObject({
      Schedule: { ScheduleExpression: 'cron(0 8 * * ? *)' },
      TablePrefix: 'ddb_',
      Targets: { DynamoDBTargets: expect.arrayContaining([expect.objectContaining({ ScanAll: false })]) as unknown },
    });
    expect((resourceOf(pipeline.crawlers.source).Properties.Targets as { DynamoDBTargets: unknown[] }).DynamoDBTargets).toHaveLength(4);
  });

  it('crawls the lake tables it declares without a schedule of its own (the workflow starts it), never changing their schema', () => {
    const lake = resourceOf(pipeline.crawlers.lake).Properties;
    expect(lake).not.toHaveProperty('Schedule');
    expect(lake).toMatchObject({ SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' } });
    const crawled = (lake.Targets as { CatalogTargets: { Tables: { Ref: string }[] }[] }).CatalogTargets[0]?.Tables ?? [];
    const names = crawled.map(({ Ref }) => (template.toJSON() as { Resources: Record<string, { Properties: { TableInput: { Name: string } } }> }).Resources[Ref]?.Properties.TableInput.Name);
    // dynalake's own tables, then each dataset's as its LakeDataset declares it.
    expect(names).toEqual(['campaign_progress', 'fact_sales', 'dim_date', 'dim_product', 'dim_customer', 'dim_country', 'curated_orders']);
  });

  it('declares curated_orders as Parquet with an exact decimal price and projected day partitions', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'curated_orders',
        PartitionKeys: [{ Name: 'invoice_day', Type: 'string' }],
        Parameters: Match.objectLike({ 'projection.enabled': 'true', 'projection.invoice_day.type': 'date', 'projection.invoice_day.format': 'yyyy-MM-dd' }),
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([{ Name: 'quantity', Type: 'int' }, { Name: 'unit_price', Type: 'decimal(12,3)' }, { Name: 'customer_id', Type: 'bigint' }]),
          SerdeInfo: Match.objectLike({ SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' }),
        }),
      }),
    });
  });

  it('chains the refresh workflow: on-demand start (scheduled by EventBridge Scheduler) → both curated jobs → star schema → lake crawler, every node reachable', () => {
    const edges = triggerEdges(template.toJSON() as { Resources: Record<string, { Type: string }> });
    expect(triggerGraphProblems(edges)).toEqual([]);
    console.log(`dynalake-dev-refresh trigger graph:\n${describeTriggerGraph(edges)}`);
    expect(edges.map((edge) => [edge.type, edge.waitsFor, edge.starts])).toEqual([
      ['ON_DEMAND', [], [`job:${job('orders_to_lake').logicalId}`, `job:${job('campaign_progress').logicalId}`]],
      ['CONDITIONAL', [`job:${job('orders_to_lake').logicalId}`, `job:${job('campaign_progress').logicalId}`], [`job:${job('sales_star_schema').logicalId}`]],
      ['CONDITIONAL', [`job:${job('sales_star_schema').logicalId}`], [`crawler:${resourceOf(pipeline.crawlers.lake).logicalId}`]],
    ]);
    template.hasResourceProperties('AWS::Glue::Workflow', { Name: 'dynalake-dev-refresh', MaxConcurrentRuns: 1 });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 * * * ? *)', ScheduleExpressionTimezone: 'UTC', Target: Match.objectLike({ Input: JSON.stringify({ Name: 'dynalake-dev-refresh' }) }) });
    // A scheduled start the scheduler gave up on alerts.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [resourceOf(pipeline.refresh.deadLetterQueue).logicalId, 'QueueName'] } }],
      AlarmActions: [{ Ref: resourceOf(pipeline.alerts).logicalId }],
    });
  });

  it('writes Athena results encrypted under athena-results/ of the assets bucket and enforces the workgroup settings', () => {
    expect(values.resources.Workgroup?.Properties.WorkGroupConfiguration).toEqual({
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' }, OutputLocation: 's3://${storage:Buckets/Assets}/athena-results/' },
    });
  });

  it('has the assets bucket expire the Athena results 30 days after the query (and abort their incomplete uploads after 7)', () => {
    const { OutputLocation } = (values.resources.Workgroup?.Properties.WorkGroupConfiguration as { ResultConfiguration: { OutputLocation: string } }).ResultConfiguration;
    const location = /^s3:\/\/\$\{storage:Buckets\/Assets\}\/(.*)$/.exec(OutputLocation);
    const resultsPrefix = location?.[1] ?? '';
    const rules = (resourceOf(storage.buckets.assets).Properties.LifecycleConfiguration as { Rules: { Prefix?: string }[] }).Rules;
    // Every rule that applies to the result objects: those without a prefix and those whose prefix they fall under.
    expect(rules.filter((rule) => resultsPrefix.startsWith(rule.Prefix ?? ''))).toEqual([
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
      { Id: 'expire-athena-results', Prefix: 'athena-results/', ExpirationInDays: 30, Status: 'Enabled' },
    ]);
  });

  it('ships the four named queries', () => {
    const names = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((query) => (query as { Properties: { Name: string } }).Properties.Name);
    expect(names.sort()).toEqual(['CampaignTaskCompletion', 'CancellationRate', 'RevenueByMonth', 'TopCountriesByRevenue']);
  });

  it('encrypts the alert topic with the alerts key, sends it nothing unencrypted and no e-mail by default', () => {
    expect(values.resources.Alerts).toEqual({ Type: 'AWS::SNS::Topic', Properties: expect.objectContaining({ KmsMasterKeyId: '${AlertsKey.Arn}' }) as unknown });
    expect(values.resources.AlertsKey?.Properties.Description).toBe('Encrypts the dynalake-dev alerts topic');
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  // The alert topic's policy, the alerts key's policy and the three alert rules are compared whole,
  // with every other policy and rule of the stack, in pipeline-access.test.ts.

  it('exports the names users type and the alert topic, each under <prefix>-<stage>-…', () => {
    expect(values.outputs).toEqual({
      RefreshWorkflowName: { Value: '${Refresh/Workflow}', Export: { Name: 'dynalake-dev-refresh-workflow-name' } },
      CsvToDynamoDbJobName: { Value: '${CsvToDynamodb/Job}', Export: { Name: 'dynalake-dev-csv-to-dynamodb-job-name' } },
      GlueDatabaseName: { Value: '${Catalog/Database}', Export: { Name: 'dynalake-dev-glue-database-name' } },
      AthenaWorkgroupName: { Value: '${Workgroup}', Export: { Name: 'dynalake-dev-athena-workgroup-name' } },
      AlertTopicArn: { Value: '${Alerts}', Export: { Name: 'dynalake-dev-alert-topic-arn' } },
    });
    // What each reference names: the refresh workflow, the job, the database, the workgroup, the topic.
    expect([values.resources['Refresh/Workflow']?.Properties.Name, values.resources['CsvToDynamodb/Job']?.Properties.Name, values.resources['Catalog/Database']?.Properties.DatabaseInput]).toEqual([
      'dynalake-dev-refresh',
      'dynalake-dev-csv-to-dynamodb',
      { Name: 'dynalake_dev', Description: 'dynalake: curated and warehouse tables of the lake' },
    ]);
    expect([values.resources.Workgroup?.Type, values.resources.Workgroup?.Properties.Name, values.resources.Alerts?.Type]).toEqual(['AWS::Athena::WorkGroup', 'dynalake-dev', 'AWS::SNS::Topic']);
  });

  describe('its dashboard', () => {
    const widgets = dashboardWidgets(pipeline, { storage });
    const lines = (title: string) => widgetTitled(widgets, title).metrics.map(metricLine);

    it('is named <prefix>-<stage>-pipeline and reads the figures from the namespace the bridges and jobs are told', () => {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'dynalake-dev-pipeline' });
      const own = widgets.flatMap((widget) => widget.metrics).filter((metric) => !metric.namespace.startsWith('AWS/'));
      expect(new Set(own.map((metric) => metric.namespace))).toEqual(new Set(['dynalake-dev']));
    });

    it('draws the freshness of both CDC merges (orders, campaign progress) against the default 30-minute objective', () => {
      expect(lines('Lake freshness')).toEqual([
        'dynalake-dev/LakeFreshnessSeconds dataset=orders service=orders_to_lake Maximum 3600',
        'dynalake-dev/LakeFreshnessSeconds dataset=campaign_progress service=campaign_progress Maximum 3600',
      ]);
      expect(widgetTitled(widgets, 'Lake freshness').annotations?.horizontal?.map((line) => line.value)).toEqual([1800]);
    });

    it('sets each stream’s changes beside the merge job that takes them in: the orders beside orders_to_lake, both campaign tables beside campaign_progress', () => {
      expect(lines('Changes in versus rows merged: orders_to_lake')).toContain('dynalake-dev/ChangeRecordsIn dataset=orders service=stream-to-lake Sum 3600');
      expect(widgetTitled(widgets, 'Changes in versus rows merged: orders_to_lake').expressions.map((expression) => expression.expression)).toEqual(['upserted + removed']);
      expect(lines('Changes in versus change objects merged: campaign_progress')).toEqual([
        'dynalake-dev/ChangeRecordsIn dataset=user_Campaign service=stream-to-lake Sum 3600',
        'dynalake-dev/ChangeRecordsIn dataset=campaignInfo service=stream-to-lake Sum 3600',
        'dynalake-dev/ChangeObjectsMerged dataset=campaign_progress service=campaign_progress Sum 3600 right',
      ]);
    });

    it("watches every bridge function and failure queue of the stack, and the refresh schedule's dead letters", () => {
      const streams = ['OrdersToLake/Stream', 'UserCampaignStreamToLake', 'CampaignInfoStreamToLake'];
      expect(lines('Stream bridges: iterator age')).toEqual(streams.map((stream) => `AWS/Lambda/IteratorAge FunctionName=\${${stream}/Bridge/Function} Maximum 300`));
      expect(lines('Bridge errors')).toEqual([...streams, 'UploadToGlue'].map((bridge) => `AWS/Lambda/Errors FunctionName=\${${bridge}/Bridge/Function} Sum 300`));
      expect(lines('Failure queues')).toEqual([
        ...[...streams, 'UploadToGlue'].map((bridge) => `AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=\${${bridge}/Bridge/FailureQueue.QueueName} Maximum 300`),
        'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=${Refresh/ScheduleDeadLetters.QueueName} Maximum 300',
      ]);
    });

    it("counts the refresh workflow's completed runs by sales_star_schema, its last job, and its failed job runs by the stack's and the orders dataset's failure rules", () => {
      expect(lines('Refresh workflow runs').slice(-4)).toEqual([
        'dynalake-dev/RunDurationSeconds dataset=sales_star_schema service=sales_star_schema SampleCount 3600',
        'AWS/Events/Invocations RuleName=${GlueJobFailed} Sum 3600 right',
        'AWS/Events/Invocations RuleName=${UploadRunFailed} Sum 3600 right',
        'AWS/Events/Invocations RuleName=${OrdersToLake/JobFailed} Sum 3600 right',
      ]);
      expect(widgetTitled(widgets, 'Refresh workflow runs').metrics.slice(-3).map((metric) => metric.label)).toEqual(['failed job runs (rule GlueJobFailed)', 'failed job runs (rule UploadRunFailed)', 'failed job runs (rule OrdersToLake/JobFailed)']);
    });

    it('prices every job at the configured workers (2 × G.1X by default), and reads the Athena metrics of the stack’s workgroup', () => {
      expect(widgetTitled(widgets, 'Glue DPU-hours').expressions.map((expression) => expression.label)).toEqual([
        'orders_to_lake DPU-hours (2 × G.1X)',
        'campaign_progress DPU-hours (2 × G.1X)',
        'sales_star_schema DPU-hours (2 × G.1X)',
        'csv_to_dynamodb DPU-hours (2 × G.1X)',
      ]);
      expect(lines('Uploads')).toContain('dynalake-dev/RowsWritten dataset=uploads service=csv_to_dynamodb Sum 3600 right');
      expect(widgetTitled(widgets, 'Athena: data scanned').expressions[0]?.expression).toContain('WorkGroup="dynalake-dev"');
    });

    it("names each job's figures with the service and dataset its script publishes them under", () => {
      // publish_job_metrics(namespace, job, dataset, figures): the script's own JOB, or the generic merge's dataset.job and dataset.name.
      const published = (name: JobName): string => {
        const script = name === 'orders_to_lake' ? 'dataset_to_lake' : name;
        const source = readFileSync(join(GLUE_SCRIPTS_DIR, `${script}.py`), 'utf8');
        const call = /publish_job_metrics\(args\["METRICS_NAMESPACE"\], ([^,]+), ([^,]+),/.exec(source);
        if (!call) throw new Error(`${script}.py does not call publish_job_metrics`);
        const constant = /^JOB = "([a-z_]+)"$/m.exec(source)?.[1];
        const value = (expression: string): string => {
          if (expression === 'JOB' && constant) return constant;
          if (expression === 'dataset.job') return `${ORDERS_DATASET.name}_to_lake`;
          if (expression === 'dataset.name') return ORDERS_DATASET.name;
          const argument = /^args\["([A-Z_]+)"\]$/.exec(expression)?.[1];
          if (argument) return (job(name).Properties.DefaultArguments as Record<string, string>)[`--${argument}`] ?? '';
          throw new Error(`${script}.py publishes under ${expression}, which this test cannot read`);
        };
        return `dataset=${value(call[2] as string)} service=${value(call[1] as string)}`;
      };
      const shown = new Set(lines('Glue job run time').map((line) => line.split(' ').slice(1, 3).join(' ')));
      expect(shown).toEqual(new Set(JOBS.map(published)));
    });
  });

  it('ships the helper module of every job in a zip, so `import dynalake_glue` finds it on Glue', () => {
    for (const job of JOBS) {
      const extra = JSON.stringify(resourceOf(pipeline.jobs[job].job).Properties.DefaultArguments);
      expect(extra).toMatch(/"--extra-py-files":\{"Fn::Join":\["",\["s3:\/\/",\{"Fn::Sub":"cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\},"\/[0-9a-f]{64}\.zip"\]\]\}/);
    }
  });
});

describe('PipelineStack with alerts, KMS and bigger workers', () => {
  const { pipeline, storage } = buildStacks({ alertEmail: 'data-team@example.com', encryption: 'kms', glueWorkerType: 'G.2X', glueWorkerCount: 10, csvLoadMaxConcurrentRuns: 5 });
  const template = Template.fromStack(pipeline);

  it('subscribes the alert e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'data-team@example.com' });
  });

  it('encrypts job output and Athena results with the storage key', () => {
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', { EncryptionConfiguration: Match.objectLike({ S3Encryptions: [Match.objectLike({ S3EncryptionMode: 'SSE-KMS' })] }) });
    expect(resourceOf(pipeline.workgroup).Properties).toMatchObject({ WorkGroupConfiguration: { ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' } } } });
  });

  it('sizes the jobs from config, and prices them so on the dashboard', () => {
    expect(resourceOf(pipeline.jobs.orders_to_lake.job).Properties).toMatchObject({ WorkerType: 'G.2X', NumberOfWorkers: 10 });
    expect(widgetTitled(dashboardWidgets(pipeline, { storage }), 'Glue DPU-hours').expressions.map((expression) => expression.expression)).toEqual([
      'duration0 / 3600 * 10 * 2',
      'duration1 / 3600 * 10 * 2',
      'duration2 / 3600 * 10 * 2',
      'duration3 / 3600 * 10 * 2',
    ]);
    expect(resourceOf(pipeline.jobs.csv_to_dynamodb.job).Properties).toMatchObject({ ExecutionProperty: { MaxConcurrentRuns: 5 } });
  });
});

describe('PipelineStack with a non-default schedule, job timeout and write percent', () => {
  const { pipeline } = buildStacks({ refreshSchedule: 'cron(15 2 ? * MON-FRI *)', refreshTimeZone: 'Europe/Paris', glueJobTimeoutMinutes: 240, dynamoWritePercent: 1.2 });

  it('starts the refresh workflow on the configured schedule, in the configured time zone', () => {
    expect(resourceOf(pipeline.refresh.schedule).Properties).toMatchObject({ ScheduleExpression: 'cron(15 2 ? * MON-FRI *)', ScheduleExpressionTimezone: 'Europe/Paris' });
  });

  it('stops every job run after the configured timeout', () => {
    expect(Object.fromEntries(JOBS.map((name) => [name, resourceOf(pipeline.jobs[name].job).Properties.Timeout]))).toEqual({
      orders_to_lake: 240,
      campaign_progress: 240,
      csv_to_dynamodb: 240,
      sales_star_schema: 240,
    });
  });

  it('gives csv_to_dynamodb the configured share of the table write capacity', () => {
    expect((resourceOf(pipeline.jobs.csv_to_dynamodb.job).Properties.DefaultArguments as Record<string, string>)['--WRITE_PERCENT']).toBe('1.2');
  });
});

describe('the contract between the Glue scripts and their job definitions', () => {
  const { pipeline } = buildStacks();

  /** The arguments a script reads: its literal ARGUMENTS list, less JOB_NAME, which Glue itself passes. */
  function argumentsRead(job: JobName): string[] {
    // A dataset's job (orders_to_lake) runs the generic CDC merge; every other job its own script.
    const script = job === 'orders_to_lake' ? 'dataset_to_lake' : job;
    const source = readFileSync(join(GLUE_SCRIPTS_DIR, `${script}.py`), 'utf8');
    const match = /^ARGUMENTS = \[(.*)\]$/m.exec(source);
    if (!match?.[1]) throw new Error(`${script}.py has no single-line ARGUMENTS list`);
    expect(source).toContain('start_glue_job(sys.argv, ARGUMENTS)');
    return [...match[1].matchAll(/"([A-Z0-9_]+)"/g)].map((m) => m[1] ?? '').filter((name) => name !== 'JOB_NAME');
  }

  it.each(JOBS)('%s reads every argument its job definition or starter passes, and nothing else', (script) => {
    const defaults = Object.keys(resourceOf(pipeline.jobs[script].job).Properties.DefaultArguments as Record<string, string>)
      // The script's own arguments are upper case; Glue's (--job-language, --TempDir…) are not.
      .filter((name) => /^--[A-Z][A-Z0-9_]+$/.test(name))
      .map((name) => name.slice(2));
    const passed = new Set([...defaults, ...(RUN_ARGUMENTS[script] ?? [])]);
    expect([...passed].sort()).toEqual(argumentsRead(script).sort());
  });
});
