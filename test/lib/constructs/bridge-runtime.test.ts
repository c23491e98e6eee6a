import { App, Stack } from 'aws-cdk-lib';
import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { BridgeFunction, HANDLER_RUNTIME, newestNodeRuntime } from '../../../lib/constructs/bridge-function';
import { acknowledgedRules } from '../../helpers/cdk-app';

/** The cdk-nag rules acknowledged on the bridge's function, by id. */
const acknowledged = (bridge: BridgeFunction) => acknowledgedRules(bridge.function);

function bridge(): BridgeFunction {
  const stack = new Stack(new App(), 'Stack');
  return new BridgeFunction(stack, 'Bridge', { handlerName: 'stream-to-lake', description: 'test', environment: {}, alarmTopic: new Topic(stack, 'Alerts') });
}

// Runtime.ALL is aws-cdk-lib's module state: this file adds a runtime to it, so its tests run in order and alone in this file.
describe('the runtime of the bridges, against the aws-cdk-lib that synthesizes them', () => {
  it('runs the handlers on Node.js 24, the newest runtime this aws-cdk-lib knows, with nothing to acknowledge', () => {
    expect(HANDLER_RUNTIME.name).toBe('nodejs24.x');
    expect(newestNodeRuntime()?.name).toBe('nodejs24.x');
    const function_ = bridge();
    expect(Stack.of(function_).resolve((function_.function.node.defaultChild as unknown as { runtime: string }).runtime)).toBe('nodejs24.x');
    expect(acknowledged(function_)).toEqual({});
  });

  it('keeps Node.js 24 and acknowledges AwsSolutions-L1 with its reason in an app whose aws-cdk-lib knows a newer Node.js (a consumer on a newer minor)', () => {
    new Runtime('nodejs26.x', RuntimeFamily.NODEJS);
    new Runtime('python3.99', RuntimeFamily.PYTHON);
    expect(newestNodeRuntime()?.name).toBe('nodejs26.x');
    const function_ = bridge();
    expect(Stack.of(function_).resolve((function_.function.node.defaultChild as unknown as { runtime: string }).runtime)).toBe('nodejs24.x');
    expect(acknowledged(function_)).toEqual({
      'AwsSolutions-L1': 'Stack/Bridge/Function: the handlers are bundled for and tested on nodejs24.x (esbuild target node24); a newer runtime comes with a dynalake release that tests it',
    });
  });
});
