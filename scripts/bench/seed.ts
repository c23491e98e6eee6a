/**
 * npm run bench:seed -- [--rows N] [--naive-rows N] [--concurrency N]
 *
 * Loads the synthetic full-size e-commerce file into one embedded DynamoDB (dynalite, in a child
 * process so that it never shares a thread with the loaders) three ways, each into a fresh table
 * that is dropped afterwards, and prints rows/s and ratios:
 *   (a) this loader, as users run it (`npm run seed`, in its own process: streaming parse,
 *       validation, rejects, checkpoints), which reports its own peak RSS;
 *   (b) a naive loader: one PutItem per row, one at a time, as many loaders do (on the first
 *       --naive-rows rows: at its speed the full file would take most of an hour);
 *   (c) the ceiling: the same items as pre-built BatchWriteItem requests fired from memory at the
 *       same concurrency, no parsing, no bookkeeping.
 * Targets: (a) ≥ 0.85 × (c) and ≥ 10 × (b); (a)'s peak RSS under 300 MB.
 */
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchWriteItemCommand, CreateTableCommand, DeleteTableCommand, PutItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { orderKey, toAttributeValues } from '../../lambda/shared/orders-csv';
import { localClient } from '../local/dynamodb';
import { storageTableDefinitions } from '../local/table-definitions';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { REAL_RETAIL_ROWS, writeRetailSample } from '../lib/retail-sample';
import { MAX_BATCH_ITEMS } from '../seed/batch-writer';
import { loadOrders } from '../seed/load-orders';
import { readOrderRows } from '../seed/orders-source';

interface Run {
  readonly rows: number;
  readonly ms: number;
}

const rate = (run: Run) => (run.rows * 1000) / run.ms;
const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

/** dynalite in a child process, in memory; resolves to its endpoint. */
async function startDynaliteProcess() {
  const child = fork(join(__dirname, 'dynalite-server.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(Number(message)));
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${String(code)}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine('npm run bench:seed', () =>
    parseArgs({ args: process.argv.slice(2), options: { rows: { type: 'string' }, 'naive-rows': { type: 'string' }, concurrency: { type: 'string' } }, strict: true }),
  );
  const rows = integerOption('rows', values.rows, 1) ?? REAL_RETAIL_ROWS;
  const naiveRows = Math.min(rows, integerOption('naive-rows', values['naive-rows'], 1) ?? 20_000);
  const concurrency = integerOption('concurrency', values.concurrency, 1) ?? 16;

  const dataDir = join('.dynalake', 'bench');
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, `online-retail-synthetic-${rows}.csv`);
  if (!existsSync(file)) {
    console.error(`bench: generating ${fmt(rows)} synthetic rows into ${file}…`);
    await writeRetailSample({ rows, seed: 1, out: file });
  }

  const server = await startDynaliteProcess();
  const client = localClient(server.endpoint);
  const definition = storageTableDefinitions().orders;
  const scratch = mkdtempSync(join(tmpdir(), 'dynalake-bench-'));
  let tableNumber = 0;
  const withTable = async <T>(work: (tableName: string) => Promise<T>): Promise<T> => {
    const tableName = `bench-${++tableNumber}`;
    await client.send(new CreateTableCommand({ ...definition, TableName: tableName }));
    try {
      return await work(tableName);
    } finally {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
    }
  };

  try {
    // Warm-up: the first thousands of requests of a fresh dynalite run slower (JIT); no method
    // should pay that alone.
    console.error('bench: warming up dynalite…');
    await withTable((tableName) => loadOrders({ file, tableName, client, concurrency, limit: Math.min(rows, 10_000), rejectsPath: join(scratch, 'warm.rejects.csv') }));

    // (a) is the real command, in its own process, so that its peak RSS is its own.
    console.error(`bench: (a) npm run seed, ${fmt(rows)} rows, concurrency ${concurrency}…`);
    const a = await withTable((tableName) => {
      const result = spawnSync('npm', ['run', '--silent', 'seed', '--', '--file', file, '--table', tableName, '--endpoint', server.endpoint, '--concurrency', String(concurrency), '--rejects', join(scratch, 'a.rejects.csv'), '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (result.status !== 0) throw new Error(`(a) npm run seed exited with ${String(result.status)}`);
      const summary = JSON.parse(result.stdout) as { read: number; written: number; rejected: number; elapsedMs: number; peakRssMb: number };
      if (summary.read !== summary.written + summary.rejected) throw new Error(`(a) lost rows: ${result.stdout}`);
      return Promise.resolve({ rows: summary.read, ms: summary.elapsedMs, rejected: summary.rejected, peakRssMb: summary.peakRssMb });
    });

    console.error(`bench: (b) one PutItem per row, ${fmt(naiveRows)} rows…`);
    const b = await withTable(async (tableName) => {
      const started = performance.now();
      let count = 0;
      for await (const row of readOrderRows(file, { encoding: 'latin1', loadedAt: new Date().toISOString(), limit: naiveRows })) {
        if (row.result.ok) await client.send(new PutItemCommand({ TableName: tableName, Item: toAttributeValues(row.result.item) }));
        count += 1;
      }
      return { rows: count, ms: performance.now() - started };
    });

    console.error('bench: (c) pre-built BatchWriteItem requests from memory…');
    const batches: WriteRequest[][] = [];
    let current: WriteRequest[] = [];
    const keys = new Set<string>();
    for await (const row of readOrderRows(file, { encoding: 'latin1', loadedAt: new Date().toISOString() })) {
      if (!row.result.ok) continue;
      const key = orderKey(row.result.item);
      if (keys.has(key) || current.length === MAX_BATCH_ITEMS) {
        batches.push(current);
        current = [];
        keys.clear();
      }
      keys.add(key);
      current.push({ PutRequest: { Item: toAttributeValues(row.result.item) } });
    }
    if (current.length > 0) batches.push(current);
    const c = await withTable(async (tableName) => {
      const started = performance.now();
      let next = 0;
      let items = 0;
      const worker = async () => {
        while (next < batches.length) {
          let requests = batches[next++] ?? [];
          while (requests.length > 0) {
            const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
            items += requests.length;
            requests = output.UnprocessedItems?.[tableName] ?? [];
            items -= requests.length;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { rows: items, ms: performance.now() - started };
    });

    const lines = [
      `file: ${file} (${fmt(rows)} rows, ${fmt(a.rejected)} rejected by validation), dynalite in a child process, concurrency ${concurrency}`,
      `(a) npm run seed                       ${fmt(rate(a)).padStart(8)} rows/s  (${fmt(a.rows)} rows in ${(a.ms / 1000).toFixed(1)} s)`,
      `(b) naive, one PutItem per row         ${fmt(rate(b)).padStart(8)} rows/s  (${fmt(b.rows)} rows in ${(b.ms / 1000).toFixed(1)} s)`,
      `(c) ceiling, pre-built batches         ${fmt(rate(c)).padStart(8)} rows/s  (${fmt(c.rows)} rows in ${(c.ms / 1000).toFixed(1)} s)`,
      `(a)/(c) = ${(rate(a) / rate(c)).toFixed(2)}  (target ≥ 0.85)`,
      `(a)/(b) = ${(rate(a) / rate(b)).toFixed(1)}  (target ≥ 10)`,
      `(a) peak RSS: ${fmt(a.peakRssMb)} MB (target < 300)`,
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    client.destroy();
    server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runCli(main);
