import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { README_PATH, withConfigTable } from '../scripts/config-docs';
import { SENSORS } from './helpers/sensors-app';

const root = join(__dirname, '..');
const readme = readFileSync(README_PATH, 'utf8');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Every `npm <script>` / `npm run <script>` in the README's shell blocks. */
function npmCommandsInShellBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  return blocks.flatMap((block) => [...block.matchAll(/\bnpm (?:run )?([a-z][\w:-]*)/g)].map((match) => match[1] ?? ''));
}

describe('README', () => {
  it('has the configuration table the schema generates', () => {
    expect(withConfigTable(readme)).toBe(readme);
  });

  it('only tells users to run npm scripts that exist', () => {
    const commands = npmCommandsInShellBlocks(readme).filter((command) => command !== 'ci' && command !== 'install');
    expect(commands).toContain('test');
    for (const command of commands) expect(packageJson.scripts).toHaveProperty([command]);
  });

  it("shows the consumer apps that npm run test:package installs the packed package into, as they are", () => {
    const section = readme.slice(readme.indexOf('## Use as a library\n'), readme.indexOf('## Development\n'));
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
    const consumer = (file: string) => readFileSync(join(root, 'test', 'package', 'consumer', 'bin', file), 'utf8');
    // The whole dynalake app, then a table of the consumer's own.
    expect(blocks).toEqual([consumer('app.ts'), consumer('sensors.ts')]);
  });

  it("runs in its tests the sensors dataset the README's consumer app declares", () => {
    const app = readFileSync(join(root, 'test', 'package', 'consumer', 'bin', 'sensors.ts'), 'utf8');
    const [, literal] = /^const sensors: DatasetDescription = (\{[\s\S]*?\n\});$/m.exec(app) ?? [];
    // The app's object literal, evaluated as the JavaScript it is (text of this repository, not input).
    const evaluate = new Function(`return ${literal ?? 'undefined'};`) as () => unknown; // eslint-disable-line @typescript-eslint/no-implied-eval
    expect(evaluate()).toEqual(SENSORS);
  });

  it('is what CI runs: .ci/run installs with npm ci and runs the README test command', () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
