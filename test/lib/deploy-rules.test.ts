import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import type { CfnJob } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { buildDynalakeApp } from '../../lib/app';
import { DEPLOY_RULES, METRICS_NAMESPACE_RULE, type StackTemplate, TOPIC_PUBLISHERS_RULE } from '../../lib/deploy-rules';
import { GLUE_SCRIPTS_DIR } from '../../lib/stacks/pipeline-stack';
import { buildStacks, resourceOf, testApp } from '../helpers/cdk-app';

/**
 * The deploy rules (lib/deploy-rules.ts), each shown failing the synth on the defect it was
 * written for (issue 13) and holding for every resource of its kind, and the app passing them.
 */

const templatesOf = (stacks: ReturnType<typeof buildStacks>): StackTemplate[] =>
  [stacks.storage, stacks.pipeline].map((stack) => ({ stackName: stack.stackName, template: Template.fromStack(stack).toJSON() }));

describe('the deploy rules', () => {
  it.each([
    ['the default configuration', {}],
    ['KMS encryption with destroy and alerts', { stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy', alertEmail: 'data-team@example.com' }],
  ] as const)('hold for the app in %s', (_name, config) => {
    const stacks = buildStacks(config);
    for (const rule of DEPLOY_RULES) expect([rule.id, rule.check(templatesOf(stacks))]).toEqual([rule.id, []]);
  });

  it('count every alarm (the 13 of the bridges, the refresh schedule dead letters, the failed upload runs, the 4 of the freshness objective) and every EventBridge rule as publishers of the alert topic', () => {
    const stacks = buildStacks();
    const withoutPolicies = templatesOf(stacks).map(({ stackName, template }) => ({
      stackName,
      template: { ...template, Resources: Object.fromEntries(Object.entries(template.Resources ?? {}).filter(([, resource]) => resource.Type !== 'AWS::SNS::TopicPolicy')) },
    }));
    const findings = TOPIC_PUBLISHERS_RULE.check(withoutPolicies);
    const alarms = stacks.pipeline.streamBridges.flatMap((bridge) => bridge.bridge.alarms).concat(stacks.pipeline.uploadBridge.bridge.alarms, stacks.pipeline.followUp.bridge.alarms);
    expect(alarms).toHaveLength(13);
    const freshness = Object.values(stacks.pipeline.freshness).flatMap((alarms) => [alarms.freshnessAlarm, alarms.notReportingAlarm]);
    expect(findings.filter((finding) => finding.message.includes('as cloudwatch.amazonaws.com, but no topic policy'))).toHaveLength(alarms.length + 2 + freshness.length);
    expect(findings.some((finding) => finding.message.startsWith('RefreshScheduleDeadLettersAlarm'))).toBe(true);
    // Glue job, upload run, crawler and Athena failures, and the orders dataset's own job failures.
    expect(findings.filter((finding) => finding.message.includes('as events.amazonaws.com, but no topic policy'))).toHaveLength(5);
  });

  it('fail the synth on an alarm whose encrypted, TLS-only topic lets only EventBridge publish (the alert topic as it was)', () => {
    const { app, pipeline } = buildStacks();
    const key = new Key(pipeline, 'OtherKey', { enableKeyRotation: true });
    const topic = new Topic(pipeline, 'OtherTopic', { masterKey: key, enforceSSL: true });
    new Rule(pipeline, 'OtherRule', { schedule: Schedule.rate(Duration.hours(1)), targets: [new SnsTopic(topic)] });
    new Alarm(pipeline, 'OtherAlarm', { metric: new Metric({ namespace: 'X', metricName: 'Y' }), threshold: 1, evaluationPeriods: 1 }).addAlarmAction(new SnsAction(topic));
    expect(() => app.synth()).toThrow(/OtherAlarm[A-F0-9]+ \(Properties\/AlarmActions\) publishes to OtherTopic[A-F0-9]+ as cloudwatch\.amazonaws\.com, but no topic policy allows[\s\S]*Dynalake-TopicPublishers/);
    expect(() => app.synth()).toThrow(/the key policy of OtherKey[A-F0-9]+ does not allow cloudwatch\.amazonaws\.com kms:Decrypt and kms:GenerateDataKey\*/);
  });

  it('fail the synth on an EventBridge target topic encrypted with the AWS-managed SNS key', () => {
    const { app, pipeline } = buildStacks();
    const topic = new Topic(pipeline, 'ManagedKeyTopic', { enforceSSL: true });
    (topic.node.defaultChild as unknown as { kmsMasterKeyId: string }).kmsMasterKeyId = 'alias/aws/sns';
    new Rule(pipeline, 'ManagedKeyRule', { schedule: Schedule.rate(Duration.hours(1)), targets: [new SnsTopic(topic)] });
    expect(() => app.synth()).toThrow(/ManagedKeyRule[A-F0-9]+ \(Properties\/Targets\) publishes to ManagedKeyTopic[A-F0-9]+ as events\.amazonaws\.com, but the topic uses the AWS-managed key alias\/aws\/sns/);
  });

  it.each([
    ['the catalog database', (stacks: ReturnType<typeof buildStacks>) => stacks.pipeline.catalog.database, /CatalogDatabase[A-F0-9]+ \(AWS::Glue::Database\) is named "dynalake_dev" and has DeletionPolicy Retain/],
    ['the Glue security configuration', (stacks: ReturnType<typeof buildStacks>) => stacks.pipeline.node.findChild('SecurityConfiguration'), /SecurityConfiguration[A-F0-9]+ \(AWS::Glue::SecurityConfiguration\) is named "dynalake-dev-glue" and has DeletionPolicy Retain/],
  ] as const)('fail the synth when %s, fixed-named metadata, is retained (as it was)', (_name, find, message) => {
    const stacks = buildStacks();
    const construct = find(stacks) as unknown as { applyRemovalPolicy(policy: RemovalPolicy): void };
    construct.applyRemovalPolicy(RemovalPolicy.RETAIN);
    expect(() => stacks.app.synth()).toThrow(message);
  });

  it.each([{}, { removalPolicy: 'destroy' }] as const)('delete the fixed-named database and security configuration with the stack (config %j)', (config) => {
    const stacks = buildStacks(config);
    expect(resourceOf(stacks.pipeline.catalog.database).DeletionPolicy).toBe('Delete');
    expect(resourceOf(stacks.pipeline.node.findChild('SecurityConfiguration')).DeletionPolicy).toBe('Delete');
  });

  it('let a retained resource with a fixed name pass when it holds data, or when CloudFormation names it, and no other', () => {
    const stacks = buildStacks();
    new LogGroup(stacks.pipeline, 'NamedLogs', { logGroupName: '/dynalake/kept', removalPolicy: RemovalPolicy.RETAIN });
    new Topic(stacks.pipeline, 'UnnamedTopic', { enforceSSL: true }).applyRemovalPolicy(RemovalPolicy.RETAIN);
    new Topic(stacks.pipeline, 'NamedTopic', { topicName: 'dynalake-kept', enforceSSL: true }).applyRemovalPolicy(RemovalPolicy.RETAIN);
    const message = (() => {
      try {
        stacks.app.synth();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message.match(/^ {2}- \w+ \(AWS::[\w:]+\) is named/gm)).toEqual(['  - NamedTopic5102EA48 (AWS::SNS::Topic) is named']);
  });

  it('fail the synth on weak cross-stack references (Fn::GetStackOutput), as cdk.json had them', () => {
    const app = testApp();
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'weak');
    buildDynalakeApp(app);
    expect(() => app.synth()).toThrow(/reads dynalake-dev-storage\.\w+ through Fn::GetStackOutput, resolved only when dynalake-dev-pipeline itself updates[\s\S]*Dynalake-WeakReference/);
  });

  it('fail the synth on a Glue job whose helper module ships as a single-file asset, named by its hash (as it did)', () => {
    const { app, pipeline } = buildStacks();
    const lone = new Asset(pipeline, 'LoneHelper', { path: join(GLUE_SCRIPTS_DIR, 'dynalake_glue.py') });
    (pipeline.jobs.campaign_progress.job.node.defaultChild as CfnJob).addPropertyOverride('DefaultArguments.--extra-py-files', lone.s3ObjectUrl);
    expect(() => app.synth()).toThrow(/CampaignProgressJob[A-F0-9]+ adds s3:\/\/[^ ]+\/[0-9a-f]{64}\.py to the Python path[\s\S]*Dynalake-GluePythonModules/);
  });

  it('fail the synth on a role that may put metrics into any namespace, and read every form of the grant', () => {
    const { app, pipeline } = buildStacks();
    pipeline.jobs.sales_star_schema.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['cloudwatch:PutMetricData'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/SalesStarSchemaRole\w* \(AWS::IAM::Policy\) allows cloudwatch:PutMetricData \(through cloudwatch:PutMetricData\) with no cloudwatch:namespace condition: it may write into any namespace[\s\S]*Dynalake-MetricsNamespace/);

    const statement = (fields: Record<string, unknown>) => ({ Effect: 'Allow', Resource: '*', ...fields });
    const template = (resources: Record<string, unknown>): StackTemplate[] => [{ stackName: 'S', template: { Resources: resources as StackTemplate['template']['Resources'] } }];
    const policy = (statements: unknown[]) => ({ Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: statements } } });
    const flagged = (resources: Record<string, unknown>) => METRICS_NAMESPACE_RULE.check(template(resources)).map((finding) => `${finding.logicalId} ${finding.location}`);
    expect(
      flagged({
        Wildcard: policy([statement({ Action: 'cloudwatch:put*' })]),
        Everything: policy([statement({ Action: '*' })]),
        Not: policy([statement({ NotAction: ['s3:*'] })]),
        Other: policy([statement({ Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } } })]),
        Inline: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyDocument: { Statement: [statement({ Action: ['logs:PutLogEvents'] })] } }, { PolicyDocument: { Statement: statement({ Action: 'cloudwatch:PutMetricData' }) } }] } },
        Managed: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Statement: [statement({ Action: 'cloudwatch:PutMetric?ata' })] } } },
      }),
    ).toEqual(['Wildcard Properties/PolicyDocument', 'Everything Properties/PolicyDocument', 'Not Properties/PolicyDocument', 'Other Properties/PolicyDocument', 'Inline Properties/Policies/1/PolicyDocument', 'Managed Properties/PolicyDocument']);
    expect(
      flagged({
        Held: policy([statement({ Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': ['Glue', 'dynalake-dev'] } } })]),
        Like: policy([statement({ Action: 'cloudwatch:*', Condition: { StringLike: { 'CloudWatch:Namespace': 'dynalake-*' } } })]),
        Denied: policy([{ Effect: 'Deny', Action: 'cloudwatch:PutMetricData', Resource: '*' }]),
        NotPut: policy([statement({ NotAction: 'cloudwatch:PutMetricData' }), statement({ Action: ['cloudwatch:GetMetricData', 'cloudwatch:PutMetricAlarm'] })]),
        Topic: { Type: 'AWS::SNS::TopicPolicy', Properties: { PolicyDocument: { Statement: [statement({ Action: '*' })] } } },
      }),
    ).toEqual([]);
  });
});
