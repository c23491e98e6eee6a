import { ListObjectsCommand, ListObjectsV2Command, paginateListObjectsV2, PutObjectCommand } from '@aws-sdk/client-s3';
import { listObjects } from '../../../scripts/local/glue/s3-files';
import { createBucket, useLocalS3 } from '../../helpers/local-s3';

/**
 * The embedded S3 lists as S3 does past one page: s3rver 3.7.1's own ListObjectsV2 tokens need
 * DES, which Node.js's OpenSSL 3 does not have, so a listing of more than 1,000 keys failed.
 */
describe('startLocalS3: ListObjectsV2', () => {
  const s3 = useLocalS3();

  async function putKeys(bucket: string, keys: readonly string[]): Promise<void> {
    for (let from = 0; from < keys.length; from += 100) {
      await Promise.all(keys.slice(from, from + 100).map((Key) => s3().client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))));
    }
  }

  it('pages through more than 1,000 keys, each listed once and in order, as the SDK paginator and the twins list them', async () => {
    const bucket = await createBucket(s3(), 'pages');
    const keys = Array.from({ length: 1_050 }, (_unused, index) => `cdc/orders/dt=2026-12-0${String(1 + (index % 3))}/${String(index).padStart(5, '0')}.jsonl.gz`).sort();
    await putKeys(bucket, [...keys, 'other/outside.jsonl.gz']);
    const pages: number[] = [];
    const listed: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3().client }, { Bucket: bucket, Prefix: 'cdc/orders/' })) {
      pages.push(page.KeyCount ?? -1);
      listed.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    }
    expect(pages).toEqual([1_000, 50]);
    expect(listed).toEqual(keys);
    expect((await listObjects(s3().client, bucket, 'cdc/orders/')).map((object) => object.key)).toEqual(keys);
  }, 120_000);

  it('answers each page as S3 does: its token echoed, the next one only while truncated, StartAfter on the first page, owners only when asked', async () => {
    const bucket = await createBucket(s3(), 'shape');
    const keys = Array.from({ length: 12 }, (_unused, index) => `k/${String(index).padStart(2, '0')}`);
    await putKeys(bucket, keys);
    const list = (input: Omit<ConstructorParameters<typeof ListObjectsV2Command>[0], 'Bucket'>) => s3().client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 5, ...input }));

    const first = await list({ StartAfter: 'k/01' });
    expect([first.KeyCount, first.IsTruncated, first.StartAfter, first.ContinuationToken, first.MaxKeys]).toEqual([5, true, 'k/01', undefined, 5]);
    expect(first.Contents?.map((object) => object.Key)).toEqual(['k/02', 'k/03', 'k/04', 'k/05', 'k/06']);
    expect(first.Contents?.[0]?.Owner).toBeUndefined();
    expect(first.Contents?.[0]).toMatchObject({ Size: 4, ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) as unknown, StorageClass: 'STANDARD' });

    const second = await list({ ContinuationToken: first.NextContinuationToken, FetchOwner: true });
    expect([second.KeyCount, second.IsTruncated, second.StartAfter, second.ContinuationToken]).toEqual([5, false, undefined, first.NextContinuationToken]);
    expect(second.NextContinuationToken).toBeUndefined();
    expect(second.Contents?.map((object) => object.Key)).toEqual(['k/07', 'k/08', 'k/09', 'k/10', 'k/11']);
    expect(second.Contents?.[0]?.Owner?.ID).toEqual(expect.any(String));

    const whole = await list({ MaxKeys: 1_000 });
    expect([whole.KeyCount, whole.IsTruncated, whole.NextContinuationToken]).toEqual([12, false, undefined]);
  });

  it("refuses a continuation token it did not give, and a marker, with S3's words", async () => {
    const bucket = await createBucket(s3(), 'tokens');
    await expect(s3().client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'bm90LW91cnM=' }))).rejects.toMatchObject({ name: 'InvalidArgument', message: 'The continuation token provided is incorrect' });
    // A marker belongs to version 1: the SDK's V2 command cannot send one, so the request is made by hand.
    const response = await fetch(`${s3().endpoint}/${bucket}?list-type=2&marker=a`);
    expect([response.status, await response.text()]).toEqual([400, expect.stringContaining('Marker unsupported with REST.GET.BUCKET in list-type=2') as unknown]);
  });

  it('leaves version 1 listings and delimited ones to s3rver', async () => {
    const bucket = await createBucket(s3(), 'others');
    await putKeys(bucket, ['a/1', 'a/2', 'b/1', 'c']);
    const delimited = await s3().client.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect([delimited.Contents?.map((object) => object.Key), delimited.CommonPrefixes?.map((prefix) => prefix.Prefix)]).toEqual([['c'], ['a/', 'b/']]);
    const version1 = await s3().client.send(new ListObjectsCommand({ Bucket: bucket, Marker: 'a/1', MaxKeys: 2 }));
    expect([version1.Contents?.map((object) => object.Key), version1.IsTruncated, version1.Marker]).toEqual([['a/2', 'b/1'], true, 'a/1']);
  });
});
