import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Rule } from 'aws-cdk-lib/aws-events';
import { WorkerType } from 'aws-cdk-lib/aws-glue';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { DPUS_PER_WORKER, type DashboardBridge, PipelineDashboard, type PipelineDashboardProps } from '../../../lib/constructs/pipeline-dashboard';
import { dashboardBody, type DashboardWidget, dashboardWidgets, metricLine, widgetTitled } from '../../helpers/dashboard-body';
import { sensorsLake } from '../../helpers/sensors-app';

const arn = (service: string, resource: string) => `arn:aws:${service}:eu-west-1:123456789012:${resource}`;

/** The construct `id` of `stack`, made once: the props of a test may name a resource the defaults name too. */
function once<T extends IConstruct>(stack: Stack, id: string, make: () => T): T {
  return (stack.node.tryFindChild(id) as T | undefined) ?? make();
}

/** A bridge imported by name: its function `<name>-fn`, its failure queue `<name>-failures`. */
function importedBridge(stack: Stack, name: string): DashboardBridge {
  return {
    function: once(stack, `${name}Function`, () => LambdaFunction.fromFunctionArn(stack, `${name}Function`, arn('lambda', `function:${name}-fn`))),
    failureQueue: once(stack, `${name}Queue`, () => Queue.fromQueueArn(stack, `${name}Queue`, arn('sqs', `${name}-failures`))),
  };
}

/** The pipeline's shape on imported resources: two merge jobs, three streams, the star schema and the loads, uploads, workflow and Athena. */
function pipelineProps(stack: Stack): PipelineDashboardProps {
  const worker = { workerType: WorkerType.G_1X, numberOfWorkers: 2 };
  return {
    mergeJobs: [
      { service: 'orders_to_lake', dataset: 'orders', ...worker },
      { service: 'campaign_progress', dataset: 'campaign_progress', mergesByKey: false, ...worker },
    ],
    streams: [
      { dataset: 'orders', bridge: importedBridge(stack, 'orders'), mergedBy: 'orders_to_lake' },
      { dataset: 'user_Campaign', bridge: importedBridge(stack, 'userCampaign'), mergedBy: 'campaign_progress' },
      { dataset: 'campaignInfo', bridge: importedBridge(stack, 'campaignInfo'), mergedBy: 'campaign_progress' },
    ],
    jobs: [
      { service: 'sales_star_schema', dataset: 'sales_star_schema', workerType: WorkerType.G_2X, numberOfWorkers: 5 },
      { service: 'csv_to_dynamodb', dataset: 'uploads', ...worker },
    ],
    uploads: { dataset: 'uploads', bridge: importedBridge(stack, 'uploads'), loadJob: 'csv_to_dynamodb' },
    workflow: {
      workflowName: 'lake-refresh',
      completedRunJob: { service: 'sales_star_schema', dataset: 'sales_star_schema' },
      failureRules: [
        once(stack, 'JobFailed', () => Rule.fromEventRuleArn(stack, 'JobFailed', arn('events', 'rule/job-failed'))),
        once(stack, 'OrdersFailed', () => Rule.fromEventRuleArn(stack, 'OrdersFailed', arn('events', 'rule/orders-failed'))),
      ],
      deadLetterQueue: once(stack, 'DeadLetters', () => Queue.fromQueueArn(stack, 'DeadLetters', arn('sqs', 'refresh-dead-letters'))),
    },
    athenaWorkgroupName: 'lake-queries',
  };
}

function synth(props: (stack: Stack) => Partial<PipelineDashboardProps> = () => ({})): { stack: Stack; dashboard: PipelineDashboard; widgets: DashboardWidget[] } {
  const stack = new Stack(new App(), 'Stack');
  const dashboard = new PipelineDashboard(stack, 'Dashboard', { ...pipelineProps(stack), ...props(stack) });
  return { stack, dashboard, widgets: dashboardWidgets(stack) };
}

