import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse } from 'csv-parse';
import { DynalakeError } from '../../lambda/shared/errors';
import { csvReadError } from '../lib/csv';
import { type ColumnLayout, LineNumbering, mapOrderRow, resolveColumns, type RowResult } from '../../lambda/shared/orders-csv';

/** How the file's bytes become text. */
export type Encoding = 'utf8' | 'latin1';

/** `--encoding`: a fixed encoding, or `auto` (BOM → utf8, valid UTF-8 → utf8, else latin1). */
export type EncodingOption = Encoding | 'auto';

/** One data row of the file: where it is, what it says, and what it maps to. */
export interface SourceRow {
  /** 1-based position among the data rows (the header is not a data row). */
  readonly ordinal: number;
  /** 1-based line of the file where the row starts. */
  readonly line: number;
  /** The row as written, without its line break. */
  readonly raw: string;
  readonly result: RowResult;
}

/**
 * Picks the encoding for `auto`: a UTF-8 byte-order mark, or a file that decodes as valid UTF-8
 * from end to end, is UTF-8; anything else is ISO-8859-1, like the Kaggle file. Stops reading at
 * the first invalid sequence.
 */
export async function detectEncoding(path: string): Promise<Encoding> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const handle = await open(path, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
      decoder.decode(chunk as Buffer, { stream: true });
    }
    decoder.decode();
    return 'utf8';
  } catch (error) {
    // Checked by code: jest and other vm contexts make `instanceof TypeError` unreliable.
    if ((error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') return 'latin1';
    throw error;
  } finally {
    await handle.close();
  }
}

/** Options of {@link readOrderRows}. */
export interface ReadOrderRowsOptions {
  readonly encoding: Encoding;
  /** Stamped on every item as `LoadedAt`. */
  readonly loadedAt: string;
  /** Stop after this many data rows. */
  readonly limit?: number;
}

/**
 * Streams the file's data rows, mapped to orders items or to row problems, in file order and
 * with bounded memory. Columns are found by header name.
 * @throws DynalakeError BAD_INPUT when a column is missing or the CSV itself is broken (unclosed quote).
 */
export async function* readOrderRows(path: string, options: ReadOrderRowsOptions): AsyncGenerator<SourceRow> {
  const source = createReadStream(path, { encoding: options.encoding, highWaterMark: 1 << 20 });
  const parser = source.pipe(parse({ bom: true, raw: true, relax_column_count: true, relax_quotes: true }));
  const context = { sourceFile: basename(path), loadedAt: options.loadedAt };
  const numbering = new LineNumbering();
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let layout: ColumnLayout | undefined;
  let line = 1;
  let ordinal = 0;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const startLine = line;
      // `raw` ends with the record's line break, or its \r only when it is \r\n: the row as written has none.
      const text = raw.replace(/\r?\n?$/, '');
      // A record ends at its line break; line breaks inside quotes count too.
      line += countLineBreaks(text) + 1;
      if (layout === undefined) {
        const columns = resolveColumns(record);
        if ('missing' in columns) {
          throw new DynalakeError(
            'BAD_INPUT',
            `${path}:${startLine}: missing column${columns.missing.length > 1 ? 's' : ''} ${columns.missing.join(', ')}; header found: ${text}`,
          );
        }
        layout = columns.layout;
        continue;
      }
      if (record.length === 1 && record[0] === '') continue; // a blank line holds no row
      if (ordinal >= limit) break;
      ordinal += 1;
      // Every row with an InvoiceNo takes its place in the invoice, even when rejected.
      const invoiceNo = record[layout.index.InvoiceNo]?.trim();
      const lineNo = invoiceNo ? numbering.next(invoiceNo) : 0;
      yield { ordinal, line: startLine, raw: text, result: mapOrderRow(record, layout, lineNo, context) };
    }
  } catch (error) {
    throw csvReadError(error, path, line);
  } finally {
    // pipe() leaves the source open when the parser stops early (--limit, an error): close both.
    parser.destroy();
    source.destroy();
  }
  if (layout === undefined) throw new DynalakeError('BAD_INPUT', `${path}: the file is empty (expected a header row)`);
}

function countLineBreaks(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}
