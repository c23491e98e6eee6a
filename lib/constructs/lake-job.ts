import { basename, dirname } from 'node:path';
import { ArnFormat, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CloudWatchEncryption, Code, GlueVersion, type ISecurityConfiguration, JobBookmarksEncryption, PySparkEtlJob, S3Encryption, SecurityConfiguration, type WorkerType } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { acknowledgeAtSynth, acknowledgeWildcards, GLUE_JOB_WILDCARD_REASONS, type PREFIX_ACCESS, prefixWildcardReason, type WildcardReasons } from '../nag';
import { grantPrefixRead, grantPrefixWrite, prefixPattern } from '../s3-grants';
import { checkedMetricsNamespace } from './bridge-function';

/** Properties of a {@link LakeJob}. */
export interface LakeJobProps {
  /** Name of the job, as consoles, logs and StartJobRun use it. */
  readonly jobName: string;
  /** Path of the PySpark script, deployed as an asset. */
  readonly scriptPath: string;
  /**
   * Pure-Python modules the script imports (paths of `.py` files, all in one folder). They reach
   * Glue in one zip with each module at its root, given with --extra-py-files: a lone `.py` asset
   * would be named by its content hash, and `import <module>` would fail (aws/aws-cdk#20481).
   */
  readonly pythonModules: readonly string[];
  /** Arguments the script reads with getResolvedOptions, without the leading `--`. */
  readonly arguments: Readonly<Record<string, string>>;
  /**
   * Encrypts the job's S3 output, CloudWatch logs and bookmarks, with `securityKey`.
   * @default - a key and a security configuration of the job's own ({@link glueSecurity})
   */
  readonly securityConfiguration?: ISecurityConfiguration;
  /**
   * The key of the security configuration (logs and bookmarks); the role may use it. Given with `securityConfiguration`.
   * @default - the job's own key
   */
  readonly securityKey?: IKey;
  /** Bucket and prefix of Glue's temporary files. */
  readonly tempLocation: { readonly bucket: IBucket; readonly prefix: string };
  /** Worker type. */
  readonly workerType: WorkerType;
  /** Workers per run. */
  readonly numberOfWorkers: number;
  /** Run time before the run is stopped as TIMEOUT. */
  readonly timeout: Duration;
  /**
   * Runs at once.
   * @default 1
   */
  readonly maxConcurrentRuns?: number;
  /**
   * What the job does, for the console.
   * @default - none
   */
  readonly description?: string;
  /**
   * CloudWatch namespace of the job's per-run figures (JOB_METRICS), given to the script as
   * `--METRICS_NAMESPACE`; the role may put metrics in it and in Glue's only.
   * @default 'dynalake'
   */
  readonly metricsNamespace?: string;
}

/**
 * A KMS key and a Glue security configuration under `scope` (`GlueKey`, `SecurityConfiguration`
 * named `name`): S3 output under the data key when there is one (else SSE-S3), CloudWatch logs and
 * bookmarks under the new key, which the logs service may use for Glue's log groups only.
 */
export function glueSecurity(scope: Construct, name: string, options: { readonly dataKey?: IKey; readonly removalPolicy: RemovalPolicy }): { readonly configuration: SecurityConfiguration; readonly key: Key } {
  const stack = Stack.of(scope);
  const key = new Key(scope, 'GlueKey', { description: `Encrypts the Glue logs and bookmarks of ${name}`, enableKeyRotation: true, removalPolicy: options.removalPolicy });
  key.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      resources: ['*'], // in a key policy, "*" is this key
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
    }),
  );
  const configuration = new SecurityConfiguration(scope, 'SecurityConfiguration', {
    securityConfigurationName: `${name}-glue`,
    s3Encryption: options.dataKey ? S3Encryption.kms(options.dataKey) : S3Encryption.s3Managed(),
    cloudWatchEncryption: CloudWatchEncryption.kms(key),
    jobBookmarksEncryption: JobBookmarksEncryption.clientSideKms(key),
  });
  // Fixed name, settings only: it goes with the stack, or a rolled-back first create would leave
  // it behind and block the next one (deploy rule Dynalake-RetainedFixedName).
  configuration.applyRemovalPolicy(RemovalPolicy.DESTROY);
  return { configuration, key };
}

/**
 * A Glue 5.0 PySpark job with its own role and nothing else: no AWS managed policy, only the
 * temp prefix, its logs and the security key; the stack grants the data it reads and writes.
 * Continuous logging on, encrypted by the security configuration.
 */
export class LakeJob extends Construct {
  /** The job. */
  readonly job: PySparkEtlJob;
  /** The job's role, for the grants of its data. */
  readonly role: Role;
  /** The prefixes granted through this construct, each acknowledged at synth as the role's own. */
  private readonly ownPrefixes: { readonly bucket: IBucket; readonly keys: string; readonly access: keyof typeof PREFIX_ACCESS }[] = [];
  /** Further reasons for wildcards of the role (see {@link acknowledgeWildcardsOf}). */
  private readonly ownReasons: WildcardReasons[number][] = [];

