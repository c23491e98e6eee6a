/**
 * Pure: two sets of synthesized templates → the changes between them, classified for review.
 * @aws-cdk/cloudformation-diff does the diffing (the same engine as `cdk diff`, with its bundled
 * resource specification for replacements and its IAM and security-group scrutiny); this module
 * sorts what it finds into four kinds, each resource into exactly one, in this order:
 *
 * 1. destructive: replaced (or possibly replaced), deleted or orphaned resources;
 * 2. asset-only: updates whose only differences are asset hashes (a Lambda's code, a Glue script);
 * 3. security: resources whose change touches IAM or security groups, as `cdk diff` sees it;
 * 4. other.
 */
import { fullDiff, ResourceImpact, type TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { STATEFUL_TYPES } from '../../lib/deploy-rules';
import type { Template } from './synth';

/** An IAM statement as cloudformation-diff parses it (its class is not exported by name). */
type Statement = TemplateDiff['iamChanges']['statements']['additions'][number];

export { STATEFUL_TYPES } from '../../lib/deploy-rules';

/** What the deployment does to the existing resource. */
export type Impact = 'create' | 'update' | 'replace' | 'may-replace' | 'destroy' | 'orphan' | 'import';

/** Which section of the report a change belongs to. */
export type Category = 'destructive' | 'asset-only' | 'security' | 'other';

/** One changed resource. */
export interface ResourceChange {
  readonly stack: string;
  readonly logicalId: string;
  /** Construct path inside the stack (`Uploads/Table`), or the logical id when there is none. */
  readonly path: string;
  readonly type: string;
  readonly impact: Impact;
  readonly category: Category;
  /** For stateful types: what is lost with the resource. */
  readonly stateful?: string;
  /** The properties that force (or may force) a replacement. */
  readonly causes: readonly string[];
  /**
   * The old physical resource survives outside the stack: DeletionPolicy (on removal) or
   * UpdateReplacePolicy (on replacement) Retain or Snapshot.
   */
  readonly retained: boolean;
  /** The differences, one line each: `KeySchema[0].AttributeName: "id" → "rowId"`. */
  readonly details: readonly string[];
  /**
   * For a replaced or deleted resource: the exports of its values that other deployed stacks
   * import. CloudFormation refuses to change or delete an export in use, so the deploy of this
   * stack fails and rolls back until those stacks stop importing it.
   */
  readonly exportsInUse?: readonly ExportInUse[];
}

/** An export of a resource's value, and the stacks that import it. */
export interface ExportInUse {
  readonly exportName: string;
  /** `Ref`, or the attribute (`Arn`, `StreamArn`). */
  readonly value: string;
  readonly importedBy: readonly string[];
}

/** One line of the security section. */
export type SecurityRow =
  | {
      readonly kind: 'statement';
      readonly sign: '+' | '-';
      readonly effect: string;
      readonly actions: string;
      readonly resources: string;
      readonly principals: string;
      readonly condition: string;
    }
  | { readonly kind: 'managed-policy'; readonly sign: '+' | '-'; readonly identity: string; readonly policy: string }
  | { readonly kind: 'security-group-rule'; readonly sign: '+' | '-'; readonly direction: 'ingress' | 'egress'; readonly group: string; readonly protocol: string; readonly peer: string }
  | { readonly kind: 'identity-center'; readonly sign: '+' | '-'; readonly description: string };

/** A change outside Resources: outputs, parameters, conditions, mappings, rules, description… */
export interface TemplateChange {
  readonly section: string;
  readonly id: string;
  readonly change: 'added' | 'removed' | 'changed';
}

/** The changes of one stack. */
export interface StackDiff {
  readonly name: string;
  /** Whether the stack exists on both sides, or only in the base (removed) or the head (added). */
  readonly presence: 'both' | 'added' | 'removed';
  /** Permissions broadened: statements or managed policies added, denials removed, ingress/egress rules added. */
  readonly broadened: boolean;
  readonly security: readonly SecurityRow[];
  readonly resources: readonly ResourceChange[];
  readonly templateChanges: readonly TemplateChange[];
}

/** Every stack's changes, and their totals. */
export interface DiffReport {
  readonly base: string;
  readonly head: string;
  /** Every stack on either side, sorted by name, unchanged ones included. */
  readonly stacks: readonly StackDiff[];
  readonly counts: {
    readonly stacks: number;
    /** Changed resources plus changes outside Resources. */
    readonly changes: number;
    readonly security: number;
    readonly destructive: number;
    /** Destructive changes of stateful resources. */
    readonly stateful: number;
    /** Replacements and deletions CloudFormation will refuse: another stack imports their values. */
    readonly blocked: number;
    readonly assetOnly: number;
    /** Other resource changes plus changes outside Resources. */
    readonly other: number;
  };
}

/** Changes with no bearing on the deployment: the CDK's own analytics resource. */
const IGNORED_TYPES = new Set(['AWS::CDK::Metadata']);

/** Every CDK asset hash is 64 hex digits (sha256): in S3 keys, script URLs, image tags, metadata. */
const ASSET_HASH = /[0-9a-f]{64}/g;

const IMPACTS: Partial<Record<ResourceImpact, Impact>> = {
  [ResourceImpact.WILL_CREATE]: 'create',
  [ResourceImpact.WILL_UPDATE]: 'update',
  [ResourceImpact.WILL_REPLACE]: 'replace',
  [ResourceImpact.MAY_REPLACE]: 'may-replace',
  [ResourceImpact.WILL_DESTROY]: 'destroy',
  [ResourceImpact.WILL_ORPHAN]: 'orphan',
  [ResourceImpact.WILL_IMPORT]: 'import',
};

const DESTRUCTIVE: ReadonlySet<Impact> = new Set(['replace', 'may-replace', 'destroy', 'orphan']);

/** Whether a change loses data: a stateful resource replaced, possibly replaced, deleted or orphaned. */
export function isDataLoss(change: ResourceChange): boolean {
  return change.stateful !== undefined && DESTRUCTIVE.has(change.impact);
}

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resourcesOf(template: Template | undefined): Record<string, Record<string, Json>> {
  const resources = template?.Resources;
  return isRecord(resources) ? (resources as Record<string, Record<string, Json>>) : {};
}

/** The template without the resources a review never needs to see. */
function withoutIgnored(template: Template | undefined): Template {
  if (template === undefined) return {};
  const resources = Object.fromEntries(Object.entries(resourcesOf(template)).filter(([, resource]) => !IGNORED_TYPES.has(String(resource.Type))));
  return { ...template, Resources: resources };
}

function withoutHashes(value: Json): string {
  return JSON.stringify(value).replace(ASSET_HASH, '<asset-hash>');
}

/** `<stack>/Uploads/Table/Resource` → `Uploads/Table`, from the aws:cdk:path metadata. */
function constructPaths(stack: string, ...templates: (Template | undefined)[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const template of templates) {
    for (const [logicalId, resource] of Object.entries(resourcesOf(template))) {
      const metadata = resource.Metadata;
      const path = isRecord(metadata) ? metadata['aws:cdk:path'] : undefined;
      if (typeof path === 'string') paths.set(logicalId, path.replace(new RegExp(`^${stack.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`), '').replace(/\/(Resource|Default)$/, ''));
    }
  }
  return paths;
}

/**
 * Names another stack's output for a reader, `${dynalake-dev-storage/Buckets/Landing.Arn}`: by
 * stack and output (Fn::GetStackOutput), or by the export name an Fn::ImportValue imports.
 */
export type OutputNamer = (reference: { readonly stack: string; readonly output: string } | { readonly exportName: string }) => string | undefined;

/** An OutputNamer over the given stacks, from their outputs' values, export names and construct paths. */
export function outputNamer(...sides: ReadonlyMap<string, Template>[]): OutputNamer {
  const byOutput = (stack: string, output: string): string | undefined => {
    for (const stacks of sides) {
      const template = stacks.get(stack);
      const outputs = template?.Outputs;
      const value = isRecord(outputs) && isRecord(outputs[output]) ? outputs[output].Value : undefined;
      if (!isRecord(value)) continue;
      const paths = constructPaths(stack, template);
      const name = (logicalId: string) => `${stack}/${paths.get(logicalId) ?? logicalId}`;
      const getAtt = value['Fn::GetAtt'];
      if (typeof value.Ref === 'string') return `\${${name(value.Ref)}}`;
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') return `\${${name(getAtt[0])}.${getAtt[1]}}`;
    }
    return undefined;
  };
  const byExport = (exportName: string): string | undefined => {
    for (const stacks of sides) {
      for (const [stack, template] of stacks) {
        const outputs = isRecord(template.Outputs) ? template.Outputs : {};
        for (const [output, declared] of Object.entries(outputs)) {
          if (isRecord(declared) && isRecord(declared.Export) && declared.Export.Name === exportName) return byOutput(stack, output);
        }
      }
    }
    return undefined;
  };
  return (reference) => ('exportName' in reference ? byExport(reference.exportName) : byOutput(reference.stack, reference.output));
}

/**
 * `{"Fn::GetStackOutput":{"StackName":…,"OutputName":…}}`, a cross-stack reference as
 * cloudformation-diff renders it; inside a rendered condition its quotes are escaped (`\"`).
 */
/** `{"Fn::ImportValue":"<export name>"}`, a strong cross-stack reference, quotes possibly escaped. */
const IMPORT_VALUE = /\{(\\?)"Fn::ImportValue\1":\1"([^"\\]+)\1"\}/g;

