import { parse } from 'csv-parse/sync';
import { DynalakeError } from '../../../lambda/shared/errors';
import { csvReadError, quoteCsvField } from '../../../scripts/lib/csv';

/** The error csv-parse itself raises for `text`. */
function parseError(text: string): unknown {
  try {
    parse(text);
  } catch (error) {
    return error;
  }
  throw new Error('csv-parse accepted the text');
}

describe('csvReadError', () => {
  it('names the file and the line where csv-parse stopped, for an unclosed quote', () => {
    const error = csvReadError(parseError('InvoiceNo,Description\n536365,"WHITE HANGING\n536366,ok\n'), 'orders.csv', 1);
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'BAD_INPUT' });
    expect((error as Error).message).toMatch(/^orders\.csv:\d+: the CSV cannot be read past this point: Quote Not Closed/);
  });

  it('falls back to the caller’s line when csv-parse gives none', () => {
    expect((csvReadError({ code: 'CSV_INVALID_CLOSING_QUOTE', message: 'Invalid Closing Quote' }, 'x.csv', 7) as Error).message).toBe(
      'x.csv:7: the CSV cannot be read past this point: Invalid Closing Quote',
    );
  });

  it('returns other errors unchanged, DynalakeErrors included', () => {
    const io = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    const own = new DynalakeError('BAD_INPUT', 'already said');
    expect(csvReadError(io, 'x.csv', 1)).toBe(io);
    expect(csvReadError(own, 'x.csv', 1)).toBe(own);
  });
});

describe('quoteCsvField', () => {
  it('quotes only fields with a comma, a double quote or a line break', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines'].map(quoteCsvField)).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"']);
  });
});
