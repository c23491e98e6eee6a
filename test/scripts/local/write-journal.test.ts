import { WriteJournal } from '../../../scripts/local/write-journal';

/**
 * The write journal alone, fed the requests an embedded DynamoDB receives: which keys it notes,
 * and every case where it must say it cannot tell (the stream capture then scans). Its use by the
 * stream capture, on a real dynalite, is in stream.test.ts.
 */
const key = (invoice: string, line: string) => ({ Invoice: { S: invoice }, Line: { N: line } });
const keyText = (invoice: string, line: string) => JSON.stringify([{ S: invoice }, { N: line }]);

function watching(maxKeys?: number): WriteJournal {
  const journal = new WriteJournal(maxKeys);
  journal.watch('orders', ['Invoice', 'Line']);
  journal.watch('campaigns', ['campaignID']);
  return journal;
}

const note = (journal: WriteJournal, action: string, request: unknown) => journal.note(action, JSON.stringify(request));

describe('WriteJournal', () => {
  it('notes the key of every PutItem, UpdateItem, DeleteItem and BatchWriteItem to a watched table, once per key', () => {
    const journal = watching();
    note(journal, 'PutItem', { TableName: 'orders', Item: { ...key('A', '1'), Quantity: { N: '6' } } });
    note(journal, 'UpdateItem', { TableName: 'orders', Key: key('B', '2'), UpdateExpression: 'SET Quantity = :q' });
    note(journal, 'DeleteItem', { TableName: 'orders', Key: key('C', '3') });
    note(journal, 'BatchWriteItem', {
      RequestItems: {
        orders: [{ PutRequest: { Item: { ...key('D', '-4.5'), Quantity: { N: '1' } } } }, { DeleteRequest: { Key: key('A', '1') } }],
        campaigns: [{ PutRequest: { Item: { campaignID: { S: 'spring' }, name: { S: 'Spring' } } } }],
        uploads: [{ PutRequest: { Item: { rowId: { S: 'x' } } } }],
      },
    });
    expect(journal.now).toBe(4);
    expect(journal.writtenSince('orders', 0)).toEqual({ known: true, keys: [keyText('A', '1'), keyText('B', '2'), keyText('C', '3'), keyText('D', '-4.5')] });
    expect(journal.writtenSince('campaigns', 0)).toEqual({ known: true, keys: [JSON.stringify([{ S: 'spring' }])] });
    expect(journal.writtenSince('uploads', 0)).toEqual({ known: false, why: 'not watched' });
  });

  it('gives the keys written after a position, and forgets those up to a position', () => {
    const journal = watching();
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '1') });
    note(journal, 'PutItem', { TableName: 'orders', Item: key('B', '1') });
    const position = journal.now;
    note(journal, 'PutItem', { TableName: 'orders', Item: key('C', '1') });
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '1') });
    expect(journal.writtenSince('orders', position)).toEqual({ known: true, keys: [keyText('A', '1'), keyText('C', '1')] });
    journal.forget('orders', position);
    expect(journal.writtenSince('orders', 0)).toEqual({ known: true, keys: [keyText('A', '1'), keyText('C', '1')] });
    journal.forget('orders', journal.now);
    expect(journal.writtenSince('orders', 0)).toEqual({ known: true, keys: [] });
    journal.forget('uploads', journal.now);
  });

  it('counts reads as positions but notes nothing for them, nor for a new table or a body that is not JSON', () => {
    const journal = watching();
    for (const action of ['BatchGetItem', 'DescribeTable', 'DescribeTimeToLive', 'GetItem', 'ListTables', 'ListTagsOfResource', 'Query', 'Scan', 'TagResource', 'UntagResource', 'UpdateTimeToLive', 'CreateTable']) {
      note(journal, action, { TableName: 'orders', Key: key('A', '1'), Item: key('A', '1') });
    }
    journal.note('PutItem', '{"TableName": "orders", "Item": ');
    expect(journal.now).toBe(13);
    expect(journal.writtenSince('orders', 0)).toEqual({ known: true, keys: [] });
  });

  it.each([
    ['a number DynamoDB would give back otherwise', 'PutItem', { TableName: 'orders', Item: key('A', '1.0') }],
    ['a number with a leading zero', 'DeleteItem', { TableName: 'orders', Key: key('A', '01') }],
    ['a number with a plus sign', 'UpdateItem', { TableName: 'orders', Key: key('A', '+1') }],
    ['a number with an exponent', 'PutItem', { TableName: 'orders', Item: key('A', '1e3') }],
    ['minus zero', 'PutItem', { TableName: 'orders', Item: key('A', '-0') }],
    ['a fraction without its zero', 'PutItem', { TableName: 'orders', Item: key('A', '.5') }],
    ['a binary key', 'PutItem', { TableName: 'orders', Item: { Invoice: { B: 'QQ==' }, Line: { N: '1' } } }],
    ['a key attribute left out', 'DeleteItem', { TableName: 'orders', Key: { Invoice: { S: 'A' } } }],
    ['a key attribute of two types', 'DeleteItem', { TableName: 'orders', Key: { Invoice: { S: 'A', N: '1' }, Line: { N: '1' } } }],
    ['no key at all', 'UpdateItem', { TableName: 'orders' }],
    ['a batch that is not a list', 'BatchWriteItem', { RequestItems: { orders: { PutRequest: { Item: key('A', '1') } } } }],
    ['the table deleted', 'DeleteTable', { TableName: 'orders' }],
    ['the table updated', 'UpdateTable', { TableName: 'orders' }],
  ])('cannot tell the table\u2019s writes after %s, until a later position', (_what, action, request) => {
    const journal = watching();
    note(journal, 'PutItem', { TableName: 'orders', Item: key('Z', '9') });
    note(journal, 'PutItem', { TableName: 'campaigns', Item: { campaignID: { S: 'spring' } } });
    const before = journal.now;
    note(journal, action, request);
    expect(journal.writtenSince('orders', before)).toEqual({ known: false, why: 'lost track of its writes' });
    expect(journal.writtenSince('campaigns', 0)).toEqual({ known: true, keys: [JSON.stringify([{ S: 'spring' }])] });
    const after = journal.now;
    note(journal, 'PutItem', { TableName: 'orders', Item: key('Y', '0') });
    expect(journal.writtenSince('orders', after)).toEqual({ known: true, keys: [keyText('Y', '0')] });
  });

  it.each([
    ['an action it does not know', 'TransactWriteItems', { TransactItems: [{ Put: { TableName: 'orders', Item: key('A', '1') } }] }],
    ['a write that names no table', 'PutItem', { Item: key('A', '1') }],
  ])('cannot tell any table\u2019s writes after %s', (_what, action, request) => {
    const journal = watching();
    note(journal, action, request);
    expect(journal.writtenSince('orders', 0)).toEqual({ known: false, why: 'lost track of its writes' });
    expect(journal.writtenSince('campaigns', 0)).toEqual({ known: false, why: 'lost track of its writes' });
  });

  it('keeps at most maxKeys keys per table, and cannot tell the writes it dropped', () => {
    const journal = watching(2);
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '1') });
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '2') });
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '1') });
    expect(journal.writtenSince('orders', 0)).toEqual({ known: true, keys: [keyText('A', '1'), keyText('A', '2')] });
    note(journal, 'PutItem', { TableName: 'orders', Item: key('A', '3') });
    expect(journal.writtenSince('orders', 0)).toEqual({ known: false, why: 'lost track of its writes' });
    expect(journal.writtenSince('orders', journal.now)).toEqual({ known: true, keys: [] });
  });

  it('spells a key as a scanned item gives it, in key-name order, whatever order the request gives', () => {
    const journal = watching();
    expect(journal.keyOf('orders', { Line: { N: '7' }, Invoice: { S: 'C536379' }, Quantity: { N: '2' } })).toBe(keyText('C536379', '7'));
    expect(journal.keyOf('orders', undefined)).toBeUndefined();
    expect(journal.keyOf('uploads', { rowId: { S: 'x' } })).toBeUndefined();
    for (const number of ['0', '-1', '10', '1.5', '-0.25', '0.001', '123456789012345678901234567890']) expect(journal.keyOf('orders', key('A', number))).toBe(keyText('A', number));
  });
});
