import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, type IWidget, MathExpression, Metric, SearchExpression } from 'aws-cdk-lib/aws-cloudwatch';
import type { IRule } from 'aws-cdk-lib/aws-events';
import { WorkerType } from 'aws-cdk-lib/aws-glue';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BRIDGE_STAGES, DATASET_DIMENSION, JOB_METRICS, RUN_METRICS, STREAM_METRICS, UPLOAD_METRICS, WORKFLOW_DIMENSION } from '../../lambda/shared/metrics';
import { checkedMetricsNamespace } from './bridge-function';
import { DEFAULT_FRESHNESS_OBJECTIVE } from './freshness-alarms';

/**
 * The dimension that names the stage of a dynalake metric: Powertools names it `service` itself,
 * and dynalake_glue.publish_job_metrics follows it, so lambda/shared/metrics.ts has no constant for it.
 */
const SERVICE_DIMENSION = 'service';

/**
 * Bridge health (iterator age, errors, failure-queue depth) at 5 minutes: the period of the
 * bridges' alarms, so the dashboard shows what the alarms see.
 */
export const BRIDGE_PERIOD = Duration.minutes(5);
/**
 * Job figures at 1 hour: a job publishes one data point per run, and runs come a few an hour
 * at most (the refresh schedule, the stream bridges' starts, one run at a time). Bridge counts
 * drawn beside job figures (changes in against rows merged, workflow starts against completed
 * runs, uploads against rows loaded) use it too, so both sums cover the same hour.
 */
export const JOB_PERIOD = Duration.hours(1);

/**
 * DPUs per worker of each Glue worker type: https://docs.aws.amazon.com/glue/latest/dg/worker-types.html
 * (G.1X 1 DPU, G.2X 2, G.4X 4, G.8X 8, G.12X 12, G.16X 16; G.025X, for streaming jobs, a quarter;
 * the memory-optimized R types count M-DPUs the same way: R.1X 1, R.2X 2, R.4X 4, R.8X 8). The
 * page does not list the legacy Standard type, which Glue 5.0 does not run; a job of it fails the synth.
 */
export const DPUS_PER_WORKER: Readonly<Partial<Record<WorkerType, number>>> = {
  [WorkerType.G_025X]: 0.25,
  [WorkerType.G_1X]: 1,
  [WorkerType.G_2X]: 2,
  [WorkerType.G_4X]: 4,
  [WorkerType.G_8X]: 8,
  [WorkerType.G_12X]: 12,
  [WorkerType.G_16X]: 16,
  [WorkerType.R_1X]: 1,
  [WorkerType.R_2X]: 2,
  [WorkerType.R_4X]: 4,
  [WorkerType.R_8X]: 8,
};

/** A Glue job whose figures (JOB_METRICS) the dashboard shows. */
export interface DashboardJob {
  /** The job's `service` dimension: its script's name (`orders_to_lake`, `campaign_progress`, `<dataset>_to_lake`, `csv_to_dynamodb`). */
  readonly service: string;
  /** The `dataset` dimension of its figures (`orders`; campaign_progress and sales_star_schema their own name; csv_to_dynamodb `uploads`). */
  readonly dataset: string;
  /** Its worker type, for its DPU-hours. */
  readonly workerType: WorkerType;
  /** Its workers per run, for its DPU-hours. */
  readonly numberOfWorkers: number;
}

/** A CDC-merge job: it publishes LakeFreshnessSeconds and ChangeObjectsMerged. */
export interface DashboardMergeJob extends DashboardJob {
  /**
   * Whether it publishes RowsUpserted and RowsRemoved, the rows its merge decided per key (the
   * generic CDC merge of a LakeDataset does; campaign_progress, which rewrites exploded rows, does not).
   * @default true
   */
  readonly mergesByKey?: boolean;
}

