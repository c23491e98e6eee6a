/**
 * npm run diff -- --base REF [options]: synthesizes the base ref and the head (the working tree by
 * default) offline, diffs every stack's template and prints the review: security changes first,
 * then replacements and deletions, the rest, and asset-only changes in one line. The work lives in
 * scripts/diff/; this file reads the command line, writes the report and maps the outcome to an
 * exit code.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { classify, FAIL_ON, type FailOn, failsOn } from './diff/classify';
import { FORMATS, type Format, render, summaryLine } from './diff/render';
import { cleanUpNow, DEFAULT_CACHE_DIR, findRepository, prepareRef, type PreparedRef, resolveRef, type SynthOptions, synthesizeWorkingTree } from './diff/synth';
import { parseCommandLine, runCli } from './lib/cli';

/** Exit status when the diff worked and its changes cross the --fail-on threshold. */
export const EXIT_FAILED_CHECK = 3;

const HELP = `Usage: npm run diff -- --base REF [options]

Synthesizes the CDK app at REF (in a temporary git worktree) and the head (the working tree, or
--head REF), offline and with no AWS credentials, and diffs every stack's template with
@aws-cdk/cloudformation-diff (the engine of cdk diff). The report starts with a one-line summary,
then: security changes (IAM statements, managed policies, security groups), replacements and
deletions (tables, buckets and other stateful resources marked ⚠ STATEFUL), the other changes, and
one line for the resources whose only change is an asset hash (a Lambda's code, a Glue script).

  --base REF           what the changes are measured against, e.g. origin/main (required)
  --head REF           the changed side (default: the working tree, uncommitted changes included)
  --format F           text | markdown (default text; markdown is what CI posts on pull requests)
  --fail-on LEVEL      when to exit ${String(EXIT_FAILED_CHECK)} (default destructive); each level includes the one before:
                         never        never
                         destructive  a stateful resource (table, bucket, key, log group…) would be
                                      replaced, possibly replaced, deleted, or orphaned by Retain
                         security     also: permissions broadened (statements or managed policies
                                      added, denials removed, security-group rules added)
                         any          any change at all
  --output PATH        write the report to PATH instead of stdout
  --cache-dir DIR      where the base's dependencies are installed when its package-lock.json is not
                       the working tree's: DIR/<sha256 of the lock file>/node_modules, made by npm ci
                       once and reused; a node_modules (or a symlink to one) put there by hand is
                       used as it is (default ${DEFAULT_CACHE_DIR}, or $DYNALAKE_DIFF_CACHE_DIR)
  -h, --help           this text

Nothing is deployed and no AWS account is needed: AWS_* and CDK_* variables, credential files and
instance metadata are kept from the synth. With the same package-lock.json on both sides, the base
uses the working tree's node_modules. Progress goes to stderr, the report to stdout (or --output).

Exit status: 0 no change crosses --fail-on, ${String(EXIT_FAILED_CHECK)} a change does (the report is written either way),
1 the diff could not be made (git worktree, npm ci or cdk synth failed), 2 bad invocation (unknown
option or value, a ref that is not a commit), 130 stopped by Ctrl-C (worktrees are removed).`;

const OPTIONS = {
  base: { type: 'string' },
  head: { type: 'string' },
  format: { type: 'string' },
  'fail-on': { type: 'string' },
  output: { type: 'string' },
  'cache-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function oneOf<T extends string>(option: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new DynalakeError('BAD_INVOCATION', `--${option}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('npm run diff', () => parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true, allowPositionals: true }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new DynalakeError('BAD_INVOCATION', `unexpected argument ${JSON.stringify(positionals[0])}: refs go after --base or --head (see npm run diff -- --help)`);
  if (values.base === undefined || values.base === '') throw new DynalakeError('BAD_INVOCATION', '--base REF is required, e.g. --base origin/main (see npm run diff -- --help)');
  const format: Format = oneOf('format', values.format, FORMATS, 'text');
  const failOn: FailOn = oneOf('fail-on', values['fail-on'], FAIL_ON, 'destructive');

  const options: SynthOptions = {
    appDir: process.cwd(),
    cacheDir: values['cache-dir'] ?? process.env.DYNALAKE_DIFF_CACHE_DIR ?? DEFAULT_CACHE_DIR,
    log: (line) => {
      console.error(line);
    },
  };
  const repository = findRepository(options.appDir);
  const base = resolveRef(repository, 'base', values.base);
  const head = values.head === undefined ? undefined : resolveRef(repository, 'head', values.head);

  const onSignal = () => {
    console.error('\ndiff: stopped; removing the worktrees');
    cleanUpNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const prepared: PreparedRef[] = [];
  try {
    // One after the other: two npm ci into the same cache entry would race.
    prepared.push(await prepareRef(repository, base, options));
    if (head !== undefined) prepared.push(await prepareRef(repository, head, options));
    const [baseSynth, headSynth] = await Promise.allSettled([prepared[0]?.synthesize(), prepared[1]?.synthesize() ?? synthesizeWorkingTree(options)]);
    if (baseSynth.status === 'rejected') throw baseSynth.reason;
    if (headSynth.status === 'rejected') throw headSynth.reason;
    const [baseApp, headApp] = [baseSynth.value, headSynth.value];
    if (baseApp === undefined) throw new Error('the base was not prepared');

    const report = classify(baseApp, headApp);
    const text = render(report, format);
    if (values.output === undefined) process.stdout.write(text);
    else {
      writeFileSync(values.output, text);
      console.error(summaryLine(report));
    }
    const failed = failsOn(report, failOn);
    if (failed) console.error(`diff: exit ${String(EXIT_FAILED_CHECK)}: changes cross --fail-on ${failOn}`);
    return failed ? EXIT_FAILED_CHECK : 0;
  } finally {
    for (const side of prepared) side.discard();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) runCli(main);
