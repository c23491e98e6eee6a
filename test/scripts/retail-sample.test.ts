import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  formatRetailCsvLine,
  generateRetailRows,
  RETAIL_HEADER,
  retailRowFields,
  writeRetailSample,
  type RetailRow,
} from '../../scripts/lib/retail-sample';
import { DEFAULT_OUT, parseSampleArgs, UsageError } from '../../scripts/sample';

const FULL_ROWS = 541_909;
const DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/;
const PRICE = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;
const NON_PRODUCT_CODES = ['POST', 'D', 'C2', 'DOT', 'M', 'm', 'BANK CHARGES', 'S', 'AMAZONFEE', 'PADS', 'B', 'CRUK',
  'gift_0001_10', 'DCGS0003'];

/** Minutes since 2010-01-01 of a `M/D/YYYY H:MM` date, and its weekday (0 = Sunday); undefined if malformed. */
function parseDate(text: string): { readonly minutes: number; readonly weekday: number } | undefined {
  const match = DATE.exec(text);
  if (match === null) return undefined;
  const [month, day, year, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute));
  // No leading zeros on month, day and hour, and a real calendar date.
  if (`${month}/${day}/${year} ${hour}:${match[5] ?? ''}` !== text || date.getUTCDate() !== day) return undefined;
  return { minutes: (date.getTime() - Date.UTC(2010, 0, 1)) / 60_000, weekday: date.getUTCDay() };
}

function within10Percent(actual: number, real: number): void {
  expect(Math.abs(actual - real) / real).toBeLessThanOrEqual(0.1);
}

/** Everything the tests check about a generated file, counted in one streaming pass. */
interface Facts {
  rows: number;
  invoices: Set<string>;
  cancellationInvoices: Set<string>;
  stockCodes: Set<string>;
  customers: Set<string>;
  countries: Set<string>;
  unitedKingdomRows: number;
  rowsWithoutCustomer: number;
  rowsWithoutDescription: number;
  zeroPriceRows: number;
  duplicateRows: number;
  duplicatesNotRightAfterTheirTwin: number;
  cancellationRows: number;
  positiveCancellationRows: number;
  negativeRowsWithoutC: number;
  negativeRowsWithoutCWithCustomerOrPrice: number;
  rowsWithoutDescriptionButPrice: number;
  adjustmentInvoices: RetailRow[];
  quantities: Map<number, number>;
  prices: Map<string, number>;
  maxPrice: number;
  badDates: string[];
  badNumbers: string[];
  badFields: string[];
  minDate: number;
  maxDate: number;
  minDateText: string;
  maxDateText: string;
  saturdayRows: number;
  timeGoesBack: number;
  numbersGoBack: number;
  invoicesSplit: string[];
  invoicesWithTwoDates: Set<string>;
  customersWithTwoCountries: Set<string>;
  codesWithTwoDescriptions: Set<string>;
  nonProductCodes: Set<string>;
}

