import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type { Alarm, IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, LoggingFormat, Runtime, RuntimeFamily, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { countAlarm } from './alert-topic';
import { bundleHandler, type HandlerBundling } from '../handler-bundle';
import { acknowledgeAtSynth, acknowledgeCheckov, acknowledgeWildcards, BRIDGE_WILDCARD_REASONS, FUNCTION_CHECKOV_REASONS, SSE_SQS_CHECKOV_REASON } from '../nag';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE } from '../../lambda/shared/metrics';

/** The folder of the Lambda handlers: `lambda/` beside `lib/` (or `dist/lambda` beside `dist/lib`). */
const LAMBDA_DIR = join(__dirname, '..', '..', 'lambda');

/** dynalake's own handlers, in `lambda/`. */
export const DYNALAKE_HANDLERS = ['stream-to-lake', 'upload-to-glue', 'refresh-follow-up'] as const;

/** The entry file of a handler in `lambda/`: its TypeScript source, or its compiled JavaScript in a built package. */
export function lambdaEntry(name: string): string {
  const typescript = join(LAMBDA_DIR, `${name}.ts`);
  return existsSync(typescript) ? typescript : join(LAMBDA_DIR, `${name}.js`);
}

/**
 * How every handler is bundled (by esbuild, as aws-lambda-nodejs would, and cached between synths
 * by {@link bundleHandler}): minified (smaller code to load at a cold start), names kept (readable
 * errors in logs), the AWS SDK inside, no package external (the code runs against the SDK version
 * it was tested with, not whatever the runtime ships). `npm run bench:bridges` measures the result.
 */
export const HANDLER_BUNDLING: HandlerBundling = { minify: true, keepNames: true, target: 'node24', format: 'cjs', sourceMap: false };

/** The runtime every handler runs on: the one they are bundled for ({@link HANDLER_BUNDLING}) and tested on. */
export const HANDLER_RUNTIME = Runtime.NODEJS_24_X;

/** The newest Node.js runtime the installed aws-cdk-lib knows, as cdk-nag's AwsSolutions-L1 finds it. */
export function newestNodeRuntime(): Runtime | undefined {
  const version = (runtime: Runtime) => Number(/^nodejs(\d+)/.exec(runtime.name)?.[1] ?? Number.NaN);
  return Runtime.ALL.filter((runtime) => runtime.family === RuntimeFamily.NODEJS && Number.isFinite(version(runtime))).sort((a, b) => version(a) - version(b)).pop();
}

