import { BUILT_IN_DATASETS, cdcPrefix, curatedTablePrefix, DATASET_NAME, exportPrefix, glueTempPrefix, jobStatePrefix, PREFIXES, UPLOAD_FILTER, UPLOADS_DATASET } from '../../../lambda/shared/layout';

/**
 * The bucket layout is the layout of deployed data: a prefix that moves orphans what the buckets
 * hold (change objects not merged, the jobs' state, the lake itself), so its every name is pinned.
 */
describe('the bucket layout shared by lib/, lambda/ and scripts/', () => {
  it('keeps each top-level folder where deployed data already is', () => {
    expect(PREFIXES).toEqual({
      raw: 'raw/',
      cdc: 'cdc/',
      curated: 'curated/',
      state: 'state/',
      warehouse: 'warehouse/',
      dynamodbExports: 'dynamodb-exports/',
      glueTemp: 'glue-temp/',
      athenaResults: 'athena-results/',
    });
  });

  it('puts each dataset and job in a folder of its own under its top-level folder', () => {
    expect(cdcPrefix('sensors')).toBe('cdc/sensors/');
    expect(curatedTablePrefix('sensors')).toBe('curated/sensors/');
    expect(jobStatePrefix('sensors_to_lake')).toBe('state/sensors_to_lake/');
    expect(exportPrefix('sensors')).toBe('dynamodb-exports/sensors/');
    expect(glueTempPrefix('sensors_to_lake')).toBe('glue-temp/sensors_to_lake/');
  });

  it('names the built-in datasets as their change objects and tables are named, each a dataset name', () => {
    expect(BUILT_IN_DATASETS).toEqual({ orders: 'orders', userCampaign: 'user_Campaign', campaignInfo: 'campaignInfo' });
    for (const name of Object.values(BUILT_IN_DATASETS)) expect(name).toMatch(DATASET_NAME);
    expect(UPLOADS_DATASET).toBe('uploads');
  });

  it('starts an upload run for CSV files under raw/ by default', () => {
    expect(UPLOAD_FILTER).toEqual({ prefix: 'raw/', suffix: '.csv' });
  });
});
