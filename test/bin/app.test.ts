import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
let outdir: string;

beforeEach(() => {
  outdir = mkdtempSync(join(tmpdir(), 'dynalake-cli-'));
});
afterEach(() => {
  rmSync(outdir, { recursive: true, force: true });
});

/** Runs the real CDK CLI on bin/app.ts (through cdk.json), offline and without AWS credentials. */
function cdkSynth(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'NODE_ENV'));
  return spawnSync(join(root, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '--output', outdir, ...args], {
    cwd: root,
    env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('cdk synth through bin/app.ts', () => {
  it('synthesizes the storage stack offline, without credentials', () => {
    const result = cdkSynth();
    expect(result.status).toBe(0);
    expect(existsSync(join(outdir, 'dynalake-dev-storage.template.json'))).toBe(true);
  });

  it('fails on bad --context values with one line per problem and no stack trace', () => {
    const result = cdkSynth('--context', 'dynalake.alertEmail=bob@', '--context', 'dynalake.encryption=sse-c');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      'Invalid dynalake configuration:\n  dynalake.alertEmail: "bob@" is not an e-mail address\n  dynalake.encryption: "sse-c" is not an encryption mode (expected "default" or "kms")\n',
    );
    expect(result.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(existsSync(join(outdir, 'dynalake-dev-storage.template.json'))).toBe(false);
  });
});
