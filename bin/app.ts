#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/config';
import { buildDynalakeApp } from '../lib/app';
import { useCachedValidation } from '../lib/validation-cache';

const app = new App();
useCachedValidation(app);
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
