import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, BatchWriteItemCommand, type BatchWriteItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse/sync';
import { DynalakeError } from '../../../lambda/shared/errors';
import type { BatchWriteClient } from '../../../scripts/seed/batch-writer';
import { readCheckpoint } from '../../../scripts/seed/checkpoint';
import { loadOrders, type LoadOrdersOptions } from '../../../scripts/seed/load-orders';
import { createTable, scanAll, useLocalDynamoDB } from '../../helpers/local-dynamodb';

const SAMPLE = join(__dirname, '..', '..', '..', 'data', 'sample', 'online-retail-sample.csv');
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const local = useLocalDynamoDB();
let workdir: string;

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), 'dynalake-seed-'));
});
afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

/** A CSV file in the test's folder, written as the given encoding. */
function csvFile(name: string, lines: readonly string[], encoding: BufferEncoding = 'latin1'): string {
  const path = join(workdir, name);
  writeFileSync(path, Buffer.from(lines.join('\r\n'), encoding));
  return path;
}

function load(options: Partial<LoadOrdersOptions> & Pick<LoadOrdersOptions, 'file' | 'tableName'>) {
  return loadOrders({ client: local().client, rejectsPath: join(workdir, 'rejects.csv'), checkpointEveryMs: 20, ...options });
}

/** Items keyed `InvoiceNo/LineNo`, without LoadedAt (which says when, not what). */
function byKey(items: readonly Record<string, AttributeValue>[]): Map<string, Record<string, AttributeValue>> {
  return new Map(
    items.map((item) => {
      const { LoadedAt: _loadedAt, ...rest } = item;
      return [`${item.InvoiceNo?.S ?? ''}/${item.LineNo?.N ?? ''}`, rest];
    }),
  );
}

/** The sample's rows as the CSV module reads them: independent of the loader's own parsing. */
function sampleRows(): string[][] {
  return parse(readFileSync(SAMPLE, 'latin1'), { relax_column_count: true }).slice(1);
}