function collectFacts(rows: Iterable<RetailRow>): Facts {
  const facts: Facts = {
    rows: 0, invoices: new Set(), cancellationInvoices: new Set(), stockCodes: new Set(), customers: new Set(),
    countries: new Set(), unitedKingdomRows: 0, rowsWithoutCustomer: 0, rowsWithoutDescription: 0, zeroPriceRows: 0,
    duplicateRows: 0, duplicatesNotRightAfterTheirTwin: 0, cancellationRows: 0, positiveCancellationRows: 0,
    negativeRowsWithoutC: 0, negativeRowsWithoutCWithCustomerOrPrice: 0, rowsWithoutDescriptionButPrice: 0,
    adjustmentInvoices: [], quantities: new Map(), prices: new Map(), maxPrice: -Infinity, badDates: [],
    badNumbers: [], badFields: [], minDate: Infinity, maxDate: -Infinity, minDateText: '', maxDateText: '',
    saturdayRows: 0, timeGoesBack: 0, numbersGoBack: 0, invoicesSplit: [], invoicesWithTwoDates: new Set(),
    customersWithTwoCountries: new Set(), codesWithTwoDescriptions: new Set(), nonProductCodes: new Set(),
  };
  const countryOf = new Map<string, string>();
  const descriptionOf = new Map<string, string>();
  let invoice = '';
  let invoiceDate = '';
  let invoiceLines = new Set<string>();
  let previousLine = '';
  let previousMinutes = -Infinity;
  let previousNumber = 0;
  let previousDateText = '';
  let date: ReturnType<typeof parseDate>;
  for (const row of rows) {
    facts.rows += 1;
    const line = formatRetailCsvLine(row);
    // Rows of an invoice are contiguous, so an exact duplicate (which repeats the InvoiceNo) is always
    // within the current invoice: a per-invoice set finds them all with bounded memory.
    if (row.invoiceNo !== invoice) {
      if (facts.invoices.has(row.invoiceNo)) facts.invoicesSplit.push(row.invoiceNo);
      invoice = row.invoiceNo;
      invoiceDate = row.invoiceDate;
      invoiceLines = new Set();
      facts.invoices.add(invoice);
      const number = Number(invoice.replace(/^[CA]/, ''));
      if (!/^[CA]?\d{6}$/.test(invoice)) facts.badNumbers.push(invoice);
      if (number <= previousNumber) facts.numbersGoBack += 1;
      previousNumber = number;
    }
    if (row.invoiceDate !== invoiceDate) facts.invoicesWithTwoDates.add(invoice);
    if (invoiceLines.has(line)) {
      facts.duplicateRows += 1;
      if (line !== previousLine) facts.duplicatesNotRightAfterTheirTwin += 1;
    }
    invoiceLines.add(line);
    previousLine = line;

    // Rows of an invoice share their date: parse it once per change.
    if (row.invoiceDate !== previousDateText) [previousDateText, date] = [row.invoiceDate, parseDate(row.invoiceDate)];
    if (date === undefined) facts.badDates.push(row.invoiceDate);
    else {
      if (date.minutes < previousMinutes) facts.timeGoesBack += 1;
      previousMinutes = date.minutes;
      if (date.minutes < facts.minDate) [facts.minDate, facts.minDateText] = [date.minutes, row.invoiceDate];
      if (date.minutes > facts.maxDate) [facts.maxDate, facts.maxDateText] = [date.minutes, row.invoiceDate];
      if (date.weekday === 6) facts.saturdayRows += 1;
    }
    if (!/^-?[1-9]\d*$/.test(row.quantity) || !PRICE.test(row.unitPrice) || !/^(\d{5})?$/.test(row.customerId)) {
      facts.badFields.push(line);
    }

    const quantity = Number(row.quantity);
    const price = Number(row.unitPrice);
    facts.quantities.set(quantity, (facts.quantities.get(quantity) ?? 0) + 1);
    facts.prices.set(row.unitPrice, (facts.prices.get(row.unitPrice) ?? 0) + 1);
    facts.maxPrice = Math.max(facts.maxPrice, price);
    facts.stockCodes.add(row.stockCode);
    if (!/^\d{5}[A-Za-z]?$/.test(row.stockCode)) facts.nonProductCodes.add(row.stockCode);
    facts.countries.add(row.country);
    if (row.country === 'United Kingdom') facts.unitedKingdomRows += 1;
    if (row.customerId === '') facts.rowsWithoutCustomer += 1;
    else {
      facts.customers.add(row.customerId);
      if ((countryOf.get(row.customerId) ?? row.country) !== row.country) facts.customersWithTwoCountries.add(row.customerId);
      countryOf.set(row.customerId, row.country);
    }
    if (row.description === '') {
      facts.rowsWithoutDescription += 1;
      if (price !== 0) facts.rowsWithoutDescriptionButPrice += 1;
    }
    if (price === 0) facts.zeroPriceRows += 1;
    // Stock corrections (price 0) carry notes instead of the product's description.
    else {
      if ((descriptionOf.get(row.stockCode) ?? row.description) !== row.description) facts.codesWithTwoDescriptions.add(row.stockCode);
      descriptionOf.set(row.stockCode, row.description);
    }
    if (row.invoiceNo.startsWith('C')) {
      facts.cancellationRows += 1;
      facts.cancellationInvoices.add(row.invoiceNo);
      if (quantity >= 0) facts.positiveCancellationRows += 1;
    } else if (quantity < 0) {
      facts.negativeRowsWithoutC += 1;
      if (row.customerId !== '' || price !== 0) facts.negativeRowsWithoutCWithCustomerOrPrice += 1;
    }
    if (row.invoiceNo.startsWith('A')) facts.adjustmentInvoices.push(row);
  }
  return facts;
}