const STACK_OUTPUT = /\{(\\?)"Fn::GetStackOutput\1":\{(?:\1"[^"\\]*\1":\1"[^"\\]*\1",?)+\}\}/g;

/**
 * Readable names in the strings cloudformation-diff renders: `${UploadsTable96857CE8.Arn}` →
 * `${Uploads/Table.Arn}`, and another stack's output → what it refers to there.
 */
function withPaths(text: string, paths: ReadonlyMap<string, string>, nameOutput: OutputNamer = () => undefined): string {
  return text
    .replace(STACK_OUTPUT, (match) => {
      const reference = (JSON.parse(match.replace(/\\"/g, '"')) as { 'Fn::GetStackOutput': { StackName?: string; OutputName?: string } })['Fn::GetStackOutput'];
      if (reference.StackName === undefined || reference.OutputName === undefined) return match;
      return nameOutput({ stack: reference.StackName, output: reference.OutputName }) ?? `\${${reference.StackName}:${reference.OutputName}}`;
    })
    .replace(IMPORT_VALUE, (_match, _quote: string, exportName: string) => nameOutput({ exportName }) ?? `\${import:${exportName}}`)
    .replace(/\$\{([^}.:]+)((?:\.[^}]*)?)\}/g, (match, logicalId: string, attribute: string) => {
      const path = paths.get(logicalId);
      return path === undefined ? match : `\${${path}${attribute}}`;
    });
}

// ---------------------------------------------------------------------------------------------
// Details: the changed leaves of a resource, one line each

const MAX_VALUE_LENGTH = 120;
const MAX_DETAILS = 12;

function renderValue(value: Json): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function leafChanges(before: Json, after: Json, path: string, out: string[]): void {
  if (sameJson(before, after)) return;
  const at = path === '' ? '(resource)' : path;
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) leafChanges(before[key], after[key], path === '' ? key : `${path}.${key}`, out);
  } else if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length === after.length) {
      before.forEach((element, index) => {
        leafChanges(element, after[index], `${path}[${String(index)}]`, out);
      });
    } else {
      for (const element of before) if (!after.some((other) => sameJson(other, element))) out.push(`${at}: - ${renderValue(element)}`);
      for (const element of after) if (!before.some((other) => sameJson(other, element))) out.push(`${at}: + ${renderValue(element)}`);
    }
  } else {
    out.push(`${at}: ${renderValue(before)} → ${renderValue(after)}`);
  }
}