describe('loadOrders on the real 1,071-row sample', () => {
  it('writes one item per row, duplicates included, and accounts for every row', async () => {
    const tableName = await createTable(local());
    const summary = await load({ file: SAMPLE, tableName });
    expect(summary).toMatchObject({ read: 1071, written: 1071, rejected: 0, skipped: 0 });
    expect(summary.read).toBe(summary.written + summary.rejected + summary.skipped);
    expect(await scanAll(local(), tableName)).toHaveLength(sampleRows().length);
  });

  it('keys each row by its invoice and its position in the invoice, and keeps every value exact', async () => {
    const tableName = await createTable(local());
    await load({ file: SAMPLE, tableName, now: () => new Date('2026-01-02T03:04:05.000Z') });
    const items = byKey(await scanAll(local(), tableName));
    expect(items.get('536365/1')).toEqual({
      InvoiceNo: { S: '536365' },
      LineNo: { N: '1' },
      StockCode: { S: '85123A' },
      Description: { S: 'WHITE HANGING HEART T-LIGHT HOLDER' },
      Quantity: { N: '6' },
      UnitPrice: { N: '2.55' },
      InvoiceDate: { S: '2010-12-01T08:26:00' },
      CustomerID: { N: '17850' },
      Country: { S: 'United Kingdom' },
      IsCancellation: { BOOL: false },
      InvoiceDay: { S: '2010-12-01' },
      SourceFile: { S: 'online-retail-sample.csv' },
    });
    // Line 111: a quoted description with a comma, fourth row of its invoice.
    expect(items.get('536381/4')).toMatchObject({ Description: { S: 'AIRLINE LOUNGE,METAL SIGN' }, UnitPrice: { N: '2.1' } });
    // Line 873: doubled quotes and a trailing space, kept as written.
    expect(items.get('536477/4')).toMatchObject({ Description: { S: 'RECORD FRAME 7" SINGLE SIZE ' } });
    // Line 143: a cancellation.
    expect(items.get('C536379/1')).toMatchObject({ Quantity: { N: '-1' }, UnitPrice: { N: '27.5' }, IsCancellation: { BOOL: true }, InvoiceDate: { S: '2010-12-01T09:41:00' } });
    // Line 624: no description, no customer: the attributes are absent, not empty.
    const anonymous = items.get('536414/1');
    expect(anonymous).toMatchObject({ StockCode: { S: '22139' }, Quantity: { N: '56' }, UnitPrice: { N: '0' } });
    expect(anonymous).not.toHaveProperty('Description');
    expect(anonymous).not.toHaveProperty('CustomerID');
  });

  it('keeps both copies of an exact duplicate row, each under its own line number', async () => {
    const tableName = await createTable(local());
    await load({ file: SAMPLE, tableName });
    const items = byKey(await scanAll(local(), tableName));
    // Line 487 of the sample repeats an earlier row of invoice 536409 exactly.
    const copies = [...items.values()].filter((item) => item.InvoiceNo?.S === '536409' && item.StockCode?.S === '22111');
    expect(copies).toHaveLength(2);
    const [first, second] = copies.map(({ LineNo, ...rest }) => ({ lineNo: LineNo?.N, rest }));
    expect(first?.lineNo).not.toBe(second?.lineNo);
    expect(first?.rest).toEqual(second?.rest);
  });

  it('changes nothing but LoadedAt when the same file is loaded again', async () => {
    const tableName = await createTable(local());
    await load({ file: SAMPLE, tableName, now: () => new Date('2026-01-01T00:00:00Z') });
    const first = await scanAll(local(), tableName);
    await load({ file: SAMPLE, tableName, now: () => new Date('2026-02-01T00:00:00Z') });
    const second = await scanAll(local(), tableName);
    expect(second).toHaveLength(first.length);
    expect(byKey(second)).toEqual(byKey(first));
    expect(new Set(second.map((item) => item.LoadedAt?.S))).toEqual(new Set(['2026-02-01T00:00:00.000Z']));
  });

  it('writes nothing in a dry run, not even a checkpoint, and still counts every row', async () => {
    const tableName = await createTable(local());
    const summary = await load({ file: SAMPLE, tableName, dryRun: true });
    expect(summary).toMatchObject({ read: 1071, valid: 1071, written: 0, rejected: 0, dryRun: true });
    expect(await scanAll(local(), tableName)).toHaveLength(0);
    expect(existsSync(join(workdir, 'rejects.checkpoint.json'))).toBe(false);
  });

  it('stops after --limit rows, leaving the load incomplete in the checkpoint', async () => {
    const tableName = await createTable(local());
    const summary = await load({ file: SAMPLE, tableName, limit: 100 });
    expect(summary).toMatchObject({ read: 100, written: 100 });
    expect(await scanAll(local(), tableName)).toHaveLength(100);
    expect(readCheckpoint(join(workdir, 'rejects.checkpoint.json'))).toMatchObject({ rowsDone: 100, complete: false });
  });
});

describe('loadOrders with bad rows', () => {
  const lines = [
    HEADER,
    '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom',
    '536365,71053,WHITE METAL LANTERN,six,12/1/2010 8:26,3.39,17850,United Kingdom',
    '536365,84406B,"CREAM CUPID HEARTS',
    'COAT HANGER",8,12/1/2010 8:26,2.75,17850,United Kingdom',
    '536365,84029G,KNITTED UNION FLAG HOT WATER BOTTLE,6,12/1/2010 8:26,3.39,17850',
    ',84029E,RED WOOLLY HOTTIE WHITE HEART.,6,12/1/2010 8:26,3.39,17850,United Kingdom',
    '536366,,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom',
    '536366,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:28,1.85,17850,United Kingdom',
    '536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1,69,13047,United Kingdom',
    '536367,22745,POPPY\'S PLAYHOUSE BEDROOM ,6,12/1/2010 8:34,2.1,13047,United Kingdom',
    '536368,22960,JAM MAKING SET WITH JARS,6,12/1/2010 8:34,four,13047,United Kingdom',
    '536368,22913,RED COAT RACK PARIS FASHION,3,12/1/2010 8:34,4.95,ABC,United Kingdom',
  ];

  it('sends each bad row to the rejects file with its line, field, reason and raw text, and loads the rest', async () => {
    const tableName = await createTable(local());
    const summary = await load({ file: csvFile('bad.csv', lines), tableName });
    expect(summary).toMatchObject({ read: 11, written: 3, rejected: 8 });
    const rejects = parse<Record<string, string>>(readFileSync(join(workdir, 'rejects.csv'), 'utf8'), { columns: true });
    expect(rejects.map((row) => [row.line, row.field])).toEqual([
      ['3', 'Quantity'],
      ['6', '(row)'],
      ['7', 'InvoiceNo'],
      ['8', 'StockCode'],
      ['9', 'InvoiceDate'],
      ['10', '(row)'],
      ['12', 'UnitPrice'],
      ['13', 'CustomerID'],
    ]);
    expect(rejects[0]).toEqual({ line: '3', field: 'Quantity', reason: '"six" is not an integer', raw: lines[2] });
    expect(rejects[1]?.reason).toBe('has 7 fields, expected 8');
    const items = byKey(await scanAll(local(), tableName));
    // The multi-line description (lines 4-5) is one valid row, the third of its invoice.
    expect(items.get('536365/3')?.Description).toEqual({ S: 'CREAM CUPID HEARTS\r\nCOAT HANGER' });
    expect(items.get('536367/2')).toMatchObject({ StockCode: { S: '22745' } });
  });
});

