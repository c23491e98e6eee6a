import { gunzipSync } from 'node:zlib';
import { type ChangeRecord, decodeChangeObject } from '../../../lambda/shared/cdc';

/**
 * What the twins' check of a CDC object needs from it, without its records: decodeChangeObject
 * (lambda/shared/cdc.ts) builds every record, images included, only for the check to count them,
 * and that was most of the check's time (the full file's 277 MB of JSON lines: the check took 4.1
 * to 4.5 s on one thread through the codec, 2.6 to 2.7 s through this scan, 2026-12-07). Here a byte scanner checks each line against
 * JSON's grammar as JSON.parse applies it and reads only the fields the codec checks. A line it
 * does not take as plainly valid, for any reason, sends the whole object through
 * decodeChangeObject, whose refusal (object, line, field) or result stands: the scanner may only
 * ever be stricter than the codec, never more lenient.
 *
 * The scan of a line `bytes[start, end)` may read past `end` (the next line, or past the buffer,
 * where a read gives undefined): it takes the line only when its object closes exactly at `end`,
 * and a scan that has gone past `end` never comes back to it. Only whitespace (which a line feed
 * is) and strings (whose end it looks for) stop at `end`.
 */

/** A CDC object's records, counted. */
export interface ChangeObjectSummary {
  readonly records: number;
  /** The creation time (epoch seconds) of its newest change; undefined when it holds none. */
  readonly newest: number | undefined;
}

/** The summary of decoded records. */
function summaryOf(records: readonly ChangeRecord[]): ChangeObjectSummary {
  let newest: number | undefined;
  for (const record of records) newest = Math.max(newest ?? record.approximateCreationTime, record.approximateCreationTime);
  return { records: records.length, newest };
}

/**
 * The records of a CDC object counted, and the newest creation time among them, as
 * decodeChangeObject(body, source) would give them; or its refusal, thrown.
 */
export function summarizeChangeObject(body: Uint8Array, source: string): ChangeObjectSummary {
  let text: Buffer;
  try {
    text = gunzipSync(body);
  } catch {
    return summaryOf(decodeChangeObject(body, source)); // which names the object that is not gzip
  }
  let records = 0;
  let newest: number | undefined;
  // Lines as the codec splits them: a 0x0A byte is a line feed wherever it is in UTF-8, never part of another character.
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf(LINE_FEED, start);
    const end = newline === -1 ? text.length : newline;
    if (end > start) {
      const time = plainRecordTime(text, start, end);
      if (time === undefined) return summaryOf(decodeChangeObject(body, source));
      records += 1;
      newest = Math.max(newest ?? time, time);
    }
    start = end + 1;
  }
  return { records, newest };
}

const LINE_FEED = 0x0a;
const TAB = 0x09;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;

/** What a JSON value is, as far as the checked fields go. */
const enum Kind {
  Missing,
  Object,
  Array,
  String,
  EscapedString,
  Number,
  Null,
  Boolean,
}

/** The fields decodeChangeObject checks, by their index in the scan's tables. */
const enum Field {
  EventName,
  Keys,
  NewImage,
  OldImage,
  SequenceNumber,
  ApproximateCreationTime,
  None,
}
const FIELD_NAMES: readonly (readonly [string, Field])[] = [
  ['eventName', Field.EventName],
  ['keys', Field.Keys],
  ['newImage', Field.NewImage],
  ['oldImage', Field.OldImage],
  ['sequenceNumber', Field.SequenceNumber],
  ['approximateCreationTime', Field.ApproximateCreationTime],
];
const EVENT_NAMES = ['INSERT', 'MODIFY', 'REMOVE'] as const;
const MAX_SEQUENCE_DIGITS = 64;

// The scan's tables, one slot per Field: reused line after line (the scan runs on one thread, never re-entered).
const fieldKinds = new Uint8Array(Field.None);
const fieldStarts = new Int32Array(Field.None);
const fieldEnds = new Int32Array(Field.None);
/** The open objects and arrays, innermost last: 1 for an object, 0 for an array. Grows as a line nests deeper. */
let open = new Uint8Array(64);

const isDigit = (byte: number) => byte >= ZERO && byte <= NINE;
const isHexDigit = (byte: number) => isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66);

/** The index of the first byte from `index` on that is not JSON whitespace (JSON.parse's four), or `end`. */
function skipSpace(bytes: Uint8Array, index: number, end: number): number {
  let at = index;
  while (at < end) {
    const byte = bytes[at] as number;
    if (byte !== SPACE && byte !== TAB && byte !== CARRIAGE_RETURN && byte !== LINE_FEED) break;
    at += 1;
  }
  return at;
}