/** The parts of a resource a reviewer reads: its properties (unprefixed) and its policies. */
function reviewable(resource: Record<string, Json> | undefined): Record<string, Json> {
  if (resource === undefined) return {};
  const { Properties, Metadata, Type: _type, ...rest } = resource;
  const metadata = isRecord(Metadata) ? Object.fromEntries(Object.entries(Metadata).filter(([key]) => key !== 'aws:cdk:path')) : {};
  return { ...(isRecord(Properties) ? Properties : {}), ...rest, ...(Object.keys(metadata).length > 0 ? { Metadata: metadata } : {}) };
}

/**
 * A value with its intrinsic functions as a reader would write them: `{"Ref": X}` → `${path}`,
 * `Fn::GetAtt` → `${path.Attribute}`, another stack's output → what it refers to there, and an
 * `Fn::Join` of strings → the joined string.
 */
function readable(value: Json, paths: ReadonlyMap<string, string>, nameOutput: OutputNamer): Json {
  if (Array.isArray(value)) return value.map((element) => readable(element, paths, nameOutput));
  if (!isRecord(value)) return value;
  const [key, ...others] = Object.keys(value);
  if (key !== undefined && others.length === 0) {
    const argument = value[key];
    const path = (logicalId: string) => paths.get(logicalId) ?? logicalId;
    if (key === 'Ref' && typeof argument === 'string') return `\${${path(argument)}}`;
    if (key === 'Fn::GetAtt') {
      const parts: readonly Json[] = Array.isArray(argument) ? (argument as Json[]) : typeof argument === 'string' ? argument.split('.') : [];
      const [logicalId, attribute] = parts;
      if (typeof logicalId === 'string' && typeof attribute === 'string') return `\${${path(logicalId)}.${attribute}}`;
    }
    if (key === 'Fn::GetStackOutput' && isRecord(argument) && typeof argument.StackName === 'string' && typeof argument.OutputName === 'string') {
      return nameOutput({ stack: argument.StackName, output: argument.OutputName }) ?? `\${${argument.StackName}:${argument.OutputName}}`;
    }
    if (key === 'Fn::ImportValue' && typeof argument === 'string') return nameOutput({ exportName: argument }) ?? `\${import:${argument}}`;
    if (key === 'Fn::Join' && Array.isArray(argument) && typeof argument[0] === 'string' && Array.isArray(argument[1])) {
      const parts = argument[1].map((part) => readable(part, paths, nameOutput));
      if (parts.every((part) => typeof part === 'string')) return parts.join(argument[0]);
    }
  }
  return Object.fromEntries(Object.entries(value).map(([name, element]) => [name, readable(element, paths, nameOutput)]));
}

