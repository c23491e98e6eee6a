/**
 * npm run bench:synth -- [--runs N]
 *
 * How long `cdk synth` of this app takes against its floor, through the same CDK CLI on the same
 * machine, runs interleaved so that both see the same load:
 *   - the app: `npx cdk synth --quiet` as users run it (cdk.json's app, with cdk-nag, the deploy
 *     rules and CloudFormation validation on), its templates unchanged since the last synth: the
 *     handlers' bundles and the validation of its templates come from their caches;
 *   - the app after an edit: the same, with a validation cache that holds only its record of the
 *     app's resource types (for which the engine is started early), so both templates are
 *     validated again, as after a change that touches both stacks (an edit that touches one
 *     costs between the two);
 *   - the floor: a CDK app of one S3 bucket with the same cdk.json context (feature flags,
 *     validation included), in JavaScript (nothing to compile): what any app of this CDK pays.
 * Prints the median of --runs synths of each and their ratios (issue 19: 1.5× or less), then where
 * the app's time goes, from one instrumented run in this process' child: loading the code, building
 * the constructs (the handlers' bundling happens there), and app.synth() (aspects, cdk-nag,
 * CloudFormation validation, writing the assembly).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VALIDATION_RESOURCE_TYPES_FILE, validationCacheDir } from '../../lib/validation-cache';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';

const ROOT = join(__dirname, '..', '..');
/** This project's CDK CLI, for both apps. */
const CDK_CLI = join(ROOT, 'node_modules', '.bin', 'cdk');

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * One `cdk synth --quiet` into a fresh folder, timed; throws with cdk's output when it fails.
 * With `freshValidation`, the app's validation cache is an empty folder (every template validated).
 */
function timedSynth(cwd: string, { freshValidation = false } = {}): number {
  const outdir = mkdtempSync(join(tmpdir(), 'dynalake-bench-synth-'));
  const validationCache = mkdtempSync(join(tmpdir(), 'dynalake-bench-validation-'));
  // An edit leaves the cache's record of the app's resource types, which the engine is started for.
  const resourceTypes = join(validationCacheDir(cwd), VALIDATION_RESOURCE_TYPES_FILE);
  if (freshValidation && existsSync(resourceTypes)) copyFileSync(resourceTypes, join(validationCache, VALIDATION_RESOURCE_TYPES_FILE));
  const env = freshValidation ? { ...process.env, DYNALAKE_VALIDATION_CACHE: validationCache } : process.env;
  try {
    const started = performance.now();
    const result = spawnSync(CDK_CLI, ['synth', '--quiet', '--no-notices', '--output', outdir], { cwd, encoding: 'utf8', env });
    const elapsed = performance.now() - started;
    if (result.status !== 0) throw new Error(`cdk synth in ${cwd} exited ${String(result.status)}:\n${result.stdout}${result.stderr}`);
    return elapsed;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(validationCache, { recursive: true, force: true });
  }
}

/** The floor app in a folder of its own: one bucket, this project's aws-cdk-lib and cdk.json context. */
function writeFloorApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dynalake-synth-floor-'));
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const { dynalake: _dynalake, ...flags } = context;
  writeFileSync(join(dir, 'cdk.json'), JSON.stringify({ app: 'node app.js', context: flags }, null, 2));
  const cdk = JSON.stringify(require.resolve('aws-cdk-lib', { paths: [ROOT] }));
  const s3 = JSON.stringify(require.resolve('aws-cdk-lib/aws-s3', { paths: [ROOT] }));
  writeFileSync(join(dir, 'app.js'), `const cdk = require(${cdk});\nconst s3 = require(${s3});\nconst app = new cdk.App();\nnew s3.Bucket(new cdk.Stack(app, 'Floor'), 'Bucket');\napp.synth();\n`);
  return dir;
}

/** The V8 and Node flags of cdk.json's app command (`node --flag … -r hook bin/app.ts`). */
function appNodeFlags(): string[] {
  const { app } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { app: string };
  return app.split(/\s+/).filter((word) => word.startsWith('--'));
}

/** The app's phases, timed in a child process as the CLI would run it (same context and flags, the swc hook). */
function phases(): Record<string, number> {
  const outdir = mkdtempSync(join(tmpdir(), 'dynalake-bench-phases-'));
  const script = `
    const started = performance.now();
    const { App } = require('aws-cdk-lib');
    const { buildDynalakeApp } = require('./lib/app');
    const { useCachedValidation } = require('./lib/validation-cache');
    const loaded = performance.now();
    const { context } = require('./cdk.json');
    const app = new App({ outdir: ${JSON.stringify(outdir)}, context });
    useCachedValidation(app, { startEngineEarly: true });
    buildDynalakeApp(app);
    const built = performance.now();
    app.synth();
    const synthesized = performance.now();
    console.log(JSON.stringify({ 'load the code (the swc hook, aws-cdk-lib, cdk-nag)': loaded - started, 'build the constructs (bundling the handlers included)': built - loaded, 'app.synth() (aspects, cdk-nag, validation, assembly)': synthesized - built }));`;
  try {
    const result = spawnSync(process.execPath, [...appNodeFlags(), '-r', './scripts/lib/swc-register.js', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`the instrumented synth failed:\n${result.stderr}`);
    const last = result.stdout.trim().split('\n').at(-1) ?? '{}';
    return JSON.parse(last) as Record<string, number>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:synth', () => parseArgs({ args: process.argv.slice(2), options: { runs: { type: 'string' } }, strict: true }));
  const runs = integerOption('runs', values.runs, 1) ?? 5;
  const floorDir = writeFloorApp();
  const app: number[] = [];
  const edited: number[] = [];
  const floor: number[] = [];
  try {
    console.log(`cdk synth --quiet, ${String(runs)} runs each, interleaved (the first run of each warms the CLI, the file cache and the app's caches and is not counted)`);
    timedSynth(floorDir);
    timedSynth(ROOT);
    for (let run = 1; run <= runs; run++) {
      floor.push(timedSynth(floorDir));
      app.push(timedSynth(ROOT));
      edited.push(timedSynth(ROOT, { freshValidation: true }));
      console.log(`  run ${String(run)}: floor ${seconds(floor.at(-1) ?? 0)}, app ${seconds(app.at(-1) ?? 0)}, app after an edit ${seconds(edited.at(-1) ?? 0)}`);
    }
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }
  console.log(`\nfloor (one bucket, the same CDK context): median ${seconds(median(floor))}`);
  console.log(`app (dynalake, cdk-nag and validation on, templates unchanged): median ${seconds(median(app))}, ${(median(app) / median(floor)).toFixed(2)}× the floor (target 1.5× or less)`);
  console.log(`app after an edit (both templates validated again): median ${seconds(median(edited))}, ${(median(edited) / median(floor)).toFixed(2)}× the floor`);
  console.log('\nwhere the app spends its time (one instrumented run, outside the CLI):');
  for (const [phase, ms] of Object.entries(phases())) console.log(`  ${seconds(ms).padStart(8)}  ${phase}`);
  return Promise.resolve(0);
}

runCli(main);
