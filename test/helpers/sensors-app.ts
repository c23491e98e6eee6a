import { App, Stack } from 'aws-cdk-lib';
import { AttributeType } from 'aws-cdk-lib/aws-dynamodb';
import { LakeBuckets } from '../../lib/constructs/lake-buckets';
import { LakeCatalog } from '../../lib/constructs/lake-catalog';
import { LakeDataset, type LakeDatasetProps } from '../../lib/constructs/lake-dataset';
import { StreamedTable } from '../../lib/constructs/streamed-table';
import type { DatasetDescription } from '../../lib/dataset';

/** A consumer's table, as test/package/consumer/bin/sensors.ts (the README's example) declares it. */
export const SENSORS: DatasetDescription = {
  name: 'sensors',
  key: ['deviceId', 'ts'],
  columns: [
    { name: 'device_id', attribute: 'deviceId', type: 'string' },
    { name: 'ts', attribute: 'ts', type: 'timestamp', format: "yyyy-MM-dd'T'HH:mm:ss.SSS" },
    { name: 'temperature', attribute: 'temperature', type: 'decimal(5,2)' },
    { name: 'battery', attribute: 'battery', type: 'int', emptyIsNull: true },
  ],
  partition: { column: 'reading_day', attribute: 'day', firstDay: '2026-01-01' },
};

/** The consumer's stack, as that app builds it: buckets, a streamed table, a catalog and the dataset, nothing else. */
export function sensorsLake(app: App = new App(), overrides: (stack: Stack) => Partial<LakeDatasetProps> = () => ({})) {
  const stack = new Stack(app, 'SensorsLake');
  const buckets = new LakeBuckets(stack, 'Buckets');
  const table = new StreamedTable(stack, 'Sensors', { partitionKey: { name: 'deviceId', type: AttributeType.STRING }, sortKey: { name: 'ts', type: AttributeType.STRING } });
  const catalog = new LakeCatalog(stack, 'Catalog', { databaseName: 'sensors_lake', lake: buckets.lake });
  const dataset = new LakeDataset(stack, 'SensorsToLake', { dataset: SENSORS, table: table.table, buckets, catalog, ...overrides(stack) });
  return { stack, dataset };
}
