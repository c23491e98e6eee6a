#!/usr/bin/env node
/**
 * dynalake-local [--assembly DIR] [--every N] [--state DIR] [--fresh] [--help]
 *
 * The package's local command: the LakeDatasets of a consumer's synthesized app on an embedded
 * DynamoDB and S3 with the DuckDB twin of the merge, as `npm run local:datasets` in this
 * repository (scripts/local-datasets.ts). Its engines are optional peer dependencies, so a library
 * user who never runs locally does not install them; they are checked before anything loads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynalakeError } from '../lambda/shared/errors';
import { packageRoot } from '../lib/package-root';
import { runCli } from '../scripts/lib/cli';
import type * as LocalDatasets from '../scripts/local-datasets';

/** The packages the local runtime runs on, as package.json's optional peer dependencies name them. */
export const LOCAL_PEERS = ['dynalite', 's3rver', '@duckdb/node-api'] as const;

/** The local peers that `resolveModule` cannot find, in {@link LOCAL_PEERS} order. */
export function missingLocalPeers(resolveModule: (name: string) => string = require.resolve): string[] {
  return LOCAL_PEERS.filter((name) => {
    try {
      resolveModule(name);
      return false;
    } catch {
      return true;
    }
  });
}

/** The message for missing local peers, with the install command at the versions package.json accepts. */
export function missingPeersMessage(missing: readonly string[], peerRanges: Readonly<Record<string, string>>): string {
  const installs = missing.map((name) => `${name}@${peerRanges[name] ?? 'latest'}`);
  return `dynalake-local runs on ${missing.join(', ')}, optional peer dependencies of dynalake that this app has not installed: npm install --save-dev ${installs.join(' ')}`;
}

async function main(): Promise<number> {
  const missing = missingLocalPeers();
  if (missing.length > 0) {
    const { peerDependencies } = JSON.parse(readFileSync(join(packageRoot(__dirname), 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
    throw new DynalakeError('BAD_INVOCATION', missingPeersMessage(missing, peerDependencies));
  }
  // Loaded only now, as CommonJS: the runtime imports the peers at its top level.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { localDatasetsMain } = require('../scripts/local-datasets') as typeof LocalDatasets;
  return localDatasetsMain('dynalake-local', process.argv.slice(2));
}

if (require.main === module) runCli(main);
