import { join } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRule, Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { CfnCrawler, WorkerType } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { alertTopicIn, countAlarm } from '../constructs/alert-topic';
import { FreshnessAlarms } from '../constructs/freshness-alarms';
import { GitHubSmokeRole } from '../constructs/github-smoke-role';
import { LakeCatalog } from '../constructs/lake-catalog';
import { datasetJobArguments, datasetJobKey, LakeDataset } from '../constructs/lake-dataset';
import { glueSecurity, LakeJob } from '../constructs/lake-job';
import { type DashboardStream, PipelineDashboard } from '../constructs/pipeline-dashboard';
import { type FollowUpMerge, RefreshFollowUp } from '../constructs/refresh-follow-up';
import { RefreshWorkflow } from '../constructs/refresh-workflow';
import { StreamToLake } from '../constructs/stream-to-lake';
import { acknowledgeAtSynth, acknowledgeWildcards, PIPELINE_WILDCARD_REASONS } from '../nag';
import { packageRoot } from '../package-root';
import { grantPrefixRead, grantPrefixWrite, prefixPattern } from '../s3-grants';
import { UploadToGlue } from '../constructs/upload-to-glue';
import { curatedPrefix, curatedTableName, ORDERS_DATASET } from '../dataset';
import { BUILT_IN_DATASETS, cdcPrefix, curatedTablePrefix, exportPrefix, glueTempPrefix, jobStatePrefix, PREFIXES, UPLOADS_DATASET } from '../../lambda/shared/layout';

/** Where the PySpark scripts live (shipped in the package, `files`); deployed as assets. */
export const GLUE_SCRIPTS_DIR = join(packageRoot(), 'glue-scripts');

/** Object-key layout of the buckets, shared by the jobs' arguments and their grants. */
export const LAKE_LAYOUT = {
  rawPrefix: PREFIXES.raw,
  cdcPrefix: (table: (typeof BUILT_IN_DATASETS)[keyof typeof BUILT_IN_DATASETS]) => cdcPrefix(table),
  curatedOrdersPrefix: curatedPrefix(ORDERS_DATASET),
  curatedCampaignProgressPrefix: curatedTablePrefix('campaign_progress'),
  warehousePrefix: PREFIXES.warehouse,
  exportPrefix: exportPrefix(BUILT_IN_DATASETS.orders),
  glueTempPrefix: PREFIXES.glueTemp,
  athenaResultsPrefix: PREFIXES.athenaResults,
  /** A job's own incremental state in the lake bucket: which change objects it has merged, or which curated orders the star was built from. */
  statePrefix: (job: 'orders_to_lake' | 'campaign_progress' | 'sales_star_schema') => jobStatePrefix(job),
} as const;

/** The refresh workflow's merge jobs, for its follow-up: their state prefixes and the CDC prefixes each reads (the jobs' own arguments). */
export const REFRESH_MERGES: readonly FollowUpMerge[] = [
  { job: 'orders_to_lake', statePrefix: LAKE_LAYOUT.statePrefix('orders_to_lake'), cdcPrefixes: [LAKE_LAYOUT.cdcPrefix('orders')] },
  { job: 'campaign_progress', statePrefix: LAKE_LAYOUT.statePrefix('campaign_progress'), cdcPrefixes: [LAKE_LAYOUT.cdcPrefix('user_Campaign'), LAKE_LAYOUT.cdcPrefix('campaignInfo')] },
];

/**
 * Arguments given at StartJobRun rather than in the job definition: the upload bridge names the
 * object to load (and may point at another bucket or table than the defaults).
 */
export const RUN_ARGUMENTS: Readonly<Partial<Record<keyof PipelineStack['jobs'], readonly string[]>>> = {
  csv_to_dynamodb: ['S3_BUCKET', 'S3_KEY', 'DYNAMODB_TABLE'],
};

/** The names the Glue jobs' arguments point at: tokens in the stack, plain names locally. */
export interface LakeJobResources {
  readonly landingBucket: string;
  readonly lakeBucket: string;
  readonly assetsBucket: string;
  readonly ordersTableArn: string;
  readonly uploadsTableName: string;
}

