import { exactDecimalSql, readRows, readScalar, withDuckDB } from '../../../../scripts/local/glue/duckdb';

describe('the twins’ SQL rules', () => {
  it('js_trim strips what JavaScript’s trim strips, and keeps what it keeps (dynalake_glue.js_trim)', async () => {
    await withDuckDB(async (connection) => {
      expect(await readScalar(connection, 'SELECT js_trim($1)', ['\t\u00a0\u2028\u3000\ufeff x y \r\n\v\f\u202f'])).toBe('x y');
      expect(await readScalar(connection, 'SELECT js_trim($1)', ['\x1cx\x1f\x85'])).toBe('\x1cx\x1f\x85');
    });
  });

  it('surrogate_key is the 53-bit SHA-256 key of dynalake_glue, trimmed like it', async () => {
    await withDuckDB(async (connection) => {
      // 85123A's product key in the sales_star_schema golden.
      expect(await readScalar(connection, "SELECT surrogate_key('product', '85123A')")).toBe(5782815726652591);
      expect(await readScalar(connection, "SELECT surrogate_key('product', $1)", ['\u00a085123A '])).toBe(5782815726652591);
      expect(await readScalar(connection, "SELECT surrogate_key('product', '85123a')")).not.toBe(5782815726652591);
    });
  });

  it.each([
    ['6', 6],
    [' 6 ', 6],
    ['-1', -1],
    ['6.0', 6],
    ['1e3', 1000],
  ])('exact_int takes %p as %p', async (text, value) => {
    await withDuckDB(async (connection) => {
      expect(await readScalar(connection, "SELECT exact_int($1, 'Quantity')", [text])).toBe(value);
    });
  });

  it.each([['6.5'], ['true'], ['six']])('exact_int refuses %p', async (text) => {
    await withDuckDB(async (connection) => {
      await expect(readRows(connection, "SELECT exact_int($1, 'Quantity')", [text])).rejects.toThrow(`Quantity ${text} is not a whole number`);
    });
  });

  it.each([
    ['2.55', '2.550'],
    ['0.001', '0.001'],
    ['-11062.06', '-11062.060'],
    ['38970', '38970.000'],
    ['2.5500', '2.550'],
    ['.5', '0.500'],
    ['1e3', '1000.000'],
    ['999999999.999', '999999999.999'],
  ])('exactDecimalSql takes %p as DECIMAL(12,3) %p', async (text, value) => {
    await withDuckDB(async (connection) => {
      expect(await readScalar(connection, `SELECT ${exactDecimalSql('$1', 12, 3, "'UnitPrice'")}`, [text])).toBe(value);
    });
  });

  it.each([['0.0015'], ['2.55000000000000000001'], ['1000000000'], ['1e-7'], ['abc']])('exactDecimalSql refuses %p rather than round it', async (text) => {
    await withDuckDB(async (connection) => {
      await expect(readRows(connection, `SELECT ${exactDecimalSql('$1', 12, 3, "'UnitPrice'")}`, [text])).rejects.toThrow(`UnitPrice ${text} does not fit DECIMAL(12,3) exactly`);
    });
  });
});

describe('rows as JSON (lakeJsonConverter)', () => {
  it('writes decimals as exact strings, integers as numbers within 2^53, timestamps in ISO form', async () => {
    await withDuckDB(async (connection) => {
      const [row] = await readRows(
        connection,
        `SELECT 2.550::DECIMAL(12,3) AS price, 9007199254740991::BIGINT AS safe, 9007199254740993::BIGINT AS big, 42::INTEGER AS small,
           TIMESTAMP '2010-12-01 08:26:00' AS ts, TIMESTAMP '2010-12-01 08:26:00.5' AS fraction, DATE '2010-12-01' AS day, 0.5::DOUBLE AS ratio,
           NULL::BIGINT AS nothing, [1::BIGINT, 2] AS list`,
      );
      expect(row).toEqual({
        price: '2.550',
        safe: 9007199254740991,
        big: '9007199254740993',
        small: 42,
        ts: '2010-12-01T08:26:00',
        fraction: '2010-12-01T08:26:00.5',
        day: '2010-12-01',
        ratio: 0.5,
        nothing: null,
        list: [1, 2],
      });
    });
  });
});
