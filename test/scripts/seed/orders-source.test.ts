import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectEncoding, type Encoding, readOrderRows, type SourceRow } from '../../../scripts/seed/orders-source';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const ROW = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom';
let workdir: string;

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), 'dynalake-source-'));
});
afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

/** File descriptors this process holds open (Linux). */
/**
 * How many of this process's descriptors are open on `path`. Counting only the file's own keeps the
 * check true while the worker opens or closes unrelated descriptors (sockets, other tests' files).
 */
function descriptorsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed between the listing and the read
    }
  }).length;
}

/** Waits for the descriptors on `path` to be closed (a stream closes its file asynchronously). */
async function descriptorsLeftOn(path: string): Promise<number> {
  for (let tries = 0; tries < 200 && descriptorsOn(path) > 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  return descriptorsOn(path);
}

function file(name: string, content: string | Buffer): string {
  const path = join(workdir, name);
  writeFileSync(path, content);
  return path;
}

async function rowsOf(path: string, options: { encoding?: Encoding; limit?: number } = {}): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of readOrderRows(path, { encoding: options.encoding ?? 'latin1', loadedAt: '2026-01-01T00:00:00.000Z', limit: options.limit })) rows.push(row);
  return rows;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('detectEncoding', () => {
  it.each([
    ['a 2-byte', 'É'],
    ['a 3-byte', '€'],
  ])('takes a UTF-8 file for UTF-8 when %s character straddles the 1 MiB read boundary', async (_case, character) => {
    const encoded = Buffer.from(character, 'utf8');
    // The character starts on the last byte of the first 1 MiB chunk.
    const path = file('straddling.csv', Buffer.concat([Buffer.alloc((1 << 20) - 1, 'a'), encoded, Buffer.from('\r\n')]));
    expect(await detectEncoding(path)).toBe('utf8');
  });

  it('takes invalid UTF-8 for ISO-8859-1, and closes the file either way', async () => {
    const latin = file('latin1.csv', Buffer.from(`${HEADER}\r\n536370,22728,CAFÉ,24,12/1/2010 8:45,3.75,12583,France`, 'latin1'));
    const utf8 = file('utf8.csv', Buffer.from(`${HEADER}\r\n536370,22728,CAFÉ,24,12/1/2010 8:45,3.75,12583,France`, 'utf8'));
    expect(await detectEncoding(latin)).toBe('latin1');
    expect(await detectEncoding(utf8)).toBe('utf8');
    expect([descriptorsOn(latin), descriptorsOn(utf8)]).toEqual([0, 0]);
  });

  it('passes on a read error instead of guessing an encoding', async () => {
    const folder = join(workdir, 'folder.csv');
    mkdirSync(folder);
    await expect(detectEncoding(folder)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('readOrderRows', () => {
  it('numbers rows and lines, skips blank lines, and gives each row as written, whatever the line ends', async () => {
    for (const eol of ['\r\n', '\n']) {
      const path = file(`rows${eol.length}.csv`, [HEADER, ROW, '', ROW.replace('85123A', '71053'), 'garbage', ''].join(eol));
      const rows = await rowsOf(path);
      expect(rows.map(({ ordinal, line, raw }) => ({ ordinal, line, raw }))).toEqual([
        { ordinal: 1, line: 2, raw: ROW },
        { ordinal: 2, line: 4, raw: ROW.replace('85123A', '71053') },
        { ordinal: 3, line: 5, raw: 'garbage' },
      ]);
      expect(rows.map((row) => (row.result.ok ? row.result.item.LineNo : row.result.problem))).toEqual([1, 2, { field: '(row)', reason: 'has 1 fields, expected 8' }]);
    }
  });

  it('gives a rejected row spanning lines as written, and counts its lines', async () => {
    for (const eol of ['\r\n', '\n']) {
      const multiLine = `536365,84406B,"CREAM CUPID HEARTS${eol}COAT HANGER",eight,12/1/2010 8:26,2.75,17850,United Kingdom`;
      const path = file(`multi${eol.length}.csv`, [HEADER, multiLine, ROW].join(eol));
      const rows = await rowsOf(path);
      expect(rows.map(({ line, raw }) => ({ line, raw }))).toEqual([
        { line: 2, raw: multiLine },
        { line: 4, raw: ROW },
      ]);
      expect(rows[0]?.result).toEqual({ ok: false, problem: { field: 'Quantity', reason: '"eight" is not an integer' } });
    }
  });

  it('takes a quote inside an unquoted field as written', async () => {
    const path = file('quote.csv', [HEADER, '536477,21754,RECORD FRAME 7" SINGLE SIZE ,1,12/1/2010 12:27,2.55,16210,United Kingdom'].join('\r\n'));
    const [row] = await rowsOf(path);
    expect(row?.result).toMatchObject({ ok: true, item: { Description: 'RECORD FRAME 7" SINGLE SIZE ' } });
  });

  it('counts an invoice written with spaces around it as the same invoice', async () => {
    const path = file('spaces.csv', [HEADER, ROW, ROW.replace('536365', ' 536365 ')].join('\r\n'));
    const rows = await rowsOf(path);
    expect(rows.map((row) => row.result.ok && [row.result.item.InvoiceNo, row.result.item.LineNo])).toEqual([
      ['536365', 1],
      ['536365', 2],
    ]);
  });

  it('rejects a row too short to have an InvoiceNo without counting it in any invoice', async () => {
    const path = file('short.csv', ['StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,InvoiceNo', '85123A,X,6', '85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom,536365'].join('\r\n'));
    const rows = await rowsOf(path);
    expect(rows.map((row) => (row.result.ok ? row.result.item.LineNo : row.result.problem))).toEqual([{ field: '(row)', reason: 'has 3 fields, expected 8' }, 1]);
  });

  it('stops after the limit and closes the file', async () => {
    const path = file('limit.csv', [HEADER, ROW, ROW, ROW].join('\r\n'));
    expect((await rowsOf(path, { limit: 2 })).map((row) => row.ordinal)).toEqual([1, 2]);
    expect(await descriptorsLeftOn(path)).toBe(0);
  });

  it('names the missing columns, and shows the header without its byte-order mark', async () => {
    const path = file('bom.csv', Buffer.from(`\uFEFFInvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID\r\n${ROW}`, 'utf8'));
    expect(await failureOf(rowsOf(path, { encoding: 'utf8' }))).toMatchObject({
      code: 'BAD_INPUT',
      message: `${path}:1: missing columns UnitPrice, Country; header found: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID`,
    });
    expect(await descriptorsLeftOn(path)).toBe(0);
  });

  it('fails on an empty file, which has no header', async () => {
    const path = file('empty.csv', '');
    expect(await failureOf(rowsOf(path))).toMatchObject({ code: 'BAD_INPUT', message: `${path}: the file is empty (expected a header row)` });
  });
});