/** Whether the last string {@link stringEnd} scanned held an escape. */
let lastStringEscaped = false;

/**
 * The index after the string that opens at `index` (a quote), or -1 when it is not a JSON string:
 * unterminated, a control character, or an escape JSON does not have. Any byte from 0x80 on is
 * part of a character JSON allows in a string (UTF-8 decoding makes U+FFFD of a broken sequence,
 * and never an ASCII character).
 */
function stringEnd(bytes: Uint8Array, index: number, end: number): number {
  lastStringEscaped = false;
  let at = index + 1;
  while (at < end) {
    const byte = bytes[at] as number;
    if (byte === QUOTE) return at + 1;
    if (byte < SPACE) return -1;
    if (byte === BACKSLASH) {
      lastStringEscaped = true;
      const escape = bytes[at + 1] as number;
      if (escape === LOWER_U) {
        if (!isHexDigit(bytes[at + 2] as number) || !isHexDigit(bytes[at + 3] as number) || !isHexDigit(bytes[at + 4] as number) || !isHexDigit(bytes[at + 5] as number)) return -1;
        at += 6;
        continue;
      }
      // \" \\ \/ \b \f \n \r \t
      if (escape !== QUOTE && escape !== BACKSLASH && escape !== 0x2f && escape !== 0x62 && escape !== 0x66 && escape !== 0x6e && escape !== 0x72 && escape !== 0x74) return -1;
      at += 2;
      continue;
    }
    at += 1;
  }
  return -1;
}

/** The index after the digits from `index` on (at least one), or -1 when there is none. */
function digitsEnd(bytes: Uint8Array, index: number): number {
  let at = index;
  while (isDigit(bytes[at] as number)) at += 1;
  return at > index ? at : -1;
}

/** The index after the JSON number at `index` (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), or -1. */
function numberEnd(bytes: Uint8Array, index: number): number {
  let at = bytes[index] === MINUS ? index + 1 : index;
  at = bytes[at] === ZERO ? at + 1 : digitsEnd(bytes, at);
  if (at >= 0 && bytes[at] === DOT) at = digitsEnd(bytes, at + 1);
  if (at >= 0 && (bytes[at] === LOWER_E || bytes[at] === UPPER_E)) {
    at += 1;
    if (bytes[at] === PLUS || bytes[at] === MINUS) at += 1;
    at = digitsEnd(bytes, at);
  }
  return at;
}

/** Whether `bytes[start, end)` spell `word`. */
function spells(bytes: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let offset = 0; offset < word.length; offset += 1) if (bytes[start + offset] !== word.charCodeAt(offset)) return false;
  return true;
}

/** The index after `word` (true, false, null) at `index`, or -1. */
function wordEnd(bytes: Uint8Array, index: number, word: string): number {
  return spells(bytes, index, index + word.length, word) ? index + word.length : -1;
}

/** The checked field a top-level name's bytes spell (without its quotes), or Field.None. */
function checkedField(bytes: Uint8Array, start: number, end: number): Field {
  return FIELD_NAMES.find(([name]) => spells(bytes, start, end, name))?.[1] ?? Field.None;
}

/** The field named by the last member name {@link memberValueStart} read at the top level. */
let memberField = Field.None;

/**
 * Reads an object member's name and colon at `index` (`depth` objects and arrays deep), and
 * returns where its value starts, or -1 when they are not there or, at the top level, when the
 * name holds an escape (its text is not its bytes).
 */
function memberValueStart(bytes: Uint8Array, index: number, end: number, depth: number): number {
  if (bytes[index] !== QUOTE) return -1;
  const nameEnd = stringEnd(bytes, index, end);
  if (nameEnd < 0) return -1;
  if (depth === 1) {
    if (lastStringEscaped) return -1;
    memberField = checkedField(bytes, index + 1, nameEnd - 1);
  }
  const colon = skipSpace(bytes, nameEnd, end);
  if (bytes[colon] !== COLON) return -1;
  return skipSpace(bytes, colon + 1, end);
}

/**
 * The approximateCreationTime of the record on the line `bytes[start, end)` when the line is
 * plainly one the codec takes: JSON as JSON.parse reads it, an object whose eventName,
 * sequenceNumber, keys, images and time are as decodeChangeObject requires (the last of a
 * repeated name counts, as in JSON.parse). Undefined for anything else, including what the
 * codec might take but the scan does not settle: an escape in a top-level name, or in the event
 * name or sequence number.
 */
