import { gunzipSync, gzipSync } from 'node:zlib';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import {
  type ChangeRecord,
  changeKey,
  changeObjectKey,
  changeRecordFromStream,
  compareSequenceNumbers,
  decodeChangeObject,
  encodeChangeObject,
  latestChanges,
  streamLabel,
} from '../../../lambda/shared/cdc';
import { DynalakeError } from '../../../lambda/shared/errors';
import { expectedChanges, ordersToLakeGolden, streamBatch } from '../../helpers/lambda-fixtures';

const ORDERS_LABEL = '2026-11-01T000000.000';

type Stream = NonNullable<DynamoDBRecord['dynamodb']>;

/** Record `index` of the orders batch, its `dynamodb` part changed by `patch` and without the fields `without`. */
function ordersRecord(index: number, patch: Partial<Stream> = {}, ...without: (keyof Stream)[]): DynamoDBRecord {
  const record = streamBatch('orders-batch').Records[index];
  if (record?.dynamodb === undefined) throw new Error(`orders-batch has no record ${String(index)}`);
  const stream: Stream = { ...record.dynamodb, ...patch };
  for (const field of without) stream[field] = undefined;
  return { ...record, dynamodb: JSON.parse(JSON.stringify(stream)) as Stream };
}

/** An INSERT of item `k` with `image` as the rest of its new image. */
function recordWithImage(image: Record<string, AttributeValue>): DynamoDBRecord {
  return { eventName: 'INSERT', dynamodb: { Keys: { id: { S: 'k' } }, NewImage: { id: { S: 'k' }, ...image }, SequenceNumber: '1', ApproximateCreationDateTime: 1793664000 } };
}

function gzipLines(lines: readonly string[]): Buffer {
  return gzipSync(lines.join('\n'));
}

