import { DynalakeError } from '../../../../lambda/shared/errors';
import { count, counted, requireArguments } from '../../../../scripts/local/glue/job';

describe('the twins’ shared job helpers', () => {
  it('counts with thousands separators, and says one thing in the singular', () => {
    expect([count(541909), counted(1, 'change object'), counted(0, 'partition'), counted(1071, 'row'), counted(2, 'entry', 'entries')]).toEqual([
      '541,909',
      '1 change object',
      '0 partitions',
      '1,071 rows',
      '2 entries',
    ]);
  });

  it('returns the required arguments, or names every missing or empty one with its --', () => {
    expect(requireArguments('orders_to_lake', { LAKE_BUCKET: 'lake', EXTRA: 'x' }, ['LAKE_BUCKET'])).toEqual({ LAKE_BUCKET: 'lake' });
    expect(() => requireArguments('orders_to_lake', { LAKE_BUCKET: '' }, ['LAKE_BUCKET', 'CDC_PREFIX'])).toThrow(
      new DynalakeError('BAD_INVOCATION', 'orders_to_lake: missing job arguments --LAKE_BUCKET, --CDC_PREFIX'),
    );
  });
});