function detailsOf(before: Record<string, Json> | undefined, after: Record<string, Json> | undefined, paths: ReadonlyMap<string, string>, nameOutput: OutputNamer): string[] {
  const out: string[] = [];
  leafChanges(readable(reviewable(before), paths, nameOutput), readable(reviewable(after), paths, nameOutput), '', out);
  return out.length > MAX_DETAILS ? [...out.slice(0, MAX_DETAILS), `… ${String(out.length - MAX_DETAILS)} more`] : out;
}

// ---------------------------------------------------------------------------------------------
// Security

function statementRow(sign: '+' | '-', statement: Statement, names: (text: string) => string): SecurityRow {
  const rendered = statement.render();
  return {
    kind: 'statement',
    sign,
    effect: rendered.effect,
    actions: names(rendered.action),
    resources: names(rendered.resource),
    principals: names(rendered.principal),
    condition: names(rendered.condition),
  };
}

/**
 * The security rows of a stack, cdk diff's IAM and security-group tables. A statement removed and
 * added again with only an asset hash changed (a grant on one asset object) cancels out.
 */
function securityOf(diff: TemplateDiff, names: (text: string) => string): { rows: SecurityRow[]; broadened: boolean } {
  const { iamChanges, securityGroupChanges } = diff;
  const key = (statement: Statement) => withoutHashes(statement.render());
  const removedKeys = iamChanges.statements.removals.map(key);
  const addedKeys = iamChanges.statements.additions.map(key);
  const added = iamChanges.statements.additions.filter((_statement, index) => !removedKeys.includes(addedKeys[index] ?? ''));
  const removed = iamChanges.statements.removals.filter((_statement, index) => !addedKeys.includes(removedKeys[index] ?? ''));

  const rows: SecurityRow[] = [
    ...added.map((statement) => statementRow('+', statement, names)),
    ...removed.map((statement) => statementRow('-', statement, names)),
    ...iamChanges.managedPolicies.additions.map((attachment): SecurityRow => ({ kind: 'managed-policy', sign: '+', identity: names(attachment.identityArn), policy: names(attachment.managedPolicyArn) })),
    ...iamChanges.managedPolicies.removals.map((attachment): SecurityRow => ({ kind: 'managed-policy', sign: '-', identity: names(attachment.identityArn), policy: names(attachment.managedPolicyArn) })),
  ];
  for (const [direction, rules] of [
    ['ingress', securityGroupChanges.ingress],
    ['egress', securityGroupChanges.egress],
  ] as const) {
    for (const [sign, list] of [
      ['+', rules.additions],
      ['-', rules.removals],
    ] as const) {
      for (const rule of list) rows.push({ kind: 'security-group-rule', sign, direction, group: names(rule.groupId), protocol: rule.describeProtocol(), peer: names(rule.describePeer()) });
    }
  }
  const identityCenter = [iamChanges.ssoPermissionSets, iamChanges.ssoAssignments, iamChanges.ssoInstanceACAConfigs];
  const identityAdded = identityCenter.reduce((n, collection) => n + collection.additions.length, 0);
  const identityRemoved = identityCenter.reduce((n, collection) => n + collection.removals.length, 0);
  if (identityAdded > 0) rows.push({ kind: 'identity-center', sign: '+', description: `${String(identityAdded)} IAM Identity Center permission sets, assignments or attribute configurations` });
  if (identityRemoved > 0) rows.push({ kind: 'identity-center', sign: '-', description: `${String(identityRemoved)} IAM Identity Center permission sets, assignments or attribute configurations` });

  const broadened =
    added.some((statement) => !statement.isNegativeStatement) ||
    removed.some((statement) => statement.isNegativeStatement) ||
    iamChanges.managedPolicies.hasAdditions ||
    identityAdded > 0 ||
    securityGroupChanges.rulesAdded;
  return { rows, broadened };
}