describe('loadOrders files', () => {
  const NOW = new Date('2026-01-02T03:04:05.000Z');
  const bad = '536366,22632,HAND WARMER RED POLKA DOT,6,12/1/2010 8:28,one.85,17850,United Kingdom';

  it('keeps the rejects and the checkpoint beside the data file by default, with exactly what happened', async () => {
    const tableName = await createTable(local());
    const lines = [HEADER, '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom', '536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom', bad];
    const file = csvFile('orders.csv', lines);
    const summary = await loadOrders({ client: local().client, file, tableName, now: () => NOW });
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: 1, skipped: 0, rejectsPath: `${file}.rejects.csv`, checkpointPath: `${file}.rejects.checkpoint.json` });
    const rejects = `line,field,reason,raw\n4,UnitPrice,"""one.85"" is not a decimal number","${bad}"\n`;
    expect(readFileSync(`${file}.rejects.csv`, 'utf8')).toBe(rejects);
    // The last row was rejected: the checkpoint covers it and its line in the rejects file.
    expect(readCheckpoint(`${file}.rejects.checkpoint.json`)).toEqual({
      version: 1,
      file,
      fileSize: statSync(file).size,
      fileHead: createHash('sha256').update(readFileSync(file)).digest('hex'),
      table: tableName,
      // Plain ASCII is valid UTF-8.
      encoding: 'utf8',
      loadedAt: NOW.toISOString(),
      rowsDone: 3,
      rejectsBytes: Buffer.byteLength(rejects),
      complete: true,
      updatedAt: NOW.toISOString(),
    });
  });

  it('refuses a file that does not exist', async () => {
    const file = join(workdir, 'data.csv');
    await expect(load({ file, tableName: 'orders' })).rejects.toMatchObject({ code: 'BAD_INVOCATION', message: `${file}: no such file` });
  });

  it('refuses --resume when there is no checkpoint', async () => {
    const file = csvFile('orders.csv', [HEADER, bad]);
    await expect(load({ file, tableName: 'orders', resume: true })).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: `--resume: no checkpoint at ${join(workdir, 'rejects.checkpoint.json')}; run without --resume to start the load`,
    });
  });

  it('refuses --resume into another table than the checkpoint says', async () => {
    const tableName = await createTable(local());
    const file = csvFile('orders.csv', [HEADER, bad, bad]);
    await load({ file, tableName, limit: 1 });
    await expect(load({ file, tableName: 'other-orders', resume: true })).rejects.toMatchObject({
      code: 'BAD_INVOCATION',
      message: `--resume: the checkpoint is for table ${tableName}, not other-orders`,
    });
  });

  it('reads the encoding given, and detects it for auto', async () => {
    const row = '536370,22728,CAFÉ SET,24,12/1/2010 8:45,3.75,12583,France';
    const file = csvFile('utf8.csv', [HEADER, row], 'utf8');
    const forced = await createTable(local());
    expect((await load({ file, tableName: forced, encoding: 'latin1' })).encoding).toBe('latin1');
    expect(byKey(await scanAll(local(), forced)).get('536370/1')?.Description).toEqual({ S: Buffer.from('CAFÉ SET', 'utf8').toString('latin1') });
    const detected = await createTable(local());
    expect((await load({ file, tableName: detected, encoding: 'auto' })).encoding).toBe('utf8');
    expect(byKey(await scanAll(local(), detected)).get('536370/1')?.Description).toEqual({ S: 'CAFÉ SET' });
  });
});