/** What `fn` threw (it must throw). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('changeRecordFromStream', () => {
  const orders = streamBatch('orders-batch').Records;
  const ordersExpected = expectedChanges('orders-batch');

  it('has a fixture record for every expected change', () => {
    expect(orders).toHaveLength(8);
    expect(ordersExpected).toHaveLength(orders.length);
  });

  it.each(orders.map((record, index) => [`${String(index)} ${String(record.eventName)} ${String(record.dynamodb?.SequenceNumber)}`, record, ordersExpected[index]] as const))(
    'turns orders record %s into the expected change record',
    (_name, record, expected) => {
      expect(changeRecordFromStream(record)).toStrictEqual(expected);
    },
  );

  it.each(streamBatch('campaign-batch').Records.map((record, index) => [String(index), record, expectedChanges('campaign-batch')[index]] as const))(
    'turns user_Campaign record %s into the expected change record, lists of maps included',
    (_index, record, expected) => {
      expect(changeRecordFromStream(record)).toStrictEqual(expected);
    },
  );

  it('keeps numbers exact: a JSON number only when it prints back as the same text', () => {
    const change = changeRecordFromStream(
      recordWithImage({
        price: { N: '38970' },
        tiny: { N: '0.001' },
        negative: { N: '-11062.06' },
        safe: { N: '9007199254740991' },
        beyond: { N: '9007199254740993' },
        long: { N: '12345678901234567890123' },
        manyDecimals: { N: '0.10000000000000000001' },
        small: { N: '0.0000001' },
      }),
    );
    expect(change.newImage).toStrictEqual({
      id: 'k',
      price: 38970,
      tiny: 0.001,
      negative: -11062.06,
      safe: 9007199254740991,
      beyond: '9007199254740993',
      long: '12345678901234567890123',
      manyDecimals: '0.10000000000000000001',
      // 1e-7 prints as "1e-7", not as DynamoDB wrote it.
      small: '0.0000001',
    });
  });

  it('turns sets into arrays in one order whatever order the stream sent, binary into base64, NULL into null', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const one = changeRecordFromStream(
      recordWithImage({ tags: { SS: ['b', 'c', 'a'] }, sizes: { NS: ['10', '2', '9.5'] }, blob: { B: bytes.toString('base64') }, blobs: { BS: ['Yg==', 'YQ=='] }, gone: { NULL: true }, flag: { BOOL: true } }),
    );
    const other = changeRecordFromStream(
      recordWithImage({ tags: { SS: ['c', 'a', 'b'] }, sizes: { NS: ['9.5', '10', '2'] }, blob: { B: bytes.toString('base64') }, blobs: { BS: ['YQ==', 'Yg=='] }, gone: { NULL: true }, flag: { BOOL: true } }),
    );
    expect(one.newImage).toStrictEqual({ id: 'k', tags: ['a', 'b', 'c'], sizes: [10, 2, 9.5], blob: 'AAEC+v8=', blobs: ['YQ==', 'Yg=='], gone: null, flag: true });
    expect(other).toStrictEqual(one);
  });

  it('encodes binary read through the SDK (bytes, not base64 text) as base64 too, and takes a Date as epoch seconds', () => {
    const change = changeRecordFromStream({
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { B: new Uint8Array([104, 105]) } }, NewImage: { id: { B: new Uint8Array([104, 105]) } }, SequenceNumber: '7', ApproximateCreationDateTime: new Date('2026-11-03T00:00:01.500Z') },
    });
    expect(change).toStrictEqual({ eventName: 'INSERT', keys: { id: 'aGk=' }, newImage: { id: 'aGk=' }, oldImage: null, sequenceNumber: '7', approximateCreationTime: 1793664001.5 });
  });

  it('keeps a REMOVE\'s new image and an INSERT\'s old image out, should the stream send them', () => {
    const remove = ordersRecord(2, { NewImage: ordersRecord(2).dynamodb?.OldImage });
    expect(changeRecordFromStream(remove)).toStrictEqual(ordersExpected[2]);
    expect(ordersExpected[2]).toMatchObject({ eventName: 'REMOVE', newImage: null });
    const insert = ordersRecord(0, { OldImage: ordersRecord(0).dynamodb?.NewImage });
    expect(changeRecordFromStream(insert)).toStrictEqual(ordersExpected[0]);
    expect(ordersExpected[0]).toMatchObject({ eventName: 'INSERT', oldImage: null });
  });

  const sequence = '900000000000000000101';
  /** Record 0 with a time that JSON cannot carry (ordersRecord's copy would turn it into null). */
  const withTime = (time: number): DynamoDBRecord => {
    const record = ordersRecord(0);
    return { ...record, dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: time } };
  };
  it.each<[string, () => DynamoDBRecord, string]>([
    ['no dynamodb part at all', () => ({ ...ordersRecord(0), dynamodb: undefined }), 'stream record (no SequenceNumber): dynamodb.SequenceNumber must be a decimal string'],
    ['no SequenceNumber', () => ordersRecord(0, {}, 'SequenceNumber'), 'stream record (no SequenceNumber): dynamodb.SequenceNumber must be a decimal string'],
    // A number would pass the pattern as text, then fail decodeChangeObject once written.
    ['a numeric SequenceNumber', () => ordersRecord(0, { SequenceNumber: 102 as unknown as string }), 'stream record 102: dynamodb.SequenceNumber must be a decimal string'],
    ['a SequenceNumber that is not decimal', () => ordersRecord(0, { SequenceNumber: '9e20' }), 'stream record 9e20: dynamodb.SequenceNumber must be a decimal string'],
    ['an unknown eventName', () => ({ ...ordersRecord(0), eventName: 'UPDATE' as 'MODIFY' }), `stream record ${sequence}: eventName "UPDATE" is not INSERT, MODIFY or REMOVE`],
    ['no eventName', () => ({ ...ordersRecord(0), eventName: undefined }), `stream record ${sequence}: eventName undefined is not INSERT, MODIFY or REMOVE`],
    ['no Keys', () => ordersRecord(0, {}, 'Keys'), `stream record ${sequence}: dynamodb.Keys is missing`],
    ['empty Keys', () => ordersRecord(0, { Keys: {} }), `stream record ${sequence}: dynamodb.Keys is missing`],
    ['an INSERT without NewImage', () => ordersRecord(0, {}, 'NewImage'), `stream record ${sequence}: INSERT without dynamodb.NewImage (the stream must send NEW_AND_OLD_IMAGES)`],
    ['a MODIFY without NewImage', () => ordersRecord(1, {}, 'NewImage'), 'stream record 1000000000000000000102: MODIFY without dynamodb.NewImage (the stream must send NEW_AND_OLD_IMAGES)'],
    [
      'a MODIFY without OldImage (a NEW_IMAGE stream)',
      () => ordersRecord(1, {}, 'OldImage'),
      'stream record 1000000000000000000102: MODIFY without dynamodb.OldImage (the stream must send NEW_AND_OLD_IMAGES)',
    ],
    [
      'a REMOVE without OldImage (a KEYS_ONLY stream)',
      () => ordersRecord(2, {}, 'OldImage'),
      'stream record 1000000000000000000103: REMOVE without dynamodb.OldImage (the stream must send NEW_AND_OLD_IMAGES)',
    ],
    ['no ApproximateCreationDateTime', () => ordersRecord(0, {}, 'ApproximateCreationDateTime'), `stream record ${sequence}: dynamodb.ApproximateCreationDateTime is missing`],
    ['an ApproximateCreationDateTime that is NaN', () => withTime(Number.NaN), `stream record ${sequence}: dynamodb.ApproximateCreationDateTime is missing`],
    ['an infinite ApproximateCreationDateTime', () => withTime(Number.POSITIVE_INFINITY), `stream record ${sequence}: dynamodb.ApproximateCreationDateTime is missing`],
    ['Keys that are not an item', () => ordersRecord(0, { Keys: { InvoiceNo: {} as AttributeValue } }), `stream record ${sequence}: dynamodb.Keys is not a DynamoDB item (No value defined: {})`],
    [
      'an OldImage that is not an item',
      () => ordersRecord(1, { OldImage: { Quantity: {} as AttributeValue } }),
      'stream record 1000000000000000000102: dynamodb.OldImage is not a DynamoDB item (No value defined: {})',
    ],
    [
      'an attribute value with no type',
      () => ordersRecord(0, { NewImage: { ...ordersRecord(0).dynamodb?.NewImage, Quantity: {} as AttributeValue } }),
      `stream record ${sequence}: dynamodb.NewImage is not a DynamoDB item (No value defined: {})`,
    ],
  ])('rejects a record with %s, naming its sequence number and the field', (_case, record, message) => {
    const error = thrownBy(() => changeRecordFromStream(record()));
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message });
  });

  it('rejects an invalid Date as ApproximateCreationDateTime', () => {
    const record = ordersRecord(0);
    expect(() => changeRecordFromStream({ ...record, dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: new Date('not a date') } })).toThrow(
      `stream record ${sequence}: dynamodb.ApproximateCreationDateTime is missing`,
    );
  });
});

