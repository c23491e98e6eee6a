import { type App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { CfnManagedPolicy, CfnPolicy } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
// cdk-nag's own rendering of a resource in a finding id, so the ids here match its findings.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';
import { BUILT_IN_DATASETS, cdcPrefix, curatedTablePrefix, exportPrefix, glueTempPrefix, jobStatePrefix, PREFIXES } from '../lambda/shared/layout';
import { prefixPattern } from './s3-grants';

/**
 * Runs the cdk-nag AwsSolutions pack over the whole app at synth. With the cdk.json flag
 * `@aws-cdk/core:strictCfnValidateErrors` any finding, error or warning, fails the synth unless
 * it is acknowledged. Each construct acknowledges its own findings, each with a reason that names
 * the resource and why nothing narrower exists, so any composition of them synthesizes clean.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/**
 * Runs `acknowledge` when the app is synthesized, as a validation of `construct`: validations run
 * after cross-stack references take the final form cdk-nag reports, once every grant is made,
 * and before cdk-nag reads the acknowledgements from the construct tree.
 */
export function acknowledgeAtSynth(construct: IConstruct, acknowledge: () => void): void {
  construct.node.addValidation({
    validate: () => {
      acknowledge();
      return [];
    },
  });
}

/**
 * Why a wildcard in a policy stands, by the finding it raises (`Action::…` / `Resource::…`) and,
 * optionally, the action of the statement that raises it (each action needs a reason): `Resource::*`
 * is justified for an API without resource-level permissions, not for any statement. A reason may
 * also be held to the policies whose construct path it matches: a prefix one role may use under a
 * wildcard is not a reason for another role. Each pattern must match the whole finding, action or
 * path, as if anchored with `^…$`: a reason never covers a longer wildcard by accident.
 */
export type WildcardReasons = readonly (readonly [finding: RegExp, reason: string, actions?: RegExp, policyPath?: RegExp])[];

interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

/** One AwsSolutions-IAM5 finding of one statement, as cdk-nag names it, with that statement's actions. */
export interface WildcardFinding {
  readonly finding: string;
  readonly actions: readonly string[];
}

/** The AwsSolutions-IAM5 findings a policy raises, statement by statement. */
export function wildcardFindings(policy: CfnPolicy | CfnManagedPolicy): WildcardFinding[] {
  // IAM takes a single statement, action or resource where it takes a list of them.
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: PolicyStatementJson | PolicyStatementJson[] };
  const findings: WildcardFinding[] = [];
  const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  for (const statement of list(document.Statement)) {
    if (statement.Effect !== 'Allow') continue;
    const actions = list(statement.Action);
    const raised = new Set<string>();
    for (const action of actions) if (action.includes('*')) raised.add(`Action::${action}`);
    for (const resource of list(statement.Resource)) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) raised.add(`Resource::${flat}`);
    }
    for (const finding of raised) findings.push({ finding, actions });
  }
  return findings;
}

/**
 * Acknowledges every wildcard finding of the IAM policies under `scope` (inline policies, and the
 * managed policies a role's statements overflow into when they outgrow its inline policy, as they
 * do without the `@aws-cdk/aws-iam:minimizePolicies` flag) when every action of every
 * statement raising it has a reason (the first entry that matches); the reasons are joined. A wildcard no
 * entry explains is not acknowledged: it fails the synth, as a new one should. Call it once the
 * policies are complete.
 */
