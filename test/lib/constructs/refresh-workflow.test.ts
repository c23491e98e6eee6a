import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnCrawler, CfnJob } from 'aws-cdk-lib/aws-glue';
import { RefreshWorkflow } from '../../../lib/constructs/refresh-workflow';
import { resourceOf } from '../../helpers/cdk-app';
import { describeTriggerGraph, triggerEdges, triggerGraphProblems } from '../../helpers/trigger-graph';

function job(stack: Stack, id: string): CfnJob {
  return new CfnJob(stack, id, { role: 'arn:aws:iam::123456789012:role/glue', command: { name: 'glueetl', scriptLocation: 's3://b/s.py' } });
}

function pipeline(timeZone?: string) {
  const stack = new Stack(new App(), 'Test');
  const orders = job(stack, 'OrdersToLake');
  const campaigns = job(stack, 'CampaignProgress');
  const star = job(stack, 'SalesStarSchema');
  const crawler = new CfnCrawler(stack, 'LakeCrawler', { role: 'arn:aws:iam::123456789012:role/crawler', targets: { s3Targets: [{ path: 's3://b/curated/' }] } });
  const workflow = new RefreshWorkflow(stack, 'Refresh', { workflowName: 'shop-dev-refresh', schedule: 'cron(0 * * * ? *)', timeZone });
  const loaded = workflow.start([{ job: orders }, { job: campaigns }]);
  const modelled = workflow.onSuccess(loaded, [{ job: star }]);
  workflow.onSuccess(modelled, [{ crawler }]);
  return { stack, workflow, template: Template.fromStack(stack) };
}

describe('RefreshWorkflow', () => {
  it('builds a trigger graph where every condition watches a node the workflow starts and every node is reachable', () => {
    const { template } = pipeline();
    const edges = triggerEdges(template.toJSON() as { Resources: Record<string, { Type: string }> });
    expect(triggerGraphProblems(edges)).toEqual([]);
    // The graph, as the test prints it: start → loads; both loads → star schema; star schema → crawler.
    console.log(`refresh workflow trigger graph:\n${describeTriggerGraph(edges)}`);
    expect(edges.map((edge) => [edge.type, edge.waitsFor.length, edge.starts.length])).toEqual([
      ['ON_DEMAND', 0, 2],
      ['CONDITIONAL', 2, 1],
      ['CONDITIONAL', 1, 1],
    ]);
  });

  it('puts every trigger in the workflow, starts each conditional one on creation, and the on-demand start trigger not (Glue does not support it)', () => {
    const { workflow } = pipeline();
    const workflowId = resourceOf(workflow.workflow).logicalId;
    const [start, ...conditional] = workflow.triggers.map((trigger) => resourceOf(trigger).Properties);
    expect(start).toMatchObject({ WorkflowName: { Ref: workflowId }, Type: 'ON_DEMAND' });
    expect(start).not.toHaveProperty('StartOnCreation');
    for (const trigger of conditional) expect(trigger).toMatchObject({ WorkflowName: { Ref: workflowId }, Type: 'CONDITIONAL', StartOnCreation: true });
  });

  it('starts on an EventBridge Scheduler schedule calling StartWorkflowRun, in its time zone, with retries and a dead-letter queue, one run at a time', () => {
    const { workflow, template } = pipeline('Europe/Paris');
    expect(resourceOf(workflow.workflow).Properties).toMatchObject({ Name: 'shop-dev-refresh', MaxConcurrentRuns: 1 });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 * * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:::aws-sdk:glue:startWorkflowRun']] },
        Input: JSON.stringify({ Name: 'shop-dev-refresh' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [resourceOf(workflow.deadLetterQueue).logicalId, 'Arn'] } },
      },
    });
  });

  it('lets the role of the schedule start this workflow and send to its dead-letter queue, nothing else', () => {
    const { workflow, template } = pipeline();
    const roleArn = resourceOf(workflow.schedule).Properties.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } };
    const [roleId] = roleArn.RoleArn['Fn::GetAtt'];
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } })) as { Properties: { PolicyDocument: { Statement: unknown[] } } }[];
    expect(policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)).toEqual([
      { Action: 'glue:StartWorkflowRun', Effect: 'Allow', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':glue:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workflow/shop-dev-refresh']] } },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [resourceOf(workflow.deadLetterQueue).logicalId, 'Arn'] } },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }] },
    });
  });

  it('gives every condition the EQUALS operator and SUCCEEDED, joined by AND, and no event batching', () => {
    const { workflow } = pipeline();
    const [, afterLoads, afterStar] = workflow.triggers.map((trigger) => resourceOf(trigger).Properties);
    expect(afterLoads?.Predicate).toMatchObject({
      Logical: 'AND',
      Conditions: [
        { LogicalOperator: 'EQUALS', State: 'SUCCEEDED' },
        { LogicalOperator: 'EQUALS', State: 'SUCCEEDED' },
      ],
    });
    expect(afterStar?.Predicate).toMatchObject({ Conditions: [{ LogicalOperator: 'EQUALS', State: 'SUCCEEDED' }] });
    expect(afterLoads).not.toHaveProperty('EventBatchingCondition');
  });

  it('creates each trigger after the one it follows', () => {
    const { workflow } = pipeline();
    const ids = workflow.triggers.map((trigger) => resourceOf(trigger).logicalId);
    const template = Template.fromStack(Stack.of(workflow)).toJSON() as { Resources: Record<string, { DependsOn?: string[] }> };
    expect(template.Resources[ids[1] as string]?.DependsOn).toContain(ids[0]);
    expect(template.Resources[ids[2] as string]?.DependsOn).toContain(ids[1]);
  });

  it('refuses a condition on a node another workflow starts', () => {
    const stack = new Stack(new App(), 'Test');
    const first = new RefreshWorkflow(stack, 'First', { workflowName: 'a', schedule: 'cron(0 * * * ? *)' });
    const second = new RefreshWorkflow(stack, 'Second', { workflowName: 'b', schedule: 'cron(0 * * * ? *)' });
    const started = first.start([{ job: job(stack, 'A') }]);
    second.start([{ job: job(stack, 'B') }]);
    expect(() => second.onSuccess(started, [{ job: job(stack, 'C') }])).toThrow('a condition may only watch nodes this workflow starts');
  });

  it('refuses a second start trigger', () => {
    const stack = new Stack(new App(), 'Test');
    const workflow = new RefreshWorkflow(stack, 'W', { workflowName: 'a', schedule: 'cron(0 * * * ? *)' });
    workflow.start([{ job: job(stack, 'A') }]);
    expect(() => workflow.start([{ job: job(stack, 'B') }])).toThrow('start() must be called once');
  });
});

