/**
 * npm run test:mutation -- [module ...] [--full]
 *
 * Mutation testing (StrykerJS with its Jest runner) of the modules where a silent change costs
 * data: each module is mutated alone and tested only by its own test files, so a run costs what
 * those tests cost, not the whole suite. Incremental by default: Stryker's state per module is
 * committed in test/mutation/<module>.incremental.json, and a run only tests the mutants whose
 * code or covering tests changed since (commit the updated state with the change). --full
 * ignores the state and tests every mutant again.
 *
 * --mutate <file> narrows a run to one file of a module (a quick check while killing its
 * survivors): it starts from the module's committed state but keeps its own, so the committed state
 * is only ever written by whole-module runs.
 *
 * Prints the score per module (killed and timed-out mutants over all valid ones) and each
 * surviving mutant not listed in test/mutation/equivalent.json with the reason it is equivalent;
 * fails when a module scores under its threshold.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { parseCommandLine, runCli } from './lib/cli';
import { textTable } from './lib/text-table';

const ROOT = resolve(__dirname, '..');
const STATE_DIR = join(ROOT, 'test', 'mutation');
const REPORT_DIR = join(ROOT, 'reports', 'mutation');
/** The score every module must reach (issue 15). */
export const MINIMUM_SCORE = 80;

export interface MutationModule {
  readonly name: string;
  /** Files Stryker mutates (globs from the repository root). */
  readonly mutate: readonly string[];
  /** The test files that run against each mutant (Jest testMatch globs). */
  readonly tests: readonly string[];
}

/** The DuckDB twins of the Glue jobs and their SQL helpers. */
const LOCAL_TWINS = ['duckdb', 'dataset-to-lake', 'campaign-progress', 'csv-to-dynamodb', 'sales-star-schema'].map((name) => `scripts/local/glue/${name}.ts`);
/** The change objects' byte scanner: its tables and names are module-level, and its loops time out when mutated. */
const CHANGE_SUMMARY = 'scripts/local/glue/change-summary.ts';

export const MODULES: readonly MutationModule[] = [
  { name: 'config', mutate: ['lib/config.ts'], tests: ['**/test/lib/config.test.ts'] },
  // Its own unit tests: compliance.test.ts and pipeline-nag.test.ts, which prove the same rules on whole-app synths, take a minute per mutant.
  { name: 'nag', mutate: ['lib/nag.ts'], tests: ['**/test/lib/nag.test.ts'] },
  { name: 'lambda', mutate: ['lambda/**/*.ts'], tests: ['**/test/lambda/**/*.test.ts'] },
  { name: 'seed', mutate: ['scripts/seed/**/*.ts'], tests: ['**/test/scripts/seed/**/*.test.ts', '**/test/scripts/seed.test.ts'] },
  // scripts/local/glue/ in two: the DuckDB twins' SQL lives in module-level constants, whose
  // (static) mutants each run every test of the module, so the twins are a module of their own.
  {
    name: 'local-glue',
    mutate: ['scripts/local/glue/**/*.ts', ...[...LOCAL_TWINS, CHANGE_SUMMARY].map((file) => `!${file}`)],
    // job-layout.test.ts runs the jobs on the local Spark of .venv/, which the sandbox does not copy.
    tests: ['**/test/scripts/local/glue/*.test.ts', '!**/test/scripts/local/glue/job-layout.test.ts'],
  },
  // Only the twins' own tests: the launcher's, layout's and state's tests never run a twin, and a
  // static mutant of the twins' SQL runs every test of the module.
  { name: 'local-twins', mutate: LOCAL_TWINS, tests: LOCAL_TWINS.map((file) => `**/test/${file.replace(/\.ts$/, '.test.ts')}`) },
  // Its own tests only (a second): each of its static mutants would otherwise run every test of
  // local-glue (75 s), and each loop mutant that never ends waits out its timeout on them.
  { name: 'change-summary', mutate: [CHANGE_SUMMARY], tests: [`**/test/${CHANGE_SUMMARY.replace(/\.ts$/, '.test.ts')}`] },
];