export function acknowledgeWildcards(scope: IConstruct, reasons: WildcardReasons): void {
  const whole = (pattern: RegExp) => new RegExp(`^(?:${pattern.source})$`, pattern.flags);
  const anchored = reasons.map(([finding, reason, actions, policyPath]) => [whole(finding), reason, actions && whole(actions), policyPath && whole(policyPath)] as const);
  for (const policy of scope.node.findAll().filter((node) => node instanceof CfnPolicy || node instanceof CfnManagedPolicy)) {
    const byFinding = new Map<string, (string | undefined)[]>();
    for (const { finding, actions } of wildcardFindings(policy)) {
      // Each action of the statement needs its reason (CDK merges statements that share resources).
      // A statement without actions (NotAction) grants what no reason can name: it stays a finding.
      const found = actions.length === 0 ? [undefined] : actions.map(
        (action) =>
          anchored.find(([pattern, , actionPattern, policyPath]) => pattern.test(finding) && (actionPattern?.test(action) ?? true) && (policyPath?.test(policy.node.path) ?? true))?.[1],
      );
      byFinding.set(finding, [...(byFinding.get(finding) ?? []), ...found]);
    }
    for (const [finding, found] of byFinding) {
      if (found.some((reason) => reason === undefined)) continue;
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: `${policy.node.path}: ${[...new Set(found)].join('; ')}` });
    }
  }
}

/** The buckets of the storage stack, by the id their construct has under `Buckets`. */
type LakeBucketId = 'Landing' | 'Lake' | 'Assets';

/** What a role does under a prefix: the S3 actions a wildcard over its keys may carry. */
export const PREFIX_ACCESS = {
  /** EMRFS reads (grantPrefixRead). */
  read: /s3:GetObject/,
  /** EMRFS reads, writes and its committers' multipart uploads (grantPrefixWrite). */
  write: /s3:(GetObject|PutObject|DeleteObject|AbortMultipartUpload|ListMultipartUploadParts)/,
  /** A DynamoDB export written with the caller's permissions, besides the job's own writes. */
  export: /s3:(GetObject|PutObject|PutObjectAcl|DeleteObject|AbortMultipartUpload|ListMultipartUploadParts)/,
  /** A stream bridge puts change objects, nothing else. */
  put: /s3:PutObject/,
} as const;

/**
 * The key patterns each role of the pipeline stack holds a wildcard over, in which bucket and for
 * what (the README's "each job is held to its prefixes"), by the role's construct path in the
 * stack. A wildcard over another role's prefix, or a write where the role only reads, has no
 * reason: it fails the synth.
 */
const keys = prefixPattern;
const { orders, userCampaign, campaignInfo } = BUILT_IN_DATASETS;
const ROLE_PREFIXES: Readonly<Record<string, readonly (readonly [bucket: LakeBucketId, keys: string, access: keyof typeof PREFIX_ACCESS])[]>> = {
  'OrdersToLake/Role': [
    ['Landing', keys(cdcPrefix(orders)), 'read'],
    ['Lake', keys(curatedTablePrefix(orders)), 'write'],
    ['Lake', keys(jobStatePrefix('orders_to_lake')), 'write'],
    ['Assets', keys(exportPrefix(orders)), 'export'],
    ['Assets', keys(glueTempPrefix('orders_to_lake')), 'write'],
  ],
  'CampaignProgress/Role': [
    ['Landing', keys(cdcPrefix(userCampaign)), 'read'],
    ['Landing', keys(cdcPrefix(campaignInfo)), 'read'],
    ['Lake', keys(curatedTablePrefix('campaign_progress')), 'write'],
    ['Lake', keys(jobStatePrefix('campaign_progress')), 'write'],
    ['Assets', keys(glueTempPrefix('campaign_progress')), 'write'],
  ],
  'CsvToDynamodb/Role': [
    ['Landing', keys(PREFIXES.raw), 'read'],
    ['Assets', keys(glueTempPrefix('csv_to_dynamodb')), 'write'],
  ],
  'SalesStarSchema/Role': [
    ['Lake', keys(curatedTablePrefix(orders)), 'read'],
    ['Lake', keys(PREFIXES.warehouse), 'write'],
    ['Lake', keys(jobStatePrefix('sales_star_schema')), 'write'],
    ['Assets', keys(glueTempPrefix('sales_star_schema')), 'write'],
  ],
  LakeCrawlerRole: [
    ['Lake', keys(curatedTablePrefix(orders)), 'read'],
    ['Lake', keys(curatedTablePrefix('campaign_progress')), 'read'],
    ['Lake', keys(PREFIXES.warehouse), 'read'],
  ],
  // A stream bridge puts under its dataset's folder (`cdc/<dataset>/*`), not beside it.
  'OrdersToLake/Stream/Bridge/Role': [['Landing', `${cdcPrefix(orders)}*`, 'put']],
  'UserCampaignStreamToLake/Bridge/Role': [['Landing', `${cdcPrefix(userCampaign)}*`, 'put']],
  'CampaignInfoStreamToLake/Bridge/Role': [['Landing', `${cdcPrefix(campaignInfo)}*`, 'put']],
};

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One reason per role and prefix, held to that role's policy, that bucket and those actions. */
function rolePrefixReasons(): WildcardReasons {
  return Object.entries(ROLE_PREFIXES).flatMap(([role, prefixes]) =>
    prefixes.map(([bucket, keys, access]) => {
      // cdk-nag renders the bucket ARN imported from the storage stack by its export name: `…:ExportsOutputFnGetAttBucketsLake<hash>Arn<hash>`.
      const finding = new RegExp(`Resource::[^/]*:ExportsOutputFnGetAttBuckets${bucket}[0-9A-F]{8}Arn[0-9A-F]{8}/${escapeRegExp(keys)}`);
      const reason = `object keys under ${keys} of the ${bucket.toLowerCase()} bucket are data written at run time; ${role} is held to its own prefixes (${access})`;
      return [finding, reason, PREFIX_ACCESS[access], new RegExp(`[^/]+/${escapeRegExp(role)}/(DefaultPolicy|OverflowPolicy[0-9]+)/Resource`)] as const;
    }),
  );
}

