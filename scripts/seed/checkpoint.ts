import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { DynalakeError } from '../../lambda/shared/errors';
import type { Encoding } from './orders-source';

/**
 * A load's progress, kept beside the rejects file. `rowsDone` is a watermark: every data row up
 * to it is in the table or in the rejects file, whatever happened to the batches after it, so a
 * resumed load restarts right after it and rewrites nothing under a different key.
 */
export interface Checkpoint {
  readonly version: 1;
  readonly file: string;
  readonly fileSize: number;
  /** sha256 of the file's first 64 KiB: with the size, tells a changed file from the same one. */
  readonly fileHead: string;
  readonly table: string;
  readonly encoding: Encoding;
  /** `LoadedAt` of the load, reused on resume so every item of one load carries the same. */
  readonly loadedAt: string;
  readonly rowsDone: number;
  /** Size of the rejects file holding exactly the rejects up to `rowsDone`. */
  readonly rejectsBytes: number;
  readonly complete: boolean;
  readonly updatedAt: string;
}

/** The checkpoint file that belongs to a rejects file. */
export function checkpointPathFor(rejectsPath: string): string {
  return `${rejectsPath.replace(/\.csv$/, '')}.checkpoint.json`;
}

/** Size and head hash of a file, to recognise it on resume. */
export async function fingerprint(path: string): Promise<{ readonly fileSize: number; readonly fileHead: string }> {
  const { size } = await stat(path);
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await handle.read(head, 0, head.length, 0);
    return { fileSize: size, fileHead: createHash('sha256').update(head).digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Reads a checkpoint, or undefined when there is none. */
export function readCheckpoint(path: string): Checkpoint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const checkpoint = JSON.parse(readFileSync(path, 'utf8')) as Partial<Checkpoint> | null;
    if (checkpoint?.version !== 1) throw new Error(`unknown version ${String(checkpoint?.version)}`);
    return checkpoint as Checkpoint;
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `${path}: not a dynalake seed checkpoint (${(error as Error).message}); delete it to start over`);
  }
}

/** Writes a checkpoint atomically (temporary file, then rename), so a crash never leaves half of one. */
export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`);
  renameSync(temporary, path);
}

/**
 * The highest data row below which every row is settled (written or rejected). Rows are queued
 * in file order but batches finish in any order, so the watermark waits for the oldest
 * unfinished item.
 */
export class Watermark {
  private readonly pending: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  private lastSettled: number;

  constructor(start = 0) {
    this.lastSettled = start;
  }

  /** A row is fully handled by the reader: rejected, skipped, or its item queued. */
  rowHandled(ordinal: number): void {
    this.lastSettled = ordinal;
  }

  /** An item is queued for writing. */
  itemQueued(ordinal: number): void {
    this.pending.push(ordinal);
  }

  /** DynamoDB has taken these items. */
  itemsWritten(ordinals: readonly number[]): void {
    for (const ordinal of ordinals) this.finished.add(ordinal);
  }

  /** Every row up to this one is settled. */
  get value(): number {
    // Past the end the entry is undefined, which `finished` never holds: the loop stops there.
    while (this.finished.delete(this.pending[this.head] as number)) this.head += 1;
    if (this.head > 4096) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    const oldestUnfinished = this.pending[this.head];
    return oldestUnfinished === undefined ? this.lastSettled : oldestUnfinished - 1;
  }
}
