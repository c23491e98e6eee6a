import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { CfnJob } from 'aws-cdk-lib/aws-glue';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { GLUE_SCRIPTS_DIR, type PipelineStack } from '../../../../lib/stacks/pipeline-stack';
import { type GlueJobLayouts, synthesizedJobLayouts } from '../../../../scripts/local/glue/job-layout';
import { thrownBy } from '../../../helpers/errors';

/**
 * The files the local Spark runs each job from, laid out as Glue lays them out from the
 * synthesized template (the script asset; `--extra-py-files` under their S3 object names), and
 * the clear refusals when a job ships something the layout cannot place. No Spark: any Python
 * zips the folder assets. job-layout.test.ts runs the jobs from these files on the local Spark.
 */

const ROOT = join(__dirname, '..', '..', '..', '..');
const PYTHON = 'python3';
const JOBS = ['orders_to_lake', 'campaign_progress', 'csv_to_dynamodb', 'sales_star_schema'] as const;

/** The file names in a zip. */
function zipEntries(zip: string): string[] {
  const listed = spawnSync(PYTHON, ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip], { encoding: 'utf8' });
  return listed.stdout.trim().split('\n');
}

/** Sets the `--extra-py-files` of the star-schema job (undefined: none). */
const extraPyFiles = (pipeline: PipelineStack, value: string | undefined) => {
  const job = pipeline.jobs.sales_star_schema.job.node.defaultChild as CfnJob;
  if (value === undefined) job.addPropertyDeletionOverride('DefaultArguments.--extra-py-files');
  else job.addPropertyOverride('DefaultArguments.--extra-py-files', value);
};

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dynalake-job-files-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the default pipeline', () => {
  let outDir: string;
  let layouts: GlueJobLayouts;
  const context = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  /** The context the pipeline saw: cdk.json's keys and the bundling one. */
  let seen: Record<string, unknown> = {};
  beforeAll(() => {
    outDir = join(scratch, 'deployed');
    mkdirSync(outDir);
    writeFileSync(join(outDir, 'stale.py'), 'left by an earlier run');
    layouts = synthesizedJobLayouts(outDir, PYTHON, (pipeline) => {
      seen = Object.fromEntries([...Object.keys(context), 'aws:cdk:bundling-stacks'].map((key) => [key, pipeline.node.tryGetContext(key) as unknown]));
    });
  }, 60_000);

  it("synthesizes with cdk.json's context, bundling no stack (no Lambda bridge is built), into an assembly folder inside the output folder", () => {
    expect(Object.keys(context).length).toBeGreaterThan(1);
    expect(seen).toEqual({ ...context, 'aws:cdk:bundling-stacks': [] });
    for (const job of JOBS) expect(layouts[job]?.script).toMatch(new RegExp(`^${outDir}/assembly-[^/]+/asset\\.[0-9a-f]{64}\\.py$`));
  });

  it('lays out every job of the pipeline, under the name the template gives it, in a folder emptied first', () => {
    expect(Object.keys(layouts).sort()).toEqual([...JOBS].sort());
    expect(Object.fromEntries(JOBS.map((job) => [job, layouts[job]?.jobName]))).toEqual(Object.fromEntries(JOBS.map((job) => [job, `dynalake-dev-${job.replaceAll("_", "-")}`])));
    expect(existsSync(join(outDir, 'stale.py'))).toBe(false);
  });

  it.each(JOBS)('runs %s from its script asset, with the helper module in a zip at its root', (job) => {
    const layout = layouts[job];
    // A dataset's job (orders_to_lake) runs the generic CDC merge; every other job its own script.
    const script = job === 'orders_to_lake' ? 'dataset_to_lake' : job;
    expect(readFileSync(layout?.script ?? '', 'utf8')).toBe(readFileSync(join(GLUE_SCRIPTS_DIR, `${script}.py`), 'utf8'));
    expect(layout?.extraPyFiles).toHaveLength(1);
    const [zip] = layout?.extraPyFiles ?? [];
    expect(zip).toMatch(new RegExp(`^${outDir}/files/[0-9a-f]{64}\\.zip$`));
    expect(zipEntries(zip ?? '')).toEqual(['dynalake_glue.py']);
  });
});

describe('a job shipped another way', () => {
  const layOut = (name: string, customize: (pipeline: PipelineStack) => void) => synthesizedJobLayouts(join(scratch, name), PYTHON, customize);

  it('puts a single-file helper under its hashed object name, and each of several files in order, spaces around them ignored', () => {
    const layouts = layOut('hashed', (pipeline) => {
      const lone = new Asset(pipeline, 'LoneHelper', { path: join(GLUE_SCRIPTS_DIR, 'dynalake_glue.py') });
      const zipped = new Asset(pipeline, 'ZippedHelper', { path: GLUE_SCRIPTS_DIR });
      extraPyFiles(pipeline, ` ${lone.s3ObjectUrl} ,\n${zipped.s3ObjectUrl} `);
    });
    const [lone, zipped, ...more] = layouts.sales_star_schema?.extraPyFiles ?? [];
    expect(more).toEqual([]);
    expect(basename(lone ?? '')).toMatch(/^[0-9a-f]{64}\.py$/);
    expect(readFileSync(lone ?? '', 'utf8')).toBe(readFileSync(join(GLUE_SCRIPTS_DIR, 'dynalake_glue.py'), 'utf8'));
    expect(basename(zipped ?? '')).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(zipEntries(zipped ?? '')).toContain('sales_star_schema.py');
  }, 60_000);

  it('lays out no extra files for a job without --extra-py-files, in an output folder made with its parents', () => {
    expect(layOut(join('not', 'yet', 'none'), (pipeline) => extraPyFiles(pipeline, undefined)).sales_star_schema?.extraPyFiles).toEqual([]);
  }, 60_000);

  it('refuses an --extra-py-files object that is no asset of the pipeline, naming the job and the object', () => {
    expect(thrownBy(() => layOut('foreign', (pipeline) => extraPyFiles(pipeline, 's3://elsewhere/libs/helpers.zip')))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: '--extra-py-files of sales_star_schema: helpers.zip is no asset of the synthesized pipeline: the local Spark cannot lay it out',
    });
  }, 60_000);

  it('refuses a script that is no asset of the pipeline', () => {
    const customize = (pipeline: PipelineStack) => (pipeline.jobs.sales_star_schema.job.node.defaultChild as CfnJob).addPropertyOverride('Command.ScriptLocation', 's3://elsewhere/scripts/star.py');
    expect(thrownBy(() => layOut('foreign-script', customize))).toMatchObject({
      code: 'BAD_INVOCATION',
      message: 'the script of sales_star_schema star.py is no asset of the synthesized pipeline: the local Spark cannot lay it out',
    });
  }, 60_000);

  it('fails with the folder when its zip cannot be made', () => {
    expect(thrownBy(() => synthesizedJobLayouts(join(scratch, 'no-zip'), 'false'))).toMatchObject({ code: 'LOAD_FAILED', message: expect.stringMatching(/^could not zip .*asset\.[0-9a-f]{64}: $/) as unknown });
  }, 60_000);
});