describe('formatRetailCsvLine', () => {
  const row: RetailRow = {
    invoiceNo: '536365',
    stockCode: '85123A',
    description: 'WHITE HANGING HEART T-LIGHT HOLDER',
    quantity: '6',
    invoiceDate: '12/1/2010 8:26',
    unitPrice: '2.55',
    customerId: '17850',
    country: 'United Kingdom',
  };

  it('leaves plain fields unquoted, like the real file', () => {
    expect(formatRetailCsvLine(row)).toBe('536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom');
  });

  it('quotes fields with commas, double quotes or line breaks and doubles embedded quotes', () => {
    expect(formatRetailCsvLine({ ...row, description: 'TRAY, BREAKFAST IN BED' })).toContain(',"TRAY, BREAKFAST IN BED",');
    expect(formatRetailCsvLine({ ...row, description: 'RECORD FRAME 7" SINGLE SIZE ' })).toContain(',"RECORD FRAME 7"" SINGLE SIZE ",');
    expect(formatRetailCsvLine({ ...row, description: '12 PENCILS TALL TUBE "RED"' })).toContain(',"12 PENCILS TALL TUBE ""RED""",');
    expect(formatRetailCsvLine({ ...row, description: 'A\r\nB' })).toContain(',"A\r\nB",');
    expect(formatRetailCsvLine({ ...row, customerId: '' })).toBe(
      '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,,United Kingdom',
    );
  });
});

describe('writeRetailSample', () => {
  const rows = 30_000;
  let folder: string;
  let bytes: Buffer;

  const write = async (name: string, size: number, seed: number) => {
    const out = join(folder, name);
    const summary = await writeRetailSample({ rows: size, seed, out });
    return { summary, bytes: readFileSync(out) };
  };

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'retail-sample-'));
    ({ bytes } = await write('a.csv', rows, 1));
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('writes byte-identical files for the same seed and row count, and different ones for another seed', async () => {
    expect((await write('b.csv', rows, 1)).bytes.equals(bytes)).toBe(true);
    expect((await write('c.csv', rows, 2)).bytes.equals(bytes)).toBe(false);
  });

  it('reports the rows and bytes it wrote', async () => {
    const { summary, bytes: written } = await write('d.csv', 1_234, 5);
    expect(summary).toEqual({ rows: 1_234, bytes: written.length });
  });

  it('starts with the exact header and uses CRLF line ends with no newline after the last row', () => {
    const text = bytes.toString('latin1');
    expect(text.startsWith(`${RETAIL_HEADER}\r\n`)).toBe(true);
    expect(text.split('\r\n')).toHaveLength(rows + 1);
    // No bare CR or LF anywhere (no description holds a line break).
    expect(/\r(?!\n)|(?<!\r)\n/.test(text)).toBe(false);
    expect(text.endsWith('\n')).toBe(false);
    expect(text.endsWith('\r')).toBe(false);
  });

  it('is ISO-8859-1 with bytes that are not valid UTF-8', () => {
    expect(bytes.some((byte) => byte >= 0x80)).toBe(true);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    // £ is 0xA3 in ISO-8859-1 (two bytes in UTF-8).
    expect(bytes.includes(Buffer.from([0x20, 0xa3]))).toBe(true);
  });

  it('parses back, line by line, into 8 fields that equal the generated rows', () => {
    const records = parse(bytes.toString('latin1'));
    expect(records[0]?.join(',')).toBe(RETAIL_HEADER);
    expect(records).toHaveLength(rows + 1);
    expect(records.every((record) => record.length === 8)).toBe(true);
    expect(records.slice(1)).toEqual([...generateRetailRows({ rows, seed: 1 })].map(retailRowFields));
  });

  it('writes a valid file with exactly the requested rows at small sizes', async () => {
    for (const size of [1, 2, 50]) {
      const { summary, bytes: small } = await write(`small-${size}.csv`, size, 1);
      const records = parse(small.toString('latin1'));
      expect(summary.rows).toBe(size);
      expect(records).toHaveLength(size + 1);
      expect(records[0]?.join(',')).toBe(RETAIL_HEADER);
      expect(records.every((record) => record.length === 8)).toBe(true);
      expect(small.toString('latin1').endsWith('\n')).toBe(false);
    }
  });
});

