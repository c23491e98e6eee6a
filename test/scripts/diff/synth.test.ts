/**
 * What scripts/diff/synth.ts promises beyond the diff itself: the synth is offline whatever
 * credentials the caller has (README: "Offline"), and the install cache keeps the three most
 * recently used node_modules (README: "Base and head"). Real cdk CLI, real npm ci, real files.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockfileHash, provideNodeModules, type SynthOptions, synthesizeWorkingTree } from '../../../scripts/diff/synth';

const ROOT = join(__dirname, '..', '..', '..');

let scratch = '';
beforeEach(() => {
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'dynalake-diff-synth-')));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Sets environment variables for the duration of `body`, then puts the old values back. */
async function withEnvironment<T>(variables: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  }
}

/** An HTTP endpoint that records every request and answers 500: where an AWS call would land. */
async function recordingEndpoint(): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push(`${request.method ?? ''} ${request.url ?? ''} ${body}`);
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, requests, server };
}

describe('the synth of npm run diff, offline', () => {
  it('hides the caller’s AWS and CDK settings and credential files from the cdk CLI, which then asks AWS nothing', async () => {
    // A one-resource app that writes the environment the cdk CLI gives it, and in front of the
    // real cdk CLI a script that writes the environment the diff gives the CLI.
    const app = join(scratch, 'app');
    mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', 'aws-cdk-lib'), join(app, 'node_modules', 'aws-cdk-lib'), 'dir');
    const writeEnvironment = `require('node:fs').writeFileSync(process.argv[1], JSON.stringify(process.env))`;
    writeFileSync(
      join(app, 'node_modules', '.bin', 'cdk'),
      `#!/bin/sh\n'${process.execPath}' -e "${writeEnvironment}" '${join(app, 'cli-environment.json')}'\nexec '${join(ROOT, 'node_modules', '.bin', 'cdk')}' "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
    writeFileSync(
      join(app, 'app.js'),
      [
        "const { writeFileSync } = require('node:fs');",
        "const { App, CfnWaitConditionHandle, Stack } = require('aws-cdk-lib');",
        "writeFileSync('environment.json', JSON.stringify(process.env));",
        'const app = new App();',
        "new CfnWaitConditionHandle(new Stack(app, 'Probe'), 'Handle');",
        'app.synth();',
      ].join('\n'),
    );
    // Credentials everywhere the SDK looks, all pointing AWS calls at the recorder: without the
    // offline environment the CLI asks STS GetCallerIdentity for its default account.
    const aws = await recordingEndpoint();
    const home = join(scratch, 'home');
    mkdirSync(join(home, '.aws'), { recursive: true });
    writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAFROMTHEFILE\naws_secret_access_key = file-secret\n');
    writeFileSync(join(home, '.aws', 'config'), `[default]\nregion = eu-west-1\nendpoint_url = ${aws.url}\n`);
    const caller = {
      HOME: home,
      AWS_ACCESS_KEY_ID: 'AKIAFROMTHEVARIABLES',
      AWS_SECRET_ACCESS_KEY: 'variable-secret',
      AWS_SESSION_TOKEN: 'variable-token',
      AWS_REGION: 'eu-west-1',
      AWS_PROFILE: 'default',
      AWS_ENDPOINT_URL: aws.url,
      CDK_DEFAULT_ACCOUNT: '111111111111',
      CDK_DEFAULT_REGION: 'ap-south-1',
      TS_NODE_PROJECT: join(scratch, 'no-such-tsconfig.json'),
    };

    const log: string[] = [];
    const options: SynthOptions = { appDir: app, cacheDir: join(scratch, 'cache'), log: (line) => log.push(line) };
    let synthesized: Awaited<ReturnType<typeof synthesizeWorkingTree>>;
    try {
      synthesized = await withEnvironment(caller, () => synthesizeWorkingTree(options));
    } finally {
      aws.server.close();
    }

    expect([...synthesized.stacks.keys()]).toEqual(['Probe']);
    expect(aws.requests).toEqual([]);
    const read = (file: string) => JSON.parse(readFileSync(join(app, file), 'utf8')) as Record<string, string>;
    const cli = read('cli-environment.json');
    expect(Object.fromEntries(Object.entries(cli).filter(([name]) => /^(AWS_|CDK_|TS_NODE_)/.test(name)))).toEqual({
      AWS_CONFIG_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: '1',
    });
    expect(cli.HOME).toBe(home);
    // The app sees none of the caller's settings: the CLI found no account, and no region but its fallback.
    const seenByApp = read('environment.json');
    expect([seenByApp.AWS_ACCESS_KEY_ID, seenByApp.CDK_DEFAULT_ACCOUNT, seenByApp.CDK_DEFAULT_REGION, seenByApp.TS_NODE_PROJECT]).toEqual([undefined, undefined, 'us-east-1', undefined]);
  }, 120_000);
});

describe('the install cache of npm run diff', () => {
  /**
   * A project whose package-lock.json differs by `name` alone and whose one dependency is a local
   * folder, so `npm ci` really installs it without a registry.
   */
  function project(name: string): { dir: string; hash: string } {
    const dir = join(scratch, name);
    mkdirSync(join(dir, 'probe-dep'), { recursive: true });
    writeFileSync(join(dir, 'probe-dep', 'package.json'), JSON.stringify({ name: 'probe-dep', version: '1.0.0' }));
    const dependencies = { 'probe-dep': 'file:probe-dep' };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies }));
    const lock = {
      name,
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name, version: '1.0.0', dependencies }, 'node_modules/probe-dep': { resolved: 'probe-dep', link: true }, 'probe-dep': { version: '1.0.0' } },
    };
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    return { dir, hash: lockfileHash(join(dir, 'package-lock.json')) };
  }

  /** A cache entry put there by hand (the README allows it), last used at `usedAt`. */
  function placeEntry(cacheDir: string, hash: string, usedAt: Date): void {
    mkdirSync(join(cacheDir, hash, 'node_modules'), { recursive: true });
    utimesSync(join(cacheDir, hash), usedAt, usedAt);
  }

  const entries = (cacheDir: string) => readdirSync(cacheDir).sort();
  const longAgo = (hour: number) => new Date(Date.UTC(2026, 0, 1, hour));

  let cacheDir = '';
  let options: SynthOptions;
  let log: string[];
  beforeEach(() => {
    // The working tree: a lock file none of the projects share, so each needs the cache.
    const appDir = project('working-tree').dir;
    cacheDir = join(scratch, 'cache');
    mkdirSync(cacheDir);
    log = [];
    options = { appDir, cacheDir, log: (line) => log.push(line) };
  });

  it('keeps the three most recently used installs: a cache hit counts as a use, the least recently used goes', async () => {
    const [first, second, third, fourth] = ['first', 'second', 'third', 'fourth'].map(project) as [ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>];
    placeEntry(cacheDir, first.hash, longAgo(1));
    placeEntry(cacheDir, second.hash, longAgo(2));
    placeEntry(cacheDir, third.hash, longAgo(3));
    // Not installs: kept whatever their age.
    mkdirSync(join(cacheDir, 'notes'));
    writeFileSync(join(cacheDir, 'README'), 'hand-made\n');
    utimesSync(join(cacheDir, 'notes'), longAgo(0), longAgo(0));

    // The oldest entry used again: now the most recently used.
    expect(await provideNodeModules(first.dir, options)).toBe(`cached node_modules ${first.hash.slice(0, 12)} (../cache)`);
    expect(statSync(join(cacheDir, first.hash)).mtimeMs).toBeGreaterThan(statSync(join(cacheDir, third.hash)).mtimeMs);
    // A fourth lock file: npm ci, cached, and the least recently used (second) pruned.
    expect(await provideNodeModules(fourth.dir, options)).toMatch(new RegExp(`^npm ci in \\d+ s, now cached as ${fourth.hash.slice(0, 12)}$`));

    expect(entries(cacheDir)).toEqual([first.hash, third.hash, fourth.hash, 'README', 'notes'].sort());
    expect(realpathSync(join(fourth.dir, 'node_modules'))).toBe(join(cacheDir, fourth.hash, 'node_modules'));
    expect(readdirSync(join(cacheDir, fourth.hash, 'node_modules'))).toEqual(['.package-lock.json', 'probe-dep']);
    expect(log).toEqual([`diff: npm ci for package-lock.json ${fourth.hash.slice(0, 12)} (cached afterwards in ../cache)…`]);
  }, 120_000);

  it('never prunes the install it has just made, even when the others were used later', async () => {
    const [first, second, third, fresh] = ['first', 'second', 'third', 'fresh'].map(project) as [ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>];
    // Used "later" than anything made now: the new install is the least recent of the four.
    const later = (hour: number) => new Date(Date.now() + (24 + hour) * 3600 * 1000);
    placeEntry(cacheDir, first.hash, later(1));
    placeEntry(cacheDir, second.hash, later(2));
    placeEntry(cacheDir, third.hash, later(3));

    await provideNodeModules(fresh.dir, options);

    expect(entries(cacheDir)).toEqual([first.hash, second.hash, third.hash, fresh.hash].sort());
    expect(readdirSync(join(fresh.dir, 'node_modules'))).toEqual(['.package-lock.json', 'probe-dep']);
  }, 120_000);
});
