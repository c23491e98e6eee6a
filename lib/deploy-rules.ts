import { readFileSync } from 'node:fs';
import type { App, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';

/**
 * Rules over the synthesized templates for what only a real deployment would reveal: each one is
 * a defect found by reading the templates against AWS's documentation, generalised to every
 * resource of its kind. They run at every synth (the app fails on any violation), beside cdk-nag.
 */

/**
 * The types whose replacement or removal loses data, each with what is lost ("deleted, and <that>
 * with it"). Only these may be retained under a fixed name; `npm run diff` protects them.
 */
export const STATEFUL_TYPES: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'its items',
  'AWS::DynamoDB::GlobalTable': 'its items',
  'AWS::S3::Bucket': 'its objects',
  'AWS::KMS::Key': 'its key material (what it encrypted becomes unreadable)',
  'AWS::Logs::LogGroup': 'its log history',
  'AWS::RDS::DBCluster': 'its databases',
  'AWS::RDS::DBInstance': 'its databases',
  'AWS::EFS::FileSystem': 'its files',
  'AWS::Kinesis::Stream': 'its unread records',
  'AWS::SQS::Queue': 'its messages',
  'AWS::Cognito::UserPool': 'its users',
  'AWS::ECR::Repository': 'its images',
  'AWS::Backup::BackupVault': 'its recovery points',
};

/** A CloudFormation resource as synthesized. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: Record<string, unknown>;
}

/** One synthesized stack: its name and template. */
export interface StackTemplate {
  readonly stackName: string;
  readonly templatePath?: string;
  readonly template: { readonly Resources?: Record<string, TemplateResource>; readonly Outputs?: Record<string, unknown> };
}

/** A rule's finding: which resource, where in it, and why. */
export interface DeployRuleFinding {
  readonly stackName: string;
  readonly logicalId: string;
  readonly location: string;
  readonly message: string;
}

/** A rule over all the templates of an app. */
export interface DeployRule {
  readonly id: string;
  readonly description: string;
  /** The AWS documentation the rule is drawn from. */
  readonly source: string;
  check(stacks: readonly StackTemplate[]): DeployRuleFinding[];
}

const asArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every resource of every template, with its stack and its template's resources (to resolve references). */
function* eachResource(stacks: readonly StackTemplate[]): Generator<{ stackName: string; resources: Record<string, TemplateResource>; logicalId: string; resource: TemplateResource }> {
  for (const { stackName, template } of stacks) {
    const resources = template.Resources ?? {};
    for (const [logicalId, resource] of Object.entries(resources)) yield { stackName, resources, logicalId, resource };
  }
}

/** The logical id `value` points at when it is `{Ref: id}` or `{Fn::GetAtt: [id, …]}`. */
function referencedId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Every value nested in `value` (itself included), depth first. */
function* nested(value: unknown): Generator {
  yield value;
  if (Array.isArray(value)) for (const item of value) yield* nested(item);
  else if (isRecord(value)) for (const item of Object.values(value)) yield* nested(item);
}

/** Whether `value` refers to any resource of the template (pseudo parameters such as AWS::Region do not count). */
function dependsOnResource(value: unknown, resources: Record<string, TemplateResource>): boolean {
  for (const node of nested(value)) {
    const id = referencedId(node);
    if (id !== undefined && id in resources) return true;
    if (isRecord(node) && typeof node['Fn::Sub'] === 'string' && [...node['Fn::Sub'].matchAll(/\$\{([^}.!]+)/g)].some((match) => (match[1] ?? '') in resources)) return true;
  }
  return false;
}

/**
 * A string value with its intrinsic functions flattened: literals kept, references as `<ref>`.
 * Enough to read a list of S3 URLs built with Fn::Join or Fn::Sub.
 */
export function flattenString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return '<ref>';
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(flattenString).join(join[0]);
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub.replace(/\$\{[^}]+\}/g, '<ref>');
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0].replace(/\$\{[^}]+\}/g, '<ref>');
  return '<ref>';
}

