import { App, Duration, Stack } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { FreshnessAlarms, type FreshnessAlarmsProps } from '../../../lib/constructs/freshness-alarms';
import { RefreshWorkflow } from '../../../lib/constructs/refresh-workflow';
import { buildStacks, resourceOf } from '../../helpers/cdk-app';
import { thrownBy } from '../../helpers/errors';

/** Freshness alarms of a job in a workflow on `schedule`, and the properties of both alarms as synthesized. */
function alarmsOn(schedule: string, props: Partial<FreshnessAlarmsProps> & { timeZone?: string } = {}) {
  const stack = new Stack(new App(), 'Lake');
  const workflow = new RefreshWorkflow(stack, 'Refresh', { workflowName: 'lake-refresh', schedule, timeZone: props.timeZone });
  const alarms = new FreshnessAlarms(stack, 'Freshness', { job: 'sensors_to_lake', dataset: 'sensors', workflow, ...props });
  return { stack, alarms, freshness: resourceOf(alarms.freshnessAlarm).Properties, notReporting: resourceOf(alarms.notReportingAlarm).Properties };
}

const windowOf = (properties: Record<string, unknown>) => [properties.Period, properties.EvaluationPeriods, properties.DatapointsToAlarm];

describe('FreshnessAlarms', () => {
  it('raises the freshness alarm on a run that merged a change older than 30 minutes, and keeps its state between runs', () => {
    const { freshness } = alarmsOn('cron(0 * * * ? *)');
    expect(freshness).toEqual({
      AlarmDescription: 'sensors_to_lake merged a sensors change older than the freshness objective of 30 minutes',
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [
        { Name: 'dataset', Value: 'sensors' },
        { Name: 'service', Value: 'sensors_to_lake' },
      ],
      EvaluationPeriods: 1,
      MetricName: 'LakeFreshnessSeconds',
      Namespace: 'dynalake',
      Period: 300,
      Statistic: 'Maximum',
      Threshold: 1800,
      // The job reports once per run: between runs the last verdict stands.
      TreatMissingData: 'ignore',
    });
  });

  it('raises the not-reporting alarm when no run reported for two of the schedule’s longest waits, missing data breaching', () => {
    const { notReporting } = alarmsOn('cron(0 * * * ? *)');
    expect(notReporting).toEqual({
      AlarmDescription: 'No run of sensors_to_lake reported for 2 hours, two of the longest waits of its schedule: sensors changes may be waiting unmerged',
      ComparisonOperator: 'LessThanThreshold',
      DatapointsToAlarm: 1,
      Dimensions: [
        { Name: 'dataset', Value: 'sensors' },
        { Name: 'service', Value: 'sensors_to_lake' },
      ],
      EvaluationPeriods: 1,
      MetricName: 'RunDurationSeconds',
      Namespace: 'dynalake',
      Period: 7200,
      Statistic: 'SampleCount',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
  });

  it.each([
    ['every 5 minutes', 'cron(*/5 * * * ? *)', undefined, [600, 1, 1]],
    ['hourly in Paris (a daylight-saving change can stretch a wait to 2 hours)', 'cron(0 * * * ? *)', 'Europe/Paris', [14_400, 1, 1]],
    ['every 12 hours: one day, one period', 'cron(0 0/12 * * ? *)', undefined, [86_400, 1, 1]],
    ['daily: two days, in two one-day periods', 'cron(0 8 * * ? *)', undefined, [86_400, 2, 2]],
    ['on weekdays: two weekends of silence, six one-day periods', 'cron(0 6 ? * MON-FRI *)', undefined, [86_400, 6, 6]],
    ['on Mondays, Wednesdays and Fridays at 23:59 (a 3-day wait, and a 2-day one)', 'cron(59 23 ? * MON,WED,FRI *)', undefined, [86_400, 6, 6]],
    ['every 3 hours', 'cron(0 0,3,6,9,12,15,18,21 * * ? *)', undefined, [21_600, 1, 1]],
  ])('watches a schedule %s over two of its waits', (_what, schedule, timeZone, window) => {
    expect(windowOf(alarmsOn(schedule, { timeZone }).notReporting)).toEqual(window);
  });

  it('refuses a schedule whose two waits exceed the 7 days an alarm can look back', () => {
    expect(thrownBy(() => alarmsOn('cron(0 0 ? * MON *)'))).toMatchObject({
      message:
        'Lake/Freshness: the schedule of Lake/Refresh can wait 7 days between starts; two such waits exceed the 7 days a CloudWatch alarm can look back (start the workflow at least every 3.5 days)',
    });
    // Thursday to Monday: 4 days.
    expect((thrownBy(() => alarmsOn('cron(0 0 ? * MON,THU *)')) as Error).message).toContain('can wait 4 days between starts');
  });

  it('takes another objective and namespace, and notifies the topic from both alarms', () => {
    const stack = new Stack(new App(), 'Lake');
    const topic = new Topic(stack, 'Alerts');
    const workflow = new RefreshWorkflow(stack, 'Refresh', { workflowName: 'lake-refresh', schedule: 'cron(0 * * * ? *)' });
    const alarms = new FreshnessAlarms(stack, 'Freshness', { job: 'j', dataset: 'd', workflow, objective: Duration.minutes(10), metricsNamespace: 'shop-prod', alarmTopic: topic });
    const [freshness, notReporting] = [alarms.freshnessAlarm, alarms.notReportingAlarm].map((alarm) => resourceOf(alarm).Properties);
    expect(freshness).toMatchObject({ Threshold: 600, Namespace: 'shop-prod', AlarmDescription: 'j merged a d change older than the freshness objective of 10 minutes' });
    expect(notReporting).toMatchObject({ Namespace: 'shop-prod' });
    const topicRef = stack.resolve(topic.topicArn) as unknown;
    expect([freshness?.AlarmActions, notReporting?.AlarmActions]).toEqual([[topicRef], [topicRef]]);
    expect(alarms.objectiveSeconds).toBe(600);
  });

  it('refuses an objective of no time and a namespace CloudWatch refuses, naming the construct', () => {
    expect(thrownBy(() => alarmsOn('cron(0 * * * ? *)', { objective: Duration.seconds(0) }))).toMatchObject({ message: 'Lake/Freshness: objective must be longer than 0 seconds' });
    expect((thrownBy(() => alarmsOn('cron(0 * * * ? *)', { metricsNamespace: 'AWS/Glue' })) as Error).message).toContain('Lake/Freshness: metricsNamespace "AWS/Glue" is not a CloudWatch namespace');
  });
});

describe('RefreshWorkflow.longestInterval', () => {
  const workflowOn = (schedule: string, timeZone?: string) => new RefreshWorkflow(new Stack(new App(), 'Lake'), 'Refresh', { workflowName: 'w', schedule, timeZone });

  it('is the longest wait between starts of the schedule, in its time zone', () => {
    expect(workflowOn('cron(0 * * * ? *)').longestInterval.toMinutes()).toBe(60);
    expect(workflowOn('cron(0 * * * ? *)', 'America/New_York').longestInterval.toMinutes()).toBe(120);
    expect(workflowOn('cron(0 6 ? * MON-FRI *)').longestInterval.toHours()).toBe(72);
  });

  it('refuses a schedule that is not AWS cron, or one that stops starting the workflow', () => {
    expect(thrownBy(() => workflowOn('rate(1 hour)'))).toMatchObject({ message: 'Lake/Refresh: schedule "rate(1 hour)" is not an AWS cron expression (cron(Minutes Hours Day-of-month Month Day-of-week Year))' });
    expect(thrownBy(() => workflowOn('cron(0 0 1 1 ? 2026)'))).toMatchObject({ message: 'Lake/Refresh: schedule cron(0 0 1 1 ? 2026) starts fewer than twice in the next eight years, so the workflow would stop refreshing' });
  });
});

describe('the pipeline’s freshness objective', () => {
  it('comes from freshnessObjectiveMinutes, and the silence it tolerates from refreshSchedule', () => {
    const { pipeline } = buildStacks({ freshnessObjectiveMinutes: 15, refreshSchedule: 'cron(0/20 * * * ? *)' });
    for (const alarms of Object.values(pipeline.freshness)) {
      expect(resourceOf(alarms.freshnessAlarm).Properties.Threshold).toBe(900);
      expect(windowOf(resourceOf(alarms.notReportingAlarm).Properties)).toEqual([2400, 1, 1]);
    }
  });
});