/** Whether a resource's own change touches IAM or security groups, by cdk diff's scrutiny of it alone. */
function touchesSecurity(logicalId: string, before: Record<string, Json> | undefined, after: Record<string, Json> | undefined): boolean {
  const alone = (resource: Record<string, Json> | undefined) => (resource === undefined ? {} : { Resources: { [logicalId]: resource } });
  return fullDiff(alone(before), alone(after)).permissionsAnyChanges;
}

function isRetained(policy: Json): boolean {
  return policy === 'Retain' || policy === 'RetainExceptOnCreate' || policy === 'Snapshot';
}

// ---------------------------------------------------------------------------------------------

/**
 * The changes of one stack between two templates (undefined: the stack is not on that side);
 * `nameOutput` names the other stacks' outputs it refers to.
 */
export function diffStack(name: string, before: Template | undefined, after: Template | undefined, nameOutput?: OutputNamer): StackDiff {
  const oldTemplate = withoutIgnored(before);
  const newTemplate = withoutIgnored(after);
  const diff = fullDiff(oldTemplate, newTemplate);
  const paths = constructPaths(name, before, after);
  const oldResources = resourcesOf(oldTemplate);
  const newResources = resourcesOf(newTemplate);

  const resources: ResourceChange[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    if (!change.isDifferent) return;
    const impact = IMPACTS[change.changeImpact] ?? 'update';
    const oldResource = oldResources[logicalId];
    const newResource = newResources[logicalId];
    const type = change.newResourceType ?? change.oldResourceType ?? 'unknown';
    const stateful = STATEFUL_TYPES[change.oldResourceType ?? type];
    const causes = change.resourceTypeChanged
      ? ['Type']
      : Object.entries(change.propertyUpdates)
          .filter(([, update]) => update.changeImpact === ResourceImpact.WILL_REPLACE || update.changeImpact === ResourceImpact.MAY_REPLACE)
          .map(([property]) => property);
    let category: Category;
    if (DESTRUCTIVE.has(impact)) category = 'destructive';
    else if (impact === 'update' && withoutHashes(oldResource) === withoutHashes(newResource)) category = 'asset-only';
    else if (touchesSecurity(logicalId, oldResource, newResource)) category = 'security';
    else category = 'other';
    resources.push({
      stack: name,
      logicalId,
      path: paths.get(logicalId) ?? logicalId,
      type,
      impact,
      category,
      ...(stateful === undefined ? {} : { stateful }),
      causes,
      retained: impact === 'replace' || impact === 'may-replace' ? isRetained(oldResource?.UpdateReplacePolicy) : isRetained(oldResource?.DeletionPolicy),
      details: change.isUpdate ? detailsOf(oldResource, newResource, paths, nameOutput ?? (() => undefined)) : [],
    });
  });

  const templateChanges: TemplateChange[] = [];
  const sections = [
    ['Outputs', diff.outputs],
    ['Parameters', diff.parameters],
    ['Conditions', diff.conditions],
    ['Mappings', diff.mappings],
    ['Metadata', diff.metadata],
    ['Template', diff.unknown],
  ] as const;
  for (const [section, collection] of sections) {
    for (const [id, change] of Object.entries(collection.changes)) {
      if (change.isDifferent) templateChanges.push({ section, id, change: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'changed' });
    }
  }
  for (const [id, change] of [
    ['Description', diff.description],
    ['AWSTemplateFormatVersion', diff.awsTemplateFormatVersion],
    ['Transform', diff.transform],
  ] as const) {
    if (change?.isDifferent === true) templateChanges.push({ section: 'Template', id, change: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'changed' });
  }

  const { rows, broadened } = securityOf(diff, (text) => withPaths(text, paths, nameOutput));
  return { name, presence: before === undefined ? 'added' : after === undefined ? 'removed' : 'both', broadened, security: rows, resources, templateChanges };
}

