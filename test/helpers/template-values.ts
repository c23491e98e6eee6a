import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/**
 * A stack's template with every reference written as the construct path it points at, so tests
 * can state policies, rules and alarms as literals that do not change with logical-id hashes:
 * `{ Ref: 'OrdersToLakeJobC2FB552E' }` reads `${OrdersToLake/Job}`, a `Fn::GetAtt` of a key's ARN
 * `${GlueKey.Arn}`, a `Fn::Join` the joined string, an import from another stack
 * `${storage:Buckets/Lake.Arn}`, a pseudo parameter `${AWS::Region}`, and a CDK asset's content
 * hash `<asset-hash>` (it changes with every edit of the Glue helper module).
 */
export interface TemplateValues {
  /** Every resource of the stack by construct path (relative to the stack, without a trailing `/Resource`). */
  readonly resources: Readonly<Record<string, { readonly Type: string; readonly Properties: Record<string, unknown> }>>;
  /** The stack's outputs by id, references rendered. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The resources of one type, by construct path. */
  ofType(type: string): Record<string, Record<string, unknown>>;
  /** The rendered value, with references as construct paths. */
  render(value: unknown): unknown;
}

interface RawTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

/** Logical id → construct path, relative to the stack, of every CloudFormation element of `stack`. */
function logicalPaths(stack: Stack): Map<string, string> {
  const paths = new Map<string, string>();
  for (const node of stack.node.findAll()) {
    if (!CfnElement.isCfnElement(node) || Stack.of(node) !== stack) continue;
    const relative = node.node.path.slice(stack.node.path.length + 1).replace(/\/Resource$/, '');
    paths.set(stack.resolve(node.logicalId) as string, relative);
  }
  return paths;
}

function renderer(paths: Map<string, string>, imported: Map<string, string>, label: string) {
  const pathOf = (logicalId: unknown): string => {
    const path = typeof logicalId === 'string' ? paths.get(logicalId) : undefined;
    if (path === undefined) throw new Error(`no construct in the stack has the logical id ${JSON.stringify(logicalId)}`);
    return `${label}${path}`;
  };
  const render = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(render);
    if (typeof value === 'string') return value.replace(/[0-9a-f]{64}/g, '<asset-hash>');
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [only] = entries;
    if (entries.length === 1 && only) {
      const [key, argument] = only;
      if (key === 'Ref') return typeof argument === 'string' && argument.startsWith('AWS::') ? `\${${argument}}` : `\${${pathOf(argument)}}`;
      if (key === 'Fn::GetAtt' && Array.isArray(argument)) return `\${${pathOf(argument[0])}.${String(argument[1])}}`;
      if (key === 'Fn::ImportValue' && typeof argument === 'string') {
        const exported = imported.get(argument);
        if (exported === undefined) throw new Error(`no stack given exports ${argument}`);
        return exported;
      }
      if (key === 'Fn::Sub' && typeof argument === 'string') return render(argument);
      if (key === 'Fn::Join' && Array.isArray(argument)) {
        const [delimiter, parts] = argument as [string, unknown[]];
        const rendered = parts.map(render);
        if (rendered.every((part) => typeof part === 'string')) return rendered.join(delimiter);
        return { 'Fn::Join': [delimiter, rendered] };
      }
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, render(inner)]));
  };
  return render;
}

/**
 * The template of `stack`, rendered. `exporters` are the stacks whose exports it imports, by the
 * label their paths get (`{ storage: stacks.storage }` renders `${storage:Buckets/Lake.Arn}`).
 */
export function templateValues(stack: Stack, exporters: Readonly<Record<string, Stack>> = {}): TemplateValues {
  const template = Template.fromStack(stack).toJSON() as RawTemplate;
  const imported = new Map<string, string>();
  for (const [label, exporter] of Object.entries(exporters)) {
    const render = renderer(logicalPaths(exporter), new Map(), `${label}:`);
    for (const output of Object.values((Template.fromStack(exporter).toJSON() as RawTemplate).Outputs ?? {})) {
      if (output.Export) imported.set(output.Export.Name, render(output.Value) as string);
    }
  }
  const paths = logicalPaths(stack);
  const render = renderer(paths, imported, '');
  const resources = Object.fromEntries(
    Object.entries(template.Resources).map(([logicalId, resource]) => [paths.get(logicalId) ?? logicalId, { Type: resource.Type, Properties: render(resource.Properties ?? {}) as Record<string, unknown> }]),
  );
  return {
    resources,
    outputs: Object.fromEntries(Object.entries(template.Outputs ?? {}).map(([id, output]) => [id, render(output)])),
    ofType: (type) => Object.fromEntries(Object.entries(resources).filter(([, resource]) => resource.Type === type).map(([path, resource]) => [path, resource.Properties])),
    render,
  };
}

