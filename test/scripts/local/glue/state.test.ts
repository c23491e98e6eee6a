import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { nextState, parseState, pendingChanges, pendingKeys, readState, renderState, sameKeys, stateKey, writeState } from '../../../../scripts/local/glue/state';
import { thrownBy } from '../../../helpers/errors';
import { createBucket, useLocalS3 } from '../../../helpers/local-s3';

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

  const notAState = `${where}: not a format-1 state object of orders_to_lake; delete it to merge the whole change history again`;
  it.each([
    ['JSON null', 'null', notAState],
    ['a state without sources', JSON.stringify({ format: 1, job: 'orders_to_lake' }), notAState],
    ['sources that are null', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: null }), notAState],
    ['sources that are a text', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: 'cdc/orders/' }), notAState],
    ['sources that are a list', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: [[source, []]] }), notAState],
    ['another job’s state', JSON.stringify({ format: 1, job: 'campaign_progress', sources: {} }), notAState],
    ['another format', JSON.stringify({ format: 2, job: 'orders_to_lake', sources: {} }), notAState],
    ['keys that are not a list', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: { [source]: 'a' } }), `${where}: sources["${source}"] is not a list of object keys`],
    ['keys that are not all texts', JSON.stringify({ format: 1, job: 'orders_to_lake', sources: { [source]: ['a.jsonl.gz', 1] } }), `${where}: sources["${source}"] is not a list of object keys`],
  ])('refuses %s as BAD_INPUT, naming the object', (_what, text, message) => {
    expect(thrownBy(() => parseState(text, 'orders_to_lake', where))).toMatchObject({ code: 'BAD_INPUT', message });
  });

  it('refuses text that is not JSON as BAD_INPUT, with the parser’s reason', () => {
    const reason = (thrownBy(() => JSON.parse('{')) as Error).message;
    expect(thrownBy(() => parseState('{', 'orders_to_lake', where))).toMatchObject({
      code: 'BAD_INPUT',
      message: `${where}: the state object is not JSON (${reason}); delete it to merge the whole change history again`,
    });
  });

  it('lists what is pending in key order, and keeps only what S3 still lists', () => {
    expect(pendingKeys(['c', 'a', 'b', 'a'], new Set(['b']))).toEqual(['a', 'c']);
    expect(nextState(['b', 'c'], new Set(['a', 'b']), ['c'])).toEqual(['b', 'c']);
    expect(sameKeys(new Set(['a', 'b']), ['b', 'a'])).toBe(true);
    expect(sameKeys(new Set(['a', 'b']), ['a'])).toBe(false);
  });

  it('keeps the next state in key order when this run’s keys sort before those merged earlier', () => {
    expect(nextState(['a', 'b', 'c', 'd'], new Set(['d', 'c']), ['b', 'a'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('writes the sources in key order whatever order they were given in, each with its keys sorted', () => {
    const sources = new Map([
      ['s3://landing/cdc/c/', new Set(['k2', 'k1'])],
      ['s3://landing/cdc/a/', new Set(['k3'])],
      ['s3://landing/cdc/d/', new Set<string>()],
      ['s3://landing/cdc/b/', new Set(['k5', 'k4'])],
    ]);
    expect(renderState('orders_to_lake', sources, '2024-05-01T00:00:00.000Z')).toBe(
      `${JSON.stringify(
        {
          format: 1,
          job: 'orders_to_lake',
          sources: { 's3://landing/cdc/a/': ['k3'], 's3://landing/cdc/b/': ['k4', 'k5'], 's3://landing/cdc/c/': ['k1', 'k2'], 's3://landing/cdc/d/': [] },
          updatedAt: '2024-05-01T00:00:00.000Z',
        },
        null,
        2,
      )}\n`,
    );
  });

  it('puts the object under the prefix however the prefix is written', () => {
    for (const prefix of ['state/orders_to_lake/', 'state/orders_to_lake', '/state/orders_to_lake/', '//state/orders_to_lake', 'state/orders_to_lake//']) {
      expect(stateKey(prefix)).toBe('state/orders_to_lake/merged.json');
    }
  });

  it('puts the object at the bucket’s root for an empty prefix', () => {
    for (const prefix of ['', '/', '//']) expect(stateKey(prefix)).toBe('merged.json');
  });
});

describe('job state in S3', () => {
  const local = useLocalS3();
  const job = 'orders_to_lake';

  it('reads no state when only other objects share the state object’s name as a prefix', async () => {
    const { client } = local();
    const lake = await createBucket(local(), 'lake');
    await client.send(new PutObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json.old', Body: 'not a state' }));
    expect((await readState(client, lake, 'state/orders_to_lake/', job)).size).toBe(0);
  });

  it('writes the state as a JSON object that reads back', async () => {
    const { client } = local();
    const lake = await createBucket(local(), 'lake');
    await writeState(client, lake, 'state/orders_to_lake', job, new Map([['s3://landing/cdc/orders/', new Set(['cdc/orders/a.jsonl.gz'])]]));
    const head = await client.send(new HeadObjectCommand({ Bucket: lake, Key: 'state/orders_to_lake/merged.json' }));
    expect(head.ContentType).toBe('application/json');
    expect(await readState(client, lake, 'state/orders_to_lake/', job)).toEqual(new Map([['s3://landing/cdc/orders/', new Set(['cdc/orders/a.jsonl.gz'])]]));
  });

  it('saves the state when one source has news and another has none', async () => {
    const { client } = local();
    const [landing, lake] = [await createBucket(local(), 'landing'), await createBucket(local(), 'lake')];
    const put = (key: string) => client.send(new PutObjectCommand({ Bucket: landing, Key: key, Body: 'x' }));
    await put('cdc/orders/a.jsonl.gz');
    await writeState(client, lake, 'state/', job, new Map([[`s3://${landing}/cdc/orders/`, new Set(['cdc/orders/a.jsonl.gz'])]]));
    await put('cdc/returns/b.jsonl.gz');
    await put('cdc/returns/notes.txt');

    const pending = await pendingChanges(client, job, landing, lake, 'state/', ['cdc/orders', 'cdc/returns/']);
    expect(pending.sources.map(({ source, fresh }) => [source, fresh.map((object) => object.key)])).toEqual([
      [`s3://${landing}/cdc/orders/`, []],
      [`s3://${landing}/cdc/returns/`, ['cdc/returns/b.jsonl.gz']],
    ]);
    await pending.save();
    expect(await readState(client, lake, 'state/', job)).toEqual(
      new Map([
        [`s3://${landing}/cdc/orders/`, new Set(['cdc/orders/a.jsonl.gz'])],
        [`s3://${landing}/cdc/returns/`, new Set(['cdc/returns/b.jsonl.gz'])],
      ]),
    );
  });
});