const lines = (widget: DashboardWidget): string[] => widget.metrics.map(metricLine);

describe('PipelineDashboard of the whole pipeline, defaults', () => {
  const { widgets } = synth();

  it('lays out one widget per concern, each titled with what it shows', () => {
    expect(widgets.map((widget) => widget.title)).toEqual([
      'Lake freshness against its objective of 30 minutes (LakeFreshnessSeconds of each merge job, worst run per hour)',
      'Changes in versus rows merged: orders_to_lake (sums per hour)',
      'Changes in versus change objects merged: campaign_progress (sums per hour; the job publishes no rows merged per key)',
      'Stream bridges: iterator age (how far each lags behind its stream, max per 5 minutes)',
      'Bridge errors (failed invocations per 5 minutes)',
      "Failure queues: the bridges' on-failure queues and the refresh schedule's dead letters (messages, max per 5 minutes)",
      'Refresh workflow runs (per hour): starts the stream bridges requested, runs that succeeded or failed and follow-up runs (refresh-follow-up), runs sales_star_schema completed, failed job runs (failure rules fired)',
      'Glue job run time (RunDurationSeconds: longest run and total per hour)',
      "Glue DPU-hours per hour, estimated (the script's run time × workers × DPUs per worker)",
      'Uploads and the rows csv_to_dynamodb loaded (sums per hour)',
      'Athena: data scanned by the lake-queries workgroup (ProcessedBytes, sum per hour)',
      'Athena: query times in the lake-queries workgroup (TotalExecutionTime and EngineExecutionTime, longest per hour, by query state and type)',
    ]);
    // Rows fill the 24 columns of the grid: nothing overlaps, nothing sticks out.
    for (const widget of widgets) expect(widget.x + widget.width).toBeLessThanOrEqual(24);
  });

  it("draws each merge job's worst LakeFreshnessSeconds per hour against a line at the 30-minute objective", () => {
    const freshness = widgetTitled(widgets, 'Lake freshness');
    expect(lines(freshness)).toEqual([
      'dynalake/LakeFreshnessSeconds dataset=orders service=orders_to_lake Maximum 3600',
      'dynalake/LakeFreshnessSeconds dataset=campaign_progress service=campaign_progress Maximum 3600',
    ]);
    expect(freshness.annotations?.horizontal).toEqual([{ value: 1800, label: 'Objective: 30 minutes', yAxis: 'left' }]);
  });

  it('sets the change records each stream took in against the rows its merge job merged (upserted + removed) and the change objects it merged', () => {
    const orders = widgetTitled(widgets, 'Changes in versus rows merged: orders_to_lake');
    expect(lines(orders)).toEqual([
      'dynalake/ChangeRecordsIn dataset=orders service=stream-to-lake Sum 3600',
      'dynalake/RowsUpserted dataset=orders service=orders_to_lake Sum 3600 hidden',
      'dynalake/RowsRemoved dataset=orders service=orders_to_lake Sum 3600 hidden',
      'dynalake/ChangeObjectsMerged dataset=orders service=orders_to_lake Sum 3600 right',
    ]);
    expect(orders.expressions).toEqual([{ expression: 'upserted + removed', label: 'orders_to_lake rows merged (RowsUpserted + RowsRemoved)', period: 3600 }]);
    expect(orders.metrics.filter((metric) => metric.visible === false).map((metric) => metric.id)).toEqual(['upserted', 'removed']);
  });

  it('shows both campaign streams beside campaign_progress, without a rows-merged line the job does not publish', () => {
    const campaigns = widgetTitled(widgets, 'Changes in versus change objects merged: campaign_progress');
    expect(lines(campaigns)).toEqual([
      'dynalake/ChangeRecordsIn dataset=user_Campaign service=stream-to-lake Sum 3600',
      'dynalake/ChangeRecordsIn dataset=campaignInfo service=stream-to-lake Sum 3600',
      'dynalake/ChangeObjectsMerged dataset=campaign_progress service=campaign_progress Sum 3600 right',
    ]);
    expect(campaigns.expressions).toEqual([]);
  });

  it("shows each stream function's iterator age, every bridge's errors and every failure queue's depth at 5 minutes, as the alarms see them", () => {
    expect(lines(widgetTitled(widgets, 'Stream bridges: iterator age'))).toEqual([
      'AWS/Lambda/IteratorAge FunctionName=orders-fn Maximum 300',
      'AWS/Lambda/IteratorAge FunctionName=userCampaign-fn Maximum 300',
      'AWS/Lambda/IteratorAge FunctionName=campaignInfo-fn Maximum 300',
    ]);
    expect(lines(widgetTitled(widgets, 'Bridge errors'))).toEqual([
      'AWS/Lambda/Errors FunctionName=orders-fn Sum 300',
      'AWS/Lambda/Errors FunctionName=userCampaign-fn Sum 300',
      'AWS/Lambda/Errors FunctionName=campaignInfo-fn Sum 300',
      'AWS/Lambda/Errors FunctionName=uploads-fn Sum 300',
    ]);
    expect(lines(widgetTitled(widgets, 'Failure queues'))).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=orders-failures Maximum 300',
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=userCampaign-failures Maximum 300',
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=campaignInfo-failures Maximum 300',
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=uploads-failures Maximum 300',
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=refresh-dead-letters Maximum 300',
    ]);
  });

  it("pieces the workflow's runs together: starts requested per stream, completed runs of its last job, invocations of the failure rules", () => {
    const workflow = widgetTitled(widgets, 'Refresh workflow runs');
    expect(lines(workflow)).toEqual([
      'dynalake/WorkflowRunsStarted dataset=orders service=stream-to-lake Sum 3600',
      'dynalake/WorkflowAlreadyRunning dataset=orders service=stream-to-lake Sum 3600',
      'dynalake/WorkflowRunsStarted dataset=user_Campaign service=stream-to-lake Sum 3600',
      'dynalake/WorkflowAlreadyRunning dataset=user_Campaign service=stream-to-lake Sum 3600',
      'dynalake/WorkflowRunsStarted dataset=campaignInfo service=stream-to-lake Sum 3600',
      'dynalake/WorkflowAlreadyRunning dataset=campaignInfo service=stream-to-lake Sum 3600',
      'dynalake/WorkflowRunsSucceeded service=refresh-follow-up workflow=lake-refresh Sum 3600',
      'dynalake/WorkflowRunsFailed service=refresh-follow-up workflow=lake-refresh Sum 3600',
      'dynalake/FollowUpRunsStarted service=refresh-follow-up workflow=lake-refresh Sum 3600',
      'dynalake/RunDurationSeconds dataset=sales_star_schema service=sales_star_schema SampleCount 3600',
      'AWS/Events/Invocations RuleName=job-failed Sum 3600 right',
      'AWS/Events/Invocations RuleName=orders-failed Sum 3600 right',
    ]);
    expect(workflow.title).toContain('refresh-follow-up');
  });

  it('shows every job’s longest and total run time per hour, and its DPU-hours from its workers and worker type', () => {
    expect(lines(widgetTitled(widgets, 'Glue job run time'))).toEqual(
      ['orders_to_lake dataset=orders', 'campaign_progress dataset=campaign_progress', 'sales_star_schema dataset=sales_star_schema', 'csv_to_dynamodb dataset=uploads'].flatMap((job) => {
        const [service, dataset] = job.split(' ') as [string, string];
        return [`dynalake/RunDurationSeconds ${dataset} service=${service} Maximum 3600`, `dynalake/RunDurationSeconds ${dataset} service=${service} Sum 3600`];
      }),
    );
    const dpuHours = widgetTitled(widgets, 'Glue DPU-hours');
    expect(dpuHours.expressions).toEqual([
      { expression: 'duration0 / 3600 * 2 * 1', label: 'orders_to_lake DPU-hours (2 × G.1X)', period: 3600 },
      { expression: 'duration1 / 3600 * 2 * 1', label: 'campaign_progress DPU-hours (2 × G.1X)', period: 3600 },
      { expression: 'duration2 / 3600 * 5 * 2', label: 'sales_star_schema DPU-hours (5 × G.2X)', period: 3600 },
      { expression: 'duration3 / 3600 * 2 * 1', label: 'csv_to_dynamodb DPU-hours (2 × G.1X)', period: 3600 },
    ]);
    expect(dpuHours.metrics.map((metric) => `${metric.id ?? ''} ${metricLine(metric)}`)).toEqual([
      'duration0 dynalake/RunDurationSeconds dataset=orders service=orders_to_lake Sum 3600 hidden',
      'duration1 dynalake/RunDurationSeconds dataset=campaign_progress service=campaign_progress Sum 3600 hidden',
      'duration2 dynalake/RunDurationSeconds dataset=sales_star_schema service=sales_star_schema Sum 3600 hidden',
      'duration3 dynalake/RunDurationSeconds dataset=uploads service=csv_to_dynamodb Sum 3600 hidden',
    ]);
  });

  it("shows the upload bridge's uploads, starts and skipped duplicates beside the rows the load job wrote", () => {
    expect(lines(widgetTitled(widgets, 'Uploads'))).toEqual([
      'dynalake/UploadsSeen dataset=uploads service=upload-to-glue Sum 3600',
      'dynalake/JobRunsStarted dataset=uploads service=upload-to-glue Sum 3600',
      'dynalake/DuplicateDeliveriesSkipped dataset=uploads service=upload-to-glue Sum 3600',
      'dynalake/RowsWritten dataset=uploads service=csv_to_dynamodb Sum 3600 right',
    ]);
  });

  it("searches the workgroup's Athena metrics over their documented dimensions (QueryState, QueryType, WorkGroup), summing the bytes scanned", () => {
    expect(widgetTitled(widgets, 'Athena: data scanned').expressions).toEqual([
      { expression: `SUM(SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="ProcessedBytes" WorkGroup="lake-queries"', 'Sum', 3600))`, label: 'bytes scanned', period: 3600 },
    ]);
    expect(widgetTitled(widgets, 'Athena: query times').expressions.map((expression) => expression.expression)).toEqual([
      `SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="TotalExecutionTime" WorkGroup="lake-queries"', 'Maximum', 3600)`,
      `SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="EngineExecutionTime" WorkGroup="lake-queries"', 'Maximum', 3600)`,
    ]);
  });
});

