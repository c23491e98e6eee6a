import { DynalakeError } from '../../../../lambda/shared/errors';
import { nextState, parseState, pendingKeys, renderState, sameKeys, stateKey } from '../../../../scripts/local/glue/state';

/** The twins' side of the jobs' state object; dynalake_glue's side is JobStateTest, and the engines test holds the two to one object. */
describe('job state (scripts/local/glue/state.ts)', () => {
  const source = 's3://landing/cdc/orders/';
  const where = 's3://lake/state/orders_to_lake/merged.json';

  it('reads no object as nothing merged, and reads back what it writes', () => {
    expect(parseState(undefined, 'orders_to_lake', where).size).toBe(0);
    const text = renderState('orders_to_lake', new Map([[source, new Set(['cdc/orders/dt=2/b.jsonl.gz', 'cdc/orders/dt=1/a.jsonl.gz'])]]), '2024-05-01T00:00:00.000Z');
    expect(JSON.parse(text)).toEqual({ format: 1, job: 'orders_to_lake', sources: { [source]: ['cdc/orders/dt=1/a.jsonl.gz', 'cdc/orders/dt=2/b.jsonl.gz'] }, updatedAt: '2024-05-01T00:00:00.000Z' });
    expect([...(parseState(text, 'orders_to_lake', where).get(source) ?? [])].sort()).toEqual(['cdc/orders/dt=1/a.jsonl.gz', 'cdc/orders/dt=2/b.jsonl.gz']);
  });

  it.each([
    ['another job’s state', JSON.stringify({ format: 1, job: 'campaign_progress', sources: {} })],
    ['another format', JSON.stringify({ format: 2, job: 'orders_to_lake', sources: {} })],
    ['keys that are not a list', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: { [source]: 'a' } })],
    ['text that is not JSON', '{'],
  ])('refuses %s, naming the object', (_what, text) => {
    expect(() => parseState(text, 'orders_to_lake', where)).toThrow(DynalakeError);
    expect(() => parseState(text, 'orders_to_lake', where)).toThrow(new RegExp(`^${where.replace(/[./]/g, '\\$&')}: `));
  });

  it('lists what is pending in key order, and keeps only what S3 still lists', () => {
    expect(pendingKeys(['c', 'a', 'b', 'a'], new Set(['b']))).toEqual(['a', 'c']);
    expect(nextState(['b', 'c'], new Set(['a', 'b']), ['c'])).toEqual(['b', 'c']);
    expect(sameKeys(new Set(['a', 'b']), ['b', 'a'])).toBe(true);
    expect(sameKeys(new Set(['a', 'b']), ['a'])).toBe(false);
  });

  it('puts the object under the prefix however the prefix is written', () => {
    for (const prefix of ['state/orders_to_lake/', 'state/orders_to_lake', '/state/orders_to_lake/']) expect(stateKey(prefix)).toBe('state/orders_to_lake/merged.json');
  });
});
