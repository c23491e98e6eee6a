import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { datasetsOfAssembly } from '../../../scripts/local/assembly-datasets';
import { type AssemblyRuntime, startAssemblyRuntime } from '../../../scripts/local/assembly-runtime';
import { spawn } from 'node:child_process';
import { localClient } from '../../../scripts/local/dynamodb';
import { watchOutput } from '../../../scripts/lib/child-output';
import { buildStacks } from '../../helpers/cdk-app';
import { ROOT, runScript, runTypeScript, TYPESCRIPT_HOOK } from '../../helpers/cli';
import { SENSORS, sensorsLake } from '../../helpers/sensors-app';
import { LOCAL_PEERS, missingLocalPeers, missingPeersMessage } from '../../../bin/dynalake-local';

/** A synthesized assembly of the consumer's sensors app (no Lambda bundling: only the templates are read). */
function sensorsAssembly(dir: string): string {
  const app = new App({ outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
  sensorsLake(app);
  return app.synth().directory;
}

describe("a consumer's dataset, read from its synthesized assembly, through the local pipeline", () => {
  const work = mkdtempSync(join(tmpdir(), 'dynalake-assembly-'));
  let runtime: AssemblyRuntime;
  beforeAll(async () => {
    runtime = await startAssemblyRuntime({ assemblyDir: sensorsAssembly(join(work, 'cdk.out')), stateDir: join(work, 'state') });
  }, 60_000);
  afterAll(async () => {
    await runtime.close();
    rmSync(work, { recursive: true, force: true });
  });

  const reading = (deviceId: string, ts: string, temperature: string, battery: string) => ({
    deviceId: { S: deviceId },
    ts: { S: ts },
    temperature: { N: temperature },
    battery: { S: battery },
    day: { S: ts.slice(0, 10) },
  });
  const lake = async () =>
    (await runtime.query('SELECT device_id, CAST(ts AS VARCHAR) AS ts, CAST(temperature AS VARCHAR) AS temperature, battery, reading_day FROM curated_sensors ORDER BY device_id, ts')).rows;

  it('finds the dataset, its job and its table key in the templates', () => {
    expect(runtime.datasets).toHaveLength(1);
    const [sensors] = runtime.datasets;
    expect(sensors?.dataset).toEqual(SENSORS);
    expect(sensors?.jobName).toBe('SensorsLake-sensors-to-lake');
    expect(sensors?.table.KeySchema).toEqual([
      { AttributeName: 'deviceId', KeyType: 'HASH' },
      { AttributeName: 'ts', KeyType: 'RANGE' },
    ]);
  });

  it('takes items in, writes their rows to the lake, then applies an update and a delete', async () => {
    const table = runtime.datasets[0]?.table.TableName ?? '';
    for (const item of [reading('dev-1', '2026-03-01T10:00:00.250', '21.50', '97'), reading('dev-1', '2026-03-02T10:00:00.000', '22.75', ''), reading('dev-2', '2026-03-01T11:30:00.125', '-3.10', '40')]) {
      await runtime.dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
    }
    expect(await runtime.stream()).toEqual([{ dataset: 'sensors', records: 3, objects: 1 }]);
    const [first] = await runtime.refresh();
    expect(first?.state).toBe('SUCCEEDED');
    expect(await lake()).toEqual([
      { device_id: 'dev-1', ts: '2026-03-01 10:00:00.25', temperature: '21.50', battery: 97, reading_day: '2026-03-01' },
      { device_id: 'dev-1', ts: '2026-03-02 10:00:00', temperature: '22.75', battery: null, reading_day: '2026-03-02' },
      { device_id: 'dev-2', ts: '2026-03-01 11:30:00.125', temperature: '-3.10', battery: 40, reading_day: '2026-03-01' },
    ]);

    await runtime.dynamodb.send(
      new UpdateItemCommand({ TableName: table, Key: { deviceId: { S: 'dev-2' }, ts: { S: '2026-03-01T11:30:00.125' } }, UpdateExpression: 'SET temperature = :t', ExpressionAttributeValues: { ':t': { N: '-2.95' } } }),
    );
    await runtime.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { deviceId: { S: 'dev-1' }, ts: { S: '2026-03-02T10:00:00.000' } } }));
    expect(await runtime.stream()).toEqual([{ dataset: 'sensors', records: 2, objects: 1 }]);
    await runtime.refresh();
    expect(await lake()).toEqual([
      { device_id: 'dev-1', ts: '2026-03-01 10:00:00.25', temperature: '21.50', battery: 97, reading_day: '2026-03-01' },
      { device_id: 'dev-2', ts: '2026-03-01 11:30:00.125', temperature: '-2.95', battery: 40, reading_day: '2026-03-01' },
    ]);
  }, 120_000);
});