/** Every export name imported (Fn::ImportValue of a literal name) by each stack, by export name. */
function importersByExport(stacks: ReadonlyMap<string, Template>): Map<string, string[]> {
  const importers = new Map<string, string[]>();
  const visit = (stack: string, value: Json): void => {
    if (Array.isArray(value)) for (const item of value) visit(stack, item);
    else if (isRecord(value)) {
      const imported = value['Fn::ImportValue'];
      if (typeof imported === 'string' && !(importers.get(imported) ?? []).includes(stack)) importers.set(imported, [...(importers.get(imported) ?? []), stack]);
      for (const item of Object.values(value)) visit(stack, item);
    }
  };
  for (const [stack, template] of stacks) visit(stack, template.Resources);
  return importers;
}

/** The exports of `logicalId`'s values in `template` that another stack imports. */
function exportsInUse(template: Template | undefined, logicalId: string, importers: ReadonlyMap<string, readonly string[]>): ExportInUse[] {
  const outputs = isRecord(template?.Outputs) ? (template.Outputs) : {};
  const found: ExportInUse[] = [];
  for (const output of Object.values(outputs)) {
    if (!isRecord(output) || !isRecord(output.Export) || typeof output.Export.Name !== 'string') continue;
    const value = output.Value;
    const ref = isRecord(value) && value.Ref === logicalId ? 'Ref' : undefined;
    const getAtt = isRecord(value) && Array.isArray(value['Fn::GetAtt']) && value['Fn::GetAtt'][0] === logicalId ? String(value['Fn::GetAtt'][1]) : undefined;
    const importedBy = importers.get(output.Export.Name) ?? [];
    if ((ref ?? getAtt) !== undefined && importedBy.length > 0) found.push({ exportName: output.Export.Name, value: ref ?? getAtt ?? '', importedBy });
  }
  return found;
}

/** Diffs every stack of the base against the same-named stack of the head. */
export function classify(base: { label: string; stacks: ReadonlyMap<string, Template> }, head: { label: string; stacks: ReadonlyMap<string, Template> }): DiffReport {
  const names = [...new Set([...base.stacks.keys(), ...head.stacks.keys()])].sort();
  const nameOutput = outputNamer(head.stacks, base.stacks);
  // What the deployed stacks (the base) import: CloudFormation checks an export against them.
  const importers = importersByExport(base.stacks);
  const stacks = names.map((name) => {
    const diff = diffStack(name, base.stacks.get(name), head.stacks.get(name), nameOutput);
    const resources = diff.resources.map((change) => {
      if (!DESTRUCTIVE.has(change.impact)) return change;
      const inUse = exportsInUse(base.stacks.get(name), change.logicalId, importers).filter((found) => found.importedBy.some((stack) => stack !== name));
      return inUse.length === 0 ? change : { ...change, exportsInUse: inUse };
    });
    return { ...diff, resources };
  });
  const resources = stacks.flatMap((stack) => stack.resources);
  const templateChanges = stacks.reduce((n, stack) => n + stack.templateChanges.length, 0);
  const count = (category: Category) => resources.filter((change) => change.category === category).length;
  return {
    base: base.label,
    head: head.label,
    stacks,
    counts: {
      stacks: names.length,
      changes: resources.length + templateChanges,
      security: count('security'),
      destructive: count('destructive'),
      stateful: resources.filter(isDataLoss).length,
      blocked: resources.filter((change) => (change.exportsInUse?.length ?? 0) > 0).length,
      assetOnly: count('asset-only'),
      other: count('other') + templateChanges,
    },
  };
}

/** What `--fail-on` may name. */
export const FAIL_ON = ['destructive', 'security', 'any', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/**
 * Whether the report fails the given threshold. The levels include each other:
 * `destructive` fails on data loss (a stateful resource replaced, possibly replaced, deleted or
 * orphaned) and on a replacement CloudFormation will refuse (its value is imported); `security` also on broadened permissions; `any` on any change at all; `never` never.
 */
export function failsOn(report: DiffReport, failOn: FailOn): boolean {
  // A deploy CloudFormation will refuse fails the check as data loss does.
  const dataLoss = report.counts.stateful > 0 || report.counts.blocked > 0;
  switch (failOn) {
    case 'never':
      return false;
    case 'destructive':
      return dataLoss;
    case 'security':
      return dataLoss || report.stacks.some((stack) => stack.broadened);
    case 'any':
      return report.counts.changes > 0 || report.stacks.some((stack) => stack.security.length > 0);
  }
}
