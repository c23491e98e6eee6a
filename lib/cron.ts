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

// Start times. EventBridge Scheduler's cron fields follow the Quartz rules AWS documents at
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based:
// `L` alone in the day-of-week field is its last day (7, Saturday), `5L` the month's last
// Thursday, `5#3` its third, `L` in the day-of-month field the month's last day, `LW` its last
// weekday and `15W` the weekday nearest the 15th within the month.

/** How many days the start times are computed over: two leap-year cycles, so every weekday falls on every date. */
const SPAN_DAYS = 8 * 365 + 2;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The values a plain item (`5`, `1-5`, `*`, `*\/15`, `10/5`, `MON-FRI`) selects. */
function valuesOf(item: string, field: CronField): number[] {
  const [range = '*', step] = item.split('/');
  const [from = '*', to] = range.split('-');
  const start = from === '*' ? field.min : (valueOf(from, field) ?? field.min);
  // A step or a `*` runs to the field's end; a single value stands alone.
  const end = to !== undefined ? (valueOf(to, field) ?? field.max) : from === '*' || step !== undefined ? field.max : start;
  const values: number[] = [];
  for (let value = start; value <= end; value += Number(step ?? 1)) values.push(value);
  return values;
}

function plainValues(text: string, field: CronField): Set<number> {
  return new Set(text.split(',').flatMap((item) => valuesOf(item, field)));
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** 1 (Sunday) to 7 (Saturday), as cron counts them. */
const weekdayOf = (year: number, month: number, day: number): number => new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;

/** Whether a day-of-month item selects `day` of `month` in `year`. */
function dayOfMonthMatches(item: string, year: number, month: number, day: number): boolean {
  const last = daysInMonth(year, month);
  if (item === 'L') return day === last;
  if (item === 'LW' || item.endsWith('W')) {
    const wanted = item === 'LW' ? last : Math.min(Number(item.slice(0, -1)), last);
    // The weekday nearest the wanted day without leaving the month.
    const weekday = weekdayOf(year, month, wanted);
    let nearest = wanted;
    if (weekday === 7) nearest = wanted === 1 ? 3 : wanted - 1;
    else if (weekday === 1) nearest = wanted === last ? wanted - 2 : wanted + 1;
    return day === nearest;
  }
  return valuesOf(item, FIELDS[2] as CronField).includes(day);
}

/** Whether a day-of-week item selects `day` of `month` in `year`. */
function dayOfWeekMatches(item: string, year: number, month: number, day: number): boolean {
  const weekday = weekdayOf(year, month, day);
  const field = FIELDS[4] as CronField;
  if (item === 'L') return weekday === 7;
  const nth = /^(.+)#([1-5])$/.exec(item);
  if (nth?.[1] !== undefined) return weekday === valueOf(nth[1], field) && Math.ceil(day / 7) === Number(nth[2]);
  const lastOf = /^(.+)L$/.exec(item);
  if (lastOf?.[1] !== undefined) return weekday === valueOf(lastOf[1], field) && day + 7 > daysInMonth(year, month);
  return valuesOf(item, field).includes(weekday);
}

/**
 * The start times (epoch milliseconds, UTC fields) of a valid AWS cron expression from `from`
 * (a UTC midnight) for {@link SPAN_DAYS} days, in order: generated, so an every-minute schedule
 * costs no memory.
 * @throws Error when `expression` is not a valid AWS cron expression.
 */
export function* cronStarts(expression: string, from = Date.UTC(2027, 0, 1)): Generator<number> {
  if (!isAwsCronExpression(expression)) throw new Error(`${JSON.stringify(expression)} is not an AWS cron expression`);
  const [minutes = '', hours = '', dayOfMonth = '', months = '', dayOfWeek = '', years = ''] = (/^cron\((.*)\)$/.exec(expression.trim())?.[1] ?? '').trim().toUpperCase().split(/\s+/);
  const minuteSet = [...plainValues(minutes, FIELDS[0] as CronField)];
  const hourSet = [...plainValues(hours, FIELDS[1] as CronField)];
  const offsets = hourSet.flatMap((hour) => minuteSet.map((minute) => (hour * 60 + minute) * MINUTE)).sort((a, b) => a - b);
  const monthSet = plainValues(months, FIELDS[3] as CronField);
  const yearSet = plainValues(years, FIELDS[5] as CronField);
  const dayMatches = (year: number, month: number, day: number): boolean =>
    dayOfMonth === '?'
      ? dayOfWeek.split(',').some((item) => dayOfWeekMatches(item, year, month, day))
      : dayOfMonth.split(',').some((item) => dayOfMonthMatches(item, year, month, day));
  for (let midnight = from; midnight < from + SPAN_DAYS * DAY; midnight += DAY) {
    const date = new Date(midnight);
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (yearSet.has(year) && monthSet.has(month) && dayMatches(year, month, day)) yield* offsets.map((offset) => midnight + offset);
  }
}

/** How many times a schedule starts in an average year (over the eight computed, leap days included). */
export function cronStartsPerYear(expression: string): number {
  let count = 0;
  for (const _start of cronStarts(expression)) count += 1;
  return count / (SPAN_DAYS / 365.25);
}

/**
 * The longest wait between two consecutive starts of a schedule, in minutes: an hourly schedule's
 * is 60, a weekday one's spans the weekend. In a time zone with daylight saving time the clock
 * change can stretch one wait by the shift, so the shift is added.
 * @returns undefined when the schedule starts fewer than twice in the next eight years.
 */
export function longestCronGapMinutes(expression: string, timeZone = 'UTC'): number | undefined {
  let previous: number | undefined;
  let longest: number | undefined;
  for (const start of cronStarts(expression)) {
    if (previous !== undefined) longest = Math.max(longest ?? 0, start - previous);
    previous = start;
  }
  return longest === undefined ? undefined : longest / MINUTE + daylightSavingShiftMinutes(timeZone);
}

/** How far the zone's clocks move between January and July (0 for UTC and zones without daylight saving time). */
function daylightSavingShiftMinutes(timeZone: string): number {
  const offsetAt = (instant: number): number => {
    const local = new Date(new Date(instant).toLocaleString('en-US', { timeZone }));
    const utc = new Date(new Date(instant).toLocaleString('en-US', { timeZone: 'UTC' }));
    return (local.getTime() - utc.getTime()) / MINUTE;
  };
  return Math.abs(offsetAt(Date.UTC(2027, 6, 1)) - offsetAt(Date.UTC(2027, 0, 1)));
}
