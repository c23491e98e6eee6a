import type { DiffReport, ResourceChange, StackDiff } from '../../../scripts/diff/classify';
import { renderMarkdown, renderText, summaryLine } from '../../../scripts/diff/render';

function change(overrides: Partial<ResourceChange>): ResourceChange {
  return { stack: 'app-storage', logicalId: 'Thing1234', path: 'Thing', type: 'AWS::SNS::Topic', impact: 'update', category: 'other', causes: [], retained: false, details: [], ...overrides };
}

function stack(name: string, overrides: Partial<StackDiff>): StackDiff {
  return { name, presence: 'both', broadened: false, security: [], resources: [], templateChanges: [], ...overrides };
}

function reportOf(stacks: StackDiff[]): DiffReport {
  const resources = stacks.flatMap((each) => each.resources);
  const count = (category: ResourceChange['category']) => resources.filter((resource) => resource.category === category).length;
  const templateChanges = stacks.reduce((n, each) => n + each.templateChanges.length, 0);
  return {
    base: 'main@3a4f9a2',
    head: 'working tree',
    stacks,
    counts: {
      stacks: stacks.length,
      changes: resources.length + templateChanges,
      security: count('security'),
      destructive: count('destructive'),
      stateful: resources.filter((resource) => resource.category === 'destructive' && resource.stateful !== undefined).length,
      blocked: resources.filter((resource) => (resource.exportsInUse?.length ?? 0) > 0).length,
      assetOnly: count('asset-only'),
      other: count('other') + templateChanges,
    },
  };
}

const TABLE = change({ logicalId: 'UploadsTable96857CE8', path: 'Uploads/Table', type: 'AWS::DynamoDB::Table', impact: 'replace', category: 'destructive', stateful: 'its items', retained: true, causes: ['KeySchema'], details: ['KeySchema[0].AttributeName: "id" → "rowId"'] });
const POLICY = change({ stack: 'app-pipeline', logicalId: 'RolePolicy1', path: 'Job/Role/DefaultPolicy', type: 'AWS::IAM::Policy', category: 'security', details: ['PolicyDocument.Statement: + {"Action":"dynamodb:DeleteItem"}'] });
const SCRIPT = change({ stack: 'app-pipeline', logicalId: 'OrdersToLakeJob1', path: 'OrdersToLake/Job', type: 'AWS::Glue::Job', category: 'asset-only' });
const FULL = reportOf([
  stack('app-pipeline', {
    broadened: true,
    security: [{ kind: 'statement', sign: '+', effect: 'Allow', actions: 'dynamodb:DeleteItem', resources: '${Uploads/Table.Arn}\n${Uploads/Table.Arn}/index/*', principals: 'AWS:${Job/Role}', condition: '' }],
    resources: [POLICY, SCRIPT],
  }),
  stack('app-storage', { resources: [TABLE], templateChanges: [{ section: 'Outputs', id: 'UploadsTableArn', change: 'changed' }] }),
]);

describe('summaryLine', () => {
  it('counts each kind once, and shouts about stateful ones', () => {
    expect(summaryLine(FULL)).toBe('dynalake diff main@3a4f9a2..working tree: 2 stacks, 4 changes — 1 security, 1 replacement or deletion (1 stateful!), 1 other, 1 asset-only, permissions broadened');
  });

  it('says so when nothing changed', () => {
    expect(summaryLine(reportOf([stack('app-storage', {})]))).toBe('dynalake diff main@3a4f9a2..working tree: 1 stack, no changes');
  });
});

