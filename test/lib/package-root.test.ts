import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../lib/package-root';
import { GLUE_SCRIPTS_DIR } from '../../lib/stacks/pipeline-stack';

describe('packageRoot', () => {
  it('is the repository from the sources, and the Glue scripts are there', () => {
    expect(packageRoot()).toBe(resolve(__dirname, '..', '..'));
    expect(GLUE_SCRIPTS_DIR).toBe(resolve(__dirname, '..', '..', 'glue-scripts'));
  });

  it('finds an installed package from its build folder, past package.json files of other packages', () => {
    const consumer = mkdtempSync(join(tmpdir(), 'dynalake-consumer-'));
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'my-cdk-app' }));
    const installed = join(consumer, 'node_modules', 'dynalake');
    const build = join(installed, 'dist', 'lib', 'stacks');
    mkdirSync(build, { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'dynalake' }));
    writeFileSync(join(installed, 'dist', 'package.json'), JSON.stringify({ type: 'commonjs' }));
    expect(packageRoot(build)).toBe(installed);
  });

  it('says where it looked when there is no dynalake package above', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'dynalake-none-'));
    expect(() => packageRoot(elsewhere)).toThrow(`no package.json of dynalake above ${elsewhere}`);
  });
});
