import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { BridgeFunction, type BridgeFunctionProps } from '../../../lib/constructs/bridge-function';

const folder = mkdtempSync(join(tmpdir(), 'dynalake-bridge-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function bridge(props: Partial<BridgeFunctionProps>): { stack: Stack; function: BridgeFunction } {
  const stack = new Stack(new App(), 'Stack');
  return { stack, function: new BridgeFunction(stack, 'Bridge', { handlerName: 'sensors-to-lake', description: 'mine', environment: { TABLE: 'sensors' }, alarmTopic: new Topic(stack, 'Alerts'), ...props }) };
}

/** The synthesized function's handler, runtime, environment and code. */
function functionOf(stack: Stack): { Handler: string; Runtime: string; Environment: { Variables: Record<string, string> }; Code: Record<string, unknown> } {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const [only, ...more] = Object.values(functions) as { Properties: ReturnType<typeof functionOf> }[];
  expect(more).toEqual([]);
  if (only === undefined) throw new Error('no function');
  return only.Properties;
}

describe("BridgeFunction with a consumer's own handler", () => {
  it('bundles an entry file of yours like dynalake’s handlers, on the same runtime, with its Powertools service named after it', () => {
    const entry = join(__dirname, '..', '..', 'fixtures', 'handlers', 'sensors.ts');
    const { stack } = bridge({ entry });
    const lambda = functionOf(stack);
    expect(lambda).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x' });
    expect(lambda.Environment.Variables).toEqual({ TABLE: 'sensors', POWERTOOLS_SERVICE_NAME: 'dynalake-sensors-to-lake', POWERTOOLS_LOG_LEVEL: 'INFO' });
    expect(lambda.Code).toHaveProperty('S3Key');
  });

  it('takes built code as it is, with its handler', () => {
    const { stack } = bridge({ code: { code: Code.fromInline('exports.main = async () => "built";'), handler: 'index.main' } });
    expect(functionOf(stack)).toMatchObject({ Handler: 'index.main', Runtime: 'nodejs24.x', Code: { ZipFile: 'exports.main = async () => "built";' } });
  });

  it('refuses entry and code together, a missing entry, and an unknown handler name without either, naming the construct', () => {
    const code = { code: Code.fromInline('exports.handler = 1;'), handler: 'index.handler' };
    expect(() => bridge({ entry: join(__dirname, '..', '..', 'fixtures', 'handlers', 'sensors.ts'), code })).toThrow('Stack/Bridge: give the handler as entry or as code, not both');
    expect(() => bridge({ entry: join(folder, 'missing.ts') })).toThrow(`Stack/Bridge: entry ${join(folder, 'missing.ts')} does not exist`);
    expect(() => bridge({})).toThrow('Stack/Bridge: handlerName "sensors-to-lake" is not one of dynalake\'s handlers (stream-to-lake, upload-to-glue, refresh-follow-up); give your own as entry or code');
  });
});
