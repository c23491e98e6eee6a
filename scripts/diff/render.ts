/**
 * Pure: a classified diff → the review text, plain (terminal) or markdown (pull-request comment).
 * Both say the same things in the same order: the one-line summary; security changes; replacements
 * and deletions, stateful ones loudly; the other changes; then one line for the resources whose
 * only change is an asset hash.
 */
import { type DiffReport, isDataLoss, type ResourceChange, type SecurityRow, type StackDiff, type TemplateChange } from './classify';

/** What `--format` may name. */
export const FORMATS = ['text', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

/** How many asset-only resources the collapsed line names before "and N more". */
const ASSET_NAMES_SHOWN = 5;

const plural = (n: number, one: string, many = `${one}s`) => `${String(n)} ${n === 1 ? one : many}`;

/** ` (1 stateful!, 1 refused by CloudFormation!)`, or nothing. */
function loudParts(counts: DiffReport['counts']): string {
  const loud = [counts.stateful > 0 ? `${String(counts.stateful)} stateful!` : undefined, counts.blocked > 0 ? `${String(counts.blocked)} refused by CloudFormation!` : undefined].filter((part) => part !== undefined);
  return loud.length === 0 ? '' : ` (${loud.join(', ')})`;
}

/** `dynalake diff main@3a4f9a2..working tree: 2 stacks, 3 changes — 1 security, 1 replacement or deletion (1 stateful!), 1 asset-only` */
export function summaryLine(report: DiffReport): string {
  const { counts } = report;
  const head = `dynalake diff ${report.base}..${report.head}: ${plural(counts.stacks, 'stack')}`;
  const securityRows = report.stacks.reduce((n, stack) => n + stack.security.length, 0);
  if (counts.changes === 0 && securityRows === 0) return `${head}, no changes`;
  const parts = [
    counts.security > 0 ? `${String(counts.security)} security` : undefined,
    counts.destructive > 0 ? `${plural(counts.destructive, 'replacement or deletion', 'replacements or deletions')}${loudParts(counts)}` : undefined,
    counts.other > 0 ? `${String(counts.other)} other` : undefined,
    counts.assetOnly > 0 ? `${String(counts.assetOnly)} asset-only` : undefined,
  ].filter((part) => part !== undefined);
  const broadened = report.stacks.some((stack) => stack.broadened) ? ', permissions broadened' : '';
  return `${head}, ${plural(counts.changes, 'change')} — ${parts.join(', ')}${broadened}`;
}

// ---------------------------------------------------------------------------------------------
// Words shared by both formats

function impactWords(change: ResourceChange): string {
  switch (change.impact) {
    case 'replace':
      return 'will be REPLACED';
    case 'may-replace':
      return 'may be REPLACED';
    case 'destroy':
      return 'will be DELETED';
    case 'orphan':
      return 'will be REMOVED from the stack (retained)';
    case 'create':
      return 'will be created';
    case 'import':
      return 'will be imported';
    case 'update':
      return 'will be updated';
  }
}

/**
 * Why CloudFormation will refuse the change: another deployed stack imports the resource's value
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html).
 */
function refusal(change: ResourceChange): string | undefined {
  const inUse = change.exportsInUse ?? [];
  if (inUse.length === 0) return undefined;
  const stacks = [...new Set(inUse.flatMap((found) => found.importedBy))];
  return `CloudFormation will REFUSE this: ${stacks.join(', ')} import${stacks.length === 1 ? 's' : ''} its ${inUse.map((found) => found.value).join(', ')} (${inUse.map((found) => found.exportName).join(', ')}), and an export in use cannot change; the deploy fails and rolls back (README: "Changing a table's key")`;
}

/** What happens to the data of a stateful resource, in words. */
function consequence(change: ResourceChange): string | undefined {
  if (change.stateful === undefined) return undefined;
  const what = change.stateful;
  const replaced = change.retained
    ? `a new, empty one takes its place; the old one is retained outside the stack (UpdateReplacePolicy) with ${what}, no longer managed`
    : `the old one is deleted, and ${what} with it`;
  switch (change.impact) {
    case 'replace':
      return replaced;
    case 'may-replace':
      return `if replaced, ${replaced}`;
    case 'destroy':
      return `deleted, and ${what} with it`;
    case 'orphan':
      return `retained (DeletionPolicy) with ${what}, but no longer managed by CloudFormation`;
    default:
      return undefined;
  }
}

const SIGN_WORDS: Record<TemplateChange['change'], string> = { added: '[+]', removed: '[-]', changed: '[~]' };

function prefix(change: ResourceChange): string {
  if (change.impact === 'create') return '[+]';
  if (change.impact === 'destroy' || change.impact === 'orphan') return '[-]';
  if (change.impact === 'replace' || change.impact === 'may-replace') return '[-/+]';
  return '[~]';
}

function stacksWith<T>(report: DiffReport, pick: (stack: StackDiff) => readonly T[]): { stack: StackDiff; items: readonly T[] }[] {
  return report.stacks.map((stack) => ({ stack, items: pick(stack) })).filter(({ items }) => items.length > 0);
}

function stackTitle(stack: StackDiff): string {
  if (stack.presence === 'added') return `${stack.name} (new stack)`;
  if (stack.presence === 'removed') return `${stack.name} (stack removed)`;
  return stack.name;
}

function statementText(row: Extract<SecurityRow, { kind: 'statement' }>): string {
  const one = (text: string) => text.split('\n').join(', ');
  const condition = row.condition === '' ? '' : ` when ${one(row.condition.replace(/\s+/g, ' '))}`;
  return `${row.sign} ${row.effect} ${one(row.actions)} on ${one(row.resources)} to ${one(row.principals)}${condition}`;
}

function securityText(row: SecurityRow): string {
  switch (row.kind) {
    case 'statement':
      return statementText(row);
    case 'managed-policy':
      return `${row.sign} managed policy ${row.policy} on ${row.identity}`;
    case 'security-group-rule':
      return `${row.sign} ${row.direction} ${row.protocol} ${row.direction === 'ingress' ? 'from' : 'to'} ${row.peer} on ${row.group}`;
    case 'identity-center':
      return `${row.sign} ${row.description}`;
  }
}

function resourceHeadline(change: ResourceChange): string {
  return `${prefix(change)} ${change.type} ${change.path}${change.path === change.logicalId ? '' : ` (${change.logicalId})`}`;
}

function causesText(change: ResourceChange): string {
  return change.causes.length === 0 ? '' : ` (caused by ${change.causes.join(', ')})`;
}

function assetLine(report: DiffReport, quote: (text: string) => string): string | undefined {
  const assetOnly = report.stacks.flatMap((stack) => stack.resources.filter((change) => change.category === 'asset-only'));
  if (assetOnly.length === 0) return undefined;
  const names = assetOnly.slice(0, ASSET_NAMES_SHOWN).map((change) => `${quote(change.path)} (${change.stack})`);
  const more = assetOnly.length > ASSET_NAMES_SHOWN ? ` and ${String(assetOnly.length - ASSET_NAMES_SHOWN)} more` : '';
  return `${plural(assetOnly.length, 'resource')} changed only asset hashes (code or script content): ${names.join(', ')}${more}`;
}

const destructive = (stack: StackDiff) => stack.resources.filter((change) => change.category === 'destructive');
const others = (stack: StackDiff) => stack.resources.filter((change) => change.category === 'security' || change.category === 'other');

// ---------------------------------------------------------------------------------------------
// Text

export function renderText(report: DiffReport): string {
  const lines = [summaryLine(report)];
  const section = (title: string) => lines.push('', title);

  const security = stacksWith(report, (stack) => stack.security);
  if (security.length > 0) {
    section('Security changes (IAM statements, managed policies, security groups; as cdk diff classifies them)');
    for (const { stack, items } of security) {
      lines.push(`  ${stackTitle(stack)}${stack.broadened ? ' — permissions broadened' : ''}`);
      for (const row of items) lines.push(`    ${securityText(row)}`);
    }
  }

  const replacements = stacksWith(report, destructive);
  if (replacements.length > 0) {
    section('Replacements and deletions');
    for (const { stack, items } of replacements) {
      lines.push(`  ${stackTitle(stack)}`);
      for (const change of items) {
        const loud = isDataLoss(change) ? '⚠ STATEFUL  ' : '';
        lines.push(`    ${loud}${resourceHeadline(change)} ${impactWords(change)}${causesText(change)}`);
        const words = consequence(change);
        if (words !== undefined) lines.push(`        ${words}`);
        const refused = refusal(change);
        if (refused !== undefined) lines.push(`        ✋ ${refused}`);
        for (const detail of change.details) lines.push(`        ${detail}`);
      }
    }
  }

  const rest = stacksWith(report, (stack) => [...others(stack), ...stack.templateChanges]);
  if (rest.length > 0) {
    section('Other changes');
    for (const { stack } of rest) {
      lines.push(`  ${stackTitle(stack)}`);
      for (const change of others(stack)) {
        lines.push(`    ${resourceHeadline(change)}${change.category === 'security' ? ' (security: see above)' : ''}`);
        for (const detail of change.details) lines.push(`        ${detail}`);
      }
      for (const change of stack.templateChanges) lines.push(`    ${SIGN_WORDS[change.change]} ${change.section} ${change.id}`);
    }
  }

  const assets = assetLine(report, (text) => text);
  if (assets !== undefined) lines.push('', assets);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** A table cell: pipes escaped, line breaks as <br>. */
function cell(text: string): string {
  return text === '' ? ' ' : text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, '<br>');
}

/** Inline code that survives backticks in the text. */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${text}${fence === '``' ? ' ' : ''}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
function fenced(info: string, body: readonly string[]): string[] {
  const longest = Math.max(2, ...body.map((line) => Math.max(0, ...[...line.matchAll(/`+/g)].map((match) => match[0].length))));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}${info}`, ...body, fence];
}

function securityTable(rows: readonly SecurityRow[]): string[] {
  const lines: string[] = [];
  const statements = rows.filter((row) => row.kind === 'statement');
  if (statements.length > 0) {
    lines.push('| | Effect | Action | Resource | Principal | Condition |', '| --- | --- | --- | --- | --- | --- |');
    for (const row of statements) lines.push(`| ${row.sign} | ${cell(row.effect)} | ${cell(row.actions)} | ${cell(row.resources)} | ${cell(row.principals)} | ${cell(row.condition)} |`);
  }
  const rest = rows.filter((row) => row.kind !== 'statement');
  if (rest.length > 0) {
    if (lines.length > 0) lines.push('');
    for (const row of rest) lines.push(`- ${cell(securityText(row))}`);
  }
  return lines;
}

export function renderMarkdown(report: DiffReport): string {
  const lines = [`**${summaryLine(report)}**`];

  const security = stacksWith(report, (stack) => stack.security);
  if (security.length > 0) {
    lines.push('', '### Security changes', '', '_IAM statements, managed policies and security groups, as `cdk diff` classifies them._');
    for (const { stack, items } of security) {
      lines.push('', `**${stackTitle(stack)}**${stack.broadened ? ' — permissions broadened' : ''}`, '', ...securityTable(items));
    }
  }

  const replacements = stacksWith(report, destructive);
  if (replacements.length > 0) {
    lines.push('', '### Replacements and deletions');
    for (const { stack, items } of replacements) {
      lines.push('', `**${stackTitle(stack)}**`, '');
      for (const change of items) {
        const what = `${code(change.type)} ${code(change.path)} ${impactWords(change)}${change.causes.length === 0 ? '' : ` (caused by ${change.causes.map(code).join(', ')})`}`;
        const words = consequence(change);
        lines.push(isDataLoss(change) ? `- ⚠️ **STATEFUL: ${what}**${words === undefined ? '' : `: ${words}`}` : `- ${what}${words === undefined ? '' : `: ${words}`}`);
        const refused = refusal(change);
        if (refused !== undefined) lines.push(`  - ✋ **${refused}**`);
        if (change.details.length > 0) lines.push(...fenced('', change.details).map((line) => `  ${line}`));
      }
    }
  }

  const rest = stacksWith(report, (stack) => [...others(stack), ...stack.templateChanges]);
  if (rest.length > 0) {
    const count = rest.reduce((n, { items }) => n + items.length, 0);
    const ofSecurity = report.counts.security;
    const parts = [
      count > ofSecurity ? plural(count - ofSecurity, 'other change') : undefined,
      ofSecurity > 0 ? `${ofSecurity === 1 ? 'the resource' : `the ${String(ofSecurity)} resources`} of the security changes above` : undefined,
    ].filter((part) => part !== undefined);
    const summary = `${parts.join(' and ')}, in ${plural(rest.length, 'stack')}`;
    lines.push('', '### Other changes', '', `<details><summary>${summary}</summary>`, '');
    const body: string[] = [];
    for (const { stack } of rest) {
      if (body.length > 0) body.push('');
      body.push(stackTitle(stack));
      for (const change of others(stack)) {
        body.push(`${resourceHeadline(change)}${change.category === 'security' ? ' (security: see above)' : ''}`);
        for (const detail of change.details) body.push(`    ${detail}`);
      }
      for (const change of stack.templateChanges) body.push(`${SIGN_WORDS[change.change]} ${change.section} ${change.id}`);
    }
    lines.push(...fenced('', body), '', '</details>');
  }

  const assets = assetLine(report, code);
  if (assets !== undefined) lines.push('', `📦 ${assets}`);
  return `${lines.join('\n')}\n`;
}

export function render(report: DiffReport, format: Format): string {
  return format === 'markdown' ? renderMarkdown(report) : renderText(report);
}