interface StatementJson {
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly Action?: unknown;
}

/** Whether a policy statement allows `service` every action of `actions` (each a name or a `*` pattern it must cover). */
function allowsService(statement: StatementJson, service: string, actions: readonly RegExp[]): boolean {
  if (statement.Effect !== 'Allow') return false;
  const principal = statement.Principal;
  const services = isRecord(principal) ? asArray(principal.Service) : [];
  if (!services.includes(service)) return false;
  const granted = asArray(statement.Action).filter((action): action is string => typeof action === 'string');
  return actions.every((wanted) => granted.some((action) => wanted.test(action)));
}

const statementsOf = (document: unknown): StatementJson[] => (isRecord(document) ? (asArray(document.Statement) as StatementJson[]) : []);

/**
 * The service principals that publish to a topic of the template, by what makes them publish.
 * Alarm actions (CloudWatch), rule targets (EventBridge) and bucket notifications (S3).
 */
function topicPublishers(resources: Record<string, TemplateResource>, topicId: string): { service: string; logicalId: string; location: string }[] {
  const publishers: { service: string; logicalId: string; location: string }[] = [];
  const isTopic = (value: unknown) => referencedId(value) === topicId;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      for (const list of ['AlarmActions', 'OKActions', 'InsufficientDataActions']) {
        if (asArray(properties[list]).some(isTopic)) publishers.push({ service: 'cloudwatch.amazonaws.com', logicalId, location: `Properties/${list}` });
      }
    }
    if (resource.Type === 'AWS::Events::Rule' && asArray(properties.Targets).some((target) => isRecord(target) && isTopic(target.Arn))) {
      publishers.push({ service: 'events.amazonaws.com', logicalId, location: 'Properties/Targets' });
    }
    if (resource.Type === 'AWS::S3::Bucket') {
      const notifications = properties.NotificationConfiguration;
      if (isRecord(notifications) && asArray(notifications.TopicConfigurations).some((configuration) => isRecord(configuration) && isTopic(configuration.Topic))) {
        publishers.push({ service: 's3.amazonaws.com', logicalId, location: 'Properties/NotificationConfiguration/TopicConfigurations' });
      }
    }
  }
  return publishers;
}

/**
 * Every service that publishes to a topic may do so. A topic policy replaces SNS's default policy,
 * so each publishing service needs its own Allow of sns:Publish; and a topic encrypted with a
 * customer-managed key needs the key policy to let that service use the key (kms:Decrypt and
 * kms:GenerateDataKey*), or SNS drops the message without a trace. The AWS-managed key
 * (alias/aws/sns) cannot be granted to services at all.
 */
