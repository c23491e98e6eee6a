import { curatedTablePrefix, DATASET_NAME } from '../lambda/shared/layout';

/**
 * A dataset: one DynamoDB table as one lake table, described once. The description drives the
 * catalog table and, as issue 16 lands, the stream bridge, the CDC-merge job and its local twin.
 * It is plain data (no construct), so the jobs can receive it as an argument.
 */

/** The lake column types other than decimals. */
export const PLAIN_LAKE_TYPES = ['string', 'int', 'bigint', 'boolean', 'timestamp'] as const;

/** A column type of the lake, as Glue's catalog and Athena name it. */
export type LakeColumnType = (typeof PLAIN_LAKE_TYPES)[number] | `decimal(${number},${number})`;

/** The precision and scale of a `decimal(p,s)` type; undefined for any other type. */
export function decimalType(type: string): { readonly precision: number; readonly scale: number } | undefined {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(type);
  return decimal ? { precision: Number(decimal[1]), scale: Number(decimal[2]) } : undefined;
}

/** One column of the lake table, and the DynamoDB attribute it is read from. */
export interface DatasetColumn {
  /** The column's name in the lake: lowercase letters, digits and underscores, as Athena prefers. */
  readonly name: string;
  /** The item attribute it is read from (a number may come as a number or as its text). */
  readonly attribute: string;
  /** The lake type. A number that does not fit it exactly fails the run, naming the item. */
  readonly type: LakeColumnType;
  /**
   * For a `timestamp` read from text: the text's form, as a Spark datetime pattern made of
   * `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`, `SSS`, quoted text and `- / : . ,` or a space (both
   * engines parse exactly that).
   * @default "yyyy-MM-dd'T'HH:mm:ss"
   */
  readonly format?: string;
  /**
   * Whether an empty string is a missing value (null) rather than bad input.
   * @default false
   */
  readonly emptyIsNull?: boolean;
}

/** The day partition of a dataset: a column of `YYYY-MM-DD` days, read from an attribute. */
export interface DatasetPartition {
  /** The partition column's name in the lake. */
  readonly column: string;
  /** The item attribute holding the item's day as `YYYY-MM-DD`. */
  readonly attribute: string;
  /** The first day of data, `YYYY-MM-DD`: partition projection starts there. */
  readonly firstDay: string;
}

/** A DynamoDB table as a lake table. */
export interface DatasetDescription {
  /**
   * The dataset's name: the prefix of its change objects (`cdc/<name>/`) and its lake table
   * (`curated_<name>`, under `curated/<name>/`). Letters, digits and underscores.
   */
  readonly name: string;
  /** The item key's attributes (partition key, then sort key), each read into a column. */
  readonly key: readonly [partitionKey: string, sortKey?: string];
  /** The lake table's columns, in order. */
  readonly columns: readonly DatasetColumn[];
  /** The day partition. */
  readonly partition: DatasetPartition;
}

/** The lake table of a dataset, in the Glue database. */
export const curatedTableName = (dataset: Pick<DatasetDescription, 'name'>): string => `curated_${dataset.name}`;

/** The lake-bucket prefix of a dataset's table. */
export const curatedPrefix = (dataset: Pick<DatasetDescription, 'name'>): string => curatedTablePrefix(dataset.name);

/** The form of a timestamp column's text when its description gives none. */
export const DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss";

/** The fields a timestamp format may hold, each as DuckDB's strptime and the error messages write it. */
export const TIMESTAMP_FIELDS = {
  yyyy: { strptime: '%Y', shown: 'YYYY' },
  MM: { strptime: '%m', shown: 'MM' },
  dd: { strptime: '%d', shown: 'DD' },
  HH: { strptime: '%H', shown: 'HH' },
  mm: { strptime: '%M', shown: 'MM' },
  ss: { strptime: '%S', shown: 'SS' },
  SSS: { strptime: '%g', shown: 'SSS' },
} as const;

/** One part of a timestamp format: a field, or literal text. */
export type TimestampFormatPart = { readonly field: keyof typeof TIMESTAMP_FIELDS } | { readonly text: string };

const FORMAT_PART = /(yyyy|MM|dd|HH|mm|ss|SSS)|'([^']+)'|([-/:., ])/y;

/** The parts of a timestamp format, or undefined when it holds anything else (see {@link DatasetColumn.format}). */
export function timestampFormatParts(format: string): TimestampFormatPart[] | undefined {
  const parts: TimestampFormatPart[] = [];
  FORMAT_PART.lastIndex = 0;
  while (FORMAT_PART.lastIndex < format.length) {
    const match = FORMAT_PART.exec(format);
    if (match === null) return undefined;
    const [, field, quoted, punctuation] = match;
    parts.push(field === undefined ? { text: quoted ?? punctuation ?? '' } : { field: field as keyof typeof TIMESTAMP_FIELDS });
  }
  return parts.length > 0 ? parts : undefined;
}

/** How error messages show a timestamp format: the default reads `YYYY-MM-DDTHH:MM:SS`. */
export function shownTimestampFormat(parts: readonly TimestampFormatPart[]): string {
  return parts.map((part) => ('field' in part ? TIMESTAMP_FIELDS[part.field].shown : part.text)).join('');
}

