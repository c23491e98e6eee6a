import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  copyPartitioned,
  createTableFromRows,
  exactDecimalSql,
  openDuckDB,
  readRows,
  readScalar,
  selectColumns,
  selectDeclaredColumns,
  sqlIdentifier,
  sqlLiteral,
  textOf,
  withDuckDB,
} from '../../../../scripts/local/glue/duckdb';
import { listFiles } from '../../../../scripts/local/glue/s3-files';
import { DynalakeError } from '../../../../lambda/shared/errors';

const setting = (connection: DuckDBConnection, name: string) => readScalar(connection, `SELECT current_setting(${sqlLiteral(name)})`);

describe('one DuckDB per run (openDuckDB, withDuckDB)', () => {
  afterEach(() => jest.restoreAllMocks());

  it('opens in UTC, spilling to a dynalake-duckdb folder in the OS temporary folder unless told where', async () => {
    await withDuckDB(async (connection) => {
      expect(await setting(connection, 'TimeZone')).toBe('UTC');
      expect(await setting(connection, 'temp_directory')).toBe(join(tmpdir(), 'dynalake-duckdb'));
    });
    await withDuckDB(
      async (connection) => {
        expect(await setting(connection, 'temp_directory')).toBe("/scratch/it's here");
        expect(await setting(connection, 'threads')).toBe(3);
      },
      { threads: 3, tempDirectory: "/scratch/it's here" },
    );
  });

  describe('$DYNALAKE_DUCKDB_MEMORY_LIMIT', () => {
    const saved = process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT;
    let scratch: string;
    beforeEach(() => {
      scratch = mkdtempSync(join(tmpdir(), 'dynalake-duckdb-limit-'));
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT;
      else process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT = saved;
      rmSync(scratch, { recursive: true, force: true });
    });
    const databases = (connection: DuckDBConnection) => readRows(connection, "SELECT path FROM duckdb_databases() WHERE NOT internal");
    // More than 20 MB, held at once: list() cannot spill.
    const tooMuch = (connection: DuckDBConnection) => connection.run('SELECT list(range) FROM range(5000000)');

    it('unset or empty: DuckDB’s own limit, tables in memory, nothing in the temporary folder', async () => {
      for (const unset of [undefined, '']) {
        if (unset === undefined) delete process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT;
        else process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT = unset;
        await withDuckDB(
          async (connection) => {
            expect(await databases(connection)).toEqual([{ path: null }]);
            expect(await setting(connection, 'memory_limit')).not.toBe('244.1 MiB');
            await tooMuch(connection);
          },
          { tempDirectory: join(scratch, 'temp') },
        );
        expect(readdirSync(scratch)).toEqual([]);
        // Uncapped, even DuckDB running out of memory passes as DuckDB said it: there is no limit of ours to name.
        const outOfMemory = new Error('Out of Memory Error: could not allocate block of size 256.0 KiB');
        await expect(withDuckDB(() => Promise.reject(outOfMemory))).rejects.toBe(outOfMemory);
      }
    });

    it('set: that limit (DuckDB counts 1000s), the tables in a database file of the temporary folder, removed on close', async () => {
      process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT = '256MB';
      const temp = join(scratch, 'not', 'there', 'yet');
      const duckdb = await openDuckDB({ tempDirectory: temp });
      expect(await setting(duckdb.connection, 'memory_limit')).toBe('244.1 MiB');
      expect(await setting(duckdb.connection, 'temp_directory')).toBe(temp);
      const [database] = (await databases(duckdb.connection)) as { path: string }[];
      expect(database?.path).toMatch(new RegExp(`^${join(temp, 'database-')}[^/]+/dynalake\\.duckdb$`));
      await duckdb.connection.run('CREATE TABLE kept AS SELECT range AS n FROM range(1000)');
      expect(readdirSync(temp)).toHaveLength(1);
      duckdb.close();
      expect(readdirSync(temp)).toEqual([]);
    });

    it('refuses a size DuckDB does not take, and leaves no database file behind', async () => {
      process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT = 'plenty';
      const refusal = openDuckDB({ tempDirectory: scratch });
      await expect(refusal).rejects.toThrow(new DynalakeError('BAD_INVOCATION', 'DYNALAKE_DUCKDB_MEMORY_LIMIT=plenty is not a size DuckDB takes, such as 256MB or 1GB: Parser Error: Memory must have a number (e.g. 1GB)'));
      await expect(refusal).rejects.toBeInstanceOf(DynalakeError);
      await expect(refusal).rejects.toMatchObject({ code: 'BAD_INVOCATION' });
      expect(readdirSync(scratch)).toEqual([]);
    });

    it('running out of it fails the run with DuckDB’s first line and the limit; any other failure passes unchanged', async () => {
      process.env.DYNALAKE_DUCKDB_MEMORY_LIMIT = '20MB';
      const run = withDuckDB(tooMuch, { tempDirectory: scratch });
      await expect(run).rejects.toThrow(/^Out of Memory Error: [^\n]+\/19\.0 MiB used\): DuckDB may hold 20MB here \(DYNALAKE_DUCKDB_MEMORY_LIMIT\); raise it, or unset it to let DuckDB take up to 80% of RAM$/);
      await expect(run).rejects.toMatchObject({ code: 'LOAD_FAILED' });
      expect(readdirSync(scratch)).toEqual([]);
      await expect(withDuckDB((connection) => connection.run('SELECT * FROM no_such_table'), { tempDirectory: scratch })).rejects.toThrow(/^Catalog Error: Table with name no_such_table does not exist!\n/);
      await expect(withDuckDB(() => Promise.reject(new Error('plain')), { tempDirectory: scratch })).rejects.toThrow('plain');
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a rejection that is no Error is the case here
      await expect(withDuckDB(() => Promise.reject('Out of Memory Error, as a string'), { tempDirectory: scratch })).rejects.toBe('Out of Memory Error, as a string');
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- as above
      await expect(withDuckDB(() => Promise.reject(undefined), { tempDirectory: scratch })).rejects.toBeUndefined();
    });
  });

  it('closes the connection and the instance: a closed DuckDB runs nothing more', async () => {
    const duckdb = await openDuckDB();
    expect(await readScalar(duckdb.connection, 'SELECT 1')).toBe(1);
    duckdb.close();
    await expect(duckdb.connection.run('SELECT 1')).rejects.toThrow(/disconnected/);
  });

  it('withDuckDB closes its DuckDB once the work is done, whether it returns or throws', async () => {
    let used: DuckDBConnection | undefined;
    const work = (outcome: () => Promise<string>) => (connection: DuckDBConnection) => {
      used = connection;
      return outcome();
    };
    expect(await withDuckDB(work(() => Promise.resolve('done')))).toBe('done');
    await expect(used?.run('SELECT 1')).rejects.toThrow(/disconnected/);
    await expect(withDuckDB(work(() => Promise.reject(new Error('the work failed'))))).rejects.toThrow('the work failed');
    await expect(used?.run('SELECT 1')).rejects.toThrow(/disconnected/);
  });

  it('rejects with the cause when it cannot connect, and closes the instance it created', async () => {
    jest.spyOn(DuckDBInstance.prototype, 'connect').mockRejectedValueOnce(new Error('no connection for you'));
    const closed = jest.spyOn(DuckDBInstance.prototype, 'closeSync');
    await expect(openDuckDB()).rejects.toThrow('no connection for you');
    expect(closed).toHaveBeenCalledTimes(1);
  });
});

