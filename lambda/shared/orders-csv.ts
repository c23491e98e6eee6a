/**
 * The orders row contract: how one row of the Kaggle "E-Commerce Data" CSV (UCI Online Retail)
 * becomes one item of the orders table. Pure and dependency-free, shared by the seed, the
 * upload path and the local engine, so every path writes the same item for the same row.
 */

/** The columns the loader needs, matched by header name (their order in the file does not matter). */
export const ORDER_COLUMNS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;

/** One of {@link ORDER_COLUMNS}. */
export type OrderColumn = (typeof ORDER_COLUMNS)[number];

/** Position of each needed column in the file's header, and how many fields a row must have. */
export interface ColumnLayout {
  readonly index: Readonly<Record<OrderColumn, number>>;
  readonly fieldCount: number;
}

/** One orders item, plain. Numbers that must stay exact (prices) are decimal strings. */
export interface OrderItem {
  readonly InvoiceNo: string;
  readonly LineNo: number;
  readonly StockCode: string;
  /** Absent when the row has none. */
  readonly Description?: string;
  readonly Quantity: number;
  /** Exact decimal as written in the file, e.g. "0.001" or "-11062.06". */
  readonly UnitPrice: string;
  /** ISO-8601 local time, e.g. 2010-12-01T08:26:00. */
  readonly InvoiceDate: string;
  /** Absent when the row has none. */
  readonly CustomerID?: number;
  /** Absent when the row has none. */
  readonly Country?: string;
  readonly IsCancellation: boolean;
  /** The day of InvoiceDate, e.g. 2010-12-01 (the lake's partition). */
  readonly InvoiceDay: string;
  readonly SourceFile: string;
  readonly LoadedAt: string;
}

/** A row that cannot become an item: which field, and why. */
export interface RowProblem {
  readonly field: string;
  readonly reason: string;
}

/** The outcome of mapping one row. */
export type RowResult = { readonly ok: true; readonly item: OrderItem } | { readonly ok: false; readonly problem: RowProblem };

/** Where the rows come from and when they were loaded; the same for every row of a load. */
export interface LoadContext {
  readonly sourceFile: string;
  readonly loadedAt: string;
}

/**
 * Maps the header row to column positions.
 * @returns the layout, or the names of the missing columns.
 */
