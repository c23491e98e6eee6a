/**
 * npm run bench:seed -- [--rows N] [--naive-rows N] [--concurrency N]
 *
 * Loads the synthetic full-size e-commerce file into the embedded DynamoDB (dynalite) three ways
 * and prints rows/s and ratios:
 *   (a) `npm run seed -- --local DIR` as users run it (its node command, without npm's process
 *       around it), into a fresh folder: streaming parse,
 *       validation, rejects, checkpoints, with its embedded DynamoDB in a child process of its
 *       own (scripts/local/dynamodb-server.mjs);
 *   (b) a naive loader: one PutItem per row, one at a time, as many loaders do (on the first
 *       --naive-rows rows: at its speed the full file would take most of an hour), into an
 *       embedded DynamoDB in a child process as (a)'s;
 *   (c) the ceiling: the same items as pre-built BatchWriteItem requests fired from memory at the
 *       same concurrency into dynalite in this process (as an embedded DynamoDB runs unless
 *       given a process of its own), on a fresh folder too, no parsing, no bookkeeping.
 * (a) and (c) both start cold (a fresh dynalite, its JIT not warmed). (a)'s peak RSS is its whole
 * process tree's, the loader and its DynamoDB, sampled from /proc every 100 ms (Linux).
 * Targets: (a) ≥ 0.85 × (c) and ≥ 10 × (b); (a)'s peak RSS under 300 MB.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchWriteItemCommand, CreateTableCommand, PutItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { orderKey, toAttributeValues } from '../../lambda/shared/orders-csv';
import { startLocalDynamoDB } from '../local/dynamodb';
import { storageTableDefinitions } from '../local/table-definitions';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';
import { REAL_RETAIL_ROWS, writeRetailSample } from '../lib/retail-sample';
import { MAX_BATCH_ITEMS } from '../seed/batch-writer';
import { readOrderRows } from '../seed/orders-source';

interface Run {
  readonly rows: number;
  readonly ms: number;
}

/** The node options of package.json's seed script, which the bench runs as that script does. */
const SEED_NODE_OPTIONS = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.seed?.match(/--max-[a-z-]+=\d+/g) ?? [];

const rate = (run: Run) => (run.rows * 1000) / run.ms;
const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

/** The resident memory of `pid` and its descendants, in MB, from /proc; undefined where there is no /proc. */
function treeRssMb(pid: number): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces): state, ppid, ... rss is the 24th field.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      rss.set(Number(entry), (Number(fields[21]) * 4096) / 1024 / 1024);
    } catch {
      // The process ended while being read.
    }
  }
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of parents) if (tree.has(parent) && !tree.has(child)) grew = tree.add(child).size > 0;
  }
  return [...tree].reduce((sum, member) => sum + (rss.get(member) ?? 0), 0);
}