/** What the dashboard reads of a bridge: a {@link BridgeFunction} is one. */
export interface DashboardBridge {
  /** The function (its errors, and a stream bridge's iterator age). */
  readonly function: IFunction;
  /** Where the records or events it gave up on go (its depth). */
  readonly failureQueue: IQueue;
}

/** A stream-to-lake bridge and the merge job that takes its changes into the lake. */
export interface DashboardStream {
  /** The table's dataset: the `dataset` dimension of the bridge's figures. */
  readonly dataset: string;
  /** The bridge. */
  readonly bridge: DashboardBridge;
  /** The `service` of the merge job (one of `mergeJobs`) that merges its change objects. */
  readonly mergedBy: string;
}

/** The upload bridge and the job it starts. */
export interface DashboardUploads {
  /** The uploads' dataset: the `dataset` dimension of the bridge's and the load job's figures. */
  readonly dataset: string;
  /** The upload-to-glue bridge. */
  readonly bridge: DashboardBridge;
  /**
   * The `service` of the job that loads each upload (its RowsWritten).
   * @default - no rows-loaded line
   */
  readonly loadJob?: string;
}

/**
 * What is measurable of a Glue workflow's runs. Glue publishes no workflow metric to CloudWatch
 * and sends no workflow event: the workflow's {@link RefreshFollowUp} publishes each run's outcome.
 */
export interface DashboardWorkflow {
  /** The workflow's name: the `workflow` dimension of what its refresh-follow-up publishes (RUN_METRICS). */
  readonly workflowName: string;
  /**
   * The last job of the workflow, which publishes its figures only after its output is committed:
   * each RunDurationSeconds sample is a run that got that far.
   */
  readonly completedRunJob: { readonly service: string; readonly dataset: string };
  /** The EventBridge rules that fire when a job of the workflow fails (their invocations). */
  readonly failureRules: readonly IRule[];
  /**
   * The dead-letter queue of the workflow's schedule: scheduled starts that never happened.
   * @default - none shown
   */
  readonly deadLetterQueue?: IQueue;
}

/** Properties of a {@link PipelineDashboard}. */
export interface PipelineDashboardProps {
  /**
   * The CloudWatch namespace the bridges and jobs publish to.
   * @default 'dynalake' (DEFAULT_METRICS_NAMESPACE)
   */
  readonly metricsNamespace?: string;
  /**
   * The dashboard's name.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * How stale the lake may be: the horizontal line of the freshness graph.
   * @default Duration.minutes(30)
   */
  readonly freshnessObjective?: Duration;
  /** The CDC-merge jobs: their freshness, merges, run time and DPU-hours. At least one. */
  readonly mergeJobs: readonly DashboardMergeJob[];
  /** The stream-to-lake bridges, each with the merge job of its changes. At least one. */
  readonly streams: readonly DashboardStream[];
  /**
   * Further Glue jobs, whose run time and DPU-hours are shown beside the merge jobs'.
   * @default - the merge jobs only
   */
  readonly jobs?: readonly DashboardJob[];
  /**
   * The upload bridge: its figures, errors and failure queue.
   * @default - no uploads row
   */
  readonly uploads?: DashboardUploads;
  /**
   * The workflow that runs the merge jobs: starts requested, runs completed, job failures.
   * @default - no workflow row
   */
  readonly workflow?: DashboardWorkflow;
  /**
   * The Athena workgroup whose queries are shown (it must publish CloudWatch metrics).
   * @default - no Athena row
   */
  readonly athenaWorkgroupName?: string;
}

/** A CloudWatch dashboard name: letters, digits, `-` and `_`, at most 255 (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html). */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;
/** An Athena workgroup name (https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroup.html), safe inside a search expression's quotes. */
const ATHENA_WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The pipeline on one CloudWatch dashboard: lake freshness against its objective, changes in
 * against rows merged, the bridges' health, the workflow's runs, the jobs' run time and
 * DPU-hours, the uploads and the Athena workgroup. Reads the figures the bridges and jobs publish
 * (lambda/shared/metrics.ts) and the AWS services' own; creates nothing but the dashboard.
 */