/** The CloudWatch namespace of a deployment's metrics, bridges' and jobs': `<prefix>-<stage>`, so two stages in one account keep their figures apart. */
export function pipelineMetricsNamespace(config: Pick<PipelineConfig, 'prefix' | 'stage'>): string {
  return `${config.prefix}-${config.stage}`;
}

/** The Glue database of the lake's tables: `<prefix>_<stage>`, with `_` for `-` (Glue and Athena names). */
export function lakeDatabaseName(config: Pick<PipelineConfig, 'prefix' | 'stage'>): string {
  return `${config.prefix}_${config.stage}`.replace(/-/g, '_');
}

/**
 * Each Glue job's arguments (without the leading `--`), as its job definition holds them. One
 * function for the stack and for the local Glue, so a job runs here with what Glue would give it.
 */
export function lakeJobArguments(resources: LakeJobResources, config: Pick<PipelineConfig, 'dynamoWritePercent' | 'prefix' | 'stage'>): Record<keyof PipelineStack['jobs'], Record<string, string>> {
  const metricsNamespace = pipelineMetricsNamespace(config);
  const withNamespace = (args: Record<string, string>) => ({ ...args, METRICS_NAMESPACE: metricsNamespace });
  return {
    orders_to_lake: datasetJobArguments(ORDERS_DATASET, {
      landingBucket: resources.landingBucket,
      lakeBucket: resources.lakeBucket,
      assetsBucket: resources.assetsBucket,
      tableArn: resources.ordersTableArn,
      metricsNamespace,
    }),
    campaign_progress: withNamespace({
      LANDING_BUCKET: resources.landingBucket,
      LAKE_BUCKET: resources.lakeBucket,
      USER_CAMPAIGN_CDC_PREFIX: LAKE_LAYOUT.cdcPrefix('user_Campaign'),
      CAMPAIGN_INFO_CDC_PREFIX: LAKE_LAYOUT.cdcPrefix('campaignInfo'),
      CURATED_PREFIX: LAKE_LAYOUT.curatedCampaignProgressPrefix,
      STATE_PREFIX: LAKE_LAYOUT.statePrefix('campaign_progress'),
    }),
    // TARGET_DATASET: the loaded table's dataset, the `dataset` dimension of the job's figures (as the upload bridge's). Not
    // DATASET: that argument marks a LakeDataset's CDC-merge job, which the local runtime looks for.
    csv_to_dynamodb: withNamespace({ S3_BUCKET: resources.landingBucket, DYNAMODB_TABLE: resources.uploadsTableName, WRITE_PERCENT: String(config.dynamoWritePercent), TARGET_DATASET: UPLOADS_DATASET }),
    sales_star_schema: withNamespace({
      LAKE_BUCKET: resources.lakeBucket,
      CURATED_PREFIX: LAKE_LAYOUT.curatedOrdersPrefix,
      WAREHOUSE_PREFIX: LAKE_LAYOUT.warehousePrefix,
      STATE_PREFIX: LAKE_LAYOUT.statePrefix('sales_star_schema'),
    }),
  };
}

const WORKER_TYPES: Readonly<Record<PipelineConfig['glueWorkerType'], WorkerType>> = {
  'G.1X': WorkerType.G_1X,
  'G.2X': WorkerType.G_2X,
  'G.4X': WorkerType.G_4X,
  'G.8X': WorkerType.G_8X,
};

/** Properties of the {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** The validated pipeline configuration. */
  readonly config: PipelineConfig;
  /** The streamed tables of the storage stack. */
  readonly tables: { readonly orders: ITable; readonly userCampaign: ITable; readonly campaignInfo: ITable; readonly uploads: ITable };
  /** The buckets of the storage stack. */
  readonly buckets: { readonly landing: IBucket; readonly lake: IBucket; readonly assets: IBucket };
  /**
   * The customer-managed key of tables and buckets, when the storage stack has one.
   * @default - data encrypted with AWS-owned or S3-managed keys
   */
  readonly dataKey?: IKey;
}