  constructor(scope: Construct, id: string, props: LakeJobProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if ((props.securityConfiguration === undefined) !== (props.securityKey === undefined)) {
      throw new Error(`${this.node.path}: give securityConfiguration and securityKey together, or neither for the job's own`);
    }
    const security =
      props.securityConfiguration && props.securityKey ? { configuration: props.securityConfiguration, key: props.securityKey } : glueSecurity(this, props.jobName, { removalPolicy: RemovalPolicy.DESTROY });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('glue.amazonaws.com'), description: `Runs the Glue job ${props.jobName}` });
    const { bucket, prefix } = props.tempLocation;
    this.grantPrefixWrite(bucket, prefix);
    // Glue names the log groups of an encrypted job itself (/aws-glue/jobs/<configuration>-role/…),
    // so the role writes to the Glue jobs' log-group namespace, not one group.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/jobs/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resources: [security.key.keyArn] }),
    );
    // PutMetricData has no resource type; the cloudwatch:namespace condition key holds it to
    // namespaces (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html):
    // Glue's and the job's own figures' (deploy rule Dynalake-MetricsNamespace).
    const metricsNamespace = checkedMetricsNamespace(this, props.metricsNamespace);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringEquals: { 'cloudwatch:namespace': ['Glue', metricsNamespace] } } }),
    );

    // The role's wildcards, acknowledged by the construct that made them (any composition synthesizes clean).
    acknowledgeAtSynth(this, () => {
      acknowledgeWildcards(this.role, [
        ...GLUE_JOB_WILDCARD_REASONS,
        ...this.ownReasons,
        ...this.ownPrefixes.map(({ bucket: granted, keys, access }) => prefixWildcardReason(this.role, granted, keys, access)),
      ]);
    });

    this.job = new PySparkEtlJob(this, 'Job', {
      jobName: props.jobName,
      description: props.description,
      role: this.role,
      script: Code.fromAsset(props.scriptPath),
      extraPythonFiles: [this.pythonModulesZip(props.pythonModules)],
      glueVersion: GlueVersion.V5_0,
      workerConfiguration: { workerType: props.workerType, numberOfWorkers: props.numberOfWorkers },
      timeout: props.timeout,
      maxConcurrentRuns: props.maxConcurrentRuns ?? 1,
      maxRetries: 0,
      securityConfiguration: security.configuration,
      continuousLogging: { enabled: true },
      defaultArguments: {
        ...Object.fromEntries(Object.entries(props.arguments).map(([name, value]) => [`--${name}`, value])),
        // No Glue bookmarks: they go by S3 modification time with a 15-minute band and fail under
        // concurrent runs. Jobs that read new objects keep their own state (dynalake_glue.parse_state).
        '--job-bookmark-option': 'job-bookmark-disable',
        '--TempDir': bucket.s3UrlForObject(prefix),
        '--METRICS_NAMESPACE': metricsNamespace,
      },
    });
  }

  /** Lets the job read the objects under `prefix` of `bucket` (EMRFS's reads: see s3-grants.ts). */
  grantPrefixRead(bucket: IBucket, prefix: string): void {
    grantPrefixRead(this.role, bucket, prefix);
    this.ownPrefixes.push({ bucket, keys: prefixPattern(prefix), access: 'read' });
  }

  /** Lets the job read, write and delete the objects under `prefix` of `bucket` (EMRFS and its committers). */
  grantPrefixWrite(bucket: IBucket, prefix: string, access: 'write' | 'export' = 'write'): void {
    grantPrefixWrite(this.role, bucket, prefix);
    this.ownPrefixes.push({ bucket, keys: prefixPattern(prefix), access });
  }

  /** Acknowledges wildcards of the role that a subclass grants for a reason of its own. */
  protected acknowledgeWildcardsOf(reasons: WildcardReasons): void {
    this.ownReasons.push(...reasons);
  }

  /**
   * The modules as one zip asset (a folder asset is zipped with its files at the root), readable
   * by the job's role. Glue adds a .zip of --extra-py-files to the Python path as it is:
   * https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html
   */
  private pythonModulesZip(modules: readonly string[]): Code {
    const folders = [...new Set(modules.map((module) => dirname(module)))];
    const [folder] = folders;
    if (folder === undefined || folders.length > 1 || modules.some((module) => !module.endsWith('.py'))) {
      throw new Error(`${this.node.path}: pythonModules must be .py files of one folder, not ${JSON.stringify(modules)}`);
    }
    // Everything in the folder but the modules stays out (scripts, tests, caches).
    const zip = new Asset(this, 'PythonModules', { path: folder, exclude: ['*', ...modules.map((module) => `!${basename(module)}`)] });
    zip.grantRead(this.role);
    return Code.fromBucket(zip.bucket, zip.s3ObjectKey);
  }
}
