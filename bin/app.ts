#!/usr/bin/env node
/**
 * The app `cdk synth` runs (cdk.json). cdk.json starts it with three V8 flags, for the
 * CloudFormation validation engine that starts on a thread of its own (see useCachedValidation):
 * --no-wasm-tier-up and --no-wasm-dynamic-tiering keep the engine's 9 MB of WebAssembly on V8's
 * baseline compiler, whose optimizing recompilation in the background costs more than a synth
 * lasts; --single-threaded-gc keeps the app's garbage collection off the engine's core. On two
 * cores they take a synth of changed templates from about 5.5 s to 3.2 s (`npm run bench:synth`).
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/config';
import { buildDynalakeApp } from '../lib/app';
import { useCachedValidation } from '../lib/validation-cache';

const app = new App();
useCachedValidation(app, { startEngineEarly: true });
try {
  buildDynalakeApp(app);
} catch (error) {
  if (error instanceof ConfigError) {
    // One line per problem, no stack trace: the user fixes cdk.json or --context, not the code.
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
app.synth();
