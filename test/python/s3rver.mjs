// The embedded S3 of `npm start` (scripts/local/s3.ts: s3rver, its PUTs whole and its listings paged as
// on S3) for the Python tests: prints its endpoint, serves until stdin closes.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('../../scripts/lib/swc-register.js');
const { startLocalS3 } = require('../../scripts/local/s3.ts');

const local = await startLocalS3();
process.stdout.write(`${JSON.stringify({ endpoint: local.endpoint })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await local.close();
  process.exit(0);
});