export const TOPIC_PUBLISHERS_RULE: DeployRule = {
  id: 'Dynalake-TopicPublishers',
  description: 'every service that publishes to an SNS topic (alarm actions, EventBridge targets, bucket notifications) is allowed by the topic policy, and by the key policy when the topic is encrypted',
  source: 'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services ; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions',
  check(stacks) {
    const findings: DeployRuleFinding[] = [];
    for (const { stackName, resources, logicalId: topicId, resource: topic } of eachResource(stacks)) {
      if (topic.Type !== 'AWS::SNS::Topic') continue;
      const policies = Object.values(resources).filter((resource) => resource.Type === 'AWS::SNS::TopicPolicy' && asArray(resource.Properties?.Topics).some((ref) => referencedId(ref) === topicId));
      const topicStatements = policies.flatMap((policy) => statementsOf(policy.Properties?.PolicyDocument));
      const keyValue = topic.Properties?.KmsMasterKeyId;
      const keyId = referencedId(keyValue);
      const key = keyId === undefined ? undefined : resources[keyId];
      const keyStatements = key?.Type === 'AWS::KMS::Key' ? statementsOf(key.Properties?.KeyPolicy) : undefined;
      for (const publisher of topicPublishers(resources, topicId)) {
        const where = `${publisher.logicalId} (${publisher.location}) publishes to ${topicId} as ${publisher.service}`;
        if (!topicStatements.some((statement) => allowsService(statement, publisher.service, [/^sns:Publish$/i]))) {
          findings.push({ stackName, logicalId: topicId, location: 'Properties', message: `${where}, but no topic policy allows ${publisher.service} sns:Publish: the messages are dropped` });
        }
        if (keyValue === 'alias/aws/sns') {
          findings.push({ stackName, logicalId: topicId, location: 'Properties/KmsMasterKeyId', message: `${where}, but the topic uses the AWS-managed key alias/aws/sns, whose policy cannot let a service use it` });
        } else if (keyStatements && !keyStatements.some((statement) => allowsService(statement, publisher.service, [/^kms:Decrypt$/, /^kms:GenerateDataKey\*$/]))) {
          findings.push({ stackName, logicalId: keyId ?? topicId, location: 'Properties/KeyPolicy', message: `${where}, but the key policy of ${keyId} does not allow ${publisher.service} kms:Decrypt and kms:GenerateDataKey*: the messages are dropped` });
        }
      }
    }
    return findings;
  },
};

/** The physical-name property of a type: `<Kind>Name` or `Name`, at the top or in the `<Kind>Input` block Glue uses. */
function physicalName(resource: TemplateResource): { location: string; value: unknown } | undefined {
  const kind = resource.Type.split('::')[2] ?? '';
  const properties = resource.Properties ?? {};
  for (const name of [`${kind}Name`, 'Name']) {
    if (properties[name] !== undefined) return { location: `Properties/${name}`, value: properties[name] };
  }
  const input = properties[`${kind}Input`];
  if (isRecord(input) && input.Name !== undefined) return { location: `Properties/${kind}Input/Name`, value: input.Name };
  return undefined;
}

/**
 * No resource with a fixed physical name is retained unless it holds data. A retained resource
 * outlives its stack (a rollback of the first create, or a delete); one with a fixed name then
 * blocks the next create with AlreadyExists until someone deletes it by hand. Metadata (a Glue
 * database, a security configuration) is recreated by the next deploy, so it goes with the stack.
 */
export const RETAINED_NAMES_RULE: DeployRule = {
  id: 'Dynalake-RetainedFixedName',
  description: 'no resource with a fixed physical name is retained unless it holds data',
  source: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html',
  check(stacks) {
    const findings: DeployRuleFinding[] = [];
    for (const { stackName, resources, logicalId, resource } of eachResource(stacks)) {
      const policy = resource.DeletionPolicy;
      if (policy === undefined || policy === 'Delete' || resource.Type in STATEFUL_TYPES) continue;
      const name = physicalName(resource);
      if (!name || dependsOnResource(name.value, resources)) continue;
      findings.push({
        stackName,
        logicalId,
        location: name.location,
        message: `${logicalId} (${resource.Type}) is named ${JSON.stringify(flattenString(name.value))} and has DeletionPolicy ${policy}: once it outlives the stack, the next create fails with AlreadyExists; it holds no data, so let it go with the stack`,
      });
    }
    return findings;
  },
};

/**
 * Cross-stack values are strong references (Fn::ImportValue). CloudFormation refuses to change or
 * delete an export another stack imports, so replacing a table the pipeline uses fails loudly; a
 * weak reference (Fn::GetStackOutput) is read only when the consuming stack updates, and goes
 * stale when the producer replaces the resource behind it.
 */
