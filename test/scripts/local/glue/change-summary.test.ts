import { gzipSync } from 'node:zlib';
import { type ChangeRecord, decodeChangeObject, encodeChangeObject } from '../../../../lambda/shared/cdc';
import { plainRecordTime, summarizeChangeObject } from '../../../../scripts/local/glue/change-summary';

/**
 * The twins' check of CDC objects without building their records: the byte scanner takes a line
 * only when decodeChangeObject would, with the same time, and sends anything else to the codec.
 */

const TIME = 1796651249;
/** A valid record line, with its fields replaced or added as JSON text by `fields`, in order; undefined leaves one out. */
function line(fields: Record<string, string | undefined> = {}): string {
  const all: Record<string, string | undefined> = {
    eventName: '"INSERT"',
    keys: '{"InvoiceNo":"536365","LineNo":1}',
    newImage: '{"InvoiceNo":"536365","LineNo":1,"UnitPrice":2.55,"Tags":["a",{"b":[true,false,null]}]}',
    oldImage: 'null',
    sequenceNumber: '"100000000000000000001"',
    approximateCreationTime: String(TIME),
    ...fields,
  };
  return `{${Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${JSON.stringify(name)}:${String(value)}`)
    .join(',')}}`;
}
const scan = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  return plainRecordTime(bytes, 0, bytes.length);
};
/** What the codec makes of one line: its record's time, or its refusal's message. */
function codecOf(text: string): number | string {
  try {
    return (decodeChangeObject(gzipSync(text), 'x')[0] as ChangeRecord).approximateCreationTime;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('plainRecordTime', () => {
  it.each([
    ['a plain record', line(), TIME],
    ['whitespace JSON allows around and inside it', ` \t{ "eventName" : "MODIFY" ,\r"keys":{ },"newImage" : { } , "oldImage":{"a" : [ 1 , 2 ] },"sequenceNumber":"7","approximateCreationTime": ${String(TIME)} }\r `, TIME],
    ['a REMOVE with a null new image', line({ eventName: '"REMOVE"', newImage: 'null', oldImage: '{"a":1}' }), TIME],
    ['every escape JSON has, inside an image', line({ newImage: String.raw`{"s":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \uABCD"}` }), TIME],
    ['characters beyond ASCII inside strings', line({ newImage: '{"é ☃":"日本 😀"}' }), TIME],
    ['numbers in every form JSON has', line({ newImage: '{"n":[0,-0,1.5,-12.25e+3,6E-2,1e400,123456789012345678901234567890]}' }), TIME],
    ['a negative time', line({ approximateCreationTime: '-12' }), -12],
    ['a fractional time with an exponent', line({ approximateCreationTime: '1.7966512495e9' }), 1796651249.5],
    ['a time of 16 digits', line({ approximateCreationTime: '1234567890123456' }), 1234567890123456],
    ['-0 as the time', line({ approximateCreationTime: '-0' }), -0],
    ['the last of a repeated name (a bad one first)', line({ eventName: '"BOGUS"', eventName2: '"INSERT"' }).replace('"eventName2"', '"eventName"'), TIME],
    ['a 64-digit sequence number', line({ sequenceNumber: `"${'9'.repeat(64)}"` }), TIME],
    ['other top-level fields, objects and arrays among them', line({ extra: '[{"eventName":5}]', more: '{"keys":[]}' }), TIME],
    ['images nested 200 deep (beyond the scan table it starts with)', line({ newImage: `${'{"a":['.repeat(100)}1${']}'.repeat(100)}` }), TIME],
    ['each whitespace character JSON allows, in every place it may stand', `\t\r {\t"eventName"\r:\t"INSERT"\r,\t"keys" \r:{ \t"a"\r:\t[ \t1\r,\t{ }\r,[\t]\r] \t}\r,"newImage":{\t} ,"oldImage" : null\t,"sequenceNumber":"1" ,"approximateCreationTime":\r${String(TIME)}\t}\t\r`, TIME],
    ['containers side by side and in each other', line({ newImage: '{"a":[[],[1],{},{"b":{}},[[[]]]],"c":{"d":[{"e":[]}]}}' }), TIME],
    ['every literal, in objects and in arrays', line({ newImage: '{"t":true,"f":false,"n":null,"l":[true,false,null]}' }), TIME],
    ['escapes in names below the top level', line({ newImage: String.raw`{"\u0041\n":{"\"":1}}` }), TIME],
    ['hex digits in either case', line({ newImage: String.raw`{"a":"\u00aF\uFFfe\u0000"}` }), TIME],
    ['a time of one digit', line({ approximateCreationTime: '0' }), 0],
    ['a time with a fraction and a negative exponent', line({ approximateCreationTime: '-25.5e-1' }), -2.55],
    ['a time with a plus in its exponent', line({ approximateCreationTime: '1E+2' }), 100],
    ['the time before the other fields', `{"approximateCreationTime":42,${line().slice(1, line().indexOf(',"approximateCreationTime"'))}}`, 42],
    ['a name that starts like a checked one', line({ eventNames: '5', key: '[]', newImag: '1', sequenceNumbers: 'null' }), TIME],
  ])('takes %s', (_what, text, time) => {
    expect(codecOf(text)).toBe(time);
    expect(scan(text)).toBe(time);
  });

  it.each([
    ['a line of spaces', '   '],
    ['a top-level array', `[${line()}]`],
    ['a top-level string', '"x"'],
    ['text after the record', `${line()} x`],
    ['a second record on the line', `${line()}${line()}`],
    ['a byte-order mark', `\uFEFF${line()}`],
    ['a no-break space between fields', line().replace(',"keys"', ',\u00a0"keys"')],
    ['a trailing comma in an object', line({ newImage: '{"a":1,}' })],
    ['a trailing comma in an array', line({ newImage: '{"a":[1,]}' })],
    ['an empty member', line({ newImage: '{"a":1,,"b":2}' })],
    ['a member without a colon', line({ newImage: '{"a" 1}' })],
    ['a name that is not a string', line({ newImage: '{a:1}' })],
    ['an unclosed object', line().slice(0, -1)],
    ['an unclosed array', line({ newImage: '{"a":[1}' })],
    ['a closing bracket for a brace', line({ newImage: '{"a":1]' })],
    ['an unterminated string', '{"eventName":"INSERT'],
    ['a control character in a string', line({ newImage: '{"a":"x\u0001y"}' })],
    ['a tab inside a string', line({ newImage: '{"a":"x\ty"}' })],
    ['an escape JSON does not have', line({ newImage: String.raw`{"a":"\x41"}` })],
    ['a \\u escape with a letter that is not hex', line({ newImage: String.raw`{"a":"\u00G1"}` })],
    ['a \\u escape with a character just below the hex letters', line({ newImage: String.raw`{"a":"\u00@1"}` })],
    ['a \\u escape whose first digit is not hex', line({ newImage: String.raw`{"a":"\uG000"}` })],
    ['a \\u escape whose second digit is not hex', line({ newImage: String.raw`{"a":"\u0G00"}` })],
    ['a \\u escape cut short by the quote', line({ newImage: String.raw`{"a":"\u00"}` })],
    ['a backslash at the end of the line', '{"eventName":"\\'],
    ['a \\u escape at the end of the line', '{"eventName":"\\u00'],
    ['a leading zero', line({ approximateCreationTime: '01796651249' })],
    ['a plus sign', line({ approximateCreationTime: '+1' })],
    ['a lone minus', line({ newImage: '{"a":-}' })],
    ['a dot without digits after it', line({ newImage: '{"a":1.}' })],
    ['a dot without digits before it', line({ newImage: '{"a":.5}' })],
    ['an exponent without digits', line({ newImage: '{"a":1e+}' })],
    ['NaN', line({ approximateCreationTime: 'NaN' })],
    ['Infinity', line({ newImage: '{"a":Infinity}' })],
    ['a literal cut short', line({ newImage: '{"a":tru}' })],
    ['a literal in capitals', line({ newImage: '{"a":Null}' })],
    ['a literal cut short by the end of the line', '{"eventName":nul'],
    ['a single-quoted string', line({ newImage: "{'a':1}" })],
    ['a comment', line({ newImage: '{"a":1/*x*/}' })],
    ['an event name the codec does not know', line({ eventName: '"insert"' })],
    ['an event name that is not a string', line({ eventName: '1' })],
    ['no event name', line({ eventName: undefined })],
    ['keys as an array', line({ keys: '[]' })],
    ['keys as null', line({ keys: 'null' })],
    ['no keys', line({ keys: undefined })],
    ['no new image', line({ newImage: undefined })],
    ['a new image as an array', line({ newImage: '[]' })],
    ['an old image as a string', line({ oldImage: '"x"' })],
    ['an old image as false', line({ oldImage: 'false' })],
    ['no old image', line({ oldImage: undefined })],
    ['a sequence number as a number', line({ sequenceNumber: '7' })],
    ['an empty sequence number', line({ sequenceNumber: '""' })],
    ['a 65-digit sequence number', line({ sequenceNumber: `"${'9'.repeat(65)}"` })],
    ['a sequence number with a sign', line({ sequenceNumber: '"-7"' })],
    ['a sequence number with a letter', line({ sequenceNumber: '"7a"' })],
    ['a time as a string', line({ approximateCreationTime: '"1796651249"' })],
    ['a time as null', line({ approximateCreationTime: 'null' })],
    ['no time', line({ approximateCreationTime: undefined })],
    ['a record cut after its opening brace', '{'],
    ['a record cut after a name', '{"eventName"'],
    ['a record cut after a colon', '{"eventName":'],
    ['a record cut after a value', '{"eventName":"INSERT"'],
    ['a record cut after a comma', '{"eventName":"INSERT",'],
    ['an array cut after its bracket', '{"eventName":['],
    ['an array cut after a value', '{"eventName":[1'],
    ['an array cut after a comma', '{"eventName":[1,'],
    ['a number cut after its minus', '{"eventName":-'],
    ['a number cut after its dot', '{"eventName":1.'],
    ['a number cut after its e', '{"eventName":1e'],
    ['a number cut after its exponent sign', '{"eventName":1e-'],
    ['a \\u escape cut after two digits', String.raw`{"eventName":"\u00`],
    ['an empty line', ''],
    ['a colon where a comma goes', line().replace(',"keys"', ':"keys"')],
    ['a comma where a colon goes', line().replace('"keys":', '"keys",')],
    ['a value where a name goes', line({ newImage: '{1:2}' })],
    ['two values in a row in an array', line({ newImage: '{"a":[1 2]}' })],
    ['a quote inside a name left open', line({ newImage: '{"a:1}' })],
    ['an escaped first name with no colon or value, before a whole record', `{${String.raw`"\u0078"`},${line().slice(1)}`],
    // JSON.parse keeps the last of a repeated name however it is spelled: here keys, an array.
    ['a checked name repeated, escaped, with a value the codec refuses', line({ extra: '[]' }).replace('"extra"', String.raw`"k\u0065ys"`)],
  ])('refuses %s, as the codec does', (_what, text) => {
    expect(typeof codecOf(text)).toBe('string');
    expect(scan(text)).toBeUndefined();
  });

  it.each([
    ['an escape in a top-level name', line().replace('"keys"', String.raw`"k\u0065ys"`)],
    ['an escape in the event name', line({ eventName: String.raw`"\u0049NSERT"` })],
    ['an escape in the sequence number', line({ sequenceNumber: String.raw`"\u0037"` })],
  ])('leaves %s to the codec, which takes the record', (_what, text) => {
    expect(codecOf(text)).toBe(TIME);
    expect(scan(text)).toBeUndefined();
  });

  it('takes a line feed as the whitespace it is to JSON.parse, when given a line holding one', () => {
    const text = line().replace(',"keys":', ',\n"keys"\n:\n');
    expect((JSON.parse(text) as ChangeRecord).approximateCreationTime).toBe(TIME);
    expect(scan(text)).toBe(TIME);
  });

  it('takes no part of a line it takes, however the rest of the line would go on', () => {
    for (const text of [line(), line({ eventName: '"REMOVE"', newImage: 'null', oldImage: String.raw`{"a":[-1.5e+3,0,true,false,null,{},[]],"b\n":"\u00e9"}` })]) {
      const bytes = Buffer.from(text, 'utf8');
      expect(plainRecordTime(bytes, 0, bytes.length)).toBeDefined();
      for (let end = 0; end < bytes.length; end += 1) expect([end, plainRecordTime(bytes, 0, end)]).toEqual([end, undefined]);
    }
  });

  it('reads only the line it is given in a larger buffer', () => {
    const bytes = Buffer.from(`xx${line()}\n${line({ approximateCreationTime: '5' })}`, 'utf8');
    const end = bytes.indexOf(0x0a);
    expect(plainRecordTime(bytes, 2, end)).toBe(TIME);
    expect(plainRecordTime(bytes, end + 1, bytes.length)).toBe(5);
    // Cut short by the end it is given, though the bytes after it would complete the line.
    expect(plainRecordTime(bytes, 2, end - 1)).toBeUndefined();
    expect(plainRecordTime(bytes, 2, bytes.indexOf('"INSERT"') + 3)).toBeUndefined();
  });

  // Before each line, bytes that would carry a scan sent back to the buffer's second byte into
  // the line again, one level deeper, and round again: a failure must end the scan, not move it.
  it.each([
    ['a control character in a string', 'x,"a":', '{"a":"x\u0001y"}'],
    ['a \\u escape with a digit that is not hex', 'x,"a":', String.raw`{"a":"\u00G1"}`],
    ['an escape JSON does not have', 'x,"a":', String.raw`{"a":"\x41"}`],
    ['a string the line leaves open', 'x,"a":', '{"a":"x'],
    ['a lone minus', 'x,"a":', '{"a":-}'],
    ['a literal cut short', 'x,"a":', '{"a":tru}'],
    ['a name holding a control character', 'x', '{"a\u0001":1}'],
    ['a top-level name holding an escape', 'x', line().replace('"keys"', String.raw`"k\u0065ys"`)],
  ])('refuses %s without going back before the line', (_what, before, text) => {
    const bytes = Buffer.from(`${before}${text}`, 'utf8');
    expect(plainRecordTime(bytes, before.length, bytes.length)).toBeUndefined();
  });

  it('never takes a line the codec refuses, nor gives another time, on 20,000 lines edited at random', () => {
    // A fixed seed: the same lines every run. Edits favour the bytes JSON's grammar turns on.
    let seed = 20261207;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const tokens = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '9', 'e', 'E', '-', '+', '.', ' ', '\t', '\r', 'n', 't', 'f', '\u0001', 'é', '\uFEFF', 'null', 'true', '"x"', '\\u12G4', '\\n', '1e5'];
    const bases = [line(), line({ eventName: '"REMOVE"', newImage: 'null', oldImage: '{"a":{"b":[-1.5e3,"\\"q\\""]}}' }), line({ newImage: '{}', keys: '{}', approximateCreationTime: '-0.5' })];
    let taken = 0;
    for (let round = 0; round < 20_000; round += 1) {
      let text = pick(bases);
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits -= 1) {
        const at = Math.floor(random() * (text.length + 1));
        const token = pick(tokens);
        const edit = random();
        text = edit < 0.4 ? text.slice(0, at) + token + text.slice(at) : edit < 0.8 ? text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3)) : text.slice(0, at) + token + text.slice(at + token.length);
      }
      const time = scan(text);
      if (time === undefined) continue;
      taken += 1;
      expect([text, codecOf(text)]).toEqual([text, time]);
    }
    // Most edits break a line; enough are left for the comparison to mean something.
    expect(taken).toBeGreaterThan(1_000);
  });
});

