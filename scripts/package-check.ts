/**
 * npm run test:package -- [--keep]
 *
 * dynalake as a user installs it: packs the package (npm pack, after a build), installs the
 * tarball into a fresh CDK app whose aws-cdk-lib is another minor than the one this repository
 * builds with (test/package/consumer/), type-checks that app against the package's declarations
 * and synthesizes both its apps with the CDK CLI, cdk-nag included: the whole dynalake app
 * (bin/app.ts) and a consumer's own sensors table in the lake (bin/sensors.ts). Then runs the
 * installed dynalake-local command on the sensors app: readings written to its embedded DynamoDB
 * reach the lake table, and a delete leaves it. Prints the tarball's size and file count
 * and the install size of the library alone (the package and the dependencies it brings, without
 * the peer dependencies the app already has). --keep leaves the app's folder for a look.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { watchOutput } from './lib/child-output';
import { parseCommandLine, runCli } from './lib/cli';
import { localClient } from './local/dynamodb';

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

/** `promise`, or a failure naming `what` after `seconds`. */
async function within<T>(seconds: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${String(seconds)} s`)), seconds * 1000)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The installed dynalake-local on the sensors assembly, every second: two readings put into the
 * embedded DynamoDB it prints reach curated_sensors, then a delete leaves one row; Ctrl-C stops it
 * with exit 0.
 */
async function runLocalCommand(app: string, assembly: string): Promise<void> {
  const child = spawn(join(app, 'node_modules', '.bin', 'dynalake-local'), ['--assembly', assembly, '--every', '1', '--state', join(app, '.dynalake-datasets')], {
    cwd: app,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const output = watchOutput(child, 'dynalake-local');
  const closed = new Promise<number | null>((resolveClose) => child.once('close', resolveClose));
  try {
    const [, endpoint = ''] = await within(60, 'dynalake-local start', output.printed(/^DynamoDB (http:\/\/\S+),/m));
    const client = localClient(endpoint);
    const key = (ts: string) => ({ deviceId: { S: 'dev-1' }, ts: { S: ts } });
    for (const ts of ['2026-05-01T08:00:00.000', '2026-05-02T08:00:00.000']) {
      await client.send(new PutItemCommand({ TableName: 'SensorsLake-sensors', Item: { ...key(ts), temperature: { N: '20.25' }, battery: { S: '90' }, day: { S: ts.slice(0, 10) } } }));
    }
    // One pass or two, as the writes fall between them.
    await within(60, 'two readings into curated_sensors', output.printed(/^sensors: .*; merge: 1 change object, [12] records?, [12] keys? \([12] upserts?, 0 removes\);.*; curated_sensors: 2 rows$/m));
    await client.send(new DeleteItemCommand({ TableName: 'SensorsLake-sensors', Key: key('2026-05-01T08:00:00.000') }));
    await within(60, 'a delete out of curated_sensors', output.printed(/^sensors: 1 change record → 1 object in cdc\/sensors\/; merge: 1 change object, 1 record, 1 key \(0 upserts, 1 remove\);.*; curated_sensors: 1 row$/m));
    client.destroy();
    child.kill('SIGINT');
    const status = await within(30, 'dynalake-local stop', closed);
    if (status !== 0) throw new Error(`dynalake-local exited ${String(status)} on Ctrl-C:\n${output.stdout()}`);
    console.log(output.stdout().split('\n').filter((line) => line.startsWith('sensors: ')).join('\n'));
  } finally {
    child.kill();
  }
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
    console.log('::: dynalake-local on the sensors app (its optional peers installed by the app)');
    await runLocalCommand(app, 'cdk.out.sensors');
    return 0;
  } finally {
    if (values.keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) runCli(main);