export const STRONG_REFERENCES_RULE: DeployRule = {
  id: 'Dynalake-WeakReference',
  description: 'cross-stack values are Fn::ImportValue (CloudFormation keeps them current or refuses the change), never Fn::GetStackOutput',
  source: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html ; https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html',
  check(stacks) {
    const findings: DeployRuleFinding[] = [];
    for (const { stackName, logicalId, resource } of eachResource(stacks)) {
      for (const node of nested(resource)) {
        if (!isRecord(node) || !('Fn::GetStackOutput' in node)) continue;
        const target = node['Fn::GetStackOutput'];
        const output = isRecord(target) ? `${flattenString(target.StackName)}.${flattenString(target.OutputName)}` : 'another stack';
        findings.push({ stackName, logicalId, location: 'Properties', message: `${logicalId} reads ${output} through Fn::GetStackOutput, resolved only when ${stackName} itself updates: it goes stale when that resource is replaced` });
      }
    }
    return findings;
  },
};

/**
 * Every Python module a Glue job adds with --extra-py-files keeps an importable name. Glue puts a
 * `.py` on the path under its S3 file name, and a CDK single-file asset is named by its content
 * hash (aws/aws-cdk#20481): `import <module>` then fails at the first line. A `.zip` (or a wheel)
 * keeps the module names it holds.
 */
export const GLUE_PYTHON_MODULES_RULE: DeployRule = {
  id: 'Dynalake-GluePythonModules',
  description: 'every --extra-py-files entry of a Glue job is a .zip or .whl, or a .py whose file name is the module name (not an asset hash)',
  source: 'https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html',
  check(stacks) {
    const findings: DeployRuleFinding[] = [];
    for (const { stackName, logicalId, resource } of eachResource(stacks)) {
      if (resource.Type !== 'AWS::Glue::Job') continue;
      const defaults = resource.Properties?.DefaultArguments;
      const files = isRecord(defaults) ? defaults['--extra-py-files'] : undefined;
      if (files === undefined) continue;
      for (const entry of flattenString(files).split(',')) {
        const file = entry.trim().split('/').at(-1) ?? '';
        if (/\.(zip|whl)$/.test(file)) continue;
        const module = file.replace(/\.py$/, '');
        if (file.endsWith('.py') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(module) && !/^[0-9a-f]{32,}$/.test(module)) continue;
        findings.push({
          stackName,
          logicalId,
          location: 'Properties/DefaultArguments/--extra-py-files',
          message: `${logicalId} adds ${entry.trim()} to the Python path: Glue imports a .py by its S3 file name, and ${JSON.stringify(file)} is not a module name anyone imports; ship the module in a .zip`,
        });
      }
    }
    return findings;
  },
};