interface EquivalentMutant {
  readonly file: string;
  readonly line: number;
  readonly mutator: string;
  readonly replacement: string;
  readonly reason: string;
}

interface ReportMutant {
  readonly mutatorName: string;
  readonly statusReason?: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: { readonly start: { readonly line: number } };
}

interface Report {
  readonly files: Readonly<Record<string, { readonly mutants: readonly ReportMutant[] }>>;
}

export interface ModuleScore {
  readonly module: string;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly timeout: number;
  /** Detected (killed or timed out) over valid (detected, survived, not covered), in percent. */
  readonly score: number;
  readonly unexplained: readonly string[];
}

/** The Stryker options of one module's run. */
export function strykerConfig(module: MutationModule, full: boolean, incrementalFile = join(STATE_DIR, `${module.name}.incremental.json`)): Record<string, unknown> {
  const packageJest = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { jest: Record<string, unknown> }).jest;
  return {
    testRunner: 'jest',
    // Every test of the module runs in the dry run: Jest's related-test search found none for a new import-only module (lambda/shared/layout.ts), whose mutants then survived untested.
    jest: { projectType: 'custom', enableFindRelatedTests: false, config: { ...packageJest, testMatch: module.tests, collectCoverageFrom: undefined, coverageThreshold: undefined } },
    coverageAnalysis: 'perTest',
    mutate: module.mutate,
    incremental: true,
    force: full,
    incrementalFile, // compacted after the run (compactIncrementalState)
    ignorePatterns: ['.venv', '.tools', 'cdk.out', 'coverage', 'dist', '.dynalake', 'data/*.csv', 'reports'],
    concurrency: 2,
    // Generous, so that a mutant slowed by a busy machine is not counted as detected (a timeout counts as killed).
    timeoutMS: 15_000,
    timeoutFactor: 3,
    reporters: ['progress', 'json'],
    jsonReporter: { fileName: join(REPORT_DIR, `${module.name}.json`) },
    tempDirName: '.stryker-tmp',
    cleanTempDir: 'always',
  };
}

/**
 * Stryker's incremental state with each mutant's statusReason cut to its first line: the failure
 * messages (whole diffs and stacks) are nine tenths of the file and the next run does not need
 * them; the JSON report under reports/mutation/ keeps them whole.
 */
export function compactIncrementalState(state: Report): Report {
  const files = Object.fromEntries(
    Object.entries(state.files).map(([file, entry]) => [
      file,
      { ...entry, mutants: entry.mutants.map((mutant) => (mutant.statusReason === undefined ? mutant : { ...mutant, statusReason: firstLine(mutant.statusReason) })) },
    ]),
  );
  return { ...state, files };
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** One module's score from its Stryker JSON report; equivalent mutants listed with a reason are not survivors. */
export function moduleScore(module: string, report: Report, equivalent: readonly EquivalentMutant[]): ModuleScore {
  const counts = { Killed: 0, Survived: 0, NoCoverage: 0, Timeout: 0 };
  const unexplained: string[] = [];
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const mutant of mutants) {
      const isEquivalent = equivalent.some(
        (entry) => entry.file === file && entry.line === mutant.location.start.line && entry.mutator === mutant.mutatorName && entry.replacement === (mutant.replacement ?? ''),
      );
      if (mutant.status in counts) counts[mutant.status as keyof typeof counts] += isEquivalent && mutant.status === 'Survived' ? 0 : 1;
      if ((mutant.status === 'Survived' || mutant.status === 'NoCoverage') && !isEquivalent) {
        unexplained.push(`${file}:${mutant.location.start.line} ${mutant.mutatorName} → ${JSON.stringify(mutant.replacement ?? '')} (${mutant.status})`);
      }
    }
  }
  const detected = counts.Killed + counts.Timeout;
  const valid = detected + counts.Survived + counts.NoCoverage;
  return {
    module,
    killed: counts.Killed,
    survived: counts.Survived,
    noCoverage: counts.NoCoverage,
    timeout: counts.Timeout,
    score: valid === 0 ? 100 : Math.floor((detected / valid) * 10_000) / 100,
    unexplained,
  };
}

