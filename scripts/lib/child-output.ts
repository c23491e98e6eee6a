import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** What a running child process has printed, and a wait for a line of it. */
export interface ChildOutput {
  /** Everything printed to stdout so far. */
  readonly stdout: () => string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the process ends before printing it. */
  readonly printed: (pattern: RegExp) => Promise<RegExpExecArray>;
}

/** Watches a child's stdout, for tests and checks that talk to a long-running command. */
export function watchOutput(child: ChildProcessWithoutNullStreams, name: string): ChildOutput {
  let stdout = '';
  let stderr = '';
  let closed = false;
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const check of waiters) check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.once('close', () => {
    closed = true;
    for (const check of waiters) check();
  });
  return {
    stdout: () => stdout,
    printed: (pattern) =>
      new Promise((resolveMatch, reject) => {
        const check = () => {
          const match = pattern.exec(stdout);
          if (match) {
            waiters.delete(check);
            resolveMatch(match);
          } else if (closed) {
            waiters.delete(check);
            reject(new Error(`${name} ended before printing ${String(pattern)}:\n${stdout}${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}