export function plainRecordTime(bytes: Uint8Array, start: number, end: number): number | undefined {
  let at = skipSpace(bytes, start, end);
  if (bytes[at] !== OPEN_BRACE) return undefined;
  fieldKinds.fill(Kind.Missing);
  let depth = 0;
  for (;;) {
    // A value starts at `at`; at the top level (depth 1) it is memberField's.
    const byte = bytes[at] as number;
    const valueStart = at;
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      const isObject = byte === OPEN_BRACE;
      if (depth === 1 && memberField !== Field.None) fieldKinds[memberField] = isObject ? Kind.Object : Kind.Array;
      at = skipSpace(bytes, at + 1, end);
      if (bytes[at] === (isObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
        at += 1; // empty: a whole value
      } else {
        if (depth === open.length) open = Uint8Array.from({ length: depth * 2 }, (_unused, index) => open[index] ?? 0);
        open[depth] = isObject ? 1 : 0;
        depth += 1;
        if (isObject) at = memberValueStart(bytes, at, end, depth);
        if (at < 0) return undefined;
        continue;
      }
    } else {
      let kind: Kind;
      if (byte === QUOTE) {
        at = stringEnd(bytes, at, end);
        kind = lastStringEscaped ? Kind.EscapedString : Kind.String;
      } else if (byte === MINUS || isDigit(byte)) {
        at = numberEnd(bytes, at);
        kind = Kind.Number;
      } else if (byte === 0x6e) {
        at = wordEnd(bytes, at, 'null');
        kind = Kind.Null;
      } else if (byte === 0x74) {
        at = wordEnd(bytes, at, 'true');
        kind = Kind.Boolean;
      } else if (byte === 0x66) {
        at = wordEnd(bytes, at, 'false');
        kind = Kind.Boolean;
      } else {
        return undefined;
      }
      if (at < 0) return undefined;
      if (depth === 1 && memberField !== Field.None) {
        fieldKinds[memberField] = kind;
        fieldStarts[memberField] = valueStart;
        fieldEnds[memberField] = at;
      }
    }
    // After a value: close what it ends, then a comma and the next value, or the end of the line.
    for (;;) {
      at = skipSpace(bytes, at, end);
      if (depth === 0) return at === end ? recordTime(bytes) : undefined;
      const inObject = open[depth - 1] === 1;
      if (bytes[at] === COMMA) {
        at = skipSpace(bytes, at + 1, end);
        if (inObject) at = memberValueStart(bytes, at, end, depth);
        if (at < 0) return undefined;
        break;
      }
      if (bytes[at] !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return undefined;
      depth -= 1;
      at += 1;
    }
  }
}

/** Whether the string field's text (between its quotes) is one of `texts`. */
function stringFieldIs(bytes: Uint8Array, field: Field, texts: readonly string[]): boolean {
  return fieldKinds[field] === Kind.String && texts.some((text) => spells(bytes, (fieldStarts[field] as number) + 1, (fieldEnds[field] as number) - 1, text));
}

/** The number field's value, as JSON.parse gives it (the same rounding of the same text). */
function numberFieldValue(bytes: Uint8Array, field: Field): number {
  let text = '';
  for (let at = fieldStarts[field] as number; at < (fieldEnds[field] as number); at += 1) text += String.fromCharCode(bytes[at] as number);
  return Number(text);
}

/** The record's time when its checked fields are as decodeChangeObject requires, else undefined. */
function recordTime(bytes: Uint8Array): number | undefined {
  if (!stringFieldIs(bytes, Field.EventName, EVENT_NAMES)) return undefined;
  if (fieldKinds[Field.Keys] !== Kind.Object) return undefined;
  const sequenceStart = (fieldStarts[Field.SequenceNumber] as number) + 1;
  const sequenceEnd = (fieldEnds[Field.SequenceNumber] as number) - 1;
  if (fieldKinds[Field.SequenceNumber] !== Kind.String || sequenceEnd - sequenceStart > MAX_SEQUENCE_DIGITS || digitsEnd(bytes, sequenceStart) !== sequenceEnd) return undefined;
  if (fieldKinds[Field.ApproximateCreationTime] !== Kind.Number) return undefined;
  for (const image of [Field.NewImage, Field.OldImage]) if (fieldKinds[image] !== Kind.Object && fieldKinds[image] !== Kind.Null) return undefined;
  return numberFieldValue(bytes, Field.ApproximateCreationTime);
}
