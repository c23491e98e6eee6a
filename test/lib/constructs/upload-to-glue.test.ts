import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { UploadToGlue, type UploadToGlueProps } from '../../../lib/constructs/upload-to-glue';

function uploadBridge(overrides: Partial<UploadToGlueProps> = {}): { stack: Stack; bridge: UploadToGlue } {
  const stack = new Stack(new App(), 'Stack');
  const bridge = new UploadToGlue(stack, 'Uploads', {
    landingBucket: new Bucket(stack, 'Landing'),
    jobName: 'csv_to_dynamodb',
    targetTable: new Table(stack, 'Target', { partitionKey: { name: 'id', type: AttributeType.STRING } }),
    alarmTopic: new Topic(stack, 'Alerts'),
    ...overrides,
  });
  return { stack, bridge };
}

describe('UploadToGlue prefix and suffix', () => {
  it('filters the notification and tells the handler the same prefix and suffix, an empty suffix included', () => {
    const { stack, bridge } = uploadBridge({ prefix: 'incoming/sales/', suffix: '' });
    const template = Template.fromStack(stack);
    const functionId = stack.resolve((bridge.bridge.function.node.defaultChild as unknown as { logicalId: string }).logicalId) as string;
    const { Environment } = (template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }> }).Resources[functionId]?.Properties ?? {};
    expect(Environment?.Variables).toMatchObject({ UPLOAD_PREFIX: 'incoming/sales/', UPLOAD_SUFFIX: '' });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { LambdaFunctionConfigurations: [{ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/sales/' }] } } }] },
    });
  });

  it('defaults to raw/*.csv in both', () => {
    const { stack, bridge } = uploadBridge();
    const functionId = stack.resolve((bridge.bridge.function.node.defaultChild as unknown as { logicalId: string }).logicalId) as string;
    const resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, { Properties: { Environment?: { Variables: Record<string, unknown> } } }> }).Resources;
    expect(resources[functionId]?.Properties.Environment?.Variables).toMatchObject({ UPLOAD_PREFIX: 'raw/', UPLOAD_SUFFIX: '.csv' });
  });

  it("names its metrics' dataset and namespace to the handler: uploads in dynalake's namespace by default", () => {
    const variables = (bridge: { stack: Stack; bridge: UploadToGlue }) =>
      (bridge.stack.resolve((bridge.bridge.bridge.function.node.defaultChild as unknown as { environment: { variables: Record<string, unknown> } }).environment) as { variables: Record<string, unknown> }).variables;
    expect(variables(uploadBridge())).toMatchObject({ DATASET: 'uploads', METRICS_NAMESPACE: 'dynalake' });
    expect(variables(uploadBridge({ dataset: 'sales', metricsNamespace: 'shop-prod' }))).toMatchObject({ DATASET: 'sales', METRICS_NAMESPACE: 'shop-prod' });
  });

  it('refuses a dataset name the handler would refuse and a namespace CloudWatch would, naming the construct', () => {
    expect(() => uploadBridge({ dataset: 'sales-v2' })).toThrow('Stack/Uploads: dataset "sales-v2" is not a dataset name (letters, digits and underscores, starting with a letter)');
    expect(() => uploadBridge({ metricsNamespace: 'AWS/S3' })).toThrow('Stack/Uploads: metricsNamespace "AWS/S3" is not a CloudWatch namespace');
  });

  it.each(['', '/raw/'])('refuses the prefix %j, naming the construct', (prefix) => {
    expect(() => uploadBridge({ prefix })).toThrow(`Stack/Uploads: prefix ${JSON.stringify(prefix)} must name a key prefix, without a leading /`);
  });
});
