import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnJob } from 'aws-cdk-lib/aws-glue';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { GLUE_SCRIPTS_DIR } from '../../../../lib/stacks/pipeline-stack';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../../../scripts/local/dynamodb';
import { type GlueJobLayouts, synthesizedJobLayouts } from '../../../../scripts/local/glue/job-layout';
import { LocalSpark, preparePython } from '../../../../scripts/local/glue/spark';
import { ensureBuckets, type LocalS3, startLocalS3 } from '../../../../scripts/local/s3';
import { describeWithSpark } from '../../../helpers/spark';

/**
 * The local Spark runs each job as the synthesized template lays it out on Glue (issue 13,
 * defect 1): the script asset, and `--extra-py-files` under their S3 object names. A helper module
 * shipped under a name `import` cannot find fails here, as it would on Glue. job-layout-files.test.ts
 * checks the files laid out, without Spark.
 */

describeWithSpark('Glue job layout, from the synthesized pipeline', () => {
  let scratch: string;
  let python: string;
  let layouts: GlueJobLayouts;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'dynalake-job-layout-'));
    python = preparePython();
    layouts = synthesizedJobLayouts(join(scratch, 'deployed'), python);
  }, 60_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  describe('a run', () => {
    let s3: LocalS3;
    let dynamodb: LocalDynamoDB;
    // One lake per Spark runner: each mirrors its own.
    const lakes = { zip: 'layout-lake-zip', hashed: 'layout-lake-hashed' } as const;
    const args = (lake: string) => ({ LAKE_BUCKET: lake, CURATED_PREFIX: 'curated/orders/', WAREHOUSE_PREFIX: 'warehouse/', STATE_PREFIX: 'state/sales_star_schema/', METRICS_NAMESPACE: 'dynalake-test' });
    const startSpark = (name: keyof typeof lakes, jobs: GlueJobLayouts) =>
      LocalSpark.start({ python, mirrorDir: join(scratch, name, 'mirror'), buckets: [lakes[name]], s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint, jobs });

    beforeAll(async () => {
      s3 = await startLocalS3();
      dynamodb = await startLocalDynamoDB();
      await ensureBuckets(s3.client, Object.values(lakes));
    });

    afterAll(async () => {
      await s3.close();
      await dynamodb.close();
    });

    it('imports the helper from the zip Glue would put on the path, and fails when the helper ships as a lone hashed .py', async () => {
      const spark = await startSpark('zip', layouts);
      try {
        const result = await spark.run('sales_star_schema', 'layout-star', args(lakes.zip));
        expect(result.summary).toMatch(/Spark/);
      } finally {
        await spark.close();
      }

      // The defect as it was: a single-file asset, which CDK names by its hash.
      const hashed = synthesizedJobLayouts(join(scratch, 'hashed'), python, (pipeline) => {
        const lone = new Asset(pipeline, 'LoneHelper', { path: join(GLUE_SCRIPTS_DIR, 'dynalake_glue.py') });
        (pipeline.jobs.sales_star_schema.job.node.defaultChild as CfnJob).addPropertyOverride('DefaultArguments.--extra-py-files', lone.s3ObjectUrl);
      });
      expect(hashed.sales_star_schema?.extraPyFiles[0]).toMatch(/\/[0-9a-f]{64}\.py$/);
      const broken = await startSpark('hashed', hashed);
      try {
        await expect(broken.run('sales_star_schema', 'layout-star', args(lakes.hashed))).rejects.toThrow(/No module named 'dynalake_glue'/);
      } finally {
        await broken.close();
      }
    }, 240_000);
  });
});