const LAKE_NAME = /^[a-z][a-z0-9_]*$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The columns the item key is read into, partition key first (each key attribute's first column). */
export function keyColumns(dataset: DatasetDescription): DatasetColumn[] {
  return dataset.key.flatMap((attribute) => dataset.columns.find((column) => column.attribute === attribute) ?? []);
}

/**
 * The problems of a description, each naming the field (empty when it is sound). `where` names
 * the description in each message: the construct path that declares it.
 */
export function datasetProblems(dataset: DatasetDescription, where: string): string[] {
  const problems: string[] = [];
  const problem = (field: string, text: string) => problems.push(`${where}: dataset ${field} ${text}`);
  if (!DATASET_NAME.test(dataset.name)) problem('name', `${JSON.stringify(dataset.name)} is not letters, digits and underscores starting with a letter`);
  if (dataset.columns.length === 0) problem('columns', 'is empty: a lake table needs a column');
  const names = new Set<string>();
  dataset.columns.forEach((column, index) => {
    const field = `columns[${String(index)}]`;
    if (!LAKE_NAME.test(column.name)) problem(`${field}.name`, `${JSON.stringify(column.name)} is not lowercase letters, digits and underscores starting with a letter`);
    if (names.has(column.name)) problem(`${field}.name`, `${JSON.stringify(column.name)} is a second column of that name`);
    names.add(column.name);
    if (column.attribute === '') problem(`${field}.attribute`, 'is empty');
    const decimal = decimalType(column.type);
    if (decimal) {
      const { precision, scale } = decimal;
      if (precision < 1 || precision > 38 || scale > precision) problem(`${field}.type`, `${column.type} needs a precision of 1 to 38 and a scale no greater than it`);
    } else if (!(PLAIN_LAKE_TYPES as readonly string[]).includes(column.type)) {
      problem(`${field}.type`, `${JSON.stringify(column.type)} is not one of ${PLAIN_LAKE_TYPES.join(', ')}, decimal(p,s)`);
    }
    if (column.format !== undefined && column.type !== 'timestamp') problem(`${field}.format`, `is for timestamp columns, not ${column.type}`);
    else if (column.format !== undefined && timestampFormatParts(column.format) === undefined) {
      problem(`${field}.format`, `${JSON.stringify(column.format)} is not made of yyyy, MM, dd, HH, mm, ss, SSS, quoted text and - / : . , or a space`);
    }
  });
  const attributes = new Set(dataset.columns.map((column) => column.attribute));
  dataset.key.forEach((attribute, index) => {
    if (attribute !== undefined && !attributes.has(attribute)) problem(`key[${String(index)}]`, `${JSON.stringify(attribute)} is read into no column: the lake could not tell two items apart`);
  });
  const { partition } = dataset;
  if (!LAKE_NAME.test(partition.column)) problem('partition.column', `${JSON.stringify(partition.column)} is not lowercase letters, digits and underscores starting with a letter`);
  if (names.has(partition.column)) problem('partition.column', `${JSON.stringify(partition.column)} is also a column`);
  if (partition.attribute === '') problem('partition.attribute', 'is empty');
  if (!DAY.test(partition.firstDay) || Number.isNaN(Date.parse(`${partition.firstDay}T00:00:00Z`))) problem('partition.firstDay', `${JSON.stringify(partition.firstDay)} is not a day in the form YYYY-MM-DD`);
  return problems;
}

/** The description, or an Error listing every problem of it (see {@link datasetProblems}). */
export function validDataset(dataset: DatasetDescription, where: string): DatasetDescription {
  const problems = datasetProblems(dataset, where);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return dataset;
}

/**
 * The orders of the Kaggle "E-Commerce Data" file as the `curated_orders` table: its schema is
 * the contract of the star schema and the README's queries.
 */
export const ORDERS_DATASET: DatasetDescription = {
  name: 'orders',
  key: ['InvoiceNo', 'LineNo'],
  columns: [
    { name: 'invoice_no', attribute: 'InvoiceNo', type: 'string' },
    { name: 'line_no', attribute: 'LineNo', type: 'int' },
    { name: 'stock_code', attribute: 'StockCode', type: 'string' },
    { name: 'description', attribute: 'Description', type: 'string' },
    { name: 'quantity', attribute: 'Quantity', type: 'int' },
    // 0.001 and -11062.06 both occur, and 38970: three decimals, nine integer digits.
    { name: 'unit_price', attribute: 'UnitPrice', type: 'decimal(12,3)' },
    { name: 'invoice_ts', attribute: 'InvoiceDate', type: 'timestamp', format: "yyyy-MM-dd'T'HH:mm:ss" },
    // The file leaves CustomerID empty on a quarter of its rows.
    { name: 'customer_id', attribute: 'CustomerID', type: 'bigint', emptyIsNull: true },
    { name: 'country', attribute: 'Country', type: 'string' },
    { name: 'is_cancellation', attribute: 'IsCancellation', type: 'boolean' },
  ],
  partition: { column: 'invoice_day', attribute: 'InvoiceDay', firstDay: '2010-12-01' },
};
