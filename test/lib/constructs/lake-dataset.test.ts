import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SecurityConfiguration } from 'aws-cdk-lib/aws-glue';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AlertTopic } from '../../../lib/constructs/alert-topic';
import { datasetJobArguments } from '../../../lib/constructs/lake-dataset';
import { RefreshWorkflow } from '../../../lib/constructs/refresh-workflow';
import { addDeployRules } from '../../../lib/deploy-rules';
import { addComplianceChecks } from '../../../lib/nag';
import { testApp } from '../../helpers/cdk-app';
import { SENSORS, sensorsLake } from '../../helpers/sensors-app';

const statementsOf = (template: Template, roleLogicalId: string): { Action: string | string[]; Resource: unknown }[] =>
  Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleLogicalId }] } })).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
  );

describe("LakeDataset: a consumer's table in the lake, declared once", () => {
  const { stack, dataset } = sensorsLake();
  const template = Template.fromStack(stack);
  const jobArguments = (template.findResources('AWS::Glue::Job')[stack.getLogicalId(dataset.job.node.defaultChild as never)] as { Properties: { DefaultArguments: Record<string, unknown> } })
    .Properties.DefaultArguments;

  it('is the generic CDC-merge job, told the dataset, its prefixes and its table in its arguments', () => {
    template.hasResourceProperties('AWS::Glue::Job', { Name: 'SensorsLake-sensors-to-lake', Command: Match.objectLike({ Name: 'glueetl' }) });
    const args = stack.resolve(jobArguments) as Record<string, unknown>;
    expect(JSON.parse(args['--DATASET'] as string)).toEqual(SENSORS);
    expect(args).toMatchObject({ '--CDC_PREFIX': 'cdc/sensors/', '--CURATED_PREFIX': 'curated/sensors/', '--STATE_PREFIX': 'state/sensors_to_lake/', '--EXPORT_PREFIX': 'dynamodb-exports/sensors/', '--MODE': 'incremental' });
    expect(Object.keys(datasetJobArguments(SENSORS, { landingBucket: 'l', lakeBucket: 'k', assetsBucket: 'a', tableArn: 't' })).map((name) => `--${name}`)).toEqual(
      expect.arrayContaining(Object.keys(args).filter((name) => /^--[A-Z_]+$/.test(name) && name !== '--TempDir')),
    );
    // The script every dataset runs, shipped in the package.
    const script = readFileSync(join(__dirname, '..', '..', '..', 'glue-scripts', 'dataset_to_lake.py'), 'utf8');
    expect(script).toContain('start_glue_job(sys.argv, ARGUMENTS)');
  });

  it("holds the job's data to the dataset's own prefixes and table, and reads its stream only", () => {
    const objectPatterns = statementsOf(template, stack.getLogicalId(dataset.role.node.defaultChild as never))
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => JSON.stringify(resource))
      .filter((resource) => resource.includes('Buckets'))
      .map((resource) => /"\/([^"]*)"/.exec(resource)?.[1])
      .filter((keys): keys is string => keys !== undefined);
    expect(new Set(objectPatterns)).toEqual(
      new Set(['cdc/sensors*', 'cdc', 'cdc/', 'cdc_$folder$', 'curated/sensors*', 'curated', 'curated/', 'curated_$folder$', 'state/sensors_to_lake*', 'state', 'state/', 'state_$folder$', 'dynamodb-exports/sensors*', 'dynamodb-exports', 'dynamodb-exports/', 'dynamodb-exports_$folder$', 'glue-temp/sensors_to_lake*', 'glue-temp', 'glue-temp/', 'glue-temp_$folder$']),
    );
    const bridgePuts = statementsOf(template, stack.getLogicalId(dataset.stream.bridge.role.node.defaultChild as never)).filter((statement) => statement.Action === 's3:PutObject');
    expect(JSON.stringify(bridgePuts)).toContain('/cdc/sensors/*');
  });

  it('declares curated_sensors in the catalog, and runs the job in a workflow of its own that the bridge starts', () => {
    template.hasResourceProperties('AWS::Glue::Table', { TableInput: Match.objectLike({ Name: 'curated_sensors' }) });
    template.hasResourceProperties('AWS::Glue::Trigger', { Type: 'ON_DEMAND', WorkflowName: Match.anyValue(), Actions: [{ JobName: Match.anyValue() }] });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 * * * ? *)' });
    const environment = (stack.resolve((dataset.stream.bridge.function.node.defaultChild as unknown as { environment: unknown }).environment) as { variables: Record<string, unknown> }).variables;
    expect(environment.DATASET).toBe('sensors');
    expect(environment.METRICS_NAMESPACE).toBe('dynalake');
    expect(environment.WORKFLOW_NAME).toEqual(stack.resolve(dataset.workflow.workflow.workflowName));
    template.hasResourceProperties('AWS::Glue::Workflow', { Name: 'SensorsLake-sensors-refresh' });
  });

  it('has its own key and security configuration, and alarms without an action when given no topic', () => {
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', { Name: 'SensorsLake-sensors-to-lake-glue' });
    // The bridge's errors, failure queue and iterator age, its own schedule's dead letters, the freshness objective's two, and its follow-up's errors and failure queue.
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(8);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.getLogicalId(dataset.workflow.deadLetterQueue.node.defaultChild as never), 'QueueName'] } }] });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect((alarm as { Properties: { AlarmActions?: unknown } }).Properties.AlarmActions).toBeUndefined();
    // No failure rule without a topic: the one rule sends its job's ends to its follow-up.
    expect(Object.values(template.findResources('AWS::Events::Rule')).map((rule) => (rule as { Properties: { EventPattern: unknown } }).Properties.EventPattern)).toEqual([
      { source: ['aws.glue'], 'detail-type': ['Glue Job State Change'], detail: { jobName: [{ Ref: stack.getLogicalId(dataset.job.node.defaultChild as never) }], state: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'] } },
    ]);
    expect(dataset.followUp?.rules).toHaveLength(1);
  });

  it("synthesizes with cdk-nag and dynalake's deploy rules and no finding: it acknowledges its own", () => {
    const app = testApp();
    addComplianceChecks(app);
    addDeployRules(app);
    // A topic of AlertTopic's kind: alarms publish to it (a plain encrypted topic drops their messages, and the deploy rule says so).
    sensorsLake(app, (scope) => ({ alarmTopic: new AlertTopic(scope, 'Alerts').topic }));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('LakeDataset wired into what the app has', () => {
  it("publishes its bridge's metrics to a given namespace", () => {
    const { stack, dataset } = sensorsLake(new App(), () => ({ metricsNamespace: 'sensors-prod' }));
    const environment = (stack.resolve((dataset.stream.bridge.function.node.defaultChild as unknown as { environment: unknown }).environment) as { variables: Record<string, unknown> }).variables;
    expect(environment.METRICS_NAMESPACE).toBe('sensors-prod');
  });

  it('notifies a given topic of its alarms and its job failures, and starts a given workflow without making one', () => {
    let topic: Topic | undefined;
    let workflow: RefreshWorkflow | undefined;
    const { stack, dataset } = sensorsLake(new App(), (scope) => {
      topic = new Topic(scope, 'Alerts');
      workflow = new RefreshWorkflow(scope, 'Refresh', { workflowName: 'everything-refresh', schedule: 'cron(0 * * * ? *)' });
      return { alarmTopic: topic, workflow };
    });
    expect(dataset.workflow).toBe(workflow);
    expect(dataset.node.tryFindChild('Refresh')).toBeUndefined();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['aws.glue'], detail: { jobName: [stack.resolve(dataset.job.jobName)], state: ['FAILED', 'TIMEOUT', 'ERROR'] } } });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm as { Properties: { AlarmActions?: unknown } }).Properties.AlarmActions).toEqual([{ Ref: stack.getLogicalId(topic?.node.defaultChild as never) }]);
    }
  });

  it('refuses an unsound dataset at synth, naming its path and field', () => {
    expect(() => sensorsLake(new App(), () => ({ dataset: { ...SENSORS, key: ['serial'] } }))).toThrow(
      'SensorsLake/SensorsToLake: dataset key[0] "serial" is read into no column: the lake could not tell two items apart',
    );
  });

  it('refuses a security configuration given without its key', () => {
    // A JavaScript caller (or a cast) can leave the key out; the type asks for both.
    const withoutKey = (scope: Stack) => ({ configuration: SecurityConfiguration.fromSecurityConfigurationName(scope, 'Imported', 'shared-glue'), key: undefined as unknown as IKey });
    expect(() => sensorsLake(new App(), (scope) => ({ glueSecurity: withoutKey(scope) }))).toThrow('SensorsLake/SensorsToLake: give securityConfiguration and securityKey together, or neither for the job\'s own');
  });
});