describe('datasetsOfAssembly', () => {
  it("finds dynalake's own orders dataset, its table exported by the storage stack", () => {
    const { app } = buildStacks();
    const [orders, ...others] = datasetsOfAssembly(app.synth().directory);
    expect(others).toEqual([]);
    expect(orders?.dataset.name).toBe('orders');
    expect(orders?.jobName).toBe('dynalake-dev-orders-to-lake');
    expect(orders?.table.KeySchema).toEqual([
      { AttributeName: 'InvoiceNo', KeyType: 'HASH' },
      { AttributeName: 'LineNo', KeyType: 'RANGE' },
    ]);
  });

  it('refuses a folder that is no synthesized assembly, naming its manifest', () => {
    const empty = mkdtempSync(join(tmpdir(), 'dynalake-no-assembly-'));
    try {
      expect(() => datasetsOfAssembly(empty)).toThrow(`${join(empty, 'manifest.json')}: not a synthesized cloud assembly`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('npm run local:datasets', () => {
  it('prints where the embedded DynamoDB listens, and merges what a client writes there every N seconds until Ctrl-C', async () => {
    const work = mkdtempSync(join(tmpdir(), 'dynalake-local-datasets-'));
    const assembly = sensorsAssembly(join(work, 'cdk.out'));
    const child = spawn(process.execPath, [...TYPESCRIPT_HOOK, join(ROOT, 'scripts', 'local-datasets.ts'), '--assembly', assembly, '--every', '1', '--state', join(work, 'state')], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const { printed, stdout } = watchOutput(child, 'local:datasets');
    try {
      const [, endpoint] = await printed(/^DynamoDB (http:\/\/\S+),/m);
      await printed(/^sensors: table SensorsLake-sensors, lake table curated_sensors$/m);
      const client = localClient(endpoint ?? '');
      for (const ts of ['2026-04-01T08:00:00.000', '2026-04-01T09:00:00.000']) {
        await client.send(new PutItemCommand({ TableName: 'SensorsLake-sensors', Item: { deviceId: { S: 'dev-9' }, ts: { S: ts }, temperature: { N: '19.5' }, battery: { S: '80' }, day: { S: '2026-04-01' } } }));
      }
      // One pass or two, as the writes fall between them.
      await printed(/^sensors: \d change records? → 1 object in cdc\/sensors\/; merge: 1 change object, \d records?, \d keys? \(\d upserts?, 0 removes\);.*; curated_sensors: 2 rows$/m);
      const closed = new Promise<number | null>((resolveClose) => child.once('close', resolveClose));
      child.kill('SIGINT');
      expect(await closed).toBe(0);
      expect(stdout()).toMatch(/^stopped$/m);
    } finally {
      child.kill();
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('names a folder that is no assembly, and points an unknown option to its help', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dynalake-no-assembly-'));
    try {
      const none = await runScript('local-datasets.ts', ['--assembly', empty, '--state', join(empty, 'state')]);
      expect(none.status).toBe(2);
      expect(none.stderr).toContain(`error: ${join(empty, 'manifest.json')}: not a synthesized cloud assembly`);
      const unknown = await runScript('local-datasets.ts', ['--asembly', empty]);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain("error: Unknown option '--asembly' (see npm run local:datasets -- --help)");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('dynalake-local, the command the package installs', () => {
  const runBin = (args: readonly string[], cwd: string) => runTypeScript(join(ROOT, 'bin', 'dynalake-local.ts'), args, { cwd });

  it('runs the datasets of the cdk.out where it is called, and names itself in its help and errors', async () => {
    const work = mkdtempSync(join(tmpdir(), 'dynalake-bin-'));
    try {
      const missing = await runBin([], work);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain(`error: ${join(work, 'cdk.out', 'manifest.json')}: not a synthesized cloud assembly`);
      sensorsAssembly(join(work, 'cdk.out'));
      const once = await runBin(['--state', join(work, 'state')], work);
      expect(once.stderr).toBe('');
      expect(once.status).toBe(0);
      expect(once.stdout).toMatch(/^sensors: table SensorsLake-sensors, lake table curated_sensors$/m);
      const help = await runBin(['--help'], work);
      expect(help.stdout).toMatch(/^dynalake-local \[options\]$/m);
      const unknown = await runBin(['--every', '0'], work);
      expect(unknown.stderr).toContain('error: --every: "0" is not a whole number >= 1');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('names the optional peers it needs and how to install them, before loading any of them', () => {
    const absent = new Set(['s3rver', '@duckdb/node-api']);
    const missing = missingLocalPeers((name) => {
      if (absent.has(name)) throw new Error(`Cannot find module '${name}'`);
      return `/app/node_modules/${name}/index.js`;
    });
    expect(missing).toEqual(['s3rver', '@duckdb/node-api']);
    const ranges = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies;
    expect(missingPeersMessage(missing, ranges)).toBe(
      `dynalake-local runs on s3rver, @duckdb/node-api, optional peer dependencies of dynalake that this app has not installed: npm install --save-dev s3rver@${String(ranges.s3rver)} @duckdb/node-api@${String(ranges['@duckdb/node-api'])}`,
    );
    // Here, where the repository installs them all, nothing is missing.
    expect(missingLocalPeers()).toEqual([]);
  });

  it('is what package.json installs, with its engines as optional peers at the versions this repository tests', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      devDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ 'dynalake-local': 'dist/bin/dynalake-local.js' });
    for (const peer of LOCAL_PEERS) {
      expect(manifest.peerDependenciesMeta[peer]).toEqual({ optional: true });
      expect(manifest.peerDependencies[peer]).toBe(`^${String(manifest.devDependencies[peer])}`);
      expect(manifest.dependencies[peer]).toBeUndefined();
    }
  });
});

describe('npm start -- --assembly', () => {
  it("runs an app's datasets instead of the built-in pipeline, and refuses the built-in pipeline's options beside it", async () => {
    const work = mkdtempSync(join(tmpdir(), 'dynalake-start-assembly-'));
    try {
      const assembly = sensorsAssembly(join(work, 'cdk.out'));
      const once = await runScript('start.ts', ['--assembly', assembly, '--state', join(work, 'state')]);
      expect(once.status).toBe(0);
      expect(once.stdout).toMatch(/^sensors: table SensorsLake-sensors, lake table curated_sensors$/m);
      expect(once.stdout).toMatch(/^sensors: 0 change records → 0 objects in cdc\/sensors\/; merge: .*; curated_sensors: 0 rows$/m);
      const mixed = await runScript('start.ts', ['--assembly', assembly, '--rows', '5']);
      expect(mixed.status).toBe(2);
      expect(mixed.stderr).toContain("error: --assembly runs an assembly's datasets: --rows belong to the built-in pipeline");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
