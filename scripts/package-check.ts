/**
 * npm run test:package -- [--keep]
 *
 * dynalake as a user installs it: packs the package (npm pack, after a build), installs the
 * tarball into a fresh CDK app whose aws-cdk-lib is another minor than the one this repository
 * builds with (test/package/consumer/), type-checks that app against the package's declarations
 * and synthesizes both its apps with the CDK CLI, cdk-nag included: the whole dynalake app
 * (bin/app.ts) and a consumer's own sensors table in the lake (bin/sensors.ts). Prints the tarball's size and file count
 * and the install size of the library alone (the package and the dependencies it brings, without
 * the peer dependencies the app already has). --keep leaves the app's folder for a look.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCommandLine, runCli } from './lib/cli';

const ROOT = resolve(__dirname, '..');
const CONSUMER = join(ROOT, 'test', 'package', 'consumer');

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
}

interface LockPackage {
  readonly dev?: boolean;
  readonly peer?: boolean;
}

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/** Bytes of the files under `path`, following no links. */
function diskUsage(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, entry) => total + diskUsage(join(path, entry)), 0);
}

/**
 * The folders npm installed for dynalake alone in the consumer's lockfile: dynalake and every
 * package that only it pulls in (the app's own packages, aws-cdk-lib and the CLI among them, are
 * not dynalake's). A package both need counts as the app's.
 */
function libraryFolders(app: string): string[] {
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage & { dependencies?: Record<string, string> }> };
  const reach = (roots: readonly string[]): Set<string> => {
    const seen = new Set<string>();
    const queue = [...roots];
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const key = `node_modules/${name}`;
      if (seen.has(key) || !(key in lock.packages)) continue;
      seen.add(key);
      queue.push(...Object.keys(lock.packages[key]?.dependencies ?? {}));
    }
    return seen;
  };
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const others = reach(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => name !== 'dynalake'));
  return [...reach(['dynalake'])].filter((key) => !others.has(key));
}

function main(): number {
  const { values } = parseCommandLine('npm run test:package', () =>
    parseArgs({ options: { keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } }),
  );
  if (values.help) {
    console.log('npm run test:package -- [--keep]');
    return 0;
  }
  const work = mkdtempSync(join(tmpdir(), 'dynalake-package-'));
  try {
    console.log('::: build and pack');
    run('npm', ['run', 'build'], ROOT);
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as PackResult[];
    if (packed === undefined) throw new Error('npm pack reported no tarball');
    console.log(`tarball ${packed.filename}: ${packed.size.toLocaleString('en-US')} bytes, ${String(packed.entryCount)} files (${packed.unpackedSize.toLocaleString('en-US')} bytes unpacked)`);

    const app = join(work, 'app');
    cpSync(CONSUMER, app, { recursive: true });
    const manifestPath = join(app, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies: Record<string, string> };
    manifest.dependencies.dynalake = `file:${join(work, packed.filename)}`;
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const cdkVersion = manifest.dependencies['aws-cdk-lib'];
    const ownVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['aws-cdk-lib'];
    if (cdkVersion?.split('.')[1] === ownVersion?.split('.')[1]) throw new Error(`the consumer app must use another aws-cdk-lib minor than ${String(ownVersion)}`);

    console.log(`::: install into a fresh CDK app on aws-cdk-lib ${String(cdkVersion)} (dynalake builds with ${String(ownVersion)})`);
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], app);
    const copies = run('npm', ['ls', 'aws-cdk-lib', '--all', '--parseable'], app).trim().split('\n');
    if (copies.length !== 1) throw new Error(`aws-cdk-lib is installed ${String(copies.length)} times:\n${copies.join('\n')}`);
    const folders = libraryFolders(app);
    const librarySize = folders.reduce((total, folder) => total + diskUsage(join(app, folder)), 0);
    console.log(`library alone: ${(librarySize / 1024 / 1024).toFixed(1)} MiB installed in ${String(folders.length)} packages`);

    console.log('::: type-check the app against the package (tsc --noEmit)');
    run('npx', ['--no-install', 'tsc', '--noEmit', '-p', '.'], app);
    console.log('::: cdk synth (cdk-nag AwsSolutions on, any finding fails)');
    run('npx', ['--no-install', 'tsc', '-p', '.'], app);
    // (a) the whole dynalake app through the top-level entry; (b) a table of the consumer's own
    // (bin/sensors.ts, the README's example) streamed into the lake by the generic job.
    for (const [entry, output, expected] of [
      ['bin/app.js', 'cdk.out', 'dynalake-dev-pipeline.template.json'],
      ['bin/sensors.js', 'cdk.out.sensors', 'SensorsLake.template.json'],
    ] as const) {
      run('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '--app', `node ${entry}`, '--output', output], app);
      const stacks = readdirSync(join(app, output)).filter((file) => file.endsWith('.template.json'));
      console.log(`synthesized ${entry}: ${stacks.join(', ')}`);
      if (!stacks.includes(expected)) throw new Error(`cdk synth of ${entry} wrote no ${expected}`);
    }
    return 0;
  } finally {
    if (values.keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) runCli(() => Promise.resolve().then(main));
