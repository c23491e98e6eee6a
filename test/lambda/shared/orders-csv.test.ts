import {
  LineNumbering,
  mapOrderRow,
  ORDER_COLUMNS,
  orderKey,
  parseInvoiceDate,
  resolveColumns,
  toAttributeValues,
  type ColumnLayout,
  type LoadContext,
  type OrderItem,
  type RowProblem,
} from '../../../lambda/shared/orders-csv';

/** The header of the Kaggle "E-Commerce Data" file (UCI Online Retail). */
const KAGGLE_HEADER = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];

const CONTEXT: LoadContext = { sourceFile: 'raw/data.csv', loadedAt: '2024-05-01T10:00:00.000Z' };

function layoutOf(header: readonly string[]): ColumnLayout {
  const resolved = resolveColumns(header);
  if (!('layout' in resolved)) throw new Error(`columns missing: ${resolved.missing.join(', ')}`);
  return resolved.layout;
}

const LAYOUT = layoutOf(KAGGLE_HEADER);

/** The fields of a Kaggle row: a plain line is split on commas, a row with quoted fields is given already parsed. */
const fieldsOf = (row: string | readonly string[]): readonly string[] => (typeof row === 'string' ? row.split(',') : row);

function mapped(row: string | readonly string[], lineNo = 1): OrderItem {
  const result = mapOrderRow(fieldsOf(row), LAYOUT, lineNo, CONTEXT);
  if (!result.ok) throw new Error(`expected an item, got a rejection of ${result.problem.field}: ${result.problem.reason}`);
  return result.item;
}

