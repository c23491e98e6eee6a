import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import type { TableDefinition } from '../../../scripts/local/table-definitions';

/** The embedded DynamoDB (real dynalite), in this process or in a child process of its own. */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynalake-local-dynamodb-'));
  dirs.push(dir);
  return dir;
};

const NOTES: TableDefinition = {
  TableName: 'notes',
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
};

/** Whether a process of that id is running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startLocalDynamoDB', () => {
  it('runs dynalite in this process by default', async () => {
    const dynamodb = await startLocalDynamoDB();
    try {
      expect(dynamodb.pid).toBe(process.pid);
      expect(dynamodb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await ensureTables(dynamodb.client, [NOTES]);
      expect((await dynamodb.client.send(new ListTablesCommand({}))).TableNames).toEqual(['notes']);
    } finally {
      await dynamodb.close();
    }
  });

  it('runs dynalite in a child process when asked, keeps its data in the folder across restarts, and ends the child on close', async () => {
    const path = join(tempDir(), 'nested', 'dynamodb');
    const first = await startLocalDynamoDB({ path, inChildProcess: true });
    expect(first.pid).not.toBe(process.pid);
    expect(running(first.pid)).toBe(true);
    await ensureTables(first.client, [NOTES]);
    // A second time is no error: the table is there.
    await ensureTables(first.client, [NOTES]);
    await first.client.send(new PutItemCommand({ TableName: 'notes', Item: { id: { S: 'n-1' }, text: { S: 'kept' } } }));
    await first.close();
    expect(running(first.pid)).toBe(false);
    // Closing again does nothing.
    await first.close();

    const second = await startLocalDynamoDB({ path, inChildProcess: true });
    try {
      expect(second.pid).not.toBe(first.pid);
      const { Item } = await second.client.send(new GetItemCommand({ TableName: 'notes', Key: { id: { S: 'n-1' } } }));
      expect(Item).toEqual({ id: { S: 'n-1' }, text: { S: 'kept' } });
    } finally {
      await second.close();
    }
  });

  it('keeps a child without a folder in memory: a restart starts empty', async () => {
    const first = await startLocalDynamoDB({ inChildProcess: true });
    await ensureTables(first.client, [NOTES]);
    await first.close();
    const second = await startLocalDynamoDB({ inChildProcess: true });
    try {
      expect((await second.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
