import { type App, DefaultStackSynthesizer, type DefaultStackSynthesizerProps, type ISynthesisSession, Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
// cdk-nag's own rendering of a resource in a finding id, so the ids here match its findings.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Runs the cdk-nag AwsSolutions pack over the whole app at synth. With the cdk.json flag
 * `@aws-cdk/core:strictCfnValidateErrors` any finding, error or warning, fails the synth unless
 * it is acknowledged. Acknowledgements belong in this module, each with a reason that names the
 * resource and why nothing narrower exists.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** Why a wildcard in a policy stands, by the finding it raises (`Action::…` / `Resource::…`). */
export type WildcardReasons = readonly (readonly [pattern: RegExp, reason: string])[];

interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

/** The AwsSolutions-IAM5 findings a policy raises, as cdk-nag names them. */
export function wildcardFindings(policy: CfnPolicy): string[] {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: PolicyStatementJson[] };
  const findings = new Set<string>();
  const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of list(statement.Action)) if (action.includes('*')) findings.add(`Action::${action}`);
    for (const resource of list(statement.Resource)) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) findings.add(`Resource::${flat}`);
    }
  }
  return [...findings];
}

/**
 * Acknowledges every wildcard finding of the IAM policies under `scope`, each with the reason
 * of the first pattern it matches. A wildcard no pattern explains is not acknowledged: it fails
 * the synth, as a new one should. Call it once the policies are complete.
 */
export function acknowledgeWildcards(scope: IConstruct, reasons: WildcardReasons): void {
  for (const policy of scope.node.findAll().filter((node): node is CfnPolicy => node instanceof CfnPolicy)) {
    for (const finding of wildcardFindings(policy)) {
      const reason = reasons.find(([pattern]) => pattern.test(finding))?.[1];
      if (reason) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: `${policy.node.path}: ${reason}` });
    }
  }
}

/** Wildcards of the pipeline stack: each is a prefix, a namespace or an API without resources. */
export const PIPELINE_WILDCARD_REASONS: WildcardReasons = [
  [/^Action::s3:(GetObject|GetBucket|List)\*$/, "aws-cdk-lib's asset grant lets the Glue role read its own script and helper module from the CDK asset bucket; the action set is fixed by aws-cdk-lib"],
  [/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/, 'asset objects are named by content hash at synth time, in the CDK bootstrap bucket; the grant covers the objects of that bucket'],
  [/^Resource::\*$/, 'cloudwatch:PutMetricData has no resource-level permissions; a condition limits it to the Glue namespace'],
  [/log-group:\/aws-glue\/jobs\/\*$/, 'Glue creates the log groups of an encrypted job at run time under /aws-glue/jobs/ (named after the security configuration and role)'],
  [/log-group:\/aws-glue\/crawlers\*$/, 'Glue creates the crawler log groups at run time under /aws-glue/crawlers'],
  [/\/export\/\*$/, 'DynamoDB export ARNs are created at run time by ExportTableToPointInTime on this one table'],
  [/:table\/.+\/ddb_\*>?$|table\/<.*>\/ddb_\*$/, 'the DynamoDB crawler creates and updates the ddb_ tables it discovers, only in this database'],
  [/\/(raw|cdc\/[A-Za-z_]+|curated\/[a-z_]+|warehouse|glue-temp\/[a-z_]+|dynamodb-exports\/orders)\/?\*$/, 'object keys under this prefix are data written at run time; the role is held to the prefix its job reads or writes'],
];

/**
 * The default synthesizer, acknowledging the stack's wildcard findings just before it writes the
 * template: only then do cross-stack references have the final form that cdk-nag reports.
 */
export class WildcardAcknowledgingSynthesizer extends DefaultStackSynthesizer {
  constructor(
    private readonly reasons: WildcardReasons,
    props?: DefaultStackSynthesizerProps,
  ) {
    super(props);
  }

  override synthesize(session: ISynthesisSession): void {
    acknowledgeWildcards(this.boundStack, this.reasons);
    super.synthesize(session);
  }
}