describe('compareSequenceNumbers', () => {
  it('orders 40-digit sequence numbers as integers, beyond what a double tells apart', () => {
    const a = '1234567890123456789012345678901234567890';
    const b = '1234567890123456789012345678901234567891';
    expect(Number(a)).toBe(Number(b));
    expect(compareSequenceNumbers(a, b)).toBe(-1);
    expect(compareSequenceNumbers(b, a)).toBe(1);
    expect(compareSequenceNumbers(a, a)).toBe(0);
  });

  it('puts a shorter number first whatever its digits ("900" before "1000")', () => {
    expect(compareSequenceNumbers('999999999999999999999999999999999999999', '1000000000000000000000000000000000000000')).toBe(-1);
    expect(compareSequenceNumbers('900', '1000')).toBe(-1);
    expect(['1000', '900', '10000', '99'].sort(compareSequenceNumbers)).toEqual(['99', '900', '1000', '10000']);
  });
});

describe('streamLabel', () => {
  it('takes the label from a stream ARN, keeping only characters safe in a key', () => {
    expect(streamLabel('arn:aws:dynamodb:eu-west-1:123456789012:table/dynalake-dev-storage-OrdersTable-XYZ/stream/2026-11-01T00:00:00.000')).toBe(ORDERS_LABEL);
  });

  it('is "local" without a stream ARN', () => {
    expect(streamLabel(undefined)).toBe('local');
    expect(streamLabel('arn:aws:dynamodb:eu-west-1:123456789012:table/orders')).toBe('local');
    // The label is the ARN's last part: anything after it means this is no stream ARN.
    expect(streamLabel('arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-01T00:00:00.000/shard')).toBe('local');
  });
});

