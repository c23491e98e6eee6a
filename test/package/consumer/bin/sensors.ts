#!/usr/bin/env node
// A table of your own in the lake: sensor readings keyed by device and time, no fork, no Python.
import { App, Stack } from 'aws-cdk-lib';
import { AttributeType } from 'aws-cdk-lib/aws-dynamodb';
import { addComplianceChecks, type DatasetDescription, LakeBuckets, LakeCatalog, LakeDataset, StreamedTable } from 'dynalake';

const sensors: DatasetDescription = {
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

const app = new App();
addComplianceChecks(app);
const stack = new Stack(app, 'SensorsLake');
const buckets = new LakeBuckets(stack, 'Buckets');
const table = new StreamedTable(stack, 'Sensors', { partitionKey: { name: 'deviceId', type: AttributeType.STRING }, sortKey: { name: 'ts', type: AttributeType.STRING } });
const catalog = new LakeCatalog(stack, 'Catalog', { databaseName: 'sensors_lake', lake: buckets.lake });
new LakeDataset(stack, 'SensorsToLake', { dataset: sensors, table: table.table, buckets, catalog });
app.synth();
