import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runTypeScript } from '../../helpers/cli';

/**
 * The swc require hook every npm script runs TypeScript with: real processes, the real swc, the
 * repository's transpile cache. Each test writes files of its own, so their cache keys are new.
 */
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'dynalake-swc');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The cache entries whose output holds `text`. */
const entriesWith = (text: string) =>
  readdirSync(CACHE_DIR).filter((name) => /^[0-9a-f]{64}\.js$/.test(name) && readFileSync(join(CACHE_DIR, name), 'utf8').includes(text));

describe('swc-register', () => {
  it('runs TypeScript, keeps its output, and transpiles a file again once it changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynalake-swc-'));
    dirs.push(dir);
    const entry = join(dir, 'entry.ts');
    const marker = `marker-${String(process.pid)}-${String(Date.now())}`;
    const write = (answer: number) =>
      writeFileSync(entry, `const answer: number = ${String(answer)};\nconsole.log('${marker}', answer satisfies number);\nexport class Kept { field = 1; }\nconsole.log(Kept.name, new Kept().field);\n`);

    write(41);
    const first = await runTypeScript(entry, [], { cwd: dir });
    expect(first).toMatchObject({ status: 0, stdout: `${marker} 41\nKept 1\n` });
    const kept = entriesWith(marker);
    expect(kept).toHaveLength(1);

    // The next process takes the kept output: what the cache holds is what runs.
    const keptFile = join(CACHE_DIR, kept[0] ?? '');
    writeFileSync(keptFile, readFileSync(keptFile, 'utf8').replace(`'${marker}'`, `'${marker} from the cache'`));
    expect(await runTypeScript(entry, [], { cwd: dir })).toMatchObject({ status: 0, stdout: `${marker} from the cache 41\nKept 1\n` });

    // A changed file is a new key: transpiled again, never the stale output.
    write(42);
    expect(await runTypeScript(entry, [], { cwd: dir })).toMatchObject({ status: 0, stdout: `${marker} 42\nKept 1\n` });
    expect(entriesWith(marker)).toHaveLength(2);
    for (const name of entriesWith(marker)) rmSync(join(CACHE_DIR, name));
  });

  it('names the TypeScript line in a stack trace, from the cache as when transpiled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynalake-swc-'));
    dirs.push(dir);
    const entry = join(dir, 'throws.ts');
    writeFileSync(entry, `interface Shape {\n  readonly sides: number;\n}\nconst shape: Shape = { sides: ${String(process.pid)} };\nthrow new Error(\`bad shape \${shape.sides}\`);\n`);
    for (let run = 0; run < 2; run++) {
      const result = await runTypeScript(entry, [], { cwd: dir });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`${entry}:5`);
    }
    expect(entriesWith(`sides: ${String(process.pid)}`)).toHaveLength(1);
    for (const name of entriesWith(`sides: ${String(process.pid)}`)) rmSync(join(CACHE_DIR, name));
  });
});