describe('changeObjectKey', () => {
  const changes = expectedChanges('orders-batch');
  const key = `cdc/orders/dt=2026-11-02/${ORDERS_LABEL}-900000000000000000101-1000000000000000000108.jsonl.gz`;

  it('names the table, the UTC day of the first change and the integer-lowest and -highest sequence numbers', () => {
    expect(changeObjectKey('orders', ORDERS_LABEL, changes)).toBe(key);
  });

  it('is a pure function of the batch: the same batch, or the same records in any order, give the same key', () => {
    expect(changeObjectKey('orders', ORDERS_LABEL, expectedChanges('orders-batch'))).toBe(key);
    expect(changeObjectKey('orders', ORDERS_LABEL, [...changes].reverse())).toBe(key);
    const [first, ...rest] = changes;
    expect(changeObjectKey('orders', ORDERS_LABEL, [...rest, first as ChangeRecord])).toBe(key);
  });

  it('takes dt from the first change as a UTC day (2026-11-02T23:59:59Z), not from the later ones of the next day', () => {
    expect(changeObjectKey('orders', ORDERS_LABEL, changes.slice(1))).toBe(`cdc/orders/dt=2026-11-03/${ORDERS_LABEL}-1000000000000000000102-1000000000000000000108.jsonl.gz`);
  });

  it('refuses an empty batch', () => {
    expect(() => changeObjectKey('orders', ORDERS_LABEL, [])).toThrow(
      expect.objectContaining({ code: 'BAD_INVOCATION', message: 'changeObjectKey: a batch has at least one record' }) as Error,
    );
  });

  it('lets the first given of records that tie on sequence number decide, so the same batch in the same order keeps its key', () => {
    // Sequence numbers are unique within a stream: a tie is a record given twice, or the same
    // integer written with a leading zero.
    const [first, second] = changes as [ChangeRecord, ChangeRecord];
    const again = { ...first, sequenceNumber: `0${first.sequenceNumber}`, approximateCreationTime: second.approximateCreationTime };
    expect(changeObjectKey('orders', ORDERS_LABEL, [first, again])).toBe(`cdc/orders/dt=2026-11-02/${ORDERS_LABEL}-900000000000000000101-900000000000000000101.jsonl.gz`);
    expect(changeObjectKey('orders', ORDERS_LABEL, [again, first])).toBe(`cdc/orders/dt=2026-11-03/${ORDERS_LABEL}-0900000000000000000101-0900000000000000000101.jsonl.gz`);
  });
});

