import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { packageRoot } from '../../lib/package-root';
import type { TableDefinition } from './table-definitions';
import { WriteJournal } from './write-journal';

/** An embedded DynamoDB (dynalite) listening on loopback. */
export interface LocalDynamoDB {
  readonly endpoint: string;
  /** A client for it, with the dummy credentials and region it accepts. */
  readonly client: DynamoDBClient;
  /** The process dynalite runs in: this one, or its own child. */
  readonly pid: number;
  /** Which items were written, for the stream captures (./stream.ts); dynalite in this process only. */
  readonly journal?: WriteJournal;
  close(): Promise<void>;
}

/** Options of {@link startLocalDynamoDB}. */
export interface LocalDynamoDBOptions {
  /** Folder that keeps the data between runs. @default - in memory */
  readonly path?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /**
   * Runs dynalite in a child process (scripts/local/dynamodb-server.mjs) on any free port, so
   * that it has a core of its own: what a bulk load into it wants (`npm run seed -- --local`).
   * @default false (in this process)
   */
  readonly inChildProcess?: boolean;
}

/** A DynamoDB client for an endpoint such as dynalite, which accepts any credentials. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** Starts dynalite, in this process unless asked otherwise; tables become ACTIVE at once. */
export async function startLocalDynamoDB(options: LocalDynamoDBOptions = {}): Promise<LocalDynamoDB> {
  if (options.path) mkdirSync(options.path, { recursive: true });
  if (options.inChildProcess === true) return startInChildProcess(options.path);
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const journal = new WriteJournal();
  journal.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  return {
    endpoint,
    client,
    pid: process.pid,
    journal,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** What the child process says over IPC. */
type ServerMessage = { readonly port: number } | { readonly error: string } | { readonly closed: true; readonly error?: string };

/** dynalite in a child process; closing it closes its store, then the process. */
async function startInChildProcess(path: string | undefined): Promise<LocalDynamoDB> {
  // On disk, dynalite's live heap stays small: capped, V8 does not grow it lazily (its part of a
  // seed of 200,000 rows peaked at 144 MB against 208 MB uncapped, at the same speed), and 4 MB
  // semi-spaces rather than 16 take 100,000 rows from 130 to 107 MB, at the same speed too.
  // In memory the heap is the data.
  const execArgv = path === undefined ? [] : ['--max-semi-space-size=4', '--max-old-space-size=256'];
  const child = fork(join(packageRoot(), 'scripts', 'local', 'dynamodb-server.mjs'), [path ?? ''], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the embedded DynamoDB process exited (${String(code)}) before it listened`));
    child.once('exit', onExit);
    child.once('message', (message: ServerMessage) => {
      child.off('exit', onExit);
      if ('port' in message) resolve(message.port);
      else reject(new Error(`the embedded DynamoDB process could not start: ${message.error ?? 'no reason given'}`));
    });
  });
  const endpoint = `http://127.0.0.1:${String(port)}`;
  const client = localClient(endpoint);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    endpoint,
    client,
    pid: child.pid ?? 0,
    close: async () => {
      client.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const answer = new Promise<ServerMessage | undefined>((resolve) => {
        child.once('message', (message: ServerMessage) => resolve(message));
        child.once('exit', () => resolve(undefined));
      });
      child.send('close');
      const message = await answer;
      await exited;
      if (message !== undefined && 'closed' in message && message.error !== undefined) throw new Error(`the embedded DynamoDB could not close its store: ${message.error}`);
    },
  };
}

/** Creates each table that does not exist yet. */
export async function ensureTables(client: DynamoDBClient, definitions: readonly TableDefinition[]): Promise<void> {
  for (const definition of definitions) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
}
