import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Which items of which tables an embedded DynamoDB was asked to write: the keys of every PutItem,
 * UpdateItem, DeleteItem and BatchWriteItem request to a watched table, as the requests name them.
 * A stream capture (./stream.ts) then reads only those items, where DynamoDB Streams would have
 * sent them, instead of scanning the whole table.
 *
 * It errs one way only: a key is noted whether or not the write succeeded or changed anything (the
 * capture compares before and after, so a key noted for nothing gives no record), and whatever it
 * cannot follow (a request it cannot read, an action it does not know, a table deleted, more keys
 * than it keeps, a key it cannot spell as a scan does) makes it say it does not know, and the
 * capture scans the table as before.
 */

/** Actions that write no item: they leave every journal as it is. */
const READ_ONLY_ACTIONS = new Set([
  'BatchGetItem',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'ListTagsOfResource',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'UpdateTimeToLive',
]);

/** A decimal number as DynamoDB returns it (no leading or trailing zeros, no exponent, no "+"): what a scan gives back. */
const CANONICAL_NUMBER = /^(0|-?[1-9][0-9]*(\.[0-9]*[1-9])?|-?0\.[0-9]*[1-9])$/;

/** What a journal knows of one table's writes. */
interface TableWrites {
  readonly keyNames: readonly string[];
  /** Each key written (its scan spelling, see {@link WriteJournal.keyOf}), with the position of its last write. */
  readonly keys: Map<string, number>;
  /** The position of the last write the journal lost track of (keys dropped, table deleted); 0 for none. */
  lostAt: number;
}

/** The keys written to a table since a position, or that the journal cannot tell. */
export type WrittenKeys = { readonly known: true; readonly keys: readonly string[] } | { readonly known: false; readonly why: string };

export class WriteJournal {
  /** Grows by one per request: positions order writes and captures. */
  private position = 0;
  private readonly tables = new Map<string, TableWrites>();

  /** @param maxKeys how many keys it keeps per table before it gives up on them (memory stays bounded). */
  constructor(private readonly maxKeys = 20_000) {}

  /** The position now: a capture notes it before it reads, and asks later for what was written after it. */
  get now(): number {
    return this.position;
  }

  /** Notes the writes to `tableName` from now on; its items are named by `keyNames` (partition key first). */
  watch(tableName: string, keyNames: readonly string[]): void {
    if (!this.tables.has(tableName)) this.tables.set(tableName, { keyNames, keys: new Map(), lostAt: 0 });
  }

  /**
   * A key as a scan's item gives it to the stream: the JSON of its attribute values in key-name
   * order. Undefined when the request spells it otherwise than DynamoDB would give it back (a number
   * such as "1.0", binary), or leaves an attribute out.
   */
  keyOf(tableName: string, attributes: Record<string, AttributeValue> | undefined): string | undefined {
    const table = this.tables.get(tableName);
    if (table === undefined || attributes === undefined) return undefined;
    const values: AttributeValue[] = [];
    for (const name of table.keyNames) {
      const value = attributes[name] as Partial<Record<string, unknown>> | undefined;
      if (value === undefined || Object.keys(value).length !== 1) return undefined;
      if (typeof value.S === 'string') values.push({ S: value.S });
      else if (typeof value.N === 'string' && CANONICAL_NUMBER.test(value.N)) values.push({ N: value.N });
      else return undefined;
    }
    return JSON.stringify(values);
  }

  /** Notes one request to the embedded DynamoDB: its action (the X-Amz-Target after the dot) and its body. */
  note(action: string, body: string): void {
    this.position += 1;
    if (READ_ONLY_ACTIONS.has(action) || this.tables.size === 0) return;
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // DynamoDB refuses a body that is not JSON, and writes nothing; so does dynalite.
      return;
    }
    switch (action) {
      case 'PutItem':
        this.noteKey(request.TableName, request.Item);
        return;
      case 'UpdateItem':
      case 'DeleteItem':
        this.noteKey(request.TableName, request.Key);
        return;
      case 'BatchWriteItem': {
        const requests = (request.RequestItems ?? {}) as Record<string, unknown>;
        for (const [tableName, writes] of Object.entries(requests)) {
          if (!Array.isArray(writes)) {
            this.lose(tableName);
            continue;
          }
          for (const write of writes as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }[]) {
            this.noteKey(tableName, write.PutRequest?.Item ?? write.DeleteRequest?.Key);
          }
        }
        return;
      }
      case 'CreateTable':
        // A new table has no items; one of the same name deleted earlier was lost then.
        return;
      case 'DeleteTable':
      case 'UpdateTable':
        this.lose(request.TableName);
        return;
      default:
        // An action it does not know may write anything.
        for (const tableName of this.tables.keys()) this.lose(tableName);
    }
  }

  private noteKey(tableName: unknown, attributes: unknown): void {
    if (typeof tableName !== 'string') {
      for (const name of this.tables.keys()) this.lose(name);
      return;
    }
    const table = this.tables.get(tableName);
    if (table === undefined) return;
    const key = this.keyOf(tableName, attributes as Record<string, AttributeValue> | undefined);
    if (key === undefined) {
      this.lose(tableName);
      return;
    }
    table.keys.set(key, this.position);
    if (table.keys.size > this.maxKeys) this.lose(tableName);
  }

  private lose(tableName: unknown): void {
    const table = typeof tableName === 'string' ? this.tables.get(tableName) : undefined;
    if (table === undefined) return;
    table.keys.clear();
    table.lostAt = this.position;
  }

  /** The keys written to `tableName` after position `since`, or why the journal cannot tell. */
  writtenSince(tableName: string, since: number): WrittenKeys {
    const table = this.tables.get(tableName);
    if (table === undefined) return { known: false, why: 'not watched' };
    if (table.lostAt > since) return { known: false, why: 'lost track of its writes' };
    const keys: string[] = [];
    for (const [key, position] of table.keys) if (position > since) keys.push(key);
    return { known: true, keys };
  }

  /** Forgets the keys of `tableName` written up to position `until`: a capture that read them was committed. */
  forget(tableName: string, until: number): void {
    const table = this.tables.get(tableName);
    if (table === undefined) return;
    for (const [key, position] of table.keys) if (position <= until) table.keys.delete(key);
  }

  /**
   * Makes `server` (dynalite's HTTP server) note every request once its response is done (or its
   * connection gone): a write noted at or before a capture's position was applied before the
   * capture read, and one noted after it stays for the next capture. The journal reads the same
   * body as dynalite: its listener is added beside dynalite's, before any data flows.
   */
  attach(server: Server): void {
    const handlers = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const target = request.headers['x-amz-target'];
      const action = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '';
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('close', () => this.note(action, Buffer.concat(chunks).toString('utf8')));
      for (const handler of handlers) handler.call(server, request, response);
    });
  }
}