describe('loadOrders input checks', () => {
  it('fails on a missing column, naming it and showing the header found', async () => {
    const file = csvFile('no-price.csv', ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country', '536365,85123A,X,6,12/1/2010 8:26,17850,United Kingdom']);
    const failure = load({ file, tableName: await createTable(local()) });
    await expect(failure).rejects.toThrow(DynalakeError);
    await expect(failure).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `${file}:1: missing column UnitPrice; header found: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country`,
    });
  });

  it('matches columns by name, whatever their order', async () => {
    const tableName = await createTable(local());
    const file = csvFile('reordered.csv', ['Country,UnitPrice,InvoiceNo,Quantity,StockCode,InvoiceDate,CustomerID,Description', 'France,3.75,536370,24,22728,12/1/2010 8:45,12583,ALARM CLOCK BAKELIKE PINK']);
    await load({ file, tableName });
    expect(byKey(await scanAll(local(), tableName)).get('536370/1')).toMatchObject({ Country: { S: 'France' }, UnitPrice: { N: '3.75' }, Description: { S: 'ALARM CLOCK BAKELIKE PINK' } });
  });

  it('reads an ISO-8859-1 file as latin1 and a UTF-8 file with a BOM as utf8', async () => {
    const row = '536370,22728,CAFÉ SET £ PINK,24,12/1/2010 8:45,3.75,12583,France';
    const latinTable = await createTable(local());
    const latin = await load({ file: csvFile('latin1.csv', [HEADER, row], 'latin1'), tableName: latinTable });
    expect(latin.encoding).toBe('latin1');
    const utf8Table = await createTable(local());
    const utf8 = await load({ file: csvFile('utf8.csv', [`\uFEFF${HEADER}`, row], 'utf8'), tableName: utf8Table });
    expect(utf8.encoding).toBe('utf8');
    for (const tableName of [latinTable, utf8Table]) {
      expect(byKey(await scanAll(local(), tableName)).get('536370/1')?.Description).toEqual({ S: 'CAFÉ SET £ PINK' });
    }
  });

  it('keeps prices exact: 0.001 and -11062.06 reach the table as written', async () => {
    const tableName = await createTable(local());
    const file = csvFile('prices.csv', [HEADER, '537000,PADS,PADS TO MATCH ALL CUSHIONS,1,12/6/2010 10:00,0.001,15060,United Kingdom', 'A563187,B,Adjust bad debt,1,8/12/2011 14:52,-11062.06,,United Kingdom']);
    await load({ file, tableName });
    const items = byKey(await scanAll(local(), tableName));
    expect(items.get('537000/1')?.UnitPrice).toEqual({ N: '0.001' });
    expect(items.get('A563187/1')?.UnitPrice).toEqual({ N: '-11062.06' });
  });
});

/** Wraps the real client so that DynamoDB leaves part of each batch unprocessed, as it does under load. */
function stingyClient(inner: BatchWriteClient, keepUnprocessed: number): BatchWriteClient & { calls: number } {
  const wrapper = {
    calls: 0,
    async send(command: BatchWriteItemCommand): Promise<BatchWriteItemCommandOutput> {
      wrapper.calls += 1;
      const [[table, requests]] = Object.entries(command.input.RequestItems ?? {}) as [[string, NonNullable<BatchWriteItemCommand['input']['RequestItems']>[string]]];
      const held = requests.slice(0, Math.min(keepUnprocessed, requests.length - 1));
      const output = await inner.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(held.length) } }));
      return { ...output, UnprocessedItems: held.length > 0 ? { [table]: held } : {} };
    },
  };
  return wrapper;
}

/** Wraps the real client so that the load dies after `calls` requests, like a crash. */
function dyingClient(inner: BatchWriteClient, calls: number): BatchWriteClient {
  let made = 0;
  return {
    send(command) {
      made += 1;
      if (made > calls) return Promise.reject(Object.assign(new Error('connection reset by peer'), { name: 'NetworkingError' }));
      return inner.send(command);
    },
  };
}

