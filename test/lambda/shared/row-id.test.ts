import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrderColumn } from '../../../lambda/shared/orders-csv';
import { rowId } from '../../../lambda/shared/row-id';

interface IdVector {
  readonly row: Record<OrderColumn, string | null>;
  readonly id: string;
  readonly note: string;
}

// Shared with the Glue job's Python twin (glue-scripts/tests): both must give these ids.
const vectors = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'ids.json'), 'utf8')) as IdVector[];

describe('rowId', () => {
  it('has shared vectors to pass', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(12);
  });

  it.each(vectors.map((vector) => [vector.note, vector] as const))('gives the shared id for %s', (_note, vector) => {
    const row = Object.fromEntries(Object.entries(vector.row).map(([column, value]) => [column, value ?? undefined]));
    expect(rowId(row)).toBe(vector.id);
  });

  it('depends on content only: equal rows, equal ids; any changed value, another id', () => {
    const row = { InvoiceNo: '536365', StockCode: '85123A', Description: 'X', Quantity: '6', InvoiceDate: '12/1/2010 8:26', UnitPrice: '2.55', CustomerID: '17850', Country: 'United Kingdom' };
    expect(rowId({ ...row })).toBe(rowId(row));
    expect(rowId({ ...row, Quantity: ' 6 ' })).toBe(rowId(row));
    expect(rowId({ ...row, UnitPrice: '2.56' })).not.toBe(rowId(row));
    expect(rowId({ ...row, Description: 'X ' })).not.toBe(rowId(row));
  });

  it('takes a missing column as an empty one', () => {
    const row = { InvoiceNo: '536414', StockCode: '22139', Description: 'X', Quantity: '56', InvoiceDate: '12/1/2010 11:52', UnitPrice: '0', CustomerID: '', Country: 'United Kingdom' };
    expect(rowId({ ...row, CustomerID: undefined })).toBe(rowId(row));
    const { Description: _description, ...withoutDescription } = row;
    expect(rowId(withoutDescription)).toBe(rowId({ ...row, Description: '' }));
  });

  it('hashes the text as UTF-8: the id of a non-ASCII row is the SHA-256 of its UTF-8 bytes', () => {
    const row = { InvoiceNo: '1', StockCode: 'S', Description: 'données été 🚀', Quantity: '1', InvoiceDate: '1/1/2011 0:00', UnitPrice: '1', CustomerID: '', Country: 'France' };
    const bytes = Buffer.from(['1', 'S', 'données été 🚀', '1', '1/1/2011 0:00', '1', '', 'France'].join('\u001f'), 'utf8');
    expect(rowId(row)).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 32));
  });
});