describe('generateRetailRows at small sizes', () => {
  it.each([1, 2, 50, 1_000])('makes exactly %i well-formed rows within the real date range', (size) => {
    const facts = collectFacts(generateRetailRows({ rows: size, seed: 3 }));
    expect(facts.rows).toBe(size);
    expect(facts.badDates).toEqual([]);
    expect(facts.badNumbers).toEqual([]);
    expect(facts.badFields).toEqual([]);
    expect(facts.minDateText).toBe('12/1/2010 8:26');
    expect(facts.maxDate).toBeLessThanOrEqual(parseDate('12/9/2011 12:50')?.minutes ?? 0);
    if (size >= 50) expect(facts.maxDateText).toBe('12/9/2011 12:50');
    expect(facts.timeGoesBack).toBe(0);
    expect(facts.numbersGoBack).toBe(0);
  });

  it('leaves the one-off rows (±80995, the A invoices) out of small samples', () => {
    const facts = collectFacts(generateRetailRows({ rows: 5_000, seed: 1 }));
    expect(facts.adjustmentInvoices).toEqual([]);
    expect(facts.quantities.has(80_995)).toBe(false);
  });

  it('rejects a row count below 1 or not an integer', () => {
    expect(() => generateRetailRows({ rows: 0, seed: 1 }).next()).toThrow(/rows/);
    expect(() => generateRetailRows({ rows: 2.5, seed: 1 }).next()).toThrow(/rows/);
  });
});

describe('generateRetailRows at the real size (541,909 rows)', () => {
  let facts: Facts;

  beforeAll(() => {
    facts = collectFacts(generateRetailRows({ rows: FULL_ROWS, seed: 1 }));
  }, 120_000);

  it('makes exactly 541,909 well-formed rows', () => {
    expect(facts.rows).toBe(FULL_ROWS);
    expect(facts.badFields).toEqual([]);
    expect(facts.badNumbers).toEqual([]);
  });

  it('has about the real counts of invoices, stock codes, customers and countries', () => {
    within10Percent(facts.invoices.size, 25_900);
    within10Percent(facts.stockCodes.size, 4_070);
    within10Percent(facts.customers.size, 4_372);
    expect(facts.countries.size).toBe(38);
    within10Percent(facts.unitedKingdomRows / facts.rows, 0.914);
  });

  it('gives customer ids from 12346 to 18287, each with one country', () => {
    const ids = [...facts.customers].map(Number);
    expect(Math.min(...ids)).toBe(12_346);
    expect(Math.max(...ids)).toBe(18_287);
    expect([...facts.customersWithTwoCountries]).toEqual([]);
  });

  it('gives each stock code one description, mostly 5-digit codes', () => {
    expect([...facts.codesWithTwoDescriptions]).toEqual([]);
    expect([...facts.stockCodes].filter((code) => /^\d{5}$/.test(code)).length / facts.stockCodes.size).toBeGreaterThan(0.6);
    expect([...facts.stockCodes].some((code) => /^\d{5}[A-Z]$/.test(code))).toBe(true);
  });

  it('has about the real counts of rows without customer, without description, at price 0 and duplicated', () => {
    within10Percent(facts.rowsWithoutCustomer, 135_080);
    within10Percent(facts.rowsWithoutDescription, 1_454);
    within10Percent(facts.zeroPriceRows, 2_515);
    within10Percent(facts.duplicateRows, 5_268);
    expect(facts.rowsWithoutDescriptionButPrice).toBe(0);
    expect(facts.duplicatesNotRightAfterTheirTwin).toBe(0);
  });

  it('has about the real counts of cancellations and of other negative quantities', () => {
    within10Percent(facts.cancellationRows, 9_288);
    within10Percent(facts.cancellationInvoices.size, 3_836);
    within10Percent(facts.negativeRowsWithoutC, 1_336);
    expect(facts.positiveCancellationRows).toBe(0);
    expect(facts.negativeRowsWithoutCWithCustomerOrPrice).toBe(0);
  });

  it('spans 12/1/2010 8:26 to 12/9/2011 12:50 in time order, with one moment per invoice and no Saturdays', () => {
    expect(facts.badDates).toEqual([]);
    expect(facts.minDateText).toBe('12/1/2010 8:26');
    expect(facts.maxDateText).toBe('12/9/2011 12:50');
    expect(facts.timeGoesBack).toBe(0);
    expect([...facts.invoicesWithTwoDates]).toEqual([]);
    expect(facts.saturdayRows).toBe(0);
  });

  it('numbers invoices from 536365 upwards in time order, each invoice in one block of rows', () => {
    expect([...facts.invoices][0]).toBe('536365');
    expect(facts.numbersGoBack).toBe(0);
    expect(facts.invoicesSplit).toEqual([]);
  });

  it('has the three A invoices adjusting bad debt', () => {
    expect(facts.adjustmentInvoices.map((row) => [row.invoiceNo.slice(0, 1), row.stockCode, row.description, row.quantity, row.unitPrice]))
      .toEqual([
        ['A', 'B', 'Adjust bad debt', '1', '11062.06'],
        ['A', 'B', 'Adjust bad debt', '1', '-11062.06'],
        ['A', 'B', 'Adjust bad debt', '1', '-11062.06'],
      ]);
    expect(new Set(facts.adjustmentInvoices.map((row) => row.invoiceNo)).size).toBe(3);
  });

  it('has the real extremes: quantities ±80995 once each, prices up to 38970 and 0.001 once', () => {
    const quantities = [...facts.quantities.keys()];
    expect(Math.min(...quantities)).toBe(-80_995);
    expect(Math.max(...quantities)).toBe(80_995);
    expect(facts.quantities.get(80_995)).toBe(1);
    expect(facts.quantities.get(-80_995)).toBe(1);
    expect(facts.maxPrice).toBe(38_970);
    expect(facts.prices.get('38970')).toBe(1);
    expect(facts.prices.get('0.001')).toBe(1);
  });

  it('prints prices like the real file', () => {
    for (const price of ['2.55', '0.85', '1.25', '4.95', '2.1']) expect(facts.prices.get(price)).toBeGreaterThan(100);
    // Every price matched PRICE (no trailing zeros, no float noise) in badFields above; spot-check the noise.
    expect([...facts.prices.keys()].filter((price) => price.length > 9)).toEqual([]);
  });

  it('uses the non-product stock codes of the real file', () => {
    for (const code of NON_PRODUCT_CODES) expect(facts.nonProductCodes).toContain(code);
  });
});