describe('loadOrders against a DynamoDB that pushes back', () => {
  it('retries UnprocessedItems until every item is written', async () => {
    const tableName = await createTable(local());
    const client = stingyClient(local().client, 10);
    const summary = await load({ file: SAMPLE, tableName, client, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    expect(summary).toMatchObject({ read: 1071, written: 1071 });
    expect(summary.retries).toBeGreaterThan(0);
    expect(client.calls).toBe(summary.requests);
    expect(await scanAll(local(), tableName)).toHaveLength(1071);
  });

  it('resumes an interrupted load to exactly the state of an uninterrupted one', async () => {
    const reference = await createTable(local());
    await load({ file: SAMPLE, tableName: reference, rejectsPath: join(workdir, 'reference.rejects.csv') });

    const tableName = await createTable(local());
    const crashed = load({ file: SAMPLE, tableName, client: dyingClient(local().client, 12), concurrency: 4 });
    await expect(crashed).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    const checkpoint = readCheckpoint(join(workdir, 'rejects.checkpoint.json'));
    expect(checkpoint?.complete).toBe(false);
    expect(checkpoint?.rowsDone).toBeGreaterThan(0);
    expect(checkpoint?.rowsDone).toBeLessThan(1071);

    const resumed = await load({ file: SAMPLE, tableName, resume: true });
    expect(resumed.skipped).toBe(checkpoint?.rowsDone);
    expect(resumed.read).toBe(resumed.written + resumed.rejected + resumed.skipped);
    const items = await scanAll(local(), tableName);
    const expected = byKey(await scanAll(local(), reference));
    expect(expected.size).toBe(1071);
    expect(byKey(items)).toEqual(expected);
    // One load, one LoadedAt: the resumed part reuses the interrupted run's.
    expect(new Set(items.map((item) => item.LoadedAt?.S)).size).toBe(1);
    expect(readCheckpoint(join(workdir, 'rejects.checkpoint.json'))?.complete).toBe(true);
  });

  it('stops cleanly when aborted, and resumes from the checkpoint', async () => {
    const tableName = await createTable(local());
    const abort = new AbortController();
    let progressCalls = 0;
    const stopped = load({
      file: SAMPLE,
      tableName,
      signal: abort.signal,
      progressEveryMs: 1,
      onProgress: (counts) => {
        progressCalls += 1;
        if (counts.written >= 200) abort.abort();
      },
    });
    await expect(stopped).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(progressCalls).toBeGreaterThan(0);
    const resumed = await load({ file: SAMPLE, tableName, resume: true });
    expect(resumed.skipped).toBeGreaterThanOrEqual(200);
    expect(await scanAll(local(), tableName)).toHaveLength(1071);
  });

  it('keeps the rejects of the rows before the checkpoint, once, when resuming', async () => {
    const lines = [HEADER, ...Array.from({ length: 120 }, (_, i) => (i % 10 === 0 ? `5400${String(i).padStart(2, '0')},X,bad,many,12/1/2010 8:26,1,,United Kingdom` : `5400${String(i).padStart(2, '0')},X,good,1,12/1/2010 8:26,1,,United Kingdom`))];
    const file = csvFile('mixed.csv', lines);
    const tableName = await createTable(local());
    await expect(load({ file, tableName, client: dyingClient(local().client, 2), concurrency: 1 })).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    const resumed = await load({ file, tableName, resume: true });
    const rejects = parse<Record<string, string>>(readFileSync(join(workdir, 'rejects.csv'), 'utf8'), { columns: true });
    expect(rejects.map((row) => row.line)).toEqual(Array.from({ length: 12 }, (_, i) => String(i * 10 + 2)));
    expect(resumed.read).toBe(120);
    expect(await scanAll(local(), tableName)).toHaveLength(108);
  });

  it.each([
    ['the same size', 'Y'],
    ['another size', 'YZ'],
  ])('refuses to resume when the file changed since the checkpoint, to %s', async (_case, description) => {
    const tableName = await createTable(local());
    const file = csvFile('changing.csv', [HEADER, '536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom']);
    await load({ file, tableName, limit: 1 });
    writeFileSync(file, [HEADER, `536365,85123A,${description},6,12/1/2010 8:26,2.55,17850,United Kingdom`].join('\r\n'));
    await expect(load({ file, tableName, resume: true })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `${file}: the file changed since the checkpoint ${join(workdir, 'rejects.checkpoint.json')} was written; run without --resume to load it from the start`,
    });
  });

  it('refuses to resume when rows were added past the first 64 KiB, which the head hash does not see', async () => {
    const tableName = await createTable(local());
    const file = join(workdir, 'growing.csv');
    const sample = readFileSync(SAMPLE);
    expect(sample.length).toBeGreaterThan(64 * 1024);
    writeFileSync(file, sample);
    await load({ file, tableName, limit: 10 });
    writeFileSync(file, Buffer.concat([sample, Buffer.from('\r\n536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom')]));
    await expect(load({ file, tableName, resume: true })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining(`${file}: the file changed since the checkpoint`) as unknown });
  });

  it('says how far a failed load got, and resumes from there; the speed counts only the rows read again', async () => {
    const tableName = await createTable(local());
    const checkpointPath = join(workdir, 'rejects.checkpoint.json');
    // One batch in flight at a time, and the connection dies on the third: 2 batches of 25 are in.
    await expect(load({ file: SAMPLE, tableName, client: dyingClient(local().client, 2), concurrency: 1 })).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      message: `DynamoDB refused a batch for table ${tableName}: connection reset by peer. 50 items written in this run; every row up to data row 50 is settled (checkpoint ${checkpointPath}), so --resume continues from there.`,
    });
    expect(readCheckpoint(checkpointPath)).toMatchObject({ rowsDone: 50, complete: false });
    // A clock that moves 2 s between the start and everything after it.
    let calls = 0;
    const now = () => new Date(Date.UTC(2026, 0, 1) + (calls++ === 0 ? 0 : 2000));
    const resumed = await load({ file: SAMPLE, tableName, resume: true, now });
    expect(resumed).toMatchObject({ read: 1071, skipped: 50, written: 1021, elapsedMs: 2000, rowsPerSecond: Math.round(1021 / 2) });
  });

  it('counts an instant load as 1 ms', async () => {
    const tableName = await createTable(local());
    const summary = await load({ file: csvFile('one.csv', [HEADER, '536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom']), tableName, now: () => new Date(0) });
    expect(summary).toMatchObject({ elapsedMs: 1, rowsPerSecond: 1000 });
  });

  it('stops before the first row when already aborted, saying where it stopped', async () => {
    const tableName = await createTable(local());
    const abort = new AbortController();
    abort.abort();
    const checkpointPath = join(workdir, 'rejects.checkpoint.json');
    await expect(load({ file: SAMPLE, tableName, signal: abort.signal })).rejects.toMatchObject({
      code: 'INTERRUPTED',
      message: `stopped after data row 0 (0 items written in this run; checkpoint ${checkpointPath})`,
    });
    expect(readCheckpoint(checkpointPath)).toMatchObject({ rowsDone: 0, complete: false });
  });
});

