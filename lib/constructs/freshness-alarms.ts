import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DATASET_DIMENSION, JOB_METRICS } from '../../lambda/shared/metrics';
import { checkedMetricsNamespace } from './bridge-function';
import type { RefreshWorkflow } from './refresh-workflow';

/** The freshness objective unless one is given: the worst case of the batch pipelines dynalake replaces. */
export const DEFAULT_FRESHNESS_OBJECTIVE = Duration.minutes(30);

/**
 * CloudWatch looks back at most 7 days (Period × EvaluationPeriods), and a period may be a
 * whole number of minutes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 * Periods here stay within a day, so a longer silence is watched over several of them.
 */
const LONGEST_LOOK_BACK = Duration.days(7);
const LONGEST_PERIOD = Duration.days(1);

/** Properties of {@link FreshnessAlarms}. */
export interface FreshnessAlarmsProps {
  /** The `service` dimension of the job's figures: its script name (`orders_to_lake`, `campaign_progress`, `<dataset>_to_lake`). */
  readonly job: string;
  /** The `dataset` dimension of the job's figures. */
  readonly dataset: string;
  /** The workflow whose runs start the job: the longest wait of its schedule sets how long the job may stay silent. */
  readonly workflow: RefreshWorkflow;
  /**
   * The worst lake freshness allowed: how old the newest change a run merges may be when the run commits it.
   * @default Duration.minutes(30)
   */
  readonly objective?: Duration;
  /**
   * The CloudWatch namespace the job publishes to.
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
  /**
   * Topic both alarms notify.
   * @default - no action: the alarms show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
}

/**
 * The freshness objective of a CDC-merge job, as two alarms on the figures it publishes after
 * each commit (lambda/shared/metrics.ts JOB_METRICS):
 * - `FreshnessAlarm`: a run merged a change older than the objective. Missing data keeps the
 *   alarm's state, since the job reports once per run: the alarm stays raised until a run is
 *   back within the objective.
 * - `NotReportingAlarm`: no run reported for two of the schedule's longest intervals, so the
 *   lake may be stale without a freshness figure to say so (runs failing, the workflow stopped,
 *   the schedule disabled). Missing data is breaching.
 */
export class FreshnessAlarms extends Construct {
  /** The objective, in seconds: the freshness alarm's threshold. */
  readonly objectiveSeconds: number;
  /** A run merged a change older than the objective. */
  readonly freshnessAlarm: Alarm;
  /** No run of the job reported for two of the schedule's longest intervals. */
  readonly notReportingAlarm: Alarm;

  constructor(scope: Construct, id: string, props: FreshnessAlarmsProps) {
    super(scope, id);
    const namespace = checkedMetricsNamespace(this, props.metricsNamespace);
    const objective = props.objective ?? DEFAULT_FRESHNESS_OBJECTIVE;
    this.objectiveSeconds = objective.toSeconds();
    if (!(this.objectiveSeconds > 0)) throw new Error(`${this.node.path}: objective must be longer than 0 seconds`);
    const dimensionsMap = { service: props.job, [DATASET_DIMENSION]: props.dataset };
    const action = props.alarmTopic && new SnsAction(props.alarmTopic);

    this.freshnessAlarm = new Alarm(this, 'FreshnessAlarm', {
      metric: new Metric({ namespace, metricName: JOB_METRICS.lakeFreshness, dimensionsMap, statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: this.objectiveSeconds,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.IGNORE,
      alarmDescription: `${props.job} merged a ${props.dataset} change older than the freshness objective of ${objective.toHumanString()}`,
    });

    const silence = Duration.minutes(2 * props.workflow.longestInterval.toMinutes());
    if (silence.toSeconds() > LONGEST_LOOK_BACK.toSeconds()) {
      throw new Error(
        `${this.node.path}: the schedule of ${props.workflow.node.path} can wait ${props.workflow.longestInterval.toHumanString()} between starts; ` +
          `two such waits exceed the ${LONGEST_LOOK_BACK.toHumanString()} a CloudWatch alarm can look back (start the workflow at least every 3.5 days)`,
      );
    }
    const periods = Math.ceil(silence.toSeconds() / LONGEST_PERIOD.toSeconds());
    const period = Duration.minutes(Math.ceil(silence.toMinutes() / periods));
    this.notReportingAlarm = new Alarm(this, 'NotReportingAlarm', {
      metric: new Metric({ namespace, metricName: JOB_METRICS.runDuration, dimensionsMap, statistic: 'SampleCount', period }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription: `No run of ${props.job} reported for ${silence.toHumanString()}, two of the longest waits of its schedule: ${props.dataset} changes may be waiting unmerged`,
    });
    if (action) for (const alarm of [this.freshnessAlarm, this.notReportingAlarm]) alarm.addAlarmAction(action);
  }
}
