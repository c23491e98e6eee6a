export * from './config';
export * from './cron';
export * from './app';
export * from './nag';
export * from './constructs/streamed-table';
export * from './constructs/lake-buckets';
export * from './stacks/storage-stack';
export * from './constructs/refresh-workflow';