/** Runs `command` to its end, sampling its process tree's memory; resolves to its stdout and the peak. */
function runSampled(command: string, args: readonly string[]): Promise<{ stdout: string; peakTreeRssMb: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let peak: number | undefined;
    const sample = () => {
      const now = child.pid === undefined ? undefined : treeRssMb(child.pid);
      if (now !== undefined) peak = Math.max(peak ?? 0, now);
    };
    const timer = setInterval(sample, 100);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${String(code)}`));
      else resolve({ stdout, peakTreeRssMb: peak });
    });
  });
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

  const scratch = mkdtempSync(join(tmpdir(), 'dynalake-bench-'));
  const definition = storageTableDefinitions().orders;
  // The ceiling's batches, built before any clock starts.
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

  // (c): dynalite in this process, on a folder of its own.
  const server = await startLocalDynamoDB({ path: join(scratch, 'in-process') });
  const client = server.client;
  try {
    console.error(`bench: (c) pre-built BatchWriteItem requests into dynalite in this process, concurrency ${concurrency}…`);
    await client.send(new CreateTableCommand({ ...definition, TableName: 'bench-ceiling' }));
    const c = await (async () => {
      const started = performance.now();
      let next = 0;
      let items = 0;
      const worker = async () => {
        while (next < batches.length) {
          let requests = batches[next++] ?? [];
          while (requests.length > 0) {
            const output = await client.send(new BatchWriteItemCommand({ RequestItems: { 'bench-ceiling': requests } }));
            items += requests.length;
            requests = output.UnprocessedItems?.['bench-ceiling'] ?? [];
            items -= requests.length;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { rows: items, ms: performance.now() - started };
    })();

    await server.close();

    // (b) against the kind of DynamoDB (a) writes to: one in a child process.
    console.error(`bench: (b) one PutItem per row, ${fmt(naiveRows)} rows…`);
    const naive = await startLocalDynamoDB({ path: join(scratch, 'naive'), inChildProcess: true });
    const b = await (async () => {
      try {
        await naive.client.send(new CreateTableCommand({ ...definition, TableName: 'bench-naive' }));
        const started = performance.now();
        let count = 0;
        for await (const row of readOrderRows(file, { encoding: 'latin1', loadedAt: new Date().toISOString(), limit: naiveRows })) {
          if (row.result.ok) await naive.client.send(new PutItemCommand({ TableName: 'bench-naive', Item: toAttributeValues(row.result.item) }));
          count += 1;
        }
        return { rows: count, ms: performance.now() - started };
      } finally {
        await naive.close();
      }
    })();

    // (a) is the real command, in its own process, with its own embedded DynamoDB.
    console.error(`bench: (a) npm run seed -- --local, ${fmt(rows)} rows, concurrency ${concurrency}…`);
    // The command of `npm run seed`, without npm's own process around it (its memory is not the load's).
    const run = await runSampled(process.execPath, [...SEED_NODE_OPTIONS, '-r', './scripts/lib/swc-register.js', 'scripts/seed.ts', '--local', join(scratch, 'seed-local'), '--file', file, '--concurrency', String(concurrency), '--rejects', join(scratch, 'a.rejects.csv'), '--json']);
    const summary = JSON.parse(run.stdout) as { read: number; written: number; rejected: number; elapsedMs: number; peakRssMb: number };
    if (summary.read !== summary.written + summary.rejected) throw new Error(`(a) lost rows: ${run.stdout}`);
    const a = { rows: summary.read, ms: summary.elapsedMs, rejected: summary.rejected, peakRssMb: summary.peakRssMb, peakTreeRssMb: run.peakTreeRssMb };

    const lines = [
      `file: ${file} (${fmt(rows)} rows, ${fmt(a.rejected)} rejected by validation), concurrency ${concurrency}`,
      `(a) npm run seed -- --local             ${fmt(rate(a)).padStart(8)} rows/s  (${fmt(a.rows)} rows in ${(a.ms / 1000).toFixed(1)} s; DynamoDB in a child process)`,
      `(b) naive, one PutItem per row         ${fmt(rate(b)).padStart(8)} rows/s  (${fmt(b.rows)} rows in ${(b.ms / 1000).toFixed(1)} s; DynamoDB in a child process)`,
      `(c) ceiling, pre-built batches         ${fmt(rate(c)).padStart(8)} rows/s  (${fmt(c.rows)} rows in ${(c.ms / 1000).toFixed(1)} s; DynamoDB in this process)`,
      `(a)/(c) = ${(rate(a) / rate(c)).toFixed(2)}  (target ≥ 0.85)`,
      `(a)/(b) = ${(rate(a) / rate(b)).toFixed(1)}  (target ≥ 10)`,
      `(a) peak RSS: ${a.peakTreeRssMb === undefined ? 'n/a (no /proc)' : `${fmt(a.peakTreeRssMb)} MB`} for the loader and its DynamoDB together, ${fmt(a.peakRssMb)} MB the loader alone (target < 300)`,
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    await server.close().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

runCli(main);
