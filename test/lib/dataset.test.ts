import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { LakeCatalog } from '../../lib/constructs/lake-catalog';
import { curatedPrefix, curatedTableName, type DatasetDescription, datasetProblems, DEFAULT_TIMESTAMP_FORMAT, keyColumns, ORDERS_DATASET, shownTimestampFormat, timestampFormatParts, validDataset } from '../../lib/dataset';

/** A sound description of a consumer's table: sensor readings by device and time. */
const SENSORS: DatasetDescription = {
  name: 'sensors',
  key: ['deviceId', 'ts'],
  columns: [
    { name: 'device_id', attribute: 'deviceId', type: 'string' },
    { name: 'ts', attribute: 'ts', type: 'timestamp', format: "yyyy-MM-dd'T'HH:mm:ss.SSS" },
    { name: 'reading', attribute: 'reading', type: 'decimal(10,4)' },
    { name: 'battery', attribute: 'battery', type: 'int' },
    { name: 'sequence', attribute: 'seq', type: 'bigint' },
    { name: 'healthy', attribute: 'ok', type: 'boolean', emptyIsNull: true },
  ],
  partition: { column: 'reading_day', attribute: 'day', firstDay: '2026-01-01' },
};

describe('datasetProblems', () => {
  it('finds none in the orders dataset or a sound consumer dataset', () => {
    expect(datasetProblems(ORDERS_DATASET, 'App/Catalog')).toEqual([]);
    expect(datasetProblems(SENSORS, 'App/Catalog')).toEqual([]);
    expect(validDataset(SENSORS, 'App/Catalog')).toBe(SENSORS);
  });

  it.each<[string, Partial<DatasetDescription>, string]>([
    ['a name that is no identifier', { name: 'my-sensors' }, 'dataset name "my-sensors" is not letters, digits and underscores starting with a letter'],
    ['a name starting with a digit', { name: '1sensors' }, 'dataset name "1sensors" is not letters, digits and underscores starting with a letter'],
    ['no columns', { columns: [], key: ['deviceId'] }, 'dataset columns is empty: a lake table needs a column\nApp/Pipeline/Catalog: dataset key[0] "deviceId" is read into no column: the lake could not tell two items apart'],
    ['an uppercase column', { columns: [{ name: 'deviceId', attribute: 'deviceId', type: 'string' }], key: ['deviceId'] }, 'dataset columns[0].name "deviceId" is not lowercase letters, digits and underscores starting with a letter'],
    ['a column named twice', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string' }, { name: 'device_id', attribute: 'other', type: 'string' }], key: ['deviceId'] }, 'dataset columns[1].name "device_id" is a second column of that name'],
    ['a column without attribute', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string' }, { name: 'x', attribute: '', type: 'string' }], key: ['deviceId'] }, 'dataset columns[1].attribute is empty'],
    ['an unknown type', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'varchar' as 'string' }], key: ['deviceId'] }, 'dataset columns[0].type "varchar" is not one of string, int, bigint, boolean, timestamp, decimal(p,s)'],
    ['a decimal wider than 38 digits', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'decimal(39,2)' }], key: ['deviceId'] }, 'dataset columns[0].type decimal(39,2) needs a precision of 1 to 38 and a scale no greater than it'],
    ['a decimal of no digits', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'decimal(0,0)' }], key: ['deviceId'] }, 'dataset columns[0].type decimal(0,0) needs a precision of 1 to 38 and a scale no greater than it'],
    ['a scale above the precision', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'decimal(4,5)' }], key: ['deviceId'] }, 'dataset columns[0].type decimal(4,5) needs a precision of 1 to 38 and a scale no greater than it'],
    ['a format on a string', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string', format: 'yyyy' }], key: ['deviceId'] }, 'dataset columns[0].format is for timestamp columns, not string'],
    ['a format with a field neither engine parses the same', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string' }, { name: 'ts', attribute: 'ts', type: 'timestamp', format: 'yyyy-MM-ddX' }], key: ['deviceId'] }, 'dataset columns[1].format "yyyy-MM-ddX" is not made of yyyy, MM, dd, HH, mm, ss, SSS, quoted text and - / : . , or a space'],
    ['an empty format', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string' }, { name: 'ts', attribute: 'ts', type: 'timestamp', format: '' }], key: ['deviceId'] }, 'dataset columns[1].format "" is not made of yyyy, MM, dd, HH, mm, ss, SSS, quoted text and - / : . , or a space'],
    ['a format quoting nothing', { columns: [{ name: 'device_id', attribute: 'deviceId', type: 'string' }, { name: 'ts', attribute: 'ts', type: 'timestamp', format: "yyyy''MM" }], key: ['deviceId'] }, 'dataset columns[1].format "yyyy\'\'MM" is not made of yyyy, MM, dd, HH, mm, ss, SSS, quoted text and - / : . , or a space'],
    ['a sort key read into no column', { key: ['deviceId', 'time'] }, 'dataset key[1] "time" is read into no column: the lake could not tell two items apart'],
    ['a partition key read into no column', { key: ['device'] }, 'dataset key[0] "device" is read into no column: the lake could not tell two items apart'],
    ['a partition column that is no name', { partition: { column: 'Day', attribute: 'day', firstDay: '2026-01-01' } }, 'dataset partition.column "Day" is not lowercase letters, digits and underscores starting with a letter'],
    ['a partition column that is also a column', { partition: { column: 'ts', attribute: 'day', firstDay: '2026-01-01' } }, 'dataset partition.column "ts" is also a column'],
    ['a partition without attribute', { partition: { column: 'reading_day', attribute: '', firstDay: '2026-01-01' } }, 'dataset partition.attribute is empty'],
    ['a first day in another form', { partition: { column: 'reading_day', attribute: 'day', firstDay: '01/01/2026' } }, 'dataset partition.firstDay "01/01/2026" is not a day in the form YYYY-MM-DD'],
    ['a first day that does not exist', { partition: { column: 'reading_day', attribute: 'day', firstDay: '2026-13-01' } }, 'dataset partition.firstDay "2026-13-01" is not a day in the form YYYY-MM-DD'],
  ])('names %s, with where it is declared', (_, change, problem) => {
    expect(datasetProblems({ ...SENSORS, ...change }, 'App/Pipeline/Catalog').join('\n')).toBe(`App/Pipeline/Catalog: ${problem}`);
  });

  it('lists every problem at once, and validDataset throws them all', () => {
    const broken: DatasetDescription = { ...SENSORS, name: 'a b', partition: { column: 'ts', attribute: '', firstDay: 'today' } };
    expect(datasetProblems(broken, 'X')).toHaveLength(4);
    expect(() => validDataset(broken, 'X')).toThrow(datasetProblems(broken, 'X').join('\n'));
  });

  it('reads a timestamp format into fields and literal text, and shows it as the messages do', () => {
    const parts = timestampFormatParts("yyyy-MM-dd'T'HH:mm:ss.SSS");
    expect(parts).toEqual([{ field: 'yyyy' }, { text: '-' }, { field: 'MM' }, { text: '-' }, { field: 'dd' }, { text: 'T' }, { field: 'HH' }, { text: ':' }, { field: 'mm' }, { text: ':' }, { field: 'ss' }, { text: '.' }, { field: 'SSS' }]);
    expect(shownTimestampFormat(timestampFormatParts(DEFAULT_TIMESTAMP_FORMAT) ?? [])).toBe('YYYY-MM-DDTHH:MM:SS');
    expect(shownTimestampFormat(timestampFormatParts("dd/MM/yyyy' at 'HH,mm") ?? [])).toBe('DD/MM/YYYY at HH,MM');
    expect(timestampFormatParts('yyyy-M-d')).toBeUndefined();
  });

  it('finds the key columns, partition key first, whatever the column order', () => {
    expect(keyColumns({ ...SENSORS, key: ['ts', 'deviceId'] }).map((column) => column.name)).toEqual(['ts', 'device_id']);
    expect(keyColumns(ORDERS_DATASET).map((column) => column.name)).toEqual(['invoice_no', 'line_no']);
  });

  it('is, for orders, the description the PySpark tests read (test/fixtures/etl/orders_to_lake/dataset.json)', () => {
    expect(JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'etl', 'orders_to_lake', 'dataset.json'), 'utf8'))).toEqual(ORDERS_DATASET);
  });

  it('names the lake table and prefix after the dataset', () => {
    expect([curatedTableName(SENSORS), curatedPrefix(SENSORS)]).toEqual(['curated_sensors', 'curated/sensors/']);
  });
});

