/**
 * Validation of AWS schedule cron expressions (EventBridge and Glue triggers share the form):
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, where exactly one of the two day
 * fields is `?`. Checked at synth so a typo fails before CloudFormation rejects the trigger.
 */

interface CronField {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Special tokens this field accepts besides values, ranges, steps and `*`. */
  readonly special?: RegExp;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly CronField[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  // L (last day), LW (last weekday), 15W (weekday nearest the 15th)
  { min: 1, max: 31, special: /^(L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { min: 1, max: 12, names: MONTHS },
  // 6L (last Friday), 6#3 (third Friday)
  { min: 1, max: 7, names: WEEKDAYS, special: /^(L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/ },
  { min: 1970, max: 2199 },
];

function valueOf(token: string, field: CronField): number | undefined {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const index = field.names?.indexOf(token) ?? -1;
  return index >= 0 ? field.min + index : undefined;
}

function isValidItem(item: string, field: CronField): boolean {
  if (field.special?.test(item)) return true;
  const [range, step, ...rest] = item.split('/');
  if (range === undefined || rest.length > 0) return false;
  if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1)) return false;
  if (range === '*') return true;
  const [from, to, ...more] = range.split('-');
  if (from === undefined || more.length > 0) return false;
  const start = valueOf(from, field);
  if (start === undefined) return false;
  if (to === undefined) return true;
  const end = valueOf(to, field);
  return end !== undefined && end >= start;
}

function isValidField(text: string, field: CronField): boolean {
  return text.split(',').every((item) => isValidItem(item, field));
}

/** True when `expression` is a well-formed AWS `cron(...)` schedule expression. */
export function isAwsCronExpression(expression: string): boolean {
  const match = /^cron\((.*)\)$/.exec(expression.trim());
  if (!match?.[1]) return false;
  const parts = match[1].trim().toUpperCase().split(/\s+/);
  if (parts.length !== FIELDS.length) return false;
  const dayOfMonth = parts[2];
  const dayOfWeek = parts[4];
  // Exactly one of the day fields must be `?`: AWS refuses both or neither.
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return false;
  return FIELDS.every((field, i) => {
    const part = parts[i] ?? '';
    return part === '?' ? i === 2 || i === 4 : isValidField(part, field);
  });
}
