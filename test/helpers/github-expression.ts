/**
 * The part of GitHub Actions' expression language that the workflows' `if:` conditions use, so a
 * test can ask whether a step or job would run in a given situation rather than match its text:
 * `${{ }}`, `!`, `&&`, `||`, `==`, `!=`, parentheses, 'strings', numbers, true, false, null, context paths
 * (`steps.diff.outputs.exit-code`) and the status functions. Rules as GitHub documents them
 * (docs.github.com, "Evaluate expressions in workflows and actions"): a condition without a status
 * function is `success() && (condition)`; `==` on two strings ignores case; other mixed types
 * compare as numbers (null and '' are both 0); a missing property is null.
 */

export type ExpressionValue = string | number | boolean | null | object;

/** Where a step or job stands when its condition is evaluated. */
export interface RunState {
  /** The contexts: github, vars, steps, … */
  readonly contexts: Readonly<Record<string, unknown>>;
  /** An earlier step of the job (or a needed job) failed. */
  readonly failed: boolean;
  /** The run was cancelled. */
  readonly cancelled: boolean;
}

const TOKEN = /\s*(?:(\|\||&&|==|!=|!|\(|\))|'((?:[^']|'')*)'|(\d+(?:\.\d+)?)|([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))/y;
const LITERALS: Readonly<Record<string, boolean | null>> = { true: true, false: false, null: null };
const STATUS_FUNCTIONS = /\b(success|failure|cancelled|always)\s*\(/;

type Token = { readonly kind: 'operator'; readonly text: string } | { readonly kind: 'literal'; readonly value: string | number } | { readonly kind: 'name'; readonly text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (source.slice(TOKEN.lastIndex).trim() !== '') {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (match === null) throw new Error(`cannot read the expression at ${String(at)}: ${source.slice(at)}`);
    const [, operator, string, number, name] = match;
    if (operator !== undefined) tokens.push({ kind: 'operator', text: operator });
    else if (string !== undefined) tokens.push({ kind: 'literal', value: string.replaceAll("''", "'") });
    else if (number !== undefined) tokens.push({ kind: 'literal', value: Number(number) });
    else tokens.push({ kind: 'name', text: name ?? '' });
  }
  return tokens;
}

function truthy(value: ExpressionValue): boolean {
  return !(value === false || value === null || value === '' || value === 0 || Number.isNaN(value));
}

function asNumber(value: ExpressionValue): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? 0 : Number(value);
  return Number.NaN;
}

function looselyEqual(left: ExpressionValue, right: ExpressionValue): boolean {
  if (typeof left === 'string' && typeof right === 'string') return left.toLowerCase() === right.toLowerCase();
  if (typeof left === 'object' && left !== null) return left === right;
  return asNumber(left) === asNumber(right);
}

const unwrap = (expression: string | undefined) => (expression ?? '').trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim();

/** Evaluates a condition (with or without `${{ }}`) as GitHub decides whether to run: true or false. */
export function conditionHolds(condition: string | undefined, state: RunState): boolean {
  const inner = unwrap(condition);
  return truthy(evaluate(inner === '' ? 'success()' : STATUS_FUNCTIONS.test(inner) ? inner : `success() && (${inner})`, state));
}

/**
 * The value of an expression (with or without `${{ }}`) where GitHub substitutes one, as in `env:`
 * or `with:`: `a && 'x' || 'y'` is 'x' or 'y' (`&&` and `||` return an operand). No implied success().
 */
export function expressionValue(expression: string, state: RunState): ExpressionValue {
  return evaluate(unwrap(expression), state);
}

function evaluate(source: string, state: RunState): ExpressionValue {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const isOperator = (text: string) => {
    const token = peek();
    return token?.kind === 'operator' && token.text === text;
  };
  const expect = (text: string) => {
    if (!isOperator(text)) throw new Error(`expected ${text} at token ${String(position)} of ${source}`);
    position++;
  };

  const call = (name: string): ExpressionValue => {
    switch (name) {
      case 'success':
        return !state.failed && !state.cancelled;
      case 'failure':
        return state.failed && !state.cancelled;
      case 'cancelled':
        return state.cancelled;
      case 'always':
        return true;
      default:
        throw new Error(`function ${name}() is not part of this evaluator`);
    }
  };
  const lookup = (path: string): ExpressionValue => {
    let value: unknown = state.contexts;
    for (const part of path.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
    return value === undefined ? null : value;
  };

  const primary = (): ExpressionValue => {
    const token = peek();
    position++;
    if (token === undefined) throw new Error(`unexpected end of ${source}`);
    if (token.kind === 'literal') return token.value;
    if (token.kind === 'operator') {
      if (token.text !== '(') throw new Error(`unexpected ${token.text} in ${source}`);
      const value = or();
      expect(')');
      return value;
    }
    if (isOperator('(')) {
      position++;
      expect(')');
      return call(token.text);
    }
    if (Object.hasOwn(LITERALS, token.text)) return LITERALS[token.text] ?? null;
    return lookup(token.text);
  };
  const unary = (): ExpressionValue => {
    if (isOperator('!')) {
      position++;
      return !truthy(unary());
    }
    return primary();
  };
  const equality = (): ExpressionValue => {
    const left = unary();
    if (isOperator('==') || isOperator('!=')) {
      const negate = isOperator('!=');
      position++;
      return looselyEqual(left, unary()) !== negate;
    }
    return left;
  };
  const and = (): ExpressionValue => {
    let value = equality();
    while (isOperator('&&')) {
      position++;
      const right = equality();
      value = truthy(value) ? right : value;
    }
    return value;
  };
  function or(): ExpressionValue {
    let value = and();
    while (isOperator('||')) {
      position++;
      const right = and();
      value = truthy(value) ? value : right;
    }
    return value;
  }

  const result = or();
  if (position !== tokens.length) throw new Error(`unexpected tokens after position ${String(position)} of ${source}`);
  return result;
}