export class PipelineDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: Dashboard;
  private readonly namespace: string;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    this.namespace = checkedMetricsNamespace(this, props.metricsNamespace);
    const objective = props.freshnessObjective ?? DEFAULT_FRESHNESS_OBJECTIVE;
    this.validate(props, objective);

    // A day by default: the job figures come hourly, so CloudWatch's default of 3 hours would show three points.
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.days(1) });
    const rows: IWidget[][] = [
      [this.freshnessWidget(props.mergeJobs, objective)],
      props.mergeJobs.map((job) => this.mergesWidget(job, props.streams.filter((stream) => stream.mergedBy === job.service))),
      this.bridgeWidgets(props),
      props.workflow ? [this.workflowWidget(props.workflow, props.streams)] : [],
      this.jobWidgets([...props.mergeJobs, ...(props.jobs ?? [])]),
      props.uploads ? [this.uploadsWidget(props.uploads)] : [],
      props.athenaWorkgroupName === undefined ? [] : this.athenaWidgets(props.athenaWorkgroupName),
    ];
    for (const row of rows.filter((widgets) => widgets.length > 0)) this.dashboard.addWidgets(...row);
  }

  private validate(props: PipelineDashboardProps, objective: Duration): void {
    const fail = (message: string): never => {
      throw new Error(`${this.node.path}: ${message}`);
    };
    if (props.dashboardName !== undefined && !Token.isUnresolved(props.dashboardName) && !DASHBOARD_NAME.test(props.dashboardName)) {
      fail(`dashboardName ${JSON.stringify(props.dashboardName)} is not a dashboard name (1 to 255 letters, digits, "-" and "_")`);
    }
    if (objective.toSeconds() <= 0) fail(`freshnessObjective must be longer than 0 seconds, not ${objective.toHumanString()}`);
    if (props.mergeJobs.length === 0) fail('mergeJobs is empty: give at least one CDC-merge job, whose freshness the dashboard shows');
    if (props.streams.length === 0) fail('streams is empty: give at least one stream-to-lake bridge, whose changes the merge jobs take in');
    const jobs = [...props.mergeJobs, ...(props.jobs ?? [])];
    const services = jobs.map((job) => job.service);
    const twice = services.find((service, index) => services.indexOf(service) !== index);
    if (twice !== undefined) fail(`the job ${twice} is listed twice (mergeJobs and jobs together name each job once)`);
    for (const job of jobs) {
      if (DPUS_PER_WORKER[job.workerType] === undefined) fail(`the job ${job.service} has worker type ${JSON.stringify(job.workerType)}, whose DPUs are unknown (${Object.keys(DPUS_PER_WORKER).join(', ')})`);
      if (!Number.isInteger(job.numberOfWorkers) || job.numberOfWorkers < 1) fail(`the job ${job.service} has ${job.numberOfWorkers} workers; give a whole number of 1 or more`);
    }
    const merges = props.mergeJobs.map((job) => job.service);
    for (const stream of props.streams) {
      if (!merges.includes(stream.mergedBy)) fail(`the stream of ${stream.dataset} is merged by ${stream.mergedBy}, which is not one of mergeJobs (${merges.join(', ')})`);
    }
    if (props.athenaWorkgroupName !== undefined && !Token.isUnresolved(props.athenaWorkgroupName) && !ATHENA_WORKGROUP_NAME.test(props.athenaWorkgroupName)) {
      fail(`athenaWorkgroupName ${JSON.stringify(props.athenaWorkgroupName)} is not a workgroup name (1 to 128 letters, digits, ".", "-" and "_")`);
    }
    if (props.workflow?.failureRules.length === 0) fail('workflow.failureRules is empty: give the rules that fire when a job of the workflow fails');
  }

  /** A figure the bridges or jobs publish, by its two dimensions. */
  private figure(metricName: string, service: string, dataset: string, statistic: string, period: Duration, label: string): Metric {
    return new Metric({ namespace: this.namespace, metricName, dimensionsMap: { [SERVICE_DIMENSION]: service, [DATASET_DIMENSION]: dataset }, statistic, period, label });
  }

  private freshnessWidget(jobs: readonly DashboardMergeJob[], objective: Duration): GraphWidget {
    const minutes = objective.toHumanString();
    return new GraphWidget({
      title: `Lake freshness against its objective of ${minutes} (LakeFreshnessSeconds of each merge job, worst run per hour)`,
      width: 24,
      left: jobs.map((job) => this.figure(JOB_METRICS.lakeFreshness, job.service, job.dataset, 'Maximum', JOB_PERIOD, `${job.service} freshness (s)`)),
      leftAnnotations: [{ value: objective.toSeconds(), label: `Objective: ${minutes}` }],
      leftYAxis: { min: 0, label: 'Seconds', showUnits: false },
    });
  }

  private mergesWidget(job: DashboardMergeJob, streams: readonly DashboardStream[]): GraphWidget {
    const changesIn = streams.map((stream) => this.figure(STREAM_METRICS.changeRecordsIn, BRIDGE_STAGES.streamToLake, stream.dataset, 'Sum', JOB_PERIOD, `${stream.dataset} change records in`));
    const mergedByKey = job.mergesByKey ?? true;
    const rowsMerged = new MathExpression({
      expression: 'upserted + removed',
      usingMetrics: {
        upserted: this.figure(JOB_METRICS.rowsUpserted, job.service, job.dataset, 'Sum', JOB_PERIOD, 'rows upserted'),
        removed: this.figure(JOB_METRICS.rowsRemoved, job.service, job.dataset, 'Sum', JOB_PERIOD, 'rows removed'),
      },
      period: JOB_PERIOD,
      label: `${job.service} rows merged (RowsUpserted + RowsRemoved)`,
    });
    return new GraphWidget({
      title: mergedByKey
        ? `Changes in versus rows merged: ${job.service} (sums per hour)`
        : `Changes in versus change objects merged: ${job.service} (sums per hour; the job publishes no rows merged per key)`,
      width: 12,
      left: [...changesIn, ...(mergedByKey ? [rowsMerged] : [])],
      right: [this.figure(JOB_METRICS.changeObjectsMerged, job.service, job.dataset, 'Sum', JOB_PERIOD, `${job.service} change objects merged`)],
      leftYAxis: { min: 0, label: 'Records', showUnits: false },
      rightYAxis: { min: 0, label: 'Objects', showUnits: false },
    });
  }

  private bridgeWidgets(props: PipelineDashboardProps): GraphWidget[] {
    const bridges = [...props.streams.map((stream) => ({ name: `${stream.dataset} stream`, bridge: stream.bridge })), ...(props.uploads ? [{ name: 'uploads', bridge: props.uploads.bridge }] : [])];
    const deadLetters = props.workflow?.deadLetterQueue;
    return [
      new GraphWidget({
        title: 'Stream bridges: iterator age (how far each lags behind its stream, max per 5 minutes)',
        width: 8,
        left: props.streams.map((stream) => stream.bridge.function.metric('IteratorAge', { statistic: 'Maximum', period: BRIDGE_PERIOD, label: `${stream.dataset} iterator age` })),
        leftYAxis: { min: 0, label: 'Milliseconds', showUnits: false },
      }),
      new GraphWidget({
        title: 'Bridge errors (failed invocations per 5 minutes)',
        width: 8,
        left: bridges.map(({ name, bridge }) => bridge.function.metricErrors({ statistic: 'Sum', period: BRIDGE_PERIOD, label: `${name} errors` })),
        leftYAxis: { min: 0, showUnits: false },
      }),
      new GraphWidget({
        title: deadLetters ? "Failure queues: the bridges' on-failure queues and the refresh schedule's dead letters (messages, max per 5 minutes)" : "Failure queues: the bridges' on-failure queues (messages, max per 5 minutes)",
        width: 8,
        left: [
          ...bridges.map(({ name, bridge }) => bridge.failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: BRIDGE_PERIOD, label: `${name} failure queue` })),
          ...(deadLetters ? [deadLetters.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: BRIDGE_PERIOD, label: 'refresh schedule dead letters' })] : []),
        ],
        leftYAxis: { min: 0, showUnits: false },
      }),
    ];
  }

  private workflowWidget(workflow: DashboardWorkflow, streams: readonly DashboardStream[]): GraphWidget {
    const { completedRunJob } = workflow;
    const outcome = (metricName: string, label: string) =>
      new Metric({ namespace: this.namespace, metricName, dimensionsMap: { [SERVICE_DIMENSION]: BRIDGE_STAGES.refreshFollowUp, [WORKFLOW_DIMENSION]: workflow.workflowName }, statistic: 'Sum', period: JOB_PERIOD, label });
    return new GraphWidget({
      title: `Refresh workflow runs (per hour): starts the stream bridges requested, runs that succeeded or failed and follow-up runs (refresh-follow-up), runs ${completedRunJob.service} completed, failed job runs (failure rules fired)`,
      width: 24,
      left: [
        ...streams.flatMap((stream) => [
          this.figure(STREAM_METRICS.workflowRunsStarted, BRIDGE_STAGES.streamToLake, stream.dataset, 'Sum', JOB_PERIOD, `${stream.dataset}: runs started`),
          this.figure(STREAM_METRICS.workflowAlreadyRunning, BRIDGE_STAGES.streamToLake, stream.dataset, 'Sum', JOB_PERIOD, `${stream.dataset}: already running`),
        ]),
        outcome(RUN_METRICS.workflowRunsSucceeded, 'runs succeeded'),
        outcome(RUN_METRICS.workflowRunsFailed, 'runs failed'),
        outcome(RUN_METRICS.followUpRunsStarted, 'follow-up runs started'),
        this.figure(JOB_METRICS.runDuration, completedRunJob.service, completedRunJob.dataset, 'SampleCount', JOB_PERIOD, `runs completed (${completedRunJob.service} runs)`),
      ],
      // Each invocation of a failure rule is a job run that failed, timed out or errored (its event pattern says which jobs).
      right: workflow.failureRules.map(
        (rule) =>
          new Metric({
            namespace: 'AWS/Events',
            metricName: 'Invocations',
            dimensionsMap: { RuleName: rule.ruleName },
            statistic: 'Sum',
            period: JOB_PERIOD,
            label: `failed job runs (rule ${rule.node.path.slice(Stack.of(rule).node.path.length + 1)})`,
          }),
      ),
      leftYAxis: { min: 0, label: 'Runs', showUnits: false },
      rightYAxis: { min: 0, label: 'Failures', showUnits: false },
    });
  }

  private jobWidgets(jobs: readonly DashboardJob[]): GraphWidget[] {
    const duration = (job: DashboardJob, statistic: string, label: string) => this.figure(JOB_METRICS.runDuration, job.service, job.dataset, statistic, JOB_PERIOD, label);
    return [
      new GraphWidget({
        title: 'Glue job run time (RunDurationSeconds: longest run and total per hour)',
        width: 12,
        left: jobs.flatMap((job) => [duration(job, 'Maximum', `${job.service} longest run (s)`), duration(job, 'Sum', `${job.service} total (s)`)]),
        leftYAxis: { min: 0, label: 'Seconds', showUnits: false },
      }),
      // RunDurationSeconds counts from the script's first line, not from the start of the Glue run, so this reads below
      // Glue's bill: an estimate to compare jobs and hours by.
      new GraphWidget({
        title: "Glue DPU-hours per hour, estimated (the script's run time × workers × DPUs per worker)",
        width: 12,
        // Each expression names its run time apart: ids are shared by every metric of a graph.
        left: jobs.map(
          (job, index) =>
            new MathExpression({
              expression: `duration${index} / 3600 * ${job.numberOfWorkers} * ${DPUS_PER_WORKER[job.workerType] as number}`, // known: validate() checked it
              usingMetrics: { [`duration${index}`]: duration(job, 'Sum', `${job.service} run time`) },
              period: JOB_PERIOD,
              label: `${job.service} DPU-hours (${job.numberOfWorkers} × ${job.workerType})`,
            }),
        ),
        leftYAxis: { min: 0, label: 'DPU-hours', showUnits: false },
      }),
    ];
  }

  private uploadsWidget(uploads: DashboardUploads): GraphWidget {
    const upload = (metricName: string, label: string) => this.figure(metricName, BRIDGE_STAGES.uploadToGlue, uploads.dataset, 'Sum', JOB_PERIOD, label);
    const left: IMetric[] = [
      upload(UPLOAD_METRICS.uploadsSeen, 'uploads seen'),
      upload(UPLOAD_METRICS.jobRunsStarted, 'load runs started'),
      upload(UPLOAD_METRICS.duplicateDeliveriesSkipped, 'duplicate deliveries skipped'),
    ];
    return new GraphWidget({
      title: uploads.loadJob === undefined ? 'Uploads (sums per hour)' : `Uploads and the rows ${uploads.loadJob} loaded (sums per hour)`,
      width: 24,
      left,
      right: uploads.loadJob === undefined ? [] : [this.figure(JOB_METRICS.rowsWritten, uploads.loadJob, uploads.dataset, 'Sum', JOB_PERIOD, `${uploads.loadJob} rows written`)],
      leftYAxis: { min: 0, label: 'Uploads', showUnits: false },
      rightYAxis: { min: 0, label: 'Rows', showUnits: false },
    });
  }

  /**
   * Athena's query metrics (https://docs.aws.amazon.com/athena/latest/ug/query-metrics-viewing.html):
   * namespace AWS/Athena, published per query when the workgroup publishes CloudWatch metrics, with
   * the dimensions QueryState, QueryType and WorkGroup together. A search over that dimension set
   * finds every state and type of the workgroup's queries; ProcessedBytes is summed across them.
   */
  private athenaWidgets(workgroup: string): GraphWidget[] {
    const search = (metricName: string, statistic: string) =>
      `SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName="${metricName}" WorkGroup="${workgroup}"', '${statistic}', ${JOB_PERIOD.toSeconds()})`;
    return [
      new GraphWidget({
        title: `Athena: data scanned by the ${workgroup} workgroup (ProcessedBytes, sum per hour)`,
        width: 12,
        left: [new MathExpression({ expression: `SUM(${search('ProcessedBytes', 'Sum')})`, period: JOB_PERIOD, label: 'bytes scanned' })],
        leftYAxis: { min: 0, label: 'Bytes', showUnits: false },
      }),
      new GraphWidget({
        title: `Athena: query times in the ${workgroup} workgroup (TotalExecutionTime and EngineExecutionTime, longest per hour, by query state and type)`,
        width: 12,
        left: [
          // Dynamic labels: one line per query state and type the search finds.
          new SearchExpression({ expression: search('TotalExecutionTime', 'Maximum'), period: JOB_PERIOD, label: "total, ${PROP('Dim.QueryType')} ${PROP('Dim.QueryState')}" }),
          new SearchExpression({ expression: search('EngineExecutionTime', 'Maximum'), period: JOB_PERIOD, label: "engine, ${PROP('Dim.QueryType')} ${PROP('Dim.QueryState')}" }),
        ],
        leftYAxis: { min: 0, label: 'Milliseconds', showUnits: false },
      }),
    ];
  }
}