/** Whether an IAM action pattern (`cloudwatch:Put*`, `*`) covers `action`; IAM matches actions case-insensitively. */
function actionCovers(pattern: string, action: string): boolean {
  const expression = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${expression}$`, 'i').test(action);
}

/** Every identity-policy statement of a template resource (policies, roles' inline policies, managed policies), with where it is. */
function* identityStatements(resource: TemplateResource): Generator<{ statement: StatementJson & { readonly Condition?: unknown; readonly NotAction?: unknown }; location: string }> {
  const properties = resource.Properties ?? {};
  const documents: [unknown, string][] =
    resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
      ? [[properties.PolicyDocument, 'Properties/PolicyDocument']]
      : resource.Type === 'AWS::IAM::Role'
        ? asArray(properties.Policies).map((policy, index): [unknown, string] => [isRecord(policy) ? policy.PolicyDocument : undefined, `Properties/Policies/${String(index)}/PolicyDocument`])
        : [];
  for (const [document, location] of documents) for (const statement of statementsOf(document)) yield { statement, location };
}

/**
 * Every Allow of cloudwatch:PutMetricData names its namespaces. The action has no resource type,
 * so its Resource is always `*`; only the cloudwatch:namespace condition key keeps a role from
 * writing into any namespace, alarms and dashboards of other applications included.
 */
export const METRICS_NAMESPACE_RULE: DeployRule = {
  id: 'Dynalake-MetricsNamespace',
  description: 'every IAM statement that allows cloudwatch:PutMetricData holds it to named namespaces with the cloudwatch:namespace condition key',
  source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html',
  check(stacks) {
    const findings: DeployRuleFinding[] = [];
    for (const { stackName, logicalId, resource } of eachResource(stacks)) {
      for (const { statement, location } of identityStatements(resource)) {
        if (statement.Effect !== 'Allow') continue;
        const actions = asArray(statement.Action).filter((action): action is string => typeof action === 'string');
        const notActions = asArray(statement.NotAction).filter((action): action is string => typeof action === 'string');
        const allowsPut = actions.some((action) => actionCovers(action, 'cloudwatch:PutMetricData')) || (statement.NotAction !== undefined && !notActions.some((action) => actionCovers(action, 'cloudwatch:PutMetricData')));
        if (!allowsPut) continue;
        const condition = statement.Condition;
        const held = isRecord(condition) && ['StringEquals', 'StringLike'].some((operator) => {
          const keys = condition[operator];
          return isRecord(keys) && Object.keys(keys).some((key) => key.toLowerCase() === 'cloudwatch:namespace');
        });
        if (held) continue;
        findings.push({
          stackName,
          logicalId,
          location,
          message: `${logicalId} (${resource.Type}) allows cloudwatch:PutMetricData${actions.length > 0 ? ` (through ${actions.filter((action) => actionCovers(action, 'cloudwatch:PutMetricData')).join(', ')})` : ' (through NotAction)'} with no cloudwatch:namespace condition: it may write into any namespace`,
        });
      }
    }
    return findings;
  },
};

/** The rules every dynalake app is held to at synth. */
export const DEPLOY_RULES: readonly DeployRule[] = [TOPIC_PUBLISHERS_RULE, RETAINED_NAMES_RULE, STRONG_REFERENCES_RULE, GLUE_PYTHON_MODULES_RULE, METRICS_NAMESPACE_RULE];

/** Runs `rules` over the templates of a synth and reports each finding as a violation. */
export class DeployRulesPlugin implements IPolicyValidationPlugin {
  readonly name = 'dynalake-deploy-rules';
  readonly ruleIds: string[];

  constructor(private readonly rules: readonly DeployRule[] = DEPLOY_RULES) {
    this.ruleIds = rules.map((rule) => rule.id);
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const stacks: StackTemplate[] = context.stackTemplates.map((stack) => ({
      stackName: stack.stackConstructPath,
      templatePath: stack.templatePath,
      template: JSON.parse(readFileSync(stack.templatePath, 'utf8')) as StackTemplate['template'],
    }));
    const pathOf = new Map(stacks.map((stack) => [stack.stackName, stack.templatePath]));
    const violations: PolicyViolation[] = [];
    for (const rule of this.rules) {
      // One violation per resource: CDK prints a violation's description under each of its resources.
      const byResource = new Map<string, DeployRuleFinding[]>();
      for (const finding of rule.check(stacks)) {
        const key = `${finding.stackName}\0${finding.logicalId}`;
        byResource.set(key, [...(byResource.get(key) ?? []), finding]);
      }
      for (const findings of byResource.values()) {
        const [first] = findings as [DeployRuleFinding, ...DeployRuleFinding[]];
        const messages = [...new Set(findings.map((finding) => finding.message))];
        violations.push({
          ruleName: rule.id,
          description: `${rule.description}. In ${first.stackName}:\n${messages.map((message) => `  - ${message}`).join('\n')}`,
          fix: rule.source,
          violatingResources: [{ resourceLogicalId: first.logicalId, templatePath: pathOf.get(first.stackName), locations: [...new Set(findings.map((finding) => finding.location))] }],
        });
      }
    }
    return { success: violations.length === 0, violations };
  }
}

/** Adds the deploy rules to the app's synth-time validation. */
export function addDeployRules(app: App, rules: readonly DeployRule[] = DEPLOY_RULES): void {
  Validations.of(app).addPlugins(new DeployRulesPlugin(rules));
}