describe('loadOrders timers', () => {
  it('saves an incomplete checkpoint every second while batches are in flight, reports progress, and stops both timers at the end', async () => {
    const tableName = await createTable(local());
    const checkpointPath = join(workdir, 'rejects.checkpoint.json');
    // Only the intervals are faked: dynalite and the SDK keep their real clock.
    jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let sent: () => void = () => undefined;
      const firstSend = new Promise<void>((resolve) => (sent = resolve));
      const client: BatchWriteClient = {
        async send(command) {
          sent();
          await gate;
          return local().client.send(command);
        },
      };
      const progress: number[] = [];
      const loading = loadOrders({ client, file: SAMPLE, tableName, rejectsPath: join(workdir, 'rejects.csv'), concurrency: 1, progressEveryMs: 500, onProgress: (counts) => progress.push(counts.written) });
      await firstSend;
      jest.advanceTimersByTime(999);
      expect(existsSync(checkpointPath)).toBe(false);
      expect(progress).toEqual([0]);
      jest.advanceTimersByTime(1);
      // Nothing written yet: no row is settled, and the rejects file is only its header.
      expect(readCheckpoint(checkpointPath)).toMatchObject({ rowsDone: 0, rejectsBytes: Buffer.byteLength('line,field,reason,raw\n'), complete: false });
      release();
      const summary = await loading;
      expect(summary.written).toBe(1071);
      expect(progress).toEqual([0, 0, 1071]);
      jest.advanceTimersByTime(10_000);
      expect(progress).toEqual([0, 0, 1071]);
      expect(readCheckpoint(checkpointPath)?.complete).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