describe('LakeCatalog tables from datasets', () => {
  function catalogOf(datasets?: readonly DatasetDescription[]) {
    const stack = new Stack(new App(), 'Stack');
    const lake = new Bucket(stack, 'Lake');
    new LakeCatalog(stack, 'Catalog', { databaseName: 'lake_db', lake, layout: { curatedCampaignProgressPrefix: 'curated/campaign_progress/', warehousePrefix: 'warehouse/' }, datasets });
    const tables = Template.fromStack(stack).findResources('AWS::Glue::Table');
    return Object.values(tables).map((table) => (table as { Properties: { TableInput: Record<string, unknown> } }).Properties.TableInput);
  }

  it("declares a consumer dataset's table: its columns with their catalog types, its day partition projected from the first day", () => {
    const sensors = catalogOf([SENSORS]).find((table) => table.Name === 'curated_sensors');
    expect(sensors).toMatchObject({
      PartitionKeys: [{ Name: 'reading_day', Type: 'string' }],
      Parameters: expect.objectContaining({
        'projection.enabled': 'true',
        'projection.reading_day.type': 'date',
        'projection.reading_day.range': '2026-01-01,NOW',
        'projection.reading_day.format': 'yyyy-MM-dd',
      }) as unknown,
      StorageDescriptor: expect.objectContaining({
        Columns: [
          { Name: 'device_id', Type: 'string' },
          { Name: 'ts', Type: 'timestamp' },
          { Name: 'reading', Type: 'decimal(10,4)' },
          { Name: 'battery', Type: 'int' },
          { Name: 'sequence', Type: 'bigint' },
          { Name: 'healthy', Type: 'boolean' },
        ],
      }) as unknown,
    });
    expect(JSON.stringify(sensors?.StorageDescriptor)).toContain('/curated/sensors/');
  });

  it('declares no dataset table by default, and the datasets it is given, in order', () => {
    const names = (datasets?: readonly DatasetDescription[]) => catalogOf(datasets).map((table) => table.Name as string).filter((name) => name.startsWith('curated_') && name !== 'curated_campaign_progress');
    expect(names()).toEqual([]);
    expect(names([SENSORS, ORDERS_DATASET])).toEqual(['curated_sensors', 'curated_orders']);
  });

  it("declares only the datasets' tables without dynalake's layout, and refuses a dataset declared twice", () => {
    const stack = new Stack(new App(), 'Stack');
    const catalog = new LakeCatalog(stack, 'Catalog', { databaseName: 'lake_db', lake: new Bucket(stack, 'Lake') });
    catalog.addDataset(SENSORS);
    expect(catalog.tables.map((table) => table.node.id)).toEqual(['curated_sensors']);
    expect(() => catalog.addDataset(SENSORS)).toThrow('Stack/Catalog: dataset sensors is declared twice');
  });

  it('refuses an unsound dataset at synth, with the catalog path', () => {
    expect(() => catalogOf([{ ...SENSORS, key: ['serial'] }])).toThrow('Stack/Catalog: dataset key[0] "serial" is read into no column: the lake could not tell two items apart');
  });
});