/**
 * The stateless half: the Glue catalog, crawlers, PySpark jobs and the refresh workflow, the
 * Lambda bridges from the streams and uploads into Glue, the Athena workgroup and the failure
 * alerts. Holds no data (the bridges' idempotency table keeps only week-long delivery records):
 * deleting or replacing it leaves every table and bucket as it was.
 */
export class PipelineStack extends Stack {
  /** The refresh workflow (StartWorkflowRun target of the stream bridge). */
  readonly refresh: RefreshWorkflow;
  /** The Glue jobs by script name. */
  readonly jobs: Readonly<Record<'orders_to_lake' | 'campaign_progress' | 'csv_to_dynamodb' | 'sales_star_schema', LakeJob>>;
  /** Crawlers over the DynamoDB tables and over the lake. */
  readonly crawlers: { readonly source: CfnCrawler; readonly lake: CfnCrawler };
  /** The catalog database and its lake tables. */
  readonly catalog: LakeCatalog;
  /** The Athena workgroup of the named queries. */
  readonly workgroup: CfnWorkGroup;
  /** Where failures are announced. */
  readonly alerts: Topic;
  /** The stream-to-lake bridges, one per streamed table. */
  readonly streamBridges: readonly StreamToLake[];
  /** The upload bridge: `raw/*.csv` → csv_to_dynamodb. */
  readonly uploadBridge: UploadToGlue;
  /** Counts each refresh run's outcome and starts a follow-up run when changes landed during one. */
  readonly followUp: RefreshFollowUp;
  /** The freshness objective's alarms of the two CDC-merge jobs. */
  readonly freshness: Readonly<Record<'orders_to_lake' | 'campaign_progress', FreshnessAlarms>>;
  /**
   * The CloudWatch dashboard `<prefix>-<stage>-pipeline`: lake freshness against its objective,
   * changes in against rows merged, the bridges' health, the refresh workflow's runs, the jobs'
   * run time and DPU-hours, the uploads and the Athena workgroup.
   */
  readonly dashboard: PipelineDashboard;
  /**
   * The role GitHub Actions runs this stage's smoke test with, when `githubRepository` is set and
   * the stage is one of `githubDeployStages`.
   */
  readonly smokeRole?: GitHubSmokeRole;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, tables, buckets, dataKey } = props;
    const name = `${config.prefix}-${config.stage}`;
    // The stack's own roles (crawlers) and every role's data prefixes, by the table in nag.ts.
    acknowledgeAtSynth(this, () => { acknowledgeWildcards(this, PIPELINE_WILDCARD_REASONS); });
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // Glue's own key (CloudWatch logs and job bookmarks) and the security configuration of every job and crawler.
    const { configuration: securityConfiguration, key: glueKey } = glueSecurity(this, name, { dataKey, removalPolicy });

    this.catalog = new LakeCatalog(this, 'Catalog', { databaseName: lakeDatabaseName(config), lake: buckets.lake, layout: LAKE_LAYOUT });
    this.alerts = alertTopicIn(this, { name, email: config.alertEmail, removalPolicy });
    this.refresh = new RefreshWorkflow(this, 'Refresh', {
      workflowName: `${name}-refresh`,
      schedule: config.refreshSchedule,
      timeZone: config.refreshTimeZone,
      description: 'Change records → curated → star schema → lake crawler',
    });
    const metricsNamespace = pipelineMetricsNamespace(config);
    const bridgeDefaults = { alarmTopic: this.alerts, logRetentionDays: config.logRetentionDays, removalPolicy, metricsNamespace };

    const jobDefaults = {
      securityConfiguration,
      securityKey: glueKey,
      workerType: WORKER_TYPES[config.glueWorkerType],
      numberOfWorkers: config.glueWorkerCount,
      timeout: Duration.minutes(config.glueJobTimeoutMinutes),
      pythonModules: [join(GLUE_SCRIPTS_DIR, 'dynalake_glue.py')],
      metricsNamespace,
    };
    const job = (script: keyof PipelineStack['jobs'], args: Record<string, string>, options: { maxConcurrentRuns?: number; description: string }) =>
      new LakeJob(this, script.replace(/(^|_)(\w)/g, (_m, _u, c: string) => c.toUpperCase()), {
        ...jobDefaults,
        ...options,
        jobName: `${name}-${script.replace(/_/g, '-')}`,
        scriptPath: join(GLUE_SCRIPTS_DIR, `${script}.py`),
        arguments: args,
        tempLocation: { bucket: buckets.assets, prefix: glueTempPrefix(script) },
      });

    const args = lakeJobArguments(
      { landingBucket: buckets.landing.bucketName, lakeBucket: buckets.lake.bucketName, assetsBucket: buckets.assets.bucketName, ordersTableArn: tables.orders.tableArn, uploadsTableName: tables.uploads.tableName },
      config,
    );
    // The orders are a dataset like any other: its stream bridge, CDC-merge job, catalog table and grants.
    const orders = new LakeDataset(this, 'OrdersToLake', {
      ...bridgeDefaults,
      dataset: ORDERS_DATASET,
      table: tables.orders,
      buckets,
      catalog: this.catalog,
      workflow: this.refresh,
      glueSecurity: { configuration: securityConfiguration, key: glueKey },
      dataKey,
      jobName: `${name}-orders-to-lake`,
      workerType: jobDefaults.workerType,
      numberOfWorkers: jobDefaults.numberOfWorkers,
      timeout: jobDefaults.timeout,
      streamBatchSize: config.streamBatchSize,
      streamBatchingWindow: Duration.seconds(config.streamBatchingWindowSeconds),
      freshnessObjective: Duration.minutes(config.freshnessObjectiveMinutes),
    });
    this.jobs = {
      // Each run of these two merges only the change objects its state object does not list yet.
      orders_to_lake: orders,
      campaign_progress: job('campaign_progress', args.campaign_progress, { description: 'Explodes users’ campaign progress per task, joined to the campaigns’ tasks' }),
      // Each run is told the one object to load, and runs overlap.
      csv_to_dynamodb: job('csv_to_dynamodb', args.csv_to_dynamodb, {
        maxConcurrentRuns: config.csvLoadMaxConcurrentRuns,
        description: 'Loads one uploaded raw/*.csv into the uploads table',
      }),
      // The star schema is rebuilt from all curated orders when they changed since its last build.
      sales_star_schema: job('sales_star_schema', args.sales_star_schema, { description: 'Builds warehouse/fact_sales and the dimensions from curated orders' }),
    };

    this.freshness = {
      orders_to_lake: orders.freshness,
      // campaign_progress merges changes too, under the same objective (the orders' alarms come with their LakeDataset).
      campaign_progress: new FreshnessAlarms(this, 'CampaignProgressFreshness', {
        job: 'campaign_progress',
        dataset: 'campaign_progress',
        workflow: this.refresh,
        objective: Duration.minutes(config.freshnessObjectiveMinutes),
        metricsNamespace,
        alarmTopic: this.alerts,
      }),
    };

    const dataKeyActions = (role: Role, actions: string[]) => {
      if (dataKey) role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [dataKey.keyArn] }));
    };
    const { orders_to_lake, campaign_progress, csv_to_dynamodb, sales_star_schema } = this.jobs;
    grantPrefixRead(campaign_progress.role, buckets.landing, LAKE_LAYOUT.cdcPrefix('user_Campaign'));
    grantPrefixRead(campaign_progress.role, buckets.landing, LAKE_LAYOUT.cdcPrefix('campaignInfo'));
    grantPrefixWrite(campaign_progress.role, buckets.lake, LAKE_LAYOUT.curatedCampaignProgressPrefix);
    grantPrefixWrite(campaign_progress.role, buckets.lake, LAKE_LAYOUT.statePrefix('campaign_progress'));
    dataKeyActions(campaign_progress.role, ['kms:Decrypt', 'kms:GenerateDataKey']);

    grantPrefixRead(csv_to_dynamodb.role, buckets.landing, LAKE_LAYOUT.rawPrefix);
    csv_to_dynamodb.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeTable', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem'], resources: [tables.uploads.tableArn] }));
    dataKeyActions(csv_to_dynamodb.role, ['kms:Decrypt', 'kms:GenerateDataKey']);

    grantPrefixRead(sales_star_schema.role, buckets.lake, LAKE_LAYOUT.curatedOrdersPrefix);
    grantPrefixWrite(sales_star_schema.role, buckets.lake, LAKE_LAYOUT.warehousePrefix);
    grantPrefixWrite(sales_star_schema.role, buckets.lake, LAKE_LAYOUT.statePrefix('sales_star_schema'));
    dataKeyActions(sales_star_schema.role, ['kms:Decrypt', 'kms:GenerateDataKey']);

    this.crawlers = {
      source: this.sourceCrawler(name, config.catalogCrawlSchedule, tables, securityConfiguration.securityConfigurationName, glueKey, dataKey),
      lake: this.lakeCrawler(name, buckets.lake, securityConfiguration.securityConfigurationName, glueKey, dataKey),
    };

    const curated = this.refresh.start([{ job: orders_to_lake.job }, { job: campaign_progress.job }]);
    const modelled = this.refresh.onSuccess(curated, [{ job: sales_star_schema.job }]);
    this.refresh.onSuccess(modelled, [{ crawler: this.crawlers.lake }]);
    this.followUp = new RefreshFollowUp(this, 'RefreshFollowUp', {
      ...bridgeDefaults,
      workflow: this.refresh,
      landingBucket: buckets.landing,
      lakeBucket: buckets.lake,
      dataKey,
      merges: REFRESH_MERGES,
    });

    this.workgroup = new CfnWorkGroup(this, 'Workgroup', {
      name,
      description: `Queries over the ${name} lake`,
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: buckets.assets.s3UrlForObject(LAKE_LAYOUT.athenaResultsPrefix),
          encryptionConfiguration: dataKey ? { encryptionOption: 'SSE_KMS', kmsKey: dataKey.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.addNamedQueries();

    const jobFailures = this.addFailureRules();
    // A scheduled start the scheduler gave up on is a refresh that never ran.
    countAlarm(this, 'RefreshScheduleDeadLettersAlarm', {
      metric: this.refresh.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      description: 'A scheduled start of the refresh workflow failed after its retries (see the schedule dead-letter queue)',
      topic: this.alerts,
    });

    const streamed = { user_Campaign: tables.userCampaign, campaignInfo: tables.campaignInfo } as const;
    const campaignStreams = Object.entries(streamed).map(([cdcTable, table]) => ({
      dataset: cdcTable,
      stream: new StreamToLake(this, `${cdcTable.replace(/^\w/, (c) => c.toUpperCase()).replace(/_/g, '')}StreamToLake`, {
        ...bridgeDefaults,
        table,
        dataset: cdcTable,
        landingBucket: buckets.landing,
        workflowName: this.refresh.workflow.workflowName,
        dataKey,
        batchSize: config.streamBatchSize,
        maxBatchingWindow: Duration.seconds(config.streamBatchingWindowSeconds),
      }),
    }));
    this.streamBridges = [orders.stream, ...campaignStreams.map(({ stream }) => stream)];
    this.uploadBridge = new UploadToGlue(this, 'UploadToGlue', {
      ...bridgeDefaults,
      landingBucket: buckets.landing,
      prefix: LAKE_LAYOUT.rawPrefix,
      suffix: '.csv',
      jobName: csv_to_dynamodb.job.jobName,
      targetTable: tables.uploads,
      dataset: UPLOADS_DATASET,
    });

    // Each job's figures carry `service` = its key in `jobs` and `dataset` = what it keeps (the
    // scripts' publish_job_metrics calls): campaign_progress and sales_star_schema their own name.
    const worker = { workerType: jobDefaults.workerType, numberOfWorkers: jobDefaults.numberOfWorkers };
    const ordersJob = datasetJobKey(ORDERS_DATASET);
    const streams: DashboardStream[] = [
      { dataset: ORDERS_DATASET.name, bridge: orders.stream.bridge, mergedBy: ordersJob },
      ...campaignStreams.map(({ dataset, stream }) => ({ dataset, bridge: stream.bridge, mergedBy: 'campaign_progress' })),
    ];
    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      metricsNamespace,
      dashboardName: `${name}-pipeline`,
      freshnessObjective: Duration.minutes(config.freshnessObjectiveMinutes),
      mergeJobs: [
        { service: ordersJob, dataset: ORDERS_DATASET.name, ...worker },
        // It rewrites the exploded progress rows of the users changed: no per-key upsert or remove counts.
        { service: 'campaign_progress', dataset: 'campaign_progress', mergesByKey: false, ...worker },
      ],
      streams,
      jobs: [
        { service: 'sales_star_schema', dataset: 'sales_star_schema', ...worker },
        { service: 'csv_to_dynamodb', dataset: UPLOADS_DATASET, ...worker },
      ],
      uploads: { dataset: UPLOADS_DATASET, bridge: this.uploadBridge.bridge, loadJob: 'csv_to_dynamodb' },
      workflow: {
        workflowName: this.refresh.workflow.workflowName,
        // The workflow's last job, which publishes after its output is committed (the lake crawler after it publishes nothing).
        completedRunJob: { service: 'sales_star_schema', dataset: 'sales_star_schema' },
        failureRules: jobFailures,
        deadLetterQueue: this.refresh.deadLetterQueue,
      },
      athenaWorkgroupName: this.workgroup.name,
    });

    new CfnOutput(this, 'RefreshWorkflowName', { value: this.refresh.workflow.workflowName, exportName: `${name}-refresh-workflow-name` });
    new CfnOutput(this, 'CsvToDynamoDbJobName', { value: csv_to_dynamodb.job.jobName, exportName: `${name}-csv-to-dynamodb-job-name` });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.catalog.database.databaseName, exportName: `${name}-glue-database-name` });
    new CfnOutput(this, 'AthenaWorkgroupName', { value: this.workgroup.ref, exportName: `${name}-athena-workgroup-name` });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alerts.topicArn, exportName: `${name}-alert-topic-arn` });

    // The deploy workflow's smoke test of this stage, run after each deploy with a role of its own:
    // the deploy role may only assume the CDK bootstrap roles.
    const { githubRepository } = config;
    if (githubRepository !== undefined && config.githubDeployStages.includes(config.stage)) {
      this.smokeRole = new GitHubSmokeRole(this, 'GitHubSmokeRole', {
        repository: githubRepository,
        environment: config.stage,
        roleName: `${name}-github-smoke`,
        oidcProviderArn: config.githubOidcProviderArn,
        // The smoke test reads the outputs of the storage stack (where the table is) and of this one.
        stackNames: [Stack.of(tables.orders).stackName, this.stackName],
        table: tables.orders,
        changes: { bucket: buckets.landing, prefix: LAKE_LAYOUT.cdcPrefix('orders') },
        workflowName: this.refresh.workflow.workflowName,
        query: {
          workgroupName: this.workgroup.name,
          catalogArn: this.catalog.catalogArn,
          databaseArn: this.catalog.database.databaseArn,
          tableArn: this.catalog.tableArn(curatedTableName(ORDERS_DATASET)),
          data: { bucket: buckets.lake, prefix: LAKE_LAYOUT.curatedOrdersPrefix },
          results: { bucket: buckets.assets, prefix: LAKE_LAYOUT.athenaResultsPrefix },
        },
        dataKey,
      });
      new CfnOutput(this, 'SmokeRoleArn', { value: this.smokeRole.role.roleArn, exportName: `${name}-smoke-role-arn` });
    }
  }

  private crawlerRole(id: string, description: string, glueKey: IKey, dataKey: IKey | undefined): Role {
    const role = new Role(this, id, { assumedBy: new ServicePrincipal('glue.amazonaws.com'), description });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [this.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/crawlers*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resources: [glueKey.keyArn] }));
    if (dataKey) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [dataKey.keyArn] }));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['glue:GetDatabase'], resources: [this.catalog.catalogArn, this.catalog.database.databaseArn] }));
    return role;
  }

  /** Daily (from config) crawl of the DynamoDB tables into `ddb_*` catalog tables, for exploration. */
  private sourceCrawler(name: string, schedule: string, tables: PipelineStackProps['tables'], securityConfigurationName: string, glueKey: IKey, dataKey: IKey | undefined): CfnCrawler {
    const role = this.crawlerRole('SourceCrawlerRole', 'Crawls the DynamoDB tables into the catalog', glueKey, dataKey);
    const all = [tables.orders, tables.userCampaign, tables.campaignInfo, tables.uploads];
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeTable', 'dynamodb:Scan'], resources: all.map((table) => table.tableArn) }));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetTables', 'glue:CreateTable', 'glue:UpdateTable', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        resources: [this.catalog.catalogArn, this.catalog.database.databaseArn, this.catalog.tableArn('ddb_*')],
      }),
    );
    return new CfnCrawler(this, 'SourceCrawler', {
      name: `${name}-dynamodb`,
      description: 'Keeps the catalog current with the DynamoDB tables',
      role: role.roleArn,
      databaseName: this.catalog.database.databaseName,
      tablePrefix: 'ddb_',
      schedule: { scheduleExpression: schedule },
      crawlerSecurityConfiguration: securityConfigurationName,
      // Sample a slice of each table rather than scanning all of it every day.
      targets: { dynamoDbTargets: all.map((table) => ({ path: table.tableName, scanAll: false, scanRate: 0.5 })) },
      schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
    });
  }

  /**
   * Crawls the lake tables CDK declares (catalog targets), adding the partitions new data made,
   * never changing their schema. Started only by the refresh workflow, so its condition fires.
   */
  private lakeCrawler(name: string, lake: IBucket, securityConfigurationName: string, glueKey: IKey, dataKey: IKey | undefined): CfnCrawler {
    const role = this.crawlerRole('LakeCrawlerRole', 'Crawls the curated and warehouse tables of the lake', glueKey, dataKey);
    for (const prefix of [LAKE_LAYOUT.curatedOrdersPrefix, LAKE_LAYOUT.curatedCampaignProgressPrefix, LAKE_LAYOUT.warehousePrefix]) {
      // Crawlers read with the S3 API, not EMRFS: the prefix alone.
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects(prefixPattern(prefix))] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [lake.bucketArn], conditions: { StringLike: { 's3:prefix': [prefixPattern(prefix)] } } }));
    }
    const tableNames = this.catalog.tables.map((table) => table.tableName);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition', 'glue:CreatePartition', 'glue:BatchCreatePartition', 'glue:UpdatePartition', 'glue:BatchUpdatePartition'],
        resources: [this.catalog.catalogArn, this.catalog.database.databaseArn, ...tableNames.map((table) => this.catalog.tableArn(table))],
      }),
    );
    return new CfnCrawler(this, 'LakeCrawler', {
      name: `${name}-lake`,
      description: 'Adds new partitions of the lake tables to the catalog',
      role: role.roleArn,
      crawlerSecurityConfiguration: securityConfigurationName,
      targets: { catalogTargets: [{ databaseName: this.catalog.database.databaseName, tables: tableNames }] },
      // Catalog targets require LOG on delete; LOG on update keeps the schemas CDK declared.
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      configuration: JSON.stringify({ Version: 1.0, CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } } }),
    });
  }

  private addNamedQueries(): void {
    const database = this.catalog.database.databaseName;
    const queries: Record<string, { description: string; sql: string }> = {
      RevenueByMonth: {
        description: 'Revenue per month, cancellations netted out',
        sql: 'SELECT substr(invoice_day, 1, 7) AS month, sum(quantity * unit_price) AS revenue FROM curated_orders GROUP BY 1 ORDER BY 1',
      },
      TopCountriesByRevenue: {
        description: 'The ten countries with the most revenue',
        sql: 'SELECT country, sum(quantity * unit_price) AS revenue FROM curated_orders GROUP BY country ORDER BY revenue DESC LIMIT 10',
      },
      CancellationRate: {
        description: 'Share of order lines that are cancellations, per month',
        sql: 'SELECT substr(invoice_day, 1, 7) AS month, avg(CASE WHEN is_cancellation THEN 1.0 ELSE 0.0 END) AS cancellation_rate FROM curated_orders GROUP BY 1 ORDER BY 1',
      },
      CampaignTaskCompletion: {
        description: 'Per campaign and task: users who validated the task, out of those enrolled',
        sql: "SELECT campaign_id, task_id, count_if(task_state = 'VALIDATED') AS validated, count(DISTINCT user_id) AS users FROM campaign_progress GROUP BY campaign_id, task_id ORDER BY campaign_id, task_id",
      },
    };
    for (const [id, query] of Object.entries(queries)) {
      // WorkGroup is a Ref: CloudFormation creates the workgroup first without a DependsOn (cfn-lint W3005).
      new CfnNamedQuery(this, id, { name: id, description: query.description, database, workGroup: this.workgroup.ref, queryString: query.sql });
    }
  }

  /**
   * EventBridge rules that announce failures on the alerts topic (a dataset announces its own job's).
   * Returns the rules of failed job runs: this stack's and each dataset's.
   */
  private addFailureRules(): IRule[] {
    const target = new SnsTopic(this.alerts);
    const failed = ['FAILED', 'TIMEOUT', 'ERROR'];
    const upload = this.jobs.csv_to_dynamodb;
    const jobs = Object.values(this.jobs).filter((lakeJob) => !(lakeJob instanceof LakeDataset) && lakeJob !== upload);
    const jobFailed = new Rule(this, 'GlueJobFailed', {
      description: 'A Glue job of the pipeline failed, timed out or errored',
      eventPattern: { source: ['aws.glue'], detailType: ['Glue Job State Change'], detail: { jobName: jobs.map((lakeJob) => lakeJob.job.jobName), state: failed } },
      targets: [target],
    });
    // An upload's load has its own rule, so an alarm can count its failures: the event (the run and
    // its error) and the alarm (a state on the dashboard) both reach the topic.
    const uploadFailed = new Rule(this, 'UploadRunFailed', {
      description: 'A csv_to_dynamodb run of an upload failed, timed out or errored',
      eventPattern: { source: ['aws.glue'], detailType: ['Glue Job State Change'], detail: { jobName: [upload.job.jobName], state: failed } },
      targets: [target],
    });
    // Each failure invokes the rule's target once: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
    countAlarm(this, 'UploadRunsFailedAlarm', {
      metric: new Metric({ namespace: 'AWS/Events', metricName: 'Invocations', dimensionsMap: { RuleName: uploadFailed.ruleName }, statistic: 'Sum', period: Duration.minutes(5) }),
      description: 'A csv_to_dynamodb run of an upload failed, timed out or errored (its event on this topic names the run and the error)',
      topic: this.alerts,
    });
    new Rule(this, 'GlueCrawlerFailed', {
      description: 'A crawler of the pipeline failed',
      eventPattern: { source: ['aws.glue'], detailType: ['Glue Crawler State Change'], detail: { crawlerName: [this.crawlers.source.ref, this.crawlers.lake.ref], state: ['Failed'] } },
      targets: [target],
    });
    new Rule(this, 'AthenaQueryFailed', {
      description: 'A query in the pipeline workgroup failed',
      eventPattern: { source: ['aws.athena'], detailType: ['Athena Query State Change'], detail: { workgroupName: [this.workgroup.ref], currentState: ['FAILED'] } },
      targets: [target],
    });
    const datasetRules = Object.values(this.jobs).flatMap((lakeJob) => (lakeJob instanceof LakeDataset && lakeJob.failureRule ? [lakeJob.failureRule] : []));
    return [jobFailed, uploadFailed, ...datasetRules];
  }
}
