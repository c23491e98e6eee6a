#!/usr/bin/env node
// The whole dynalake app through the package's top-level entry, as a consumer writes it.
import { App } from 'aws-cdk-lib';
import { buildDynalakeApp } from 'dynalake';

const app = new App();
buildDynalakeApp(app);
app.synth();