/** Properties of a {@link BridgeFunction}. */
export interface BridgeFunctionProps {
  /**
   * The handler's name: one of dynalake's handlers in `lambda/` (`stream-to-lake`, `upload-to-glue`;
   * its export `handler` is the entry point), or a name of your own for the handler you give as
   * `entry` or `code`. It names the function's Powertools service (`dynalake-<handlerName>`).
   */
  readonly handlerName: string;
  /**
   * Your own handler: a TypeScript or JavaScript file whose export `handler` is the entry point,
   * bundled like dynalake's ({@link HANDLER_BUNDLING}). Not with `code`.
   * @default - dynalake's handler named `handlerName`
   */
  readonly entry?: string;
  /**
   * Your own handler, built: the function's code as it is, with `handler` naming its entry point
   * (`file.export`). Not with `entry`.
   * @default - dynalake's handler named `handlerName`
   */
  readonly code?: { readonly code: Code; readonly handler: string };
  /** What the function does, for the console. */
  readonly description: string;
  /** The handler's environment. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Topic that the alarms notify.
   * @default - the alarms have no action: they show in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
  /** Days the function's logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A dynalake Lambda: the handler bundled by the local esbuild ({@link HANDLER_BUNDLING}), on the newest Node.js runtime on
 * arm64, X-Ray tracing, JSON logs in its own log group, a role that holds only what it is given
 * (no managed policy), an encrypted TLS-only on-failure queue, and alarms on errors and on that
 * queue's depth into the alert topic.
 */
export class BridgeFunction extends Construct {
  /** The function. */
  readonly function: LambdaFunction;
  /** Its execution role: log writing only, until grants are added. */
  readonly role: Role;
  /** Its log group. */
  readonly logGroup: LogGroup;
  /** Where the records or events the function gave up on go. */
  readonly failureQueue: Queue;
  /** The alarms, each notifying the alert topic. */
  readonly alarms: Alarm[] = [];
  private readonly alarmTopic: ITopic | undefined;

  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    super(scope, id);
    if (props.entry !== undefined && props.code !== undefined) throw new Error(`${this.node.path}: give the handler as entry or as code, not both`);
    this.logGroup = new LogGroup(this, 'Logs', {
      // RetentionDays' values are the day counts themselves.
      retention: (props.logRetentionDays ?? RetentionDays.ONE_MONTH) as RetentionDays, // eslint-disable-line @typescript-eslint/no-unsafe-enum-assignment
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `Runs the ${props.handlerName} Lambda` });
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));

    const functionProps = {
      description: props.description,
      runtime: HANDLER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: { ...props.environment, POWERTOOLS_SERVICE_NAME: `dynalake-${props.handlerName}`, POWERTOOLS_LOG_LEVEL: 'INFO' },
    };
    this.function =
      props.code === undefined
        ? new LambdaFunction(this, 'Function', { ...functionProps, code: Code.fromAsset(bundleHandler(this.entryOf(props), HANDLER_BUNDLING).dir), handler: 'index.handler' })
        : new LambdaFunction(this, 'Function', { ...functionProps, code: props.code.code, handler: props.code.handler });

    if (newestNodeRuntime()?.name !== HANDLER_RUNTIME.name) {
      // cdk-nag's AwsSolutions-L1 asks for the newest runtime the installed aws-cdk-lib knows, which in a consumer's app on a newer aws-cdk-lib is one these handlers were never tested on.
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `${this.function.node.path}: the handlers are bundled for and tested on ${HANDLER_RUNTIME.name} (esbuild target ${HANDLER_BUNDLING.target}); a newer runtime comes with a dynalake release that tests it`,
      });
    }

    this.failureQueue = new Queue(this, 'FailureQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // Its own acknowledgements, so any composition of the bridges synthesizes clean.
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `${this.failureQueue.node.path}: the on-failure destination of ${this.node.path} is itself the dead-letter queue; an alarm watches its depth`,
    });
    for (const [checkId, reason] of FUNCTION_CHECKOV_REASONS) acknowledgeCheckov(this.function, checkId, reason);
    acknowledgeCheckov(this.function, 'CKV_AWS_116', 'failed records and events go to an on-failure destination (the encrypted failure queue, with an alarm), the successor of a function dead-letter queue');
    acknowledgeCheckov(this.function, 'CKV_AWS_173', 'environment variables hold names (buckets, tables, the workflow), no secret; Lambda encrypts them at rest with an AWS-managed key');
    acknowledgeCheckov(this.failureQueue, 'CKV_AWS_27', SSE_SQS_CHECKOV_REASON);
    acknowledgeCheckov(this.logGroup, 'CKV_AWS_158', 'CloudWatch Logs encrypts every log group at rest; the handlers log keys and counts, not item contents');
    acknowledgeAtSynth(this, () => { acknowledgeWildcards(this.role, BRIDGE_WILDCARD_REASONS); });

    this.alarmTopic = props.alarmTopic;
    this.addAlarm('Errors', this.function.metricErrors({ period: Duration.minutes(5) }), 1, 'The function failed at least once in 5 minutes');
    this.addAlarm(
      'FailureQueueDepth',
      this.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      1,
      'Records or events the function gave up on are waiting in its on-failure queue',
    );
  }

  /** The file to bundle: the consumer's entry, or dynalake's handler of that name. */
  private entryOf(props: BridgeFunctionProps): string {
    if (props.entry !== undefined) {
      if (!existsSync(props.entry)) throw new Error(`${this.node.path}: entry ${props.entry} does not exist`);
      return props.entry;
    }
    if (!(DYNALAKE_HANDLERS as readonly string[]).includes(props.handlerName)) {
      throw new Error(`${this.node.path}: handlerName ${JSON.stringify(props.handlerName)} is not one of dynalake's handlers (${DYNALAKE_HANDLERS.join(', ')}); give your own as entry or code`);
    }
    return lambdaEntry(props.handlerName);
  }

  /** An alarm when `metric` reaches `threshold`, notifying the alert topic when there is one; no data is not an alarm. */
  addAlarm(id: string, metric: IMetric, threshold: number, description: string): Alarm {
    const alarm = countAlarm(this, `${id}Alarm`, { metric, threshold, description, topic: this.alarmTopic });
    this.alarms.push(alarm);
    return alarm;
  }
}

/** The namespace a construct publishes its metrics to: `given`, checked as CloudWatch checks it, or dynalake's default. */
export function checkedMetricsNamespace(scope: Construct, given: string | undefined): string {
  const namespace = given ?? DEFAULT_METRICS_NAMESPACE;
  if (!Token.isUnresolved(namespace) && !METRICS_NAMESPACE.test(namespace)) {
    throw new Error(`${scope.node.path}: metricsNamespace ${JSON.stringify(namespace)} is not a CloudWatch namespace (1 to 255 printable ASCII characters, not starting with ":" or "AWS/")`);
  }
  return namespace;
}