describe('encodeChangeObject and decodeChangeObject', () => {
  const changes = expectedChanges('orders-batch');

  it('round-trips a batch exactly, numbers and strings alike', () => {
    expect(decodeChangeObject(encodeChangeObject(changes))).toStrictEqual(changes);
    const campaign = expectedChanges('campaign-batch');
    expect(decodeChangeObject(encodeChangeObject(campaign))).toStrictEqual(campaign);
  });

  it('writes gzip of one JSON object per line, the same bytes every time', () => {
    const bytes = encodeChangeObject(changes);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(encodeChangeObject(expectedChanges('orders-batch')).equals(bytes)).toBe(true);
    const lines = gunzipSync(bytes).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toStrictEqual(changes);
  });

  it('keeps a number beyond 2^53 as the exact string it was given', () => {
    const [decoded] = decodeChangeObject(encodeChangeObject(changes.slice(6, 7)));
    expect(decoded?.newImage?.CustomerID).toBe('9007199254740993');
    expect(decoded?.oldImage?.CustomerID).toBe(13047);
  });

  const good = JSON.stringify(changes[0]);
  const fields = (patch: Record<string, unknown>) => JSON.stringify({ ...changes[1], ...patch });
  it.each<[string, string, string]>([
    ['a line that is not JSON', '{"eventName": "INSERT"', 'not JSON'],
    ['a line that is not an object', '[1, 2]', 'not a JSON object'],
    ['a line that is null', 'null', 'not a JSON object'],
    ['keys that are null', fields({ keys: null }), 'field keys is not an object'],
    ['an unknown eventName', fields({ eventName: 'UPSERT' }), 'field eventName is "UPSERT"'],
    ['keys that are not an object', fields({ keys: ['536365', 1] }), 'field keys is not an object'],
    ['a numeric sequenceNumber', fields({ sequenceNumber: 102 }), 'field sequenceNumber is not a decimal string'],
    ['a string approximateCreationTime', fields({ approximateCreationTime: '2026-11-03T00:00:00Z' }), 'field approximateCreationTime is not a number'],
    ['a newImage that is an array', fields({ newImage: [] }), 'field newImage is not an object or null'],
    ['no oldImage at all', fields({ oldImage: undefined }), 'field oldImage is not an object or null'],
  ])('rejects %s, naming the object, the line and the field', (_case, badLine, problem) => {
    const body = gzipLines([good, '', badLine, good]);
    const error = thrownBy(() => decodeChangeObject(body, 's3://landing/cdc/orders/dt=2026-11-02/x.jsonl.gz'));
    expect(error).toBeInstanceOf(DynalakeError);
    expect((error as DynalakeError).code).toBe('BAD_INPUT');
    // Line 3 of the file: the blank line 2 is skipped but still counted.
    expect((error as DynalakeError).message).toMatch(new RegExp(`^s3://landing/cdc/orders/dt=2026-11-02/x\\.jsonl\\.gz, line 3: ${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('rejects a body that is not gzip, naming the object', () => {
    const error = thrownBy(() => decodeChangeObject(Buffer.from(`${good}\n`), 'cdc/orders/x.jsonl.gz'));
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: 'cdc/orders/x.jsonl.gz: not gzip (incorrect header check)' });
  });

  it('calls the object "CDC object" when not told its name', () => {
    expect(() => decodeChangeObject(Buffer.from(`${good}\n`))).toThrow('CDC object: not gzip (incorrect header check)');
  });

  it('reads an empty object as no records', () => {
    expect(decodeChangeObject(gzipSync(''))).toEqual([]);
  });
});

describe('latestChanges', () => {
  it('agrees with the orders_to_lake golden: per key, the latest change by integer sequence number decides the curated row', () => {
    const { changes, rows } = ordersToLakeGolden();
    const latest = latestChanges(changes);
    const curated = new Map(rows.map((row) => [JSON.stringify([row.invoice_no, row.line_no]), row]));
    // 536365/1 changes twice, newest first, with a 22-digit number beating a 21-digit one.
    expect(latest.get(JSON.stringify(['536365', 1]))?.sequenceNumber).toBe('1000000000000000000000');
    expect(latest.size).toBe(8);
    for (const [key, change] of latest) {
      if (change.eventName === 'REMOVE') {
        expect([key, curated.has(key)]).toEqual([key, false]);
      } else {
        expect([key, Number(change.newImage?.Quantity)]).toEqual([key, curated.get(key)?.quantity]);
      }
    }
  });

  it('picks the last of several changes to one key in the orders batch, whatever the input order', () => {
    const changes = expectedChanges('orders-batch');
    for (const batch of [changes, [...changes].reverse()]) {
      const latest = latestChanges(batch);
      expect(latest.size).toBe(6);
      expect(latest.get(JSON.stringify(['536365', 1]))).toMatchObject({ sequenceNumber: '1000000000000000000108', newImage: { Quantity: 12 } });
      expect(latest.get(JSON.stringify(['536365', 2]))?.eventName).toBe('REMOVE');
    }
  });

  it('lets the later record win a tie, as the Python twin does', () => {
    const [change] = expectedChanges('orders-batch');
    const first = { ...(change as ChangeRecord), newImage: { Quantity: 1 } };
    const second = { ...(change as ChangeRecord), newImage: { Quantity: 2 } };
    expect([...latestChanges([first, second]).values()]).toEqual([second]);
  });
});

describe('changeKey', () => {
  it('is the key values in key-name order, whatever order the keys came in', () => {
    expect(changeKey({ keys: { LineNo: 1, InvoiceNo: '536365' } })).toBe('["536365",1]');
    expect(changeKey({ keys: { InvoiceNo: '536365', LineNo: 1 } })).toBe('["536365",1]');
    expect(changeKey({ keys: { userID: 'USR-000042', campaignID: 'CMP-0001' } })).toBe('["CMP-0001","USR-000042"]');
  });
});
