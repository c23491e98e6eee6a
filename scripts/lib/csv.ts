import { DynalakeError } from '../../lambda/shared/errors';

/** CSV-quotes a field only when it needs it (comma, double quote or line break), as the Kaggle file does. */
export function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/**
 * csv-parse's errors (code `CSV_…`) as a BAD_INPUT error naming the file and line where reading
 * stopped; any other error is returned as it is, for the caller to rethrow.
 */
export function csvReadError(error: unknown, file: string, line: number): unknown {
  if (error instanceof DynalakeError) return error;
  const csvError = error as { code?: string; lines?: number; message?: string };
  if (typeof csvError.code === 'string' && csvError.code.startsWith('CSV_')) {
    return new DynalakeError('BAD_INPUT', `${file}:${String(csvError.lines ?? line)}: the CSV cannot be read past this point: ${csvError.message ?? csvError.code}`);
  }
  return error;
}
