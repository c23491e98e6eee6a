import { randomUUID } from 'node:crypto';
import { CreateTableCommand, type AttributeValue, paginateScan } from '@aws-sdk/client-dynamodb';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../scripts/local/dynamodb';
import { storageTableDefinitions, type TableDefinition } from '../../scripts/local/table-definitions';

let definitions: ReturnType<typeof storageTableDefinitions> | undefined;

/** The storage stack's table definitions, synthesized once per test file. */
export function tableDefinitions(): ReturnType<typeof storageTableDefinitions> {
  definitions ??= storageTableDefinitions();
  return definitions;
}

/**
 * A real dynalite on a free loopback port for the test file, closed after it. Each test creates
 * its own tables (unique names), so tests never see each other's data.
 */
export function useLocalDynamoDB(): () => LocalDynamoDB {
  let local: LocalDynamoDB | undefined;
  beforeAll(async () => {
    local = await startLocalDynamoDB();
  });
  afterAll(async () => {
    await local?.close();
  });
  return () => {
    if (!local) throw new Error('useLocalDynamoDB: the server starts in beforeAll');
    return local;
  };
}

/** Creates a fresh table shaped like one of the storage stack's, under a unique name. */
export async function createTable(local: LocalDynamoDB, id: keyof ReturnType<typeof storageTableDefinitions> = 'orders'): Promise<string> {
  const definition: TableDefinition = { ...tableDefinitions()[id], TableName: `test-${id}-${randomUUID()}` };
  await local.client.send(new CreateTableCommand(definition));
  return definition.TableName;
}

/** Every item of a table. */
export async function scanAll(local: LocalDynamoDB, tableName: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  for await (const page of paginateScan({ client: local.client }, { TableName: tableName })) items.push(...(page.Items ?? []));
  return items;
}