export function resolveColumns(header: readonly string[]): { readonly layout: ColumnLayout } | { readonly missing: readonly OrderColumn[] } {
  // Tolerate a stray BOM or spaces around names (trim() strips both: U+FEFF is white space to
  // it); match names exactly otherwise.
  const names = header.map((name) => name.trim());
  const missing = ORDER_COLUMNS.filter((column) => !names.includes(column));
  if (missing.length > 0) return { missing };
  const index = Object.fromEntries(ORDER_COLUMNS.map((column) => [column, names.indexOf(column)])) as Record<OrderColumn, number>;
  return { layout: { index, fieldCount: header.length } };
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
// M/D/YYYY H:MM with optional :SS, as the Kaggle file writes it (12/1/2010 8:26).
const INVOICE_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const CUSTOMER_ID = /^\d+(\.0+)?$/;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `12/1/2010 8:26` → `2010-12-01T08:26:00`, or undefined when it is not a real date and time. */
export function parseInvoiceDate(text: string): string | undefined {
  const match = INVOICE_DATE.exec(text.trim());
  if (!match) return undefined;
  const [month, day, year, hour, minute, second] = match.slice(1).map((part: string | undefined) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
}

/**
 * Assigns `LineNo`: the 1-based position of a row inside its invoice, in file order. Every row
 * with an InvoiceNo takes a position, rejected rows included, so fixing a rejected row later
 * does not shift the keys of the rows after it.
 */
export class LineNumbering {
  private readonly counts = new Map<string, number>();

  /** The next position for `invoiceNo`. */
  next(invoiceNo: string): number {
    const lineNo = (this.counts.get(invoiceNo) ?? 0) + 1;
    this.counts.set(invoiceNo, lineNo);
    return lineNo;
  }
}

const reject = (field: string, reason: string): RowResult => ({ ok: false, problem: { field, reason } });

/**
 * Maps one CSV row to an orders item, or says which field is wrong and why.
 * Negative quantities, zero or negative prices, `A…` invoices and odd stock codes are valid data.
 * @param lineNo the row's position in its invoice, from {@link LineNumbering}
 */
export function mapOrderRow(fields: readonly string[], layout: ColumnLayout, lineNo: number, context: LoadContext): RowResult {
  if (fields.length !== layout.fieldCount) return reject('(row)', `has ${fields.length} fields, expected ${layout.fieldCount}`);
  const field = (column: OrderColumn): string => fields[layout.index[column]] ?? '';

  const invoiceNo = field('InvoiceNo').trim();
  if (invoiceNo === '') return reject('InvoiceNo', 'is empty');
  const stockCode = field('StockCode').trim();
  if (stockCode === '') return reject('StockCode', 'is empty');
  const quantity = field('Quantity').trim();
  if (!INTEGER.test(quantity) || !Number.isSafeInteger(Number(quantity))) return reject('Quantity', `${JSON.stringify(field('Quantity'))} is not an integer`);
  const writtenPrice = field('UnitPrice').trim();
  if (!DECIMAL.test(writtenPrice)) return reject('UnitPrice', `${JSON.stringify(field('UnitPrice'))} is not a decimal number`);
  // Same value, in the form DynamoDB's number type accepts: ".5" → "0.5", "2." → "2".
  const unitPrice = writtenPrice.replace(/^(-?)\./, (_dot, sign: string) => `${sign}0.`).replace(/\.$/, '');
  const invoiceDate = parseInvoiceDate(field('InvoiceDate'));
  if (invoiceDate === undefined) return reject('InvoiceDate', `${JSON.stringify(field('InvoiceDate'))} is not a date in the form M/D/YYYY H:MM`);
  const customerId = field('CustomerID').trim();
  if (customerId !== '' && !(CUSTOMER_ID.test(customerId) && Number.isSafeInteger(Number.parseInt(customerId, 10)))) {
    return reject('CustomerID', `${JSON.stringify(field('CustomerID'))} is not a customer number`);
  }

  const description = field('Description');
  const country = field('Country').trim();
  return {
    ok: true,
    item: {
      InvoiceNo: invoiceNo,
      LineNo: lineNo,
      StockCode: stockCode,
      ...(description === '' ? {} : { Description: description }),
      Quantity: Number(quantity),
      UnitPrice: unitPrice,
      InvoiceDate: invoiceDate,
      ...(customerId === '' ? {} : { CustomerID: Number.parseInt(customerId, 10) }),
      ...(country === '' ? {} : { Country: country }),
      IsCancellation: invoiceNo.startsWith('C'),
      InvoiceDay: invoiceDate.slice(0, 10),
      SourceFile: context.sourceFile,
      LoadedAt: context.loadedAt,
    },
  };
}

/** A DynamoDB attribute value, as the low-level API takes it (the subset orders use). */
export type OrderAttributeValue = { readonly S: string } | { readonly N: string } | { readonly BOOL: boolean };

/**
 * The item in DynamoDB's wire form. Numbers go as their decimal text, so UnitPrice reaches the
 * table exactly as written (no float on the way).
 */
export function toAttributeValues(item: OrderItem): Record<string, OrderAttributeValue> {
  const values: Record<string, OrderAttributeValue> = {
    InvoiceNo: { S: item.InvoiceNo },
    LineNo: { N: String(item.LineNo) },
    StockCode: { S: item.StockCode },
    Quantity: { N: String(item.Quantity) },
    UnitPrice: { N: item.UnitPrice },
    InvoiceDate: { S: item.InvoiceDate },
    IsCancellation: { BOOL: item.IsCancellation },
    InvoiceDay: { S: item.InvoiceDay },
    SourceFile: { S: item.SourceFile },
    LoadedAt: { S: item.LoadedAt },
  };
  if (item.Description !== undefined) values.Description = { S: item.Description };
  if (item.CustomerID !== undefined) values.CustomerID = { N: String(item.CustomerID) };
  if (item.Country !== undefined) values.Country = { S: item.Country };
  return values;
}

/** The key of an orders item, as a string that is equal for equal keys. */
export function orderKey(item: Pick<OrderItem, 'InvoiceNo' | 'LineNo'>): string {
  return `${item.InvoiceNo}\u0000${item.LineNo}`;
}
