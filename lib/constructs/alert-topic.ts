import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** What {@link countAlarm} watches. */
export interface CountAlarmOptions {
  /** The metric, with its statistic and period. */
  readonly metric: IMetric;
  /** What the alarm means, for the message it sends. */
  readonly description: string;
  /** @default 1 */
  readonly threshold?: number;
  /** @default - no action: the alarm shows in the CloudWatch console only */
  readonly topic?: ITopic;
}

/**
 * An alarm when `metric` reaches the threshold in one period (a failure, a message given up on,
 * a lag), notifying `topic` when given. No data is no alarm: these metrics are only published
 * when something happened.
 */
export function countAlarm(scope: Construct, id: string, options: CountAlarmOptions): Alarm {
  const alarm = new Alarm(scope, id, {
    metric: options.metric,
    threshold: options.threshold ?? 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: options.description,
  });
  if (options.topic) alarm.addAlarmAction(new SnsAction(options.topic));
  return alarm;
}

/** Options of {@link alertTopicIn}. */
export interface AlertTopicOptions {
  /** What the topic's messages are about, for its display name and its key's description. */
  readonly name: string;
  /** Address that receives the alerts (a subscription it must confirm). */
  readonly email?: string;
  /** What happens to the key when the stack is deleted. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An encrypted, TLS-only topic that CloudWatch alarms and EventBridge rules can publish to, made
 * under `scope` as `AlertsKey` and `Alerts`. The TLS-only topic policy replaces SNS's default one,
 * so each publishing service needs its own Allow, and its use of the topic's key: CloudWatch's is
 * here, EventBridge's comes with each SnsTopic target. The deploy rule Dynalake-TopicPublishers
 * holds every topic to that.
 */
export function alertTopicIn(scope: Construct, options: AlertTopicOptions): Topic {
  const stack = Stack.of(scope);
  // EventBridge and CloudWatch can only publish to a topic whose key lets them: a customer-managed key.
  const key = new Key(scope, 'AlertsKey', { description: `Encrypts the ${options.name} alerts topic`, enableKeyRotation: true, removalPolicy: options.removalPolicy });
  const topic = new Topic(scope, 'Alerts', { displayName: `${options.name} pipeline alerts`, masterKey: key, enforceSSL: true });
  // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowThisAccountsAlarms',
      principals: [cloudWatch],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
  // AWS does not document that CloudWatch's KMS calls carry aws:SourceArn (for EventBridge's it
  // says they do not), so the key statement has no source condition: it works either way, and
  // the topic policy above keeps publishing to this account's alarms.
  key.addToResourcePolicy(new PolicyStatement({ principals: [cloudWatch], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] }));
  if (options.email) topic.addSubscription(new EmailSubscription(options.email));
  return topic;
}

/** Properties of an {@link AlertTopic}. */
export interface AlertTopicProps {
  /**
   * What the alerts are about, for the topic's display name.
   * @default - the construct's path
   */
  readonly name?: string;
  /**
   * Address that receives the alerts (a subscription it must confirm).
   * @default - no subscription
   */
  readonly email?: string;
  /**
   * What happens to the topic's key when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A topic for a LakeDataset's `alarmTopic` (or any alarm and EventBridge rule): encrypted with a
 * key of its own, TLS-only, and open to this account's CloudWatch alarms, so their messages are
 * delivered rather than dropped.
 */
export class AlertTopic extends Construct {
  /** The topic. */
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.topic = alertTopicIn(this, { name: props.name ?? this.node.path, email: props.email, removalPolicy: props.removalPolicy });
  }
}