describe('SQL text and JSON values', () => {
  it('sqlLiteral and sqlIdentifier quote text with quotes in it, so it reaches DuckDB as written', async () => {
    await withDuckDB(async (connection) => {
      expect(await readRows(connection, `SELECT ${sqlLiteral("it's 'quoted'")} AS ${sqlIdentifier('say "hi"')}`)).toEqual([{ 'say "hi"': "it's 'quoted'" }]);
    });
  });

  it('textOf keeps a string as it is and writes anything else as JSON, a missing value as null', () => {
    expect([textOf('2.550'), textOf(''), textOf(42), textOf(true), textOf(null), textOf(undefined), textOf([1, 'a']), textOf({ a: 1 })]).toEqual([
      '2.550',
      '',
      '42',
      'true',
      'null',
      'null',
      '[1,"a"]',
      '{"a":1}',
    ]);
  });

  it('readScalar refuses a query that returns no row, naming it', async () => {
    await withDuckDB(async (connection) => {
      await expect(readScalar(connection, 'SELECT 1 WHERE false')).rejects.toThrow('expected one row from: SELECT 1 WHERE false');
    });
  });
});

describe('tables from rows and files', () => {
  const columns = [
    { name: 'invoice_no', type: 'VARCHAR' },
    { name: 'quantity', type: 'INTEGER' },
    { name: 'unit_price', type: 'DECIMAL(12,3)' },
  ];

  it('createTableFromRows casts each value from its text, takes a null or absent value as NULL, and leaves no staging table', async () => {
    await withDuckDB(async (connection) => {
      await createTableFromRows(connection, 'orders', columns, [
        { invoice_no: '536365', quantity: 6, unit_price: '2.55' },
        { invoice_no: '536366', quantity: null },
      ]);
      expect(await readRows(connection, 'SELECT * FROM orders ORDER BY invoice_no')).toEqual([
        { invoice_no: '536365', quantity: 6, unit_price: '2.550' },
        { invoice_no: '536366', quantity: null, unit_price: null },
      ]);
      expect(await readRows(connection, 'SELECT table_name FROM duckdb_tables() ORDER BY table_name')).toEqual([{ table_name: 'orders' }]);
    });
  });

  it('selectColumns casts the columns of the named source, in order', async () => {
    await withDuckDB(async (connection) => {
      await connection.run("CREATE TABLE a AS SELECT 'A' AS invoice_no, '1' AS quantity, '1.5' AS unit_price");
      await connection.run("CREATE TABLE b AS SELECT 'B' AS invoice_no, '2' AS quantity, '2.5' AS unit_price");
      expect(await readRows(connection, `SELECT ${selectColumns(columns, 'b')} FROM a, b`)).toEqual([{ invoice_no: 'B', quantity: 2, unit_price: '2.500' }]);
      expect(await readRows(connection, `SELECT ${selectColumns(columns)} FROM a`)).toEqual([{ invoice_no: 'A', quantity: 1, unit_price: '1.500' }]);
    });
  });

  it('selectDeclaredColumns reads a column the source lacks as NULL of its type, and leaves out the undeclared ones', async () => {
    await withDuckDB(async (connection) => {
      const select = await selectDeclaredColumns(connection, "(SELECT '536365' AS invoice_no, 'x' AS extra)", columns);
      expect(await readRows(connection, `DESCRIBE ${select}`)).toMatchObject([
        { column_name: 'invoice_no', column_type: 'VARCHAR' },
        { column_name: 'quantity', column_type: 'INTEGER' },
        { column_name: 'unit_price', column_type: 'DECIMAL(12,3)' },
      ]);
      expect(await readRows(connection, select)).toEqual([{ invoice_no: '536365', quantity: null, unit_price: null }]);
    });
  });

  it('copyPartitioned writes one file per partition value, its rows in the order of the query, whatever threads the DuckDB was opened with', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynalake-duckdb-test-'));
    try {
      await withDuckDB(
        async (connection) => {
          // Enough rows that a write on four threads puts some out of order (2026-12-07: 2 rows of 300,000; 4 of 1,000,000).
          const select = "SELECT i, CAST(DATE '2010-12-01' + CAST(i % 3 AS INTEGER) AS VARCHAR) AS day FROM range(300000) AS t(i) ORDER BY day, i";
          await copyPartitioned(connection, select, out, 'day');
          expect(await listFiles(out)).toEqual(['day=2010-12-01/part-0.parquet', 'day=2010-12-02/part-0.parquet', 'day=2010-12-03/part-0.parquet']);
          const written = `read_parquet(${sqlLiteral(join(out, '*', '*.parquet'))}, filename = true, file_row_number = true)`;
          expect(
            await readRows(
              connection,
              `SELECT count(*) AS n, count(*) FILTER (WHERE i < previous) AS out_of_order FROM (SELECT i, lag(i) OVER (PARTITION BY filename ORDER BY file_row_number) AS previous FROM ${written})`,
            ),
          ).toEqual([{ n: 300000, out_of_order: 0 }]);
          // The connection as it was: its threads, and no table of the write's left behind.
          expect(await readRows(connection, "SELECT current_setting('threads') AS threads, (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'copy_partitioned_rows') AS tables")).toEqual([{ threads: 4, tables: 0 }]);
        },
        { threads: 4 },
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.each([[undefined], [3]])('copyPartitioned sets threads back to what the connection had before the write (opened with threads %s)', async (threads) => {
    const out = mkdtempSync(join(tmpdir(), 'dynalake-duckdb-test-'));
    try {
      await withDuckDB(
        async (connection) => {
          const before = await setting(connection, 'threads');
          if (threads !== undefined) expect(before).toBe(threads);
          await copyPartitioned(connection, "SELECT 1 AS n, 'a' AS part", out, 'part');
          expect(await setting(connection, 'threads')).toBe(before);
        },
        threads === undefined ? {} : { threads },
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});


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
    ['6', 6],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
    ['6.0', 6],
    [null, null],
  ])('exact_int32 takes %p as %p', async (text, value) => {
    await withDuckDB(async (connection) => {
      expect(await readScalar(connection, "SELECT exact_int32($1, 'LineNo')", [text])).toBe(value);
    });
  });

  it.each([['2147483648'], ['-2147483649'], ['9223372036854775808'], ['6.5'], ['six']])('exact_int32 refuses %p, beyond INT or not whole, as not a whole number', async (text) => {
    await withDuckDB(async (connection) => {
      await expect(readRows(connection, "SELECT exact_int32($1, 'LineNo')", [text])).rejects.toThrow(`LineNo ${text} is not a whole number`);
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
