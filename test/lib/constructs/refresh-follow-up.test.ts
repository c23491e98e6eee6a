import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CfnCrawler, CfnJob } from 'aws-cdk-lib/aws-glue';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { RefreshFollowUp, type RefreshFollowUpProps } from '../../../lib/constructs/refresh-follow-up';
import { RefreshWorkflow } from '../../../lib/constructs/refresh-workflow';
import { resourceOf } from '../../helpers/cdk-app';
import { thrownBy } from '../../helpers/errors';

const MERGES = [{ job: 'sensors_to_lake', statePrefix: 'state/sensors_to_lake/', cdcPrefixes: ['cdc/sensors/'] }];

function followUp(props: Partial<RefreshFollowUpProps> = {}, nodes: 'job' | 'job-and-crawler' | 'none' = 'job-and-crawler') {
  const stack = new Stack(new App(), 'Lake');
  const workflow = new RefreshWorkflow(stack, 'Refresh', { workflowName: 'lake-refresh', schedule: 'cron(0 * * * ? *)' });
  const job = new CfnJob(stack, 'Merge', { name: 'lake-merge', role: 'arn:aws:iam::123456789012:role/glue', command: { name: 'glueetl', scriptLocation: 's3://b/s.py' } });
  const crawler = new CfnCrawler(stack, 'Crawler', { name: 'lake-crawler', role: 'arn:aws:iam::123456789012:role/crawler', targets: { s3Targets: [{ path: 's3://b/curated/' }] } });
  if (nodes !== 'none') {
    const merged = workflow.start([{ job }]);
    if (nodes === 'job-and-crawler') workflow.onSuccess(merged, [{ crawler }]);
  }
  const construct = new RefreshFollowUp(stack, 'FollowUp', { workflow, landingBucket: new Bucket(stack, 'Landing'), lakeBucket: new Bucket(stack, 'Lake'), merges: MERGES, ...props });
  return { stack, construct };
}

describe('RefreshFollowUp', () => {
  it('gives the handler the workflow, the buckets, the merge jobs and the namespace', () => {
    const { stack, construct } = followUp({ metricsNamespace: 'shop-prod' });
    const variables = (resourceOf(construct.bridge.function).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toEqual({
      WORKFLOW_NAME: { Ref: stack.getLogicalId(construct.node.scope?.node.findChild('Refresh').node.findChild('Workflow').node.defaultChild as never) },
      LANDING_BUCKET: { Ref: stack.getLogicalId(stack.node.findChild('Landing').node.defaultChild as never) },
      LAKE_BUCKET: { Ref: stack.getLogicalId(stack.node.findChild('Lake').node.defaultChild as never) },
      MERGES: JSON.stringify(MERGES),
      METRICS_NAMESPACE: 'shop-prod',
      POWERTOOLS_SERVICE_NAME: 'dynalake-refresh-follow-up',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    expect(resourceOf(construct.bridge.function).Properties.Timeout).toBe(120);
  });

  it('sends the end of each job and crawler the workflow starts, in every end state', () => {
    const { construct } = followUp();
    expect(construct.rules.map((rule) => resourceOf(rule).Properties.EventPattern)).toEqual([
      { source: ['aws.glue'], 'detail-type': ['Glue Job State Change'], detail: { jobName: [{ Ref: 'Merge' }], state: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'] } },
      { source: ['aws.glue'], 'detail-type': ['Glue Crawler State Change'], detail: { crawlerName: [{ Ref: 'Crawler' }], state: ['Succeeded', 'Failed'] } },
    ]);
    expect(followUp({}, 'job').construct.rules).toHaveLength(1);
  });

  it('retries an event twice, then keeps it in the failure queue', () => {
    const { stack, construct } = followUp();
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(construct.bridge.failureQueue.queueArn) as unknown } },
    });
  });

  it('reads the state objects with the data key when there is one', () => {
    const stack = new Stack(new App(), 'Lake');
    const key = new Key(stack, 'Data');
    const workflow = new RefreshWorkflow(stack, 'Refresh', { workflowName: 'lake-refresh', schedule: 'cron(0 * * * ? *)' });
    workflow.start([{ job: new CfnJob(stack, 'Merge', { name: 'm', role: 'r', command: { name: 'glueetl' } }) }]);
    new RefreshFollowUp(stack, 'FollowUp', { workflow, landingBucket: new Bucket(stack, 'Landing'), lakeBucket: new Bucket(stack, 'Lake'), merges: MERGES, dataKey: key });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt', Resource: stack.resolve(key.keyArn) as unknown })]) },
    });
  });

  it('refuses no merge job, a merge job without a CDC prefix, and a workflow that starts nothing yet, naming the construct', () => {
    expect((thrownBy(() => followUp({ merges: [] })) as Error).message).toBe('Lake/FollowUp: merges must name at least one merge job of the workflow');
    expect((thrownBy(() => followUp({ merges: [{ job: 'j', statePrefix: 'state/j/', cdcPrefixes: [] }] })) as Error).message).toBe('Lake/FollowUp: merge job j reads no CDC prefix');
    expect((thrownBy(() => followUp({}, 'none')) as Error).message).toBe('Lake/FollowUp: Lake/Refresh starts nothing yet: add its triggers first');
  });
});