describe('the trigger graph check', () => {
  const trigger = (type: string, waitsFor: string[], starts: string[], workflow = 'w', startOnCreation = type === 'CONDITIONAL') => ({ id: `${type}-${starts.join()}`, type, workflow, waitsFor, starts, startOnCreation });

  it('flags a condition on a crawler that runs on its own schedule, not started by the workflow', () => {
    expect(triggerGraphProblems([trigger('ON_DEMAND', [], ['job:a']), trigger('CONDITIONAL', ['crawler:c'], ['job:b'])])).toEqual([
      'CONDITIONAL-job:b waits for crawler:c, which no trigger of workflow w starts',
      'job:b cannot be reached from the start trigger of workflow w',
    ]);
  });

  it('flags a condition on a node started by another workflow', () => {
    const problems = triggerGraphProblems([trigger('ON_DEMAND', [], ['job:a'], 'w1'), trigger('ON_DEMAND', [], ['job:x'], 'w2'), trigger('CONDITIONAL', ['job:a'], ['job:b'], 'w2')]);
    expect(problems).toContain('CONDITIONAL-job:b waits for job:a, which no trigger of workflow w2 starts');
  });

  it('flags nodes in a cycle that the start trigger never reaches', () => {
    const problems = triggerGraphProblems([trigger('ON_DEMAND', [], ['job:a']), trigger('CONDITIONAL', ['job:c'], ['job:b']), trigger('CONDITIONAL', ['job:b'], ['job:c'])]);
    expect(problems).toEqual(['job:b cannot be reached from the start trigger of workflow w', 'job:c cannot be reached from the start trigger of workflow w']);
  });

  it('flags a SCHEDULED start trigger (StartWorkflowRun is documented for ON_DEMAND only), an ON_DEMAND one started on creation, and a condition never started', () => {
    expect(triggerGraphProblems([trigger('SCHEDULED', [], ['job:a']), trigger('CONDITIONAL', ['job:a'], ['job:b'])])).toEqual([
      'SCHEDULED-job:a starts workflow w as SCHEDULED: StartWorkflowRun is documented for ON_DEMAND start triggers only',
    ]);
    expect(triggerGraphProblems([trigger('ON_DEMAND', [], ['job:a'], 'w', true), trigger('CONDITIONAL', ['job:a'], ['job:b'], 'w', false)])).toEqual([
      'ON_DEMAND-job:a is ON_DEMAND with StartOnCreation, which Glue does not support',
      'CONDITIONAL-job:b is not started on creation: it never fires',
    ]);
  });
});
