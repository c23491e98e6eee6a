import { isAwsCronExpression } from '../../lib/cron';

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
