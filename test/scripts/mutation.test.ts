import { compactIncrementalState, MODULES, moduleScore, strykerConfig } from '../../scripts/mutation';

const mutant = (line: number, status: string, replacement = 'true') => ({ mutatorName: 'ConditionalExpression', replacement, status, location: { start: { line } } });

describe('moduleScore', () => {
  it('scores killed and timed-out mutants over every valid one, and names each unexplained survivor', () => {
    const report = { files: { 'lib/config.ts': { mutants: [mutant(1, 'Killed'), mutant(2, 'Killed'), mutant(3, 'Timeout'), mutant(4, 'Survived'), mutant(5, 'NoCoverage'), mutant(6, 'CompileError')] } } };
    expect(moduleScore('config', report, [])).toEqual({
      module: 'config',
      killed: 2,
      timeout: 1,
      survived: 1,
      noCoverage: 1,
      score: 60,
      unexplained: ['lib/config.ts:4 ConditionalExpression → "true" (Survived)', 'lib/config.ts:5 ConditionalExpression → "true" (NoCoverage)'],
    });
  });

  it('leaves out a survivor listed as equivalent only where file, line, mutator and replacement all match', () => {
    const report = { files: { 'lib/config.ts': { mutants: [mutant(1, 'Killed'), mutant(7, 'Survived'), mutant(8, 'Survived', 'false')] } } };
    const equivalent = [
      { file: 'lib/config.ts', line: 7, mutator: 'ConditionalExpression', replacement: 'true', reason: 'same behaviour' },
      { file: 'lib/config.ts', line: 8, mutator: 'ConditionalExpression', replacement: 'true', reason: 'another replacement' },
    ];
    const score = moduleScore('config', report, equivalent);
    expect({ survived: score.survived, score: score.score, unexplained: score.unexplained }).toEqual({ survived: 1, score: 50, unexplained: ['lib/config.ts:8 ConditionalExpression → "false" (Survived)'] });
  });
});

describe('strykerConfig', () => {
  it('mutates each module alone, tests it with its own test files only, and keeps its incremental state in test/mutation/', () => {
    const lambda = MODULES.find((module) => module.name === 'lambda');
    if (!lambda) throw new Error('no lambda module');
    const config = strykerConfig(lambda, false) as { mutate: string[]; incremental: boolean; force: boolean; incrementalFile: string; coverageAnalysis: string; jest: { config: { testMatch: string[] } } };
    expect({ mutate: config.mutate, incremental: config.incremental, force: config.force, coverageAnalysis: config.coverageAnalysis, testMatch: config.jest.config.testMatch }).toEqual({
      mutate: ['lambda/**/*.ts'],
      incremental: true,
      force: false,
      coverageAnalysis: 'perTest',
      testMatch: ['**/test/lambda/**/*.test.ts'],
    });
    expect(config.incrementalFile).toMatch(/\/test\/mutation\/lambda\.incremental\.json$/);
    expect((strykerConfig(lambda, true) as { force: boolean }).force).toBe(true);
  });

  it('covers the modules issue 15 names', () => {
    const twins = ['duckdb', 'dataset-to-lake', 'campaign-progress', 'csv-to-dynamodb', 'sales-star-schema'].map((name) => `scripts/local/glue/${name}.ts`);
    const summary = 'scripts/local/glue/change-summary.ts';
    expect(MODULES.map((module) => [module.name, module.mutate])).toEqual([
      ['config', ['lib/config.ts']],
      ['nag', ['lib/nag.ts']],
      ['lambda', ['lambda/**/*.ts']],
      ['seed', ['scripts/seed/**/*.ts']],
      // scripts/local/glue/ in three modules that together mutate every file of it once.
      ['local-glue', ['scripts/local/glue/**/*.ts', ...[...twins, summary].map((file) => `!${file}`)]],
      ['local-twins', twins],
      ['change-summary', [summary]],
    ]);
    // The twins' own tests, each twin's beside it; the scanner's beside it.
    expect(MODULES.find((module) => module.name === 'local-twins')?.tests).toEqual(twins.map((file) => `**/test/${file.replace('.ts', '.test.ts')}`));
    expect(MODULES.find((module) => module.name === 'change-summary')?.tests).toEqual(['**/test/scripts/local/glue/change-summary.test.ts']);
  });
});

describe('compactIncrementalState', () => {
  it("cuts each mutant's statusReason to its first line and keeps everything else", () => {
    const state = {
      schemaVersion: '2',
      files: {
        'lib/config.ts': {
          source: 'export const a = 1;',
          mutants: [
            { ...mutant(1, 'Killed'), statusReason: 'Error: expect(received).toEqual(expected)\n\n- Expected\n+ Received\n    at toEqual (test.ts:1:1)', killedBy: ['3'] },
            { ...mutant(2, 'Killed'), statusReason: `Error: ${'x'.repeat(300)}` },
            mutant(3, 'NoCoverage'),
          ],
        },
      },
    };
    expect(compactIncrementalState(state)).toEqual({
      schemaVersion: '2',
      files: {
        'lib/config.ts': {
          source: 'export const a = 1;',
          mutants: [
            { ...mutant(1, 'Killed'), statusReason: 'Error: expect(received).toEqual(expected)', killedBy: ['3'] },
            { ...mutant(2, 'Killed'), statusReason: `Error: ${'x'.repeat(192)}…` },
            mutant(3, 'NoCoverage'),
          ],
        },
      },
    });
  });
});
