import { createdObject, decodeEventKey, encodeEventKey } from '../../../lambda/shared/s3-event';
import { uploadRecords } from '../../helpers/lambda-fixtures';

const FILTER = { prefix: 'raw/', suffix: '.csv' } as const;
const BUCKET = 'dynalake-dev-storage-landingbucket-1x2y3z4w5v6u';

/** Each upload of the fixture: the key as S3's notification carries it, and the object's real key. */
const KEYS: readonly (readonly [encoded: string, decoded: string])[] = [
  ['raw/my+file.csv', 'raw/my file.csv'],
  ['raw/a%2Bb.csv', 'raw/a+b.csv'],
  ['raw/100%25.csv', 'raw/100%.csv'],
  ['raw/donn%C3%A9es+%C3%A9t%C3%A9+%F0%9F%9A%80.csv', 'raw/données été 🚀.csv'],
];

describe('decodeEventKey and encodeEventKey', () => {
  it('the fixture carries these keys, in this order', () => {
    expect(uploadRecords().slice(0, KEYS.length).map((record) => record.s3.object.key)).toEqual(KEYS.map(([encoded]) => encoded));
  });

  it.each(KEYS)('decodes %s to %s', (encoded, decoded) => {
    expect(decodeEventKey(encoded)).toBe(decoded);
  });

  it.each(KEYS)('encodes %s as S3 does, from %s', (encoded, decoded) => {
    expect(encodeEventKey(decoded)).toBe(encoded);
  });

  const awkward = [
    'raw/plain.csv',
    'raw/ leading and trailing ',
    'raw/a+b c+d.csv',
    'raw/%2B is not a plus.csv',
    'raw/100%',
    'raw/%',
    'raw/%%25%2',
    "raw/quotes ' \" and (brackets) [x] {y}.csv",
    'raw/!*~-_.csv',
    'raw/?query=1&x=#fragment.csv',
    'raw/tab\tnewline\nnul\u0000.csv',
    'raw//double//slash/',
    'raw/Q4 sales+returns é.csv',
    'raw/日本語のファイル.csv',
    'raw/données été 🚀.csv',
    'raw/combining é (e + U+0301).csv',
    '',
  ];
  it.each(awkward.map((key) => [JSON.stringify(key), key]))('round-trips %s', (_name, key) => {
    const encoded = encodeEventKey(key);
    expect(decodeEventKey(encoded)).toBe(key);
    // Only what survives in a URL unescaped: no space, no raw non-ASCII.
    expect(encoded).toMatch(/^[A-Za-z0-9\-_.~/+%]*$/);
  });

  it('escapes the characters encodeURIComponent leaves alone but S3 does not, in upper-case hex', () => {
    expect(encodeEventKey("raw/a!b'c(d)e*f.csv")).toBe('raw/a%21b%27c%28d%29e%2Af.csv');
  });

  it('reads + as a space and only %2B as a plus', () => {
    expect(decodeEventKey('raw/a+b%2Bc+%2B.csv')).toBe('raw/a b+c +.csv');
  });

  it.each(['raw/bad%E0%A4%A.csv', 'raw/%ZZ.csv', 'raw/100%.csv', 'raw/%C3.csv'])('throws URIError on the malformed escape in %s', (encoded) => {
    expect(() => decodeEventKey(encoded)).toThrow(URIError);
  });
});

describe('createdObject', () => {
  const records = uploadRecords();

  it.each([
    [0, { bucket: BUCKET, key: 'raw/my file.csv', size: 48213, version: '0b3f7a1d6f1e4b2c8a9d0e1f2a3b4c5d' }],
    [1, { bucket: BUCKET, key: 'raw/a+b.csv', size: 1520, version: '9e107d9d372bb6826bd81d3542a419d6' }],
    [2, { bucket: BUCKET, key: 'raw/100%.csv', size: 733, version: 'e4d909c290d0fb1ca068ffaddf22cbd0' }],
    // A versioned bucket: the version id tells writes apart, not the ETag.
    [3, { bucket: BUCKET, key: 'raw/données été 🚀.csv', size: 2048, version: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' }],
  ])('names the object of upload %i with its decoded key', (index, object) => {
    expect(createdObject(records[index] ?? {}, FILTER)).toEqual({ object });
  });

  it.each([
    [4, 'outside-filter', `s3://${BUCKET}/raw/notes.txt is not raw/*.csv`],
    [5, 'outside-filter', `s3://${BUCKET}/other/x.csv is not raw/*.csv`],
    [6, 'empty-object', `s3://${BUCKET}/raw/empty.csv is empty`],
    [7, 'not-object-created', 'event ObjectRemoved:Delete'],
    [8, 'malformed', 'record without s3.bucket.name, s3.object.key or a version, ETag or sequencer'],
    [9, 'malformed', 's3.object.key "raw/bad%E0%A4%A.csv" is not URL-encoded'],
  ])('skips record %i as %s', (index, skip, detail) => {
    expect(createdObject(records[index] ?? {}, FILTER)).toEqual({ skip, detail });
  });

  it('has no record the tests above leave out', () => {
    expect(records).toHaveLength(10);
  });

  it('tells writes apart by version id, else ETag, else sequencer', () => {
    const object = { key: 'raw/x.csv', size: 1 };
    const event = (extra: Record<string, string>) => ({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { ...object, ...extra } } });
    expect(createdObject(event({ versionId: 'v1', eTag: 'e1', sequencer: 's1' }), FILTER)).toMatchObject({ object: { version: 'v1' } });
    expect(createdObject(event({ eTag: 'e1', sequencer: 's1' }), FILTER)).toMatchObject({ object: { version: 'e1' } });
    expect(createdObject(event({ sequencer: 's1' }), FILTER)).toMatchObject({ object: { version: 's1' } });
    expect(createdObject(event({}), FILTER)).toMatchObject({ skip: 'malformed' });
  });

  it('takes every ObjectCreated kind (multipart uploads and copies too), and nothing without an event name', () => {
    const record = records[0];
    expect(createdObject({ ...record, eventName: 'ObjectCreated:CompleteMultipartUpload' }, FILTER)).toHaveProperty('object');
    expect(createdObject({ ...record, eventName: 'ObjectCreated:Copy' }, FILTER)).toHaveProperty('object');
    expect(createdObject({ s3: record?.s3 }, FILTER)).toEqual({ skip: 'not-object-created', detail: 'event undefined' });
  });

  it('skips a record without a bucket name as malformed', () => {
    const record = records[0];
    expect(createdObject({ eventName: 'ObjectCreated:Put', s3: { object: record?.s3.object } }, FILTER)).toMatchObject({ skip: 'malformed' });
  });

  const incomplete = 'record without s3.bucket.name, s3.object.key or a version, ETag or sequencer';
  it('skips a record without its s3 part, or an object without a key, as malformed and says which fields it needs', () => {
    expect(createdObject({ eventName: 'ObjectCreated:Put' }, FILTER)).toEqual({ skip: 'malformed', detail: incomplete });
    expect(createdObject({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { size: 10, eTag: 'e1' } } }, FILTER)).toEqual({ skip: 'malformed', detail: incomplete });
  });
});
