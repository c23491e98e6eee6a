import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import type { CfnJob } from 'aws-cdk-lib/aws-glue';
import { parseConfig } from '../../../lib/config';
import { flattenString, type TemplateResource } from '../../../lib/deploy-rules';
import { PipelineStack } from '../../../lib/stacks/pipeline-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { DynalakeError } from '../../../lambda/shared/errors';

/**
 * How Glue lays out each job of the pipeline, read from the synthesized template, so the local
 * Spark runs a job exactly as Glue would: the script asset behind `Command.ScriptLocation`, and
 * each `--extra-py-files` object under its S3 name (a `.zip` is put on the path as it is, a
 * `.py` under its object name). A module shipped under the wrong name fails here as on Glue.
 */

const ROOT = resolve(__dirname, '..', '..', '..');

/** One job's files, laid out as Glue lays them out. */
export interface GlueJobLayout {
  /** The job's name in the template. */
  readonly jobName: string;
  /** The staged script asset. */
  readonly script: string;
  /** Each `--extra-py-files` object, as a local file named like its S3 object. */
  readonly extraPyFiles: readonly string[];
}

/** The layout of each job, by script name (`orders_to_lake`, …). */
export type GlueJobLayouts = Readonly<Record<string, GlueJobLayout>>;

interface AssetManifest {
  readonly files?: Record<string, { readonly source: { readonly path: string; readonly packaging?: string }; readonly destinations: Record<string, { readonly objectKey: string }> }>;
}

/** The S3 object name (last path segment) of a synthesized S3 URL. */
const objectName = (url: unknown): string => flattenString(url).trim().split('/').at(-1) ?? '';

/**
 * Synthesizes the pipeline (default configuration; assets do not depend on it, and the Lambda
 * bridges are not bundled) into `outDir` and lays out its Glue jobs there.
 * @param customize changes the pipeline stack before synthesis (tests: a job shipped another way).
 * @param python the Python that zips a folder asset, as CDK publishes it.
 */
export function synthesizedJobLayouts(outDir: string, python: string, customize: (pipeline: PipelineStack) => void = () => undefined): GlueJobLayouts {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const assemblyDir = mkdtempSync(join(outDir, 'assembly-'));
  const app = new App({ outdir: assemblyDir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig(cdkJson.context.dynalake);
  const storage = new StorageStack(app, 'local-storage', { config });
  const pipeline = new PipelineStack(app, 'local-pipeline', {
    config,
    tables: { orders: storage.orders.table, userCampaign: storage.userCampaign.table, campaignInfo: storage.campaignInfo.table, uploads: storage.uploads.table },
    buckets: { landing: storage.buckets.landing, lake: storage.buckets.lake, assets: storage.buckets.assets },
  });
  customize(pipeline);
  const assembly = app.synth();
  const artifact = assembly.getStackArtifact(pipeline.artifactId);
  const resources = (artifact.template as { Resources: Record<string, TemplateResource> }).Resources;
  const manifest = JSON.parse(readFileSync(join(assemblyDir, `${pipeline.artifactId}.assets.json`), 'utf8')) as AssetManifest;
  const staged = new Map<string, { path: string; packaging?: string }>();
  for (const file of Object.values(manifest.files ?? {})) {
    for (const destination of Object.values(file.destinations)) staged.set(destination.objectKey, { path: join(assemblyDir, file.source.path), packaging: file.source.packaging });
  }

  const filesDir = join(outDir, 'files');
  mkdirSync(filesDir); // outDir was emptied above
  const layOut = (name: string, what: string): string => {
    const asset = staged.get(name);
    if (!asset) throw new DynalakeError('BAD_INVOCATION', `${what} ${name} is no asset of the synthesized pipeline: the local Spark cannot lay it out`);
    const target = join(filesDir, name);
    // As cdk-assets publishes it: a folder asset (packaging zip) as a zip of its files, any other as it is.
    if (asset.packaging === 'zip') zipFolder(python, asset.path, target);
    else copyFileSync(asset.path, target);
    return target;
  };

  const layouts: Record<string, GlueJobLayout> = {};
  for (const [script, lakeJob] of Object.entries(pipeline.jobs)) {
    const logicalId = logicalIdOf(pipeline, lakeJob.job.node.defaultChild as CfnJob);
    const properties = resources[logicalId]?.Properties ?? {};
    const command = properties.Command as { ScriptLocation?: unknown } | undefined;
    const defaults = (properties.DefaultArguments ?? {}) as Record<string, unknown>;
    const extra = defaults['--extra-py-files'];
    layouts[script] = {
      jobName: flattenString(properties.Name),
      script: staged.get(objectName(command?.ScriptLocation))?.path ?? layOut(objectName(command?.ScriptLocation), `the script of ${script}`),
      extraPyFiles: extra === undefined ? [] : flattenString(extra).split(',').map((url) => layOut(objectName(url), `--extra-py-files of ${script}:`)),
    };
  }
  return layouts;
}

function logicalIdOf(stack: Stack, element: CfnJob): string {
  return stack.resolve(element.logicalId) as string;
}

/** Zips a folder with its files at the root, as CDK packages a folder asset. */
function zipFolder(python: string, folder: string, target: string): void {
  const zipped = spawnSync(python, ['-m', 'zipfile', '-c', target, ...readdirSync(folder)], { cwd: folder, encoding: 'utf8' });
  if (zipped.status !== 0) throw new DynalakeError('LOAD_FAILED', `could not zip ${folder}: ${zipped.stderr}`);
}