interface PolicyStatement {
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The principals of a statement, one per line: `Service:glue.amazonaws.com`, `AWS:arn:…:root`, `*`. */
function principals(principal: unknown): string[] {
  if (principal === undefined) return [''];
  if (typeof principal === 'string') return [principal];
  return Object.entries(principal as Record<string, unknown>).flatMap(([kind, values]) => list(values).map((value) => `${kind}:${String(value)}`));
}

/**
 * A rendered policy document as the closed set of what it allows and denies: one line per
 * principal × action × resource of each statement, with its condition, sorted.
 * `Allow Service:events.amazonaws.com kms:Decrypt * if {"StringEquals":{…}}`.
 */
export function policyLines(document: unknown): string[] {
  const statements = list((document as { Statement?: unknown } | undefined)?.Statement) as PolicyStatement[];
  const lines = statements.flatMap((statement) => {
      const actions = statement.NotAction === undefined ? list(statement.Action) : list(statement.NotAction).map((action) => `NotAction:${String(action)}`);
      const resources = statement.Resource === undefined ? [''] : list(statement.Resource);
      const condition = statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
      return principals(statement.Principal).flatMap((principal) =>
        actions.flatMap((action) => resources.map((resource) => [statement.Effect, principal, String(action), typeof resource === 'string' ? resource : JSON.stringify(resource)].filter((part) => part !== '').join(' ') + condition)),
      );
    });
  // A set: a grant written twice is the same grant.
  return [...new Set(lines)].sort();
}

/** What a role may do: who may assume it, every line of its inline and attached policies, its managed policies. */
export interface RoleAccess {
  readonly assumedBy: string[];
  readonly allows: string[];
  readonly managedPolicies: unknown[];
}

/**
 * Every access control, alert route and alarm of a stack, rendered, by construct path: roles
 * (trust, the policies attached to them, managed policies), key policies, topic, queue and bucket
 * policies, Lambda permissions, EventBridge rules (pattern, targets, state) and CloudWatch alarms.
 * A policy attached to no role of the stack throws: its access would go unseen.
 */
export function accessControls(values: TemplateValues) {
  const without = (properties: Record<string, unknown>, ...names: string[]) => Object.fromEntries(Object.entries(properties).filter(([name]) => !names.includes(name)));
  const roles: Record<string, RoleAccess> = {};
  for (const [path, role] of Object.entries(values.ofType('AWS::IAM::Role'))) {
    roles[path] = {
      assumedBy: policyLines(role.AssumeRolePolicyDocument),
      allows: list(role.Policies).flatMap((policy) => policyLines((policy as { PolicyDocument: unknown }).PolicyDocument)),
      managedPolicies: list(role.ManagedPolicyArns),
    };
  }
  for (const [path, policy] of Object.entries(values.ofType('AWS::IAM::Policy'))) {
    const attachedTo = list(policy.Roles).map((role) => String(role).replace(/^\$\{(.*)\}$/, '$1'));
    if (attachedTo.length === 0 || attachedTo.some((role) => !(role in roles)) || policy.Users !== undefined || policy.Groups !== undefined) {
      throw new Error(`${path} is attached to ${JSON.stringify(policy.Roles ?? policy.Users ?? policy.Groups)}, not to roles of this stack`);
    }
    for (const role of attachedTo) roles[role] = { ...(roles[role] as RoleAccess), allows: [...(roles[role] as RoleAccess).allows, ...policyLines(policy.PolicyDocument)].sort() };
  }
  const byPath = <T>(type: string, project: (properties: Record<string, unknown>) => T) => Object.fromEntries(Object.entries(values.ofType(type)).map(([path, properties]) => [path, project(properties)]));
  return {
    roles,
    keyPolicies: byPath('AWS::KMS::Key', (key) => policyLines(key.KeyPolicy)),
    topicPolicies: byPath('AWS::SNS::TopicPolicy', (policy) => ({ topics: policy.Topics, allows: policyLines(policy.PolicyDocument) })),
    queuePolicies: byPath('AWS::SQS::QueuePolicy', (policy) => ({ queues: policy.Queues, allows: policyLines(policy.PolicyDocument) })),
    bucketPolicies: byPath('AWS::S3::BucketPolicy', (policy) => ({ bucket: policy.Bucket, allows: policyLines(policy.PolicyDocument) })),
    // By value: CDK names a bucket's permission after a hash of the function's path.
    lambdaPermissions: Object.values(values.ofType('AWS::Lambda::Permission')).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    rules: byPath('AWS::Events::Rule', (rule) => without(rule, 'Description', 'Tags')),
    alarms: byPath('AWS::CloudWatch::Alarm', (alarm) => without(alarm, 'AlarmDescription', 'Tags')),
  };
}