function main(): number {
  const { values, positionals } = parseCommandLine('npm run test:mutation', () =>
    parseArgs({
      options: { full: { type: 'boolean', default: false }, mutate: { type: 'string' }, help: { type: 'boolean', default: false } },
      allowPositionals: true,
    }),
  );
  if (values.help) {
    console.log(`npm run test:mutation -- [${MODULES.map((module) => module.name).join(' | ')} ...] [--full] [--mutate <file of one module>]`);
    return 0;
  }
  const unknown = positionals.filter((name) => !MODULES.some((module) => module.name === name));
  if (unknown.length > 0) throw new DynalakeError('BAD_INVOCATION', `no mutation module ${unknown.join(', ')}: one of ${MODULES.map((module) => module.name).join(', ')}`);
  const named = positionals.length === 0 ? MODULES : MODULES.filter((module) => positionals.includes(module.name));
  const narrowed = values.mutate;
  if (narrowed !== undefined && named.length !== 1) throw new DynalakeError('BAD_INVOCATION', '--mutate narrows the run of one module: name that module');
  const selected = narrowed === undefined ? named : named.map((module) => ({ ...module, mutate: [narrowed] }));
  const equivalent = JSON.parse(readFileSync(join(STATE_DIR, 'equivalent.json'), 'utf8')) as { mutants: EquivalentMutant[] };
  mkdirSync(join(ROOT, '.stryker-tmp'), { recursive: true });
  mkdirSync(REPORT_DIR, { recursive: true });
  const scores: ModuleScore[] = [];
  for (const module of selected) {
    const configFile = join(ROOT, '.stryker-tmp', `${module.name}.config.json`);
    const stateFile = narrowed === undefined ? join(STATE_DIR, `${module.name}.incremental.json`) : join(REPORT_DIR, `${module.name}.narrowed.incremental.json`);
    if (narrowed !== undefined) copyFileSync(join(STATE_DIR, `${module.name}.incremental.json`), stateFile);
    writeFileSync(configFile, `${JSON.stringify(strykerConfig(module, values.full, stateFile), null, 2)}\n`);
    console.log(`\n::: mutation testing ${module.name} (${module.mutate.join(', ')})`);
    const run = spawnSync('npx', ['--no-install', 'stryker', 'run', configFile], { cwd: ROOT, stdio: 'inherit' });
    if (run.status !== 0) {
      console.error(`stryker failed on ${module.name} (exit ${String(run.status)})`);
      return 1;
    }
    writeFileSync(stateFile, `${JSON.stringify(compactIncrementalState(JSON.parse(readFileSync(stateFile, 'utf8')) as Report), null, 2)}\n`);
    scores.push(moduleScore(module.name, JSON.parse(readFileSync(join(REPORT_DIR, `${module.name}.json`), 'utf8')) as Report, equivalent.mutants));
  }
  console.log(`\n${textTable(['module', 'score %', 'killed', 'timeout', 'survived', 'noCoverage'], scores.map((score) => ({ ...score, 'score %': score.score.toFixed(2) })))}`);
  for (const score of scores) {
    if (score.unexplained.length > 0) console.log(`\n${score.module}: ${score.unexplained.length} surviving mutants neither killed nor listed as equivalent:\n  ${score.unexplained.join('\n  ')}`);
  }
  const under = scores.filter((score) => score.score < MINIMUM_SCORE);
  if (under.length > 0) {
    console.error(`mutation score under ${MINIMUM_SCORE}%: ${under.map((score) => `${score.module} ${score.score.toFixed(2)}%`).join(', ')}`);
    return 1;
  }
  return 0;
}

if (require.main === module) runCli(() => Promise.resolve().then(main));