describe('PipelineDashboard, options', () => {
  it('draws the objective it is given, and reads the namespace it is given', () => {
    const { widgets } = synth(() => ({ freshnessObjective: Duration.minutes(45), metricsNamespace: 'shop-prod' }));
    const freshness = widgetTitled(widgets, 'Lake freshness');
    expect(freshness.title).toContain('objective of 45 minutes');
    expect(freshness.annotations?.horizontal).toEqual([{ value: 2700, label: 'Objective: 45 minutes', yAxis: 'left' }]);
    expect(new Set(widgets.flatMap((widget) => widget.metrics).filter((metric) => !metric.namespace.startsWith('AWS/')).map((metric) => metric.namespace))).toEqual(new Set(['shop-prod']));
  });

  it('computes DPU-hours from a bigger worker type and count', () => {
    const { widgets } = synth((stack) => ({
      mergeJobs: [{ service: 'orders_to_lake', dataset: 'orders', workerType: WorkerType.G_8X, numberOfWorkers: 10 }],
      streams: [{ dataset: 'orders', bridge: importedBridge(stack, 'orders'), mergedBy: 'orders_to_lake' }],
      jobs: [{ service: 'sales_star_schema', dataset: 'sales_star_schema', workerType: WorkerType.G_4X, numberOfWorkers: 3 }],
    }));
    expect(widgetTitled(widgets, 'Glue DPU-hours').expressions.map((expression) => `${expression.expression} | ${expression.label ?? ''}`)).toEqual([
      'duration0 / 3600 * 10 * 8 | orders_to_lake DPU-hours (10 × G.8X)',
      'duration1 / 3600 * 3 * 4 | sales_star_schema DPU-hours (3 × G.4X)',
    ]);
  });

  it('leaves out the workflow, uploads and Athena rows it is not given, and the dead-letter queue with them', () => {
    const { widgets } = synth(() => ({ uploads: undefined, workflow: undefined, athenaWorkgroupName: undefined }));
    expect(widgets.map((widget) => widget.title.split(/[:(]/)[0]?.trim())).toEqual([
      'Lake freshness against its objective of 30 minutes',
      'Changes in versus rows merged',
      'Changes in versus change objects merged',
      'Stream bridges',
      'Bridge errors',
      'Failure queues',
      'Glue job run time',
      'Glue DPU-hours per hour, estimated',
    ]);
    expect(widgetTitled(widgets, 'Failure queues').title).not.toContain('dead letters');
    expect(lines(widgetTitled(widgets, 'Failure queues'))).toHaveLength(3);
    expect(lines(widgetTitled(widgets, 'Bridge errors'))).toHaveLength(3);
  });

  it('leaves the rows-loaded line out when the uploads name no load job', () => {
    const { widgets } = synth((stack) => ({ uploads: { dataset: 'uploads', bridge: importedBridge(stack, 'uploads') } }));
    const uploads = widgetTitled(widgets, 'Uploads');
    expect(uploads.title).toBe('Uploads (sums per hour)');
    expect(lines(uploads).map((line) => line.split(' ')[0])).toEqual(['dynalake/UploadsSeen', 'dynalake/JobRunsStarted', 'dynalake/DuplicateDeliveriesSkipped']);
  });

  it("opens on the last day: hourly job figures would be three points in CloudWatch's default 3 hours", () => {
    expect(dashboardBody(synth().stack).start).toBe('-P1D');
  });

  it('names the dashboard as told, else lets CloudFormation name it', () => {
    Template.fromStack(synth(() => ({ dashboardName: 'shop-prod-pipeline' })).stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shop-prod-pipeline' });
    Template.fromStack(synth().stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
  });
});

describe("PipelineDashboard of a consumer's LakeDataset alone", () => {
  it('is built from what the dataset exposes: its bridge, its failure rule and its own workflow’s dead letters', () => {
    const { stack, dataset } = sensorsLake(new App(), (scope) => ({ alarmTopic: new Topic(scope, 'Alerts') }));
    if (!dataset.failureRule) throw new Error('the dataset has an alarm topic, so a failure rule');
    const job = { service: 'sensors_to_lake', dataset: 'sensors', workerType: WorkerType.G_1X, numberOfWorkers: 2 };
    new PipelineDashboard(stack, 'Dashboard', {
      mergeJobs: [job],
      streams: [{ dataset: 'sensors', bridge: dataset.stream.bridge, mergedBy: job.service }],
      workflow: { workflowName: 'sensors-refresh', completedRunJob: job, failureRules: [dataset.failureRule], deadLetterQueue: dataset.workflow.deadLetterQueue },
    });
    const widgets = dashboardWidgets(stack);
    expect(lines(widgetTitled(widgets, 'Lake freshness'))).toEqual(['dynalake/LakeFreshnessSeconds dataset=sensors service=sensors_to_lake Maximum 3600']);
    expect(lines(widgetTitled(widgets, 'Stream bridges: iterator age'))).toEqual(['AWS/Lambda/IteratorAge FunctionName=${SensorsToLake/Stream/Bridge/Function} Maximum 300']);
    expect(lines(widgetTitled(widgets, 'Failure queues'))).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=${SensorsToLake/Stream/Bridge/FailureQueue.QueueName} Maximum 300',
      'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=${SensorsToLake/Refresh/ScheduleDeadLetters.QueueName} Maximum 300',
    ]);
    expect(lines(widgetTitled(widgets, 'Refresh workflow runs')).slice(-2)).toEqual([
      'dynalake/RunDurationSeconds dataset=sensors service=sensors_to_lake SampleCount 3600',
      'AWS/Events/Invocations RuleName=${SensorsToLake/JobFailed} Sum 3600 right',
    ]);
  });
});

describe('PipelineDashboard validation, at synth with the construct path', () => {
  const build = (props: (stack: Stack) => Partial<PipelineDashboardProps>) => () => synth(props);

  it.each<[string, (stack: Stack) => Partial<PipelineDashboardProps>, RegExp]>([
    ['no merge job', () => ({ mergeJobs: [] }), /^Stack\/Dashboard: mergeJobs is empty/],
    ['no stream', () => ({ streams: [] }), /^Stack\/Dashboard: streams is empty/],
    [
      'a stream merged by a job that is not a merge job',
      (stack) => ({ streams: [{ dataset: 'orders', bridge: importedBridge(stack, 'orders'), mergedBy: 'sales_star_schema' }] }),
      /^Stack\/Dashboard: the stream of orders is merged by sales_star_schema, which is not one of mergeJobs \(orders_to_lake, campaign_progress\)$/,
    ],
    ['a job listed twice', () => ({ jobs: [{ service: 'orders_to_lake', dataset: 'orders', workerType: WorkerType.G_1X, numberOfWorkers: 2 }] }), /^Stack\/Dashboard: the job orders_to_lake is listed twice/],
    ['a worker type of unknown DPUs', () => ({ jobs: [{ service: 'legacy', dataset: 'legacy', workerType: WorkerType.STANDARD, numberOfWorkers: 2 }] }), /^Stack\/Dashboard: the job legacy has worker type "Standard", whose DPUs are unknown/],
    ['no workers', () => ({ jobs: [{ service: 'idle', dataset: 'idle', workerType: WorkerType.G_1X, numberOfWorkers: 0 }] }), /^Stack\/Dashboard: the job idle has 0 workers; give a whole number of 1 or more$/],
    ['a fraction of a worker', () => ({ jobs: [{ service: 'half', dataset: 'half', workerType: WorkerType.G_1X, numberOfWorkers: 1.5 }] }), /^Stack\/Dashboard: the job half has 1.5 workers/],
    ['a zero freshness objective', () => ({ freshnessObjective: Duration.seconds(0) }), /^Stack\/Dashboard: freshnessObjective must be longer than 0 seconds/],
    ['a dashboard name CloudWatch refuses', () => ({ dashboardName: 'my pipeline' }), /^Stack\/Dashboard: dashboardName "my pipeline" is not a dashboard name/],
    ['a workgroup name that would break the search', () => ({ athenaWorkgroupName: 'lake" OR "x' }), /^Stack\/Dashboard: athenaWorkgroupName "lake\\" OR \\"x" is not a workgroup name/],
    ['a workflow without failure rules', (stack) => ({ workflow: { ...(pipelineProps(stack).workflow as NonNullable<PipelineDashboardProps['workflow']>), failureRules: [] } }), /^Stack\/Dashboard: workflow.failureRules is empty/],
    ['a namespace CloudWatch refuses', () => ({ metricsNamespace: 'AWS/Glue' }), /^Stack\/Dashboard: metricsNamespace "AWS\/Glue" is not a CloudWatch namespace/],
  ])('refuses %s', (_case, props, message) => {
    expect(build(props)).toThrow(message);
  });
});

describe('DPUS_PER_WORKER', () => {
  it('holds the DPUs of the G worker types as AWS Glue documents them', () => {
    expect([WorkerType.G_1X, WorkerType.G_2X, WorkerType.G_4X, WorkerType.G_8X].map((type) => DPUS_PER_WORKER[type])).toEqual([1, 2, 4, 8]);
  });
});
