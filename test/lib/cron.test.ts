import { cronStarts, cronStartsPerYear, isAwsCronExpression, longestCronGapMinutes } from '../../lib/cron';

describe('isAwsCronExpression', () => {
  it.each([
    'cron(0 * * * ? *)',
    'cron(0 8 * * ? *)',
    'cron(15 0/2 * * ? *)',
    'cron(0 6 ? * MON-FRI *)',
    'cron(0,30 9-17 ? * 2-6 2026-2030)',
    'cron(0 12 L * ? *)',
    'cron(0 12 15W * ? *)',
    'cron(0 10 ? * 6#3 *)',
    'cron(0 10 ? * 6L *)',
    'cron(*/5 * * JAN-MAR ? *)',
    'cron(0 8 1 * ? *)',
  ])('accepts %s', (expression) => {
    expect(isAwsCronExpression(expression)).toBe(true);
  });

  it.each([
    ['a Unix five-field cron', '0 * * * *'],
    ['five fields inside cron()', 'cron(0 * * * ?)'],
    ['both day fields set', 'cron(0 8 * * * *)'],
    ['both day fields ?', 'cron(0 8 ? * ? *)'],
    ['minute 60', 'cron(60 * * * ? *)'],
    ['hour 24', 'cron(0 24 * * ? *)'],
    ['day of month 0', 'cron(0 0 0 * ? *)'],
    ['month 13', 'cron(0 0 1 13 ? *)'],
    ['weekday 8', 'cron(0 0 ? * 8 *)'],
    ['a backwards range', 'cron(0 17-9 * * ? *)'],
    ['a zero step', 'cron(0/0 * * * ? *)'],
    ['? in the minutes', 'cron(? * * * ? *)'],
    ['a rate expression', 'rate(1 hour)'],
    ['an unknown month name', 'cron(0 0 1 FOO ? *)'],
    ['year before 1970', 'cron(0 0 1 1 ? 1969)'],
    ['an empty list item', 'cron(0, * * * ? *)'],
  ])('rejects %s', (_what, expression) => {
    expect(isAwsCronExpression(expression)).toBe(false);
  });
});

describe('cronStarts', () => {
  const firstStarts = (expression: string, count: number): string[] => {
    const starts: string[] = [];
    for (const start of cronStarts(expression)) {
      starts.push(new Date(start).toISOString().slice(0, 16));
      if (starts.length === count) break;
    }
    return starts;
  };

  it.each([
    ['every hour', 'cron(0 * * * ? *)', ['2027-01-01T00:00', '2027-01-01T01:00', '2027-01-01T02:00']],
    ['every other hour from 00:15', 'cron(15 0/2 * * ? *)', ['2027-01-01T00:15', '2027-01-01T02:15', '2027-01-01T04:15']],
    ['weekdays at 06:00 (1 January 2027 is a Friday)', 'cron(0 6 ? * MON-FRI *)', ['2027-01-01T06:00', '2027-01-04T06:00', '2027-01-05T06:00']],
    ['half-hours from 16:00 to 17:30 on weekdays', 'cron(0,30 16-17 ? * 2-6 *)', ['2027-01-01T16:00', '2027-01-01T16:30', '2027-01-01T17:00', '2027-01-01T17:30', '2027-01-04T16:00']],
    ['the last day of the month', 'cron(0 12 L * ? *)', ['2027-01-31T12:00', '2027-02-28T12:00', '2027-03-31T12:00']],
    // 2027-05-15 is a Saturday, 2027-08-15 a Sunday.
    ['the weekday nearest the 15th', 'cron(0 12 15W 5,8 ? *)', ['2027-05-14T12:00', '2027-08-16T12:00', '2028-05-15T12:00']],
    // 2027-01-31 is a Sunday, 2027-07-31 a Saturday.
    ['the last weekday of the month', 'cron(0 12 LW 1,7 ? *)', ['2027-01-29T12:00', '2027-07-30T12:00', '2028-01-31T12:00']],
    ['the third Friday', 'cron(0 10 ? * 6#3 *)', ['2027-01-15T10:00', '2027-02-19T10:00', '2027-03-19T10:00']],
    ['the last Friday', 'cron(0 10 ? * 6L *)', ['2027-01-29T10:00', '2027-02-26T10:00', '2027-03-26T10:00']],
    ['the last day of the week (Saturday)', 'cron(0 10 ? * L *)', ['2027-01-02T10:00', '2027-01-09T10:00', '2027-01-16T10:00']],
    ['every 20 minutes from minute 10, in March only', 'cron(10/20 0 * MAR ? *)', ['2027-03-01T00:10', '2027-03-01T00:30', '2027-03-01T00:50', '2027-03-02T00:10']],
    ['29 February', 'cron(0 0 29 2 ? *)', ['2028-02-29T00:00', '2032-02-29T00:00']],
  ])('starts %s when AWS documents', (_what, expression, expected) => {
    expect(firstStarts(expression, expected.length)).toEqual(expected);
  });

  it('refuses an expression that is not AWS cron', () => {
    expect(() => cronStarts('rate(1 hour)').next()).toThrow('"rate(1 hour)" is not an AWS cron expression');
  });
});

describe('longestCronGapMinutes', () => {
  it.each([
    ['cron(0 * * * ? *)', 60],
    ['cron(*/5 * * * ? *)', 5],
    ['cron(0 8 * * ? *)', 1440],
    // Friday 06:00 to Monday 06:00.
    ['cron(0 6 ? * MON-FRI *)', 3 * 1440],
    // Friday 17:30 to Monday 09:00.
    ['cron(0,30 9-17 ? * MON-FRI *)', 2 * 1440 + 15 * 60 + 30],
    // The longest month between two last days: 31 days.
    ['cron(0 12 L * ? *)', 31 * 1440],
  ])('%s waits at most %d minutes', (expression, minutes) => {
    expect(longestCronGapMinutes(expression)).toBe(minutes);
  });

  it('adds the daylight-saving shift of the time zone, and nothing for zones without one', () => {
    expect(longestCronGapMinutes('cron(0 * * * ? *)', 'Europe/Paris')).toBe(120);
    expect(longestCronGapMinutes('cron(0 * * * ? *)', 'Asia/Tokyo')).toBe(60);
    expect(longestCronGapMinutes('cron(0 * * * ? *)', 'Australia/Lord_Howe')).toBe(90);
  });

  it('has no answer for a schedule that starts fewer than twice', () => {
    expect(longestCronGapMinutes('cron(0 0 1 1 ? 2020)')).toBeUndefined();
    expect(longestCronGapMinutes('cron(0 0 1 1 ? 2030)')).toBeUndefined();
  });
});

describe('cronStartsPerYear', () => {
  it.each([
    ['cron(0 * * * ? *)', 8766],
    ['cron(0 8 * * ? *)', 365.25],
    ['cron(0 0 1 * ? *)', 12],
    ['cron(0 0 1 1 ? 2020)', 0],
  ])('%s starts %d times in an average year', (expression, starts) => {
    expect(cronStartsPerYear(expression)).toBeCloseTo(starts, 6);
  });
});