describe('the shipped real sample', () => {
  const file = join(__dirname, '..', '..', 'data', 'sample', 'online-retail-sample.csv');

  it('holds the first 1,071 data rows of the real file under its exact header', () => {
    const bytes = readFileSync(file);
    const records = parse(bytes.toString('latin1'));
    expect(bytes.toString('latin1').startsWith(`${RETAIL_HEADER}\r\n`)).toBe(true);
    expect(records).toHaveLength(1_072);
    expect(records.every((record) => record.length === 8)).toBe(true);
    expect(records[1]?.[0]).toBe('536365');
    expect(bytes.at(-1)).not.toBe(0x0a);
  });
});

describe('npm run sample arguments', () => {
  it('defaults to 541,909 rows, data/data.csv and seed 1', () => {
    expect(parseSampleArgs([])).toEqual({ rows: FULL_ROWS, out: DEFAULT_OUT, seed: 1 });
    expect(DEFAULT_OUT).toBe(resolve(__dirname, '..', '..', 'data', 'data.csv'));
  });

  it('reads --rows, --out and --seed', () => {
    expect(parseSampleArgs(['--rows', '50', '--out', '/tmp/x.csv', '--seed', '7'])).toEqual({ rows: 50, out: '/tmp/x.csv', seed: 7 });
    expect(parseSampleArgs(['--rows=50', '--seed=-3']).seed).toBe(-3);
  });

  it.each([
    [['--rows', '0']],
    [['--rows', '-5']],
    [['--rows', '1.5']],
    [['--rows', 'many']],
    [['--rows', '']],
    [['--seed', 'x']],
    [['--out', '']],
    [['--colour', 'red']],
    [['extra']],
    [['--rows']],
  ])('rejects %j with a usage error', (argv) => {
    expect(() => parseSampleArgs(argv)).toThrow(UsageError);
  });
});