describe('summarizeChangeObject', () => {
  const records: ChangeRecord[] = [
    { eventName: 'INSERT', keys: { id: 'a' }, newImage: { id: 'a', n: 1.5, s: 'é "q"\n' }, oldImage: null, sequenceNumber: '1', approximateCreationTime: 1714521600 },
    { eventName: 'MODIFY', keys: { id: 'a' }, newImage: { id: 'a', n: 2 }, oldImage: { id: 'a', n: 1.5 }, sequenceNumber: '2', approximateCreationTime: 1714521900 },
    { eventName: 'REMOVE', keys: { id: 'b' }, newImage: null, oldImage: { id: 'b' }, sequenceNumber: '3', approximateCreationTime: 1714521700 },
  ];

  it('counts the records of an object the stream bridge wrote, and finds the newest time', () => {
    expect(summarizeChangeObject(encodeChangeObject(records), 'o')).toEqual({ records: 3, newest: 1714521900 });
  });

  it('finds nothing in an empty object or one of blank lines', () => {
    expect(summarizeChangeObject(gzipSync(''), 'o')).toEqual({ records: 0, newest: undefined });
    expect(summarizeChangeObject(gzipSync('\n\n'), 'o')).toEqual({ records: 0, newest: undefined });
  });

  it('counts a last line without its line feed', () => {
    expect(summarizeChangeObject(gzipSync(`${line()}\n\n${line({ approximateCreationTime: '5' })}`), 'o')).toEqual({ records: 2, newest: TIME });
  });

  it('counts an object of one line without its line feed', () => {
    expect(summarizeChangeObject(gzipSync(line()), 'o')).toEqual({ records: 1, newest: TIME });
  });

  it('sends an object whose only line it does not settle to the codec, and gives its answer', () => {
    expect(summarizeChangeObject(gzipSync(`${line({ eventName: String.raw`"\u0049NSERT"`, approximateCreationTime: '9' })}\n`), 'o')).toEqual({ records: 1, newest: 9 });
    expect(() => summarizeChangeObject(gzipSync('{"eventName":'), 'o')).toThrow(/^o, line 1: not JSON \(/);
  });

  it('gives what the codec gives for a line it leaves to the codec', () => {
    const body = gzipSync(`${line({ approximateCreationTime: '7' })}\n${line({ eventName: String.raw`"\u0049NSERT"`, approximateCreationTime: '9' })}\n`);
    expect(summarizeChangeObject(body, 'o')).toEqual({ records: 2, newest: 9 });
  });

  it("throws the codec's refusal, naming the object, the line and the field", () => {
    const body = gzipSync(`${line()}\n\n${line({ keys: '[]' })}\n`);
    expect(() => summarizeChangeObject(body, 's3://landing/cdc/orders/x.jsonl.gz')).toThrow('s3://landing/cdc/orders/x.jsonl.gz, line 3: field keys is not an object');
    expect(() => summarizeChangeObject(gzipSync(`${line()}\n{"eventName":`), 'o')).toThrow(/^o, line 2: not JSON \(/);
  });

  it("throws the codec's refusal of a body that is not gzip", () => {
    expect(() => summarizeChangeObject(Buffer.from(line()), 'o')).toThrow(/^o: not gzip \(/);
  });
});