describe('renderText', () => {
  it('orders the sections: summary, security, replacements, other, then one asset line', () => {
    expect(renderText(FULL)).toBe(
      [
        summaryLine(FULL),
        '',
        'Security changes (IAM statements, managed policies, security groups; as cdk diff classifies them)',
        '  app-pipeline — permissions broadened',
        '    + Allow dynamodb:DeleteItem on ${Uploads/Table.Arn}, ${Uploads/Table.Arn}/index/* to AWS:${Job/Role}',
        '',
        'Replacements and deletions',
        '  app-storage',
        '    ⚠ STATEFUL  [-/+] AWS::DynamoDB::Table Uploads/Table (UploadsTable96857CE8) will be REPLACED (caused by KeySchema)',
        '        a new, empty one takes its place; the old one is retained outside the stack (UpdateReplacePolicy) with its items, no longer managed',
        '        KeySchema[0].AttributeName: "id" → "rowId"',
        '',
        'Other changes',
        '  app-pipeline',
        '    [~] AWS::IAM::Policy Job/Role/DefaultPolicy (RolePolicy1) (security: see above)',
        '        PolicyDocument.Statement: + {"Action":"dynamodb:DeleteItem"}',
        '  app-storage',
        '    [~] Outputs UploadsTableArn',
        '',
        '1 resource changed only asset hashes (code or script content): OrdersToLake/Job (app-pipeline)',
        '',
      ].join('\n'),
    );
  });

  it('does not mark a stateless replacement as stateful', () => {
    const text = renderText(reportOf([stack('app', { resources: [change({ impact: 'replace', category: 'destructive', causes: ['TopicName'] })] })]));
    expect(text).toContain('    [-/+] AWS::SNS::Topic Thing (Thing1234) will be REPLACED (caused by TopicName)');
    expect(text).not.toContain('STATEFUL');
  });

  it('explains deleted, orphaned and not-retained replacements', () => {
    const text = renderText(
      reportOf([
        stack('app', {
          resources: [
            change({ logicalId: 'A', path: 'A', type: 'AWS::S3::Bucket', impact: 'destroy', category: 'destructive', stateful: 'its objects' }),
            change({ logicalId: 'B', path: 'B', type: 'AWS::S3::Bucket', impact: 'orphan', category: 'destructive', stateful: 'its objects', retained: true }),
            change({ logicalId: 'C', path: 'C', type: 'AWS::DynamoDB::Table', impact: 'replace', category: 'destructive', stateful: 'its items', causes: ['KeySchema'] }),
          ],
        }),
      ]),
    );
    expect(text).toContain('⚠ STATEFUL  [-] AWS::S3::Bucket A will be DELETED\n        deleted, and its objects with it');
    expect(text).toContain('⚠ STATEFUL  [-] AWS::S3::Bucket B will be REMOVED from the stack (retained)\n        retained (DeletionPolicy) with its objects, but no longer managed by CloudFormation');
    expect(text).toContain('will be REPLACED (caused by KeySchema)\n        the old one is deleted, and its items with it');
  });

  it('names five asset-only resources and counts the rest', () => {
    const scripts = Array.from({ length: 7 }, (_, index) => change({ stack: 'app', logicalId: `S${String(index)}`, path: `Job${String(index)}`, category: 'asset-only' }));
    expect(renderText(reportOf([stack('app', { resources: scripts })]))).toMatch(/7 resources changed only asset hashes \(code or script content\): Job0 \(app\), .*Job4 \(app\) and 2 more\n$/);
  });
});

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(FULL);

  it('starts with the bold summary and has one heading per section', () => {
    expect(markdown.split('\n')[0]).toBe(`**${summaryLine(FULL)}**`);
    expect(markdown.split('\n').filter((line) => line.startsWith('#'))).toEqual(['### Security changes', '### Replacements and deletions', '### Other changes']);
  });

  it('tables the statements, line breaks as <br>', () => {
    expect(markdown).toContain('| | Effect | Action | Resource | Principal | Condition |\n| --- | --- | --- | --- | --- | --- |\n| + | Allow | dynamodb:DeleteItem | ${Uploads/Table.Arn}<br>${Uploads/Table.Arn}/index/* | AWS:${Job/Role} |   |');
  });

  it('marks a stateful replacement loudly, with its details fenced', () => {
    expect(markdown).toContain('- ⚠️ **STATEFUL: `AWS::DynamoDB::Table` `Uploads/Table` will be REPLACED (caused by `KeySchema`)**: a new, empty one takes its place');
    expect(markdown).toContain('  ```\n  KeySchema[0].AttributeName: "id" → "rowId"\n  ```');
  });

  it('collapses the other changes into a <details> block with a fenced body', () => {
    expect(markdown).toContain('<details><summary>1 other change and the resource of the security changes above, in 2 stacks</summary>\n\n```\napp-pipeline\n[~] AWS::IAM::Policy');
    expect(markdown).toContain('[~] Outputs UploadsTableArn\n```\n\n</details>');
  });

  it('ends with the asset line', () => {
    expect(markdown.endsWith('📦 1 resource changed only asset hashes (code or script content): `OrdersToLake/Job` (app-pipeline)\n')).toBe(true);
  });

  it('escapes pipes in cells and lengthens a fence around backticks', () => {
    const tricky = reportOf([
      stack('app', {
        security: [{ kind: 'statement', sign: '-', effect: 'Allow', actions: 's3:GetObject', resources: 'arn:a|b', principals: '*', condition: '' }],
        resources: [change({ impact: 'replace', category: 'destructive', details: ['Description: "```" → "x"'] })],
      }),
    ]);
    const text = renderMarkdown(tricky);
    expect(text).toContain('| - | Allow | s3:GetObject | arn:a\\|b | * |   |');
    expect(text).toContain('  ````\n  Description: "```" → "x"\n  ````');
  });
});