/** Why a Glue job role holds the wildcards every LakeJob has: its assets, metrics and logs. */
export const GLUE_JOB_WILDCARD_REASONS: WildcardReasons = [
  [/Action::s3:(GetObject|GetBucket|List)\*/, "aws-cdk-lib's asset grant lets the Glue role read its own script and helper module from the CDK asset bucket; the action set is fixed by aws-cdk-lib"],
  [/Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*/, 'asset objects are named by content hash at synth time, in the CDK bootstrap bucket; the grant covers the objects of that bucket'],
  [/Resource::\*/, "cloudwatch:PutMetricData has no resource-level permissions; a condition limits it to the Glue namespace and the app's own", /cloudwatch:PutMetricData/],
  [/Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\/aws-glue\/jobs\/\*/, 'Glue creates the log groups of an encrypted job at run time under /aws-glue/jobs/ (named after the security configuration and role)'],
];

/** Why a Lambda bridge's role holds a wildcard: tracing. */
export const BRIDGE_WILDCARD_REASONS: WildcardReasons = [
  [/Resource::\*/, 'X-Ray trace segments and telemetry have no resource-level permissions (tracing of the Lambda)', /xray:(PutTraceSegments|PutTelemetryRecords)/],
];

/** Why a stream bridge's role holds a wildcard beyond its change-object prefix. */
export const STREAM_WILDCARD_REASONS: WildcardReasons = [
  [/Resource::\*/, 'dynamodb:ListStreams has no resource-level permissions; the stream reads themselves are held to the one table stream', /dynamodb:ListStreams/],
];

/** Why a dataset's CDC-merge job holds the export wildcard of its backfill. */
export const EXPORT_WILDCARD_REASONS: WildcardReasons = [
  [/Resource::.+\/export\/\*/, 'DynamoDB export ARNs are created at run time by ExportTableToPointInTime on this one table', /dynamodb:DescribeExport/],
];

/**
 * The reason of a wildcard over `keys` of `bucket` that the policies under `scope` hold for
 * `access`, held to exactly that bucket (as cdk-nag renders its ARN in the policy's stack), those
 * keys, those actions and those policies. Call it at synth ({@link acknowledgeAtSynth}), when a
 * bucket of another stack is rendered as the import it becomes.
 */
