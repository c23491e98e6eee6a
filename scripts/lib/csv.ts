/** CSV-quotes a field only when it needs it (comma, double quote or line break), as the Kaggle file does. */
export function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
