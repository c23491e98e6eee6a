import { App, Stack } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { StreamToLake, type StreamToLakeProps } from '../../../lib/constructs/stream-to-lake';

function props(stack: Stack, overrides: Partial<StreamToLakeProps> = {}): StreamToLakeProps {
  return {
    table: new Table(stack, 'Table', { partitionKey: { name: 'id', type: AttributeType.STRING }, stream: StreamViewType.NEW_AND_OLD_IMAGES }),
    dataset: 'orders',
    landingBucket: new Bucket(stack, 'Landing'),
    workflowName: 'refresh',
    alarmTopic: new Topic(stack, 'Alerts'),
    ...overrides,
  };
}

describe('StreamToLake props, checked at synth with the construct path', () => {
  it.each(['cdc/sensors', 'sensors-v2', '2sensors', ''])('refuses a dataset name the stream-to-lake handler would refuse: %j', (dataset) => {
    const stack = new Stack(new App(), 'Stack');
    expect(() => new StreamToLake(stack, 'Sensors', props(stack, { dataset }))).toThrow(
      `Stack/Sensors: dataset ${JSON.stringify(dataset)} is not a dataset name (letters, digits and underscores, starting with a letter)`,
    );
  });

  it('refuses a table without a stream', () => {
    const stack = new Stack(new App(), 'Stack');
    const table = new Table(stack, 'Plain', { partitionKey: { name: 'id', type: AttributeType.STRING } });
    expect(() => new StreamToLake(stack, 'Orders', props(stack, { table }))).toThrow('Stack/Orders: the table has no stream (give it one with NEW_AND_OLD_IMAGES)');
  });

  it.each(['user_Campaign', 'sensors'])("takes any dataset name, a consumer's too, and tells the handler which: %s", (dataset) => {
    const stack = new Stack(new App(), 'Stack');
    const bridge = new StreamToLake(stack, 'Bridge', props(stack, { dataset }));
    const environment = (Stack.of(bridge).resolve((bridge.bridge.function.node.defaultChild as unknown as { environment: { variables: Record<string, unknown> } }).environment) as { variables: Record<string, unknown> }).variables;
    expect(environment.DATASET).toBe(dataset);
  });
});

describe('StreamToLake metrics namespace', () => {
  const environmentOf = (bridge: StreamToLake) =>
    (Stack.of(bridge).resolve((bridge.bridge.function.node.defaultChild as unknown as { environment: { variables: Record<string, unknown> } }).environment) as { variables: Record<string, unknown> }).variables;

  it("tells the handler dynalake's namespace by default, and a given one when given", () => {
    const stack = new Stack(new App(), 'Stack');
    expect(environmentOf(new StreamToLake(stack, 'Default', props(stack))).METRICS_NAMESPACE).toBe('dynalake');
    const other = new Stack(new App(), 'Other');
    expect(environmentOf(new StreamToLake(other, 'Given', props(other, { metricsNamespace: 'sensors-prod/lake' }))).METRICS_NAMESPACE).toBe('sensors-prod/lake');
  });

  it.each(['', 'AWS/Lambda', ':lake', 'lake\n', 'x'.repeat(256), 'lac é'])('refuses %j, which CloudWatch would refuse, naming the construct', (metricsNamespace) => {
    const stack = new Stack(new App(), 'Stack');
    expect(() => new StreamToLake(stack, 'Sensors', props(stack, { metricsNamespace }))).toThrow(
      `Stack/Sensors: metricsNamespace ${JSON.stringify(metricsNamespace)} is not a CloudWatch namespace (1 to 255 printable ASCII characters, not starting with ":" or "AWS/")`,
    );
  });

  it('takes the longest namespace CloudWatch takes, and a colon after the first character', () => {
    const stack = new Stack(new App(), 'Stack');
    expect(environmentOf(new StreamToLake(stack, 'Long', props(stack, { metricsNamespace: `a:${'x'.repeat(253)}` }))).METRICS_NAMESPACE).toHaveLength(255);
  });
});