export function prefixWildcardReason(scope: IConstruct, bucket: IBucket, keys: string, access: keyof typeof PREFIX_ACCESS): WildcardReasons[number] {
  const rendered = flattenCfnReference(Stack.of(scope).resolve(bucket.arnForObjects(keys)));
  const policies = new RegExp(`${escapeRegExp(scope.node.path)}/.+`);
  return [new RegExp(`Resource::${escapeRegExp(rendered)}`), `object keys under ${keys} of the bucket are data written at run time; ${scope.node.path} is held to its own prefixes (${access})`, PREFIX_ACCESS[access], policies];
}

/** Wildcards of the pipeline stack: each is a prefix of one role, a namespace or an API without resources. */
export const PIPELINE_WILDCARD_REASONS: WildcardReasons = [
  ...GLUE_JOB_WILDCARD_REASONS,
  ...BRIDGE_WILDCARD_REASONS,
  ...STREAM_WILDCARD_REASONS,
  [/Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\/aws-glue\/crawlers\*/, 'Glue creates the crawler log groups at run time under /aws-glue/crawlers'],
  ...EXPORT_WILDCARD_REASONS,
  [/Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table\/<CatalogDatabase[0-9A-F]{8}>\/ddb_\*/, 'the DynamoDB crawler creates and updates the ddb_ tables it discovers, only in this database'],
  ...rolePrefixReasons(),
];

/**
 * Checkov's word for "this check does not apply, and why": template metadata on the resource
 * (`Metadata.checkov.skip`), which Checkov reads and reports as a skip with the comment.
 */
export function acknowledgeCheckov(construct: IConstruct, checkId: string, reason: string): void {
  const resource = construct.node.defaultChild ?? construct;
  if (!CfnResource.isCfnResource(resource)) throw new Error(`${construct.node.path} is not backed by a CloudFormation resource`);
  const skips = ((resource.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip ?? []).filter((skip) => skip.id !== checkId);
  resource.addMetadata('checkov', { skip: [...skips, { id: checkId, comment: `${construct.node.path}: ${reason}` }] });
}

/** Reasons shared by every Lambda function of the app, the bridges and aws-cdk-lib's own. */
export const FUNCTION_CHECKOV_REASONS: readonly (readonly [string, string])[] = [
  ['CKV_AWS_117', 'calls only AWS APIs (S3, Glue, DynamoDB); outside a VPC it needs no NAT gateway or VPC endpoints to reach them'],
  ['CKV_AWS_115', 'no reserved concurrency: stream functions run one per shard, and a limit on an S3-triggered function would throttle and delay uploads rather than protect anything'],
];

/** Why a queue encrypted with SQS-managed keys passes, where Checkov only recognises a KMS key. */
export const SSE_SQS_CHECKOV_REASON = 'encrypted at rest with SQS-managed keys (SSE-SQS); Checkov only recognises a KMS key';

/**
 * Acknowledges the Checkov checks that do not apply to aws-cdk-lib's own deploy-time handlers in
 * `stack` (the S3 bucket-notifications handler and the auto-delete-objects provider, stack
 * singletons that the constructs using them acknowledge at synth). test/lib/checkov.test.ts
 * fails on any other failed check.
 */
export function acknowledgeCdkHandlers(stack: Stack): void {
  for (const node of stack.node.findAll()) {
    if (CfnResource.isCfnResource(node) && node.cfnResourceType === 'AWS::Lambda::Function' && /\/(BucketNotificationsHandler[0-9a-f]+|Custom::S3AutoDeleteObjectsCustomResourceProvider)\//.test(node.node.path)) {
      for (const [id, reason] of FUNCTION_CHECKOV_REASONS) acknowledgeCheckov(node, id, `aws-cdk-lib's deploy-time handler ${reason}`);
      acknowledgeCheckov(node, 'CKV_AWS_116', "aws-cdk-lib's deploy-time handler runs inside a CloudFormation custom resource, which reports its failure to the stack");
    }
  }
}
