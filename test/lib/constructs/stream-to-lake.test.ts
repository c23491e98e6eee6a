import { App, Stack } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { StreamToLake, type StreamToLakeProps } from '../../../lib/constructs/stream-to-lake';

function props(stack: Stack, overrides: Partial<StreamToLakeProps> = {}): StreamToLakeProps {
  return {
    table: new Table(stack, 'Table', { partitionKey: { name: 'id', type: AttributeType.STRING }, stream: StreamViewType.NEW_AND_OLD_IMAGES }),
    cdcTable: 'orders',
    landingBucket: new Bucket(stack, 'Landing'),
    workflowName: 'refresh',
    alarmTopic: new Topic(stack, 'Alerts'),
    ...overrides,
  };
}

describe('StreamToLake props, checked at synth with the construct path', () => {
  it('refuses a dataset the stream-to-lake handler does not encode', () => {
    const stack = new Stack(new App(), 'Stack');
    expect(() => new StreamToLake(stack, 'Sensors', props(stack, { cdcTable: 'sensors' }))).toThrow(
      'Stack/Sensors: cdcTable "sensors" is not one of orders, user_Campaign, campaignInfo, the datasets the stream-to-lake handler encodes',
    );
  });

  it('refuses a table without a stream', () => {
    const stack = new Stack(new App(), 'Stack');
    const table = new Table(stack, 'Plain', { partitionKey: { name: 'id', type: AttributeType.STRING } });
    expect(() => new StreamToLake(stack, 'Orders', props(stack, { table }))).toThrow('Stack/Orders: the table has no stream (give it one with NEW_AND_OLD_IMAGES)');
  });

  it('takes one of those datasets, and tells the handler which', () => {
    const cdcTable = 'user_Campaign';
    const stack = new Stack(new App(), 'Stack');
    const bridge = new StreamToLake(stack, 'Bridge', props(stack, { cdcTable }));
    const environment = (Stack.of(bridge).resolve((bridge.bridge.function.node.defaultChild as unknown as { environment: { variables: Record<string, unknown> } }).environment) as { variables: Record<string, unknown> }).variables;
    expect(environment.CDC_TABLE).toBe(cdcTable);
  });
});