function rejected(row: string | readonly string[]): RowProblem {
  const result = mapOrderRow(fieldsOf(row), LAYOUT, 1, CONTEXT);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.item)}`);
  return result.problem;
}

/** A valid Kaggle row with one field replaced. */
function rowWith(column: (typeof ORDER_COLUMNS)[number], value: string): string[] {
  const fields = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom'.split(',');
  fields[KAGGLE_HEADER.indexOf(column)] = value;
  return fields;
}

describe('resolveColumns', () => {
  it('maps the Kaggle header to the position of each column', () => {
    expect(resolveColumns(KAGGLE_HEADER)).toStrictEqual({
      layout: {
        index: { InvoiceNo: 0, StockCode: 1, Description: 2, Quantity: 3, InvoiceDate: 4, UnitPrice: 5, CustomerID: 6, Country: 7 },
        fieldCount: 8,
      },
    });
  });

  it('matches columns by header name in any order, with extra columns counted in the field count', () => {
    const header = ['Country', 'Notes', 'UnitPrice', 'CustomerID', 'InvoiceDate', 'Quantity', 'Description', 'StockCode', 'InvoiceNo'];
    const layout = layoutOf(header);
    expect(layout).toStrictEqual({
      index: { Country: 0, UnitPrice: 2, CustomerID: 3, InvoiceDate: 4, Quantity: 5, Description: 6, StockCode: 7, InvoiceNo: 8 },
      fieldCount: 9,
    });

    const result = mapOrderRow(
      ['United Kingdom', 'ignored', '2.55', '17850', '12/1/2010 8:26', '6', 'WHITE HANGING HEART T-LIGHT HOLDER', '85123A', '536365'],
      layout,
      1,
      CONTEXT,
    );
    expect(result).toStrictEqual({ ok: true, item: mapped('536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom') });
  });

  it('tolerates a byte order mark and spaces around the header names', () => {
    const header = ['\uFEFFInvoiceNo', ' StockCode ', 'Description ', ' Quantity', 'InvoiceDate\t', 'UnitPrice', '  CustomerID', 'Country  '];
    expect(layoutOf(header)).toStrictEqual(LAYOUT);
  });

  it('reports every missing column, in the order of ORDER_COLUMNS', () => {
    expect(resolveColumns(['InvoiceNo', 'StockCode', 'Description', 'InvoiceDate', 'UnitPrice', 'Country'])).toStrictEqual({
      missing: ['Quantity', 'CustomerID'],
    });
    expect(resolveColumns([])).toStrictEqual({ missing: [...ORDER_COLUMNS] });
  });

  it('keeps a byte order mark inside a name, which then matches no column', () => {
    expect(resolveColumns(['InvoiceNo', 'StockCode', 'Description', 'Quan\uFEFFtity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'])).toStrictEqual({ missing: ['Quantity'] });
  });

  it('matches names exactly apart from surrounding spaces, so a differently cased name is missing', () => {
    expect(resolveColumns(['invoiceno', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'Customer ID', 'Country'])).toStrictEqual({
      missing: ['InvoiceNo', 'CustomerID'],
    });
  });
});

describe('parseInvoiceDate', () => {
  it.each([
    ['12/1/2010 8:26', '2010-12-01T08:26:00'],
    ['12/9/2011 12:50', '2011-12-09T12:50:00'],
    ['1/4/2011 10:00:37', '2011-01-04T10:00:37'],
    ['6/15/2011 0:00', '2011-06-15T00:00:00'],
    ['12/31/2011 23:59:59', '2011-12-31T23:59:59'],
    ['02/03/2011 07:05', '2011-02-03T07:05:00'],
    ['2/29/2012 9:30', '2012-02-29T09:30:00'],
  ])('turns %j into the ISO local time %j', (text, iso) => {
    expect(parseInvoiceDate(text)).toBe(iso);
  });

  it.each([
    ['2/29/2011 9:30', 'February 29 of a non-leap year'],
    ['13/1/2011 8:00', 'month 13'],
    ['0/1/2011 8:00', 'month 0'],
    ['4/31/2011 8:00', 'April 31'],
    ['12/0/2010 8:26', 'day 0'],
    ['12/1/2010 24:00', 'hour 24'],
    ['12/1/2010 8:60', 'minute 60'],
    ['12/1/2010 8:26:60', 'second 60'],
    ['12/1/2010 8:6', 'a one-digit minute'],
    ['12/1/10 8:26', 'a two-digit year'],
    ['12/1/2010', 'no time'],
    ['garbage', 'garbage'],
    ['', 'an empty string'],
    ['2010-12-01T08:26:00', 'ISO input'],
    ['2010-12-01 08:26', 'ISO date with a space'],
    ['112/1/2010 8:26', 'a three-digit month'],
    ['12/1/2010 8:265', 'a three-digit minute'],
    ['12/1/2010 8:26:00 PM', 'text after the time'],
  ])('rejects %j (%s)', (text) => {
    expect(parseInvoiceDate(text)).toBeUndefined();
  });
});

describe('LineNumbering', () => {
  it('numbers the rows of one invoice 1, 2, 3 in order', () => {
    const numbering = new LineNumbering();
    expect([numbering.next('536365'), numbering.next('536365'), numbering.next('536365')]).toStrictEqual([1, 2, 3]);
  });

  it('keeps a separate count per invoice when invoices are interleaved', () => {
    const numbering = new LineNumbering();
    const invoices = ['536365', '536366', '536365', 'C536379', '536366', '536365', 'C536379'];
    expect(invoices.map((invoice) => numbering.next(invoice))).toStrictEqual([1, 1, 2, 1, 2, 3, 2]);
  });

  it('starts every new numbering at 1', () => {
    const first = new LineNumbering();
    first.next('536365');
    first.next('536365');
    expect(new LineNumbering().next('536365')).toBe(1);
  });
});

describe('mapOrderRow on valid Kaggle rows', () => {
  it('maps an ordinary row to the full item', () => {
    const result = mapOrderRow(fieldsOf('536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom'), LAYOUT, 1, CONTEXT);
    expect(result).toStrictEqual({
      ok: true,
      item: {
        InvoiceNo: '536365',
        LineNo: 1,
        StockCode: '85123A',
        Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
        Quantity: 6,
        UnitPrice: '2.55',
        InvoiceDate: '2010-12-01T08:26:00',
        CustomerID: 17850,
        Country: 'United Kingdom',
        IsCancellation: false,
        InvoiceDay: '2010-12-01',
        SourceFile: 'raw/data.csv',
        LoadedAt: '2024-05-01T10:00:00.000Z',
      },
    });
  });

  it('takes LineNo from its argument and SourceFile and LoadedAt from the load context', () => {
    const result = mapOrderRow(fieldsOf('536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom'), LAYOUT, 7, {
      sourceFile: 'raw/upload-2.csv',
      loadedAt: '2025-01-02T03:04:05.678Z',
    });
    expect(result).toMatchObject({ ok: true, item: { LineNo: 7, SourceFile: 'raw/upload-2.csv', LoadedAt: '2025-01-02T03:04:05.678Z' } });
  });

  it('marks a C invoice as a cancellation and keeps its negative quantity', () => {
    expect(mapped('C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom', 1)).toStrictEqual({
      InvoiceNo: 'C536379',
      LineNo: 1,
      StockCode: 'D',
      Description: 'Discount',
      Quantity: -1,
      UnitPrice: '27.5',
      InvoiceDate: '2010-12-01T09:41:00',
      CustomerID: 14527,
      Country: 'United Kingdom',
      IsCancellation: true,
      InvoiceDay: '2010-12-01',
      SourceFile: 'raw/data.csv',
      LoadedAt: '2024-05-01T10:00:00.000Z',
    });
  });

  it('keeps a negative quantity without C as a valid non-cancellation', () => {
    expect(mapped('536589,21777,,-10,12/1/2010 16:50,0,,United Kingdom')).toMatchObject({ Quantity: -10, IsCancellation: false });
  });

  it('maps an "Adjust bad debt" A invoice without a customer', () => {
    const item = mapped('A563185,B,Adjust bad debt,1,8/12/2011 14:50,11062.06,,United Kingdom', 2);
    expect(item).toStrictEqual({
      InvoiceNo: 'A563185',
      LineNo: 2,
      StockCode: 'B',
      Description: 'Adjust bad debt',
      Quantity: 1,
      UnitPrice: '11062.06',
      InvoiceDate: '2011-08-12T14:50:00',
      Country: 'United Kingdom',
      IsCancellation: false,
      InvoiceDay: '2011-08-12',
      SourceFile: 'raw/data.csv',
      LoadedAt: '2024-05-01T10:00:00.000Z',
    });
    expect(item).not.toHaveProperty('CustomerID');
  });

  it('keeps the negative price -11062.06 exactly', () => {
    expect(mapped('A563186,B,Adjust bad debt,1,8/12/2011 14:51,-11062.06,,United Kingdom').UnitPrice).toBe('-11062.06');
  });

  it.each([
    ['2.55', '2.55'],
    ['0.001', '0.001'],
    ['0', '0'],
    ['38970', '38970'],
    ['1.250', '1.250'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['.25', '0.25'],
    ['2.', '2'],
    ['-2.', '-2'],
    [' 4.95 ', '4.95'],
  ])('writes UnitPrice %j as the exact decimal %j', (written, expected) => {
    expect(mapped(rowWith('UnitPrice', written)).UnitPrice).toBe(expected);
  });

  it('leaves Description and CustomerID out when they are empty', () => {
    const item = mapped('536414,22139,,56,12/1/2010 11:52,0,,United Kingdom');
    expect(item).not.toHaveProperty('Description');
    expect(item).not.toHaveProperty('CustomerID');
    expect(item).toMatchObject({ InvoiceNo: '536414', StockCode: '22139', Quantity: 56, UnitPrice: '0', Country: 'United Kingdom' });
  });

  it('leaves Country out when it is empty or only spaces', () => {
    expect(mapped(rowWith('Country', ''))).not.toHaveProperty('Country');
    expect(mapped(rowWith('Country', '   '))).not.toHaveProperty('Country');
  });

  it('leaves CustomerID out when it is only spaces', () => {
    expect(mapped(rowWith('CustomerID', '  '))).not.toHaveProperty('CustomerID');
  });

  it('reads the CustomerID 17850.0 (or 17850.00) as the number 17850', () => {
    expect(mapped(rowWith('CustomerID', '17850.0')).CustomerID).toBe(17850);
    expect(mapped(rowWith('CustomerID', '17850.00')).CustomerID).toBe(17850);
  });

  it.each([
    ['PLASTERS IN TIN CIRCUS PARADE ', 'a trailing space'],
    ['AIRLINE LOUNGE,METAL SIGN', 'an embedded comma'],
    ['FANCY FONT BIRTHDAY CARD, ', 'a comma and a trailing space'],
    ['RECORD FRAME 7" SINGLE SIZE ', 'an embedded quote'],
    ['SET OF 3 COLOURED  FLYING DUCKS', 'a double space'],
    [' LEADING SPACE', 'a leading space'],
  ])('keeps the Description %j exactly as written (%s)', (description) => {
    expect(mapped(rowWith('Description', description)).Description).toBe(description);
  });

  it('trims spaces around InvoiceNo, StockCode, Quantity, InvoiceDate and CustomerID', () => {
    const item = mapped([' C536379 ', ' D ', 'Discount', ' -1 ', ' 12/1/2010 9:41 ', '27.5', ' 14527 ', ' United Kingdom ']);
    expect(item).toMatchObject({
      InvoiceNo: 'C536379',
      StockCode: 'D',
      Quantity: -1,
      InvoiceDate: '2010-12-01T09:41:00',
      CustomerID: 14527,
      Country: 'United Kingdom',
      IsCancellation: true,
    });
  });
});

describe('mapOrderRow rejections', () => {
  it('rejects a row with too few fields and says how many it has', () => {
    const problem = rejected('536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850');
    expect(problem.field).toBe('(row)');
    expect(problem.reason).toContain('has 7 fields, expected 8');
  });

  it('rejects a row with too many fields, as an unquoted comma in Description makes', () => {
    const problem = rejected('536381,82567,AIRLINE LOUNGE,METAL SIGN,2,12/1/2010 9:41,2.1,15311,United Kingdom');
    expect(problem.field).toBe('(row)');
    expect(problem.reason).toContain('has 9 fields, expected 8');
  });

  it.each([
    ['InvoiceNo', ''],
    ['InvoiceNo', '   '],
    ['StockCode', ''],
  ] as const)('rejects a row whose %s is %j as empty', (column, value) => {
    expect(rejected(rowWith(column, value))).toStrictEqual({ field: column, reason: 'is empty' });
  });

  it.each([
    ['Quantity', 'abc'],
    ['Quantity', '1.5'],
    ['Quantity', ''],
    ['Quantity', '1e3'],
    ['Quantity', '+6'],
    ['Quantity', '99999999999999999'],
    ['UnitPrice', '2,55'],
    ['UnitPrice', 'abc'],
    ['UnitPrice', ''],
    ['UnitPrice', '.'],
    ['UnitPrice', '1e3'],
    ['UnitPrice', '£2.55'],
    ['InvoiceDate', '2010-12-01 08:26'],
    ['InvoiceDate', ''],
    ['InvoiceDate', '2/29/2011 8:26'],
    ['CustomerID', 'ABC'],
    ['CustomerID', '17850.5'],
    ['CustomerID', '-17850'],
  ] as const)('rejects a row whose %s is %j, quoting the value', (column, value) => {
    const problem = rejected(rowWith(column, value));
    expect(problem.field).toBe(column);
    expect(problem.reason).toContain(JSON.stringify(value));
  });

  it('checks the field count before any field', () => {
    expect(rejected(['', '', '', 'abc']).field).toBe('(row)');
  });

  // Quantity refuses integers beyond 2^53 rather than round them; CustomerID should do the same
  // instead of storing a different number than the file holds.
  it('rejects a CustomerID too large to be stored exactly rather than change it', () => {
    const result = mapOrderRow(rowWith('CustomerID', '12345678901234567890'), LAYOUT, 1, CONTEXT);
    expect(result).toMatchObject({ ok: false, problem: { field: 'CustomerID' } });
  });
});

describe('toAttributeValues', () => {
  it('writes every attribute in DynamoDB wire form, numbers as their decimal text', () => {
    const item = mapped('C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom', 3);
    expect(toAttributeValues(item)).toStrictEqual({
      InvoiceNo: { S: 'C536379' },
      LineNo: { N: '3' },
      StockCode: { S: 'D' },
      Description: { S: 'Discount' },
      Quantity: { N: '-1' },
      UnitPrice: { N: '27.5' },
      InvoiceDate: { S: '2010-12-01T09:41:00' },
      CustomerID: { N: '14527' },
      Country: { S: 'United Kingdom' },
      IsCancellation: { BOOL: true },
      InvoiceDay: { S: '2010-12-01' },
      SourceFile: { S: 'raw/data.csv' },
      LoadedAt: { S: '2024-05-01T10:00:00.000Z' },
    });
  });

  it('sends UnitPrice as written, with no float on the way', () => {
    expect(toAttributeValues(mapped(rowWith('UnitPrice', '0.001'))).UnitPrice).toStrictEqual({ N: '0.001' });
    expect(toAttributeValues(mapped(rowWith('UnitPrice', '-11062.06'))).UnitPrice).toStrictEqual({ N: '-11062.06' });
    expect(toAttributeValues(mapped(rowWith('UnitPrice', '1.250'))).UnitPrice).toStrictEqual({ N: '1.250' });
  });

  it('has no keys for absent attributes', () => {
    const values = toAttributeValues(mapped('536414,22139,,56,12/1/2010 11:52,0,,'));
    expect(Object.keys(values).sort()).toStrictEqual(
      ['InvoiceDate', 'InvoiceDay', 'InvoiceNo', 'IsCancellation', 'LineNo', 'LoadedAt', 'Quantity', 'SourceFile', 'StockCode', 'UnitPrice'].sort(),
    );
    expect(values.IsCancellation).toStrictEqual({ BOOL: false });
  });
});

describe('orderKey', () => {
  it('is equal for equal keys', () => {
    const first = mapped('536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom', 1);
    const again = mapped('536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom', 1);
    expect(orderKey(first)).toBe(orderKey(again));
    expect(orderKey({ InvoiceNo: '536365', LineNo: 1 })).toBe(orderKey(first));
  });

  it('differs when the invoice or the line differs', () => {
    const key = orderKey({ InvoiceNo: '536365', LineNo: 1 });
    expect(orderKey({ InvoiceNo: '536365', LineNo: 2 })).not.toBe(key);
    expect(orderKey({ InvoiceNo: 'C536365', LineNo: 1 })).not.toBe(key);
  });

  it('does not confuse an invoice ending in a digit with a longer line number', () => {
    expect(orderKey({ InvoiceNo: '5363651', LineNo: 1 })).not.toBe(orderKey({ InvoiceNo: '536365', LineNo: 11 }));
  });
});
