/**
 * Rows as an aligned text table: a header, a rule, one line per row; numbers right-aligned, and
 * the `rightAligned` columns too (numbers already formatted as text, `1,449.00` or `$0.44`).
 */
export function textTable(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[], rightAligned: readonly string[] = []): string {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  };
  const numeric = columns.map((column) => rightAligned.includes(column) || (rows.length > 0 && rows.every((row) => typeof row[column] === 'number' || typeof row[column] === 'bigint' || /^-?\d+(\.\d+)?$/.test(cell(row[column])))));
  const texts = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...texts.map((line) => line[index]?.length ?? 0)));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (numeric[index] ? value.padStart(widths[index] ?? 0) : value.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((width) => '─'.repeat(width)).join('  '), ...texts.map(line)].join('\n');
}
