import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { type LocalS3, startLocalS3 } from '../../scripts/local/s3';

/** A real s3rver on a free loopback port for the test file, closed (and its folder removed) after it. */
export function useLocalS3(): () => LocalS3 {
  let local: LocalS3 | undefined;
  beforeAll(async () => {
    local = await startLocalS3();
  });
  afterAll(async () => {
    await local?.close();
  });
  return () => {
    if (!local) throw new Error('useLocalS3: the server starts in beforeAll');
    return local;
  };
}

/** Creates a bucket with a unique name, so tests never see each other's objects. */
export async function createBucket(local: LocalS3, purpose = 'test'): Promise<string> {
  const name = `${purpose}-${randomUUID()}`.toLowerCase().slice(0, 63);
  await local.client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Every key in a bucket (under `prefix`), sorted. */
export async function listKeys(local: LocalS3, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: local.client }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
  }
  return keys.sort();
}

/** An object's bytes. */
export async function getObjectBytes(local: LocalS3, bucket: string, key: string): Promise<Uint8Array> {
  const response = await local.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!response.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return response.Body.transformToByteArray();
}
