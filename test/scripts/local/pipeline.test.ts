import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDB } from '../../../scripts/local/dynamodb';
import { queryLake } from '../../../scripts/local/lake';
import { type LocalPipelineReport, runLocalPipeline, SAMPLE_FILE } from '../../../scripts/local/pipeline';
import { startLocalS3 } from '../../../scripts/local/s3';

/**
 * `npm start` end to end on the real sample, then the lake checked against figures computed here
 * straight from the CSV, with none of the product's code: lines per day, revenue per country to
 * the cent, cancellations, and the rows the changes step updated and deleted.
 */

interface CsvRow {
  readonly InvoiceNo: string;
  readonly StockCode: string;
  readonly Description: string;
  readonly Quantity: string;
  readonly InvoiceDate: string;
  readonly UnitPrice: string;
  readonly CustomerID: string;
  readonly Country: string;
}

/** The sample as the test reads it: each row with its 1-based position inside its invoice. */
function sampleRows(): (CsvRow & { lineNo: number; day: string })[] {
  const rows = parse<CsvRow>(readFileSync(SAMPLE_FILE, 'latin1'), { columns: true, skip_empty_lines: true });
  const positions = new Map<string, number>();
  return rows.map((row) => {
    const lineNo = (positions.get(row.InvoiceNo) ?? 0) + 1;
    positions.set(row.InvoiceNo, lineNo);
    const [month, dayOfMonth, year] = (row.InvoiceDate.split(' ')[0] ?? '').split('/');
    return { ...row, lineNo, day: `${year ?? ''}-${(month ?? '').padStart(2, '0')}-${(dayOfMonth ?? '').padStart(2, '0')}` };
  });
}

/** quantity × price in thousandths of a unit, exactly (prices have at most 3 decimals). */
function amountInThousandths(quantity: string, price: string): bigint {
  const [whole = '0', fraction = ''] = price.replace('-', '').split('.');
  const thousandths = BigInt(whole) * 1000n + BigInt(fraction.padEnd(3, '0').slice(0, 3) || '0');
  return BigInt(quantity) * (price.startsWith('-') ? -thousandths : thousandths);
}

const toCents = (thousandths: bigint) => {
  // Half away from zero, as DECIMAL rounding does.
  const sign = thousandths < 0n ? -1n : 1n;
  const magnitude = thousandths * sign;
  return sign * ((magnitude + 5n) / 10n);
};

const ORDER_COLUMNS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;

/**
 * The uploads table's id of a row, by the documented rule (README, row-id.ts, dynalake_glue.row_id),
 * written out here: SHA-256 of the eight columns joined by U+001F, each trimmed except Description,
 * whose spaces are part of the product's text; the first 32 hex digits. Rows with one id are one item.
 */
function uploadId(row: CsvRow): string {
  const text = ORDER_COLUMNS.map((column) => (column === 'Description' ? row[column] : row[column].trim())).join('\u001f');
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/** The ids in the uploads table of a stopped pipeline's DynamoDB folder, sorted. */
async function uploadedIds(stateDir: string): Promise<string[]> {
  const dynamodb = await startLocalDynamoDB({ path: join(stateDir, 'dynamodb') });
  try {
    const ids: string[] = [];
    for await (const page of paginateScan({ client: dynamodb.client }, { TableName: 'dynalake-dev-uploads', ProjectionExpression: 'id' })) {
      for (const item of page.Items ?? []) ids.push(item.id?.S ?? '');
    }
    return ids.sort();
  } finally {
    await dynamodb.close();
  }
}

/** One CSV line, quoted where the value needs it (RFC 4180). */
const csvLine = (row: CsvRow) => ORDER_COLUMNS.map((column) => (/[",\r\n]/.test(row[column]) ? `"${row[column].replaceAll('"', '""')}"` : row[column])).join(',');

describe('npm start on the real sample (runLocalPipeline)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-start-'));
  const printed: string[] = [];
  let report: LocalPipelineReport;
  const lake = async (sql: string) => {
    const s3 = await startLocalS3({ path: join(stateDir, 's3') });
    try {
      const [result] = await queryLake({ s3: s3.client, bucket: report.buckets.lake, lakeDir: join(stateDir, 'scratch', 'lake-test') }, [sql]);
      return result?.rows ?? [];
    } finally {
      await s3.close();
    }
  };
  const rows = sampleRows();
  const isChanged = (list: readonly { invoice: string; line: number }[] | undefined, row: { InvoiceNo: string; lineNo: number }) =>
    (list ?? []).some((key) => key.invoice === row.InvoiceNo && key.line === row.lineNo);
  const remaining = () => rows.filter((row) => !isChanged(report.changed?.deleted, row));
  const quantityOf = (row: CsvRow & { lineNo: number }) => (isChanged(report.changed?.updated, row) ? String(Number(row.Quantity) + 10) : row.Quantity);

  beforeAll(async () => {
    report = await runLocalPipeline({ stateDir, fresh: true, print: (line) => printed.push(line) });
  }, 120_000);
  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('loads every row of the sample and says so: read = written + rejected', () => {
    expect(report.seeded).toMatchObject({ read: rows.length, written: rows.length, rejected: 0 });
    expect(printed.join('\n')).toContain(`${rows.length.toLocaleString('en-US')} rows read = ${rows.length.toLocaleString('en-US')} written + 0 rejected`);
  });

  it('holds the sample’s lines per day in the lake, less the deleted ones', async () => {
    const expected = new Map<string, number>();
    for (const row of remaining()) expected.set(row.day, (expected.get(row.day) ?? 0) + 1);
    const actual = await lake('SELECT invoice_day, count(*) AS lines FROM orders GROUP BY 1 ORDER BY 1');
    expect(actual.map((row) => [row.invoice_day, Number(row.lines)])).toEqual([...expected].sort(([a], [b]) => (a < b ? -1 : 1)));
  });

  it('holds the revenue per country to the cent, updates included', async () => {
    const expected = new Map<string, bigint>();
    for (const row of remaining()) expected.set(row.Country, (expected.get(row.Country) ?? 0n) + amountInThousandths(quantityOf(row), row.UnitPrice));
    const actual = await lake('SELECT country, CAST(round(sum(quantity * unit_price), 2) AS VARCHAR) AS revenue FROM orders GROUP BY 1 ORDER BY 1');
    const cents = (text: string) => toCents(amountInThousandths('1', text));
    expect(Object.fromEntries(actual.map((row) => [row.country, cents(row.revenue as string)]))).toEqual(Object.fromEntries([...expected].map(([country, amount]) => [country, toCents(amount)])));
  });

  it('marks exactly the C invoices as cancellations', async () => {
    const expected = remaining().filter((row) => row.InvoiceNo.startsWith('C')).length;
    const [actual] = await lake('SELECT count(*) FILTER (WHERE is_cancellation) AS cancelled, count(*) FILTER (WHERE invoice_no LIKE \'C%\') AS c_invoices FROM orders');
    expect([Number(actual?.cancelled), Number(actual?.c_invoices)]).toEqual([expected, expected]);
  });

  it('shows the updated rows with Quantity + 10 and no trace of the deleted ones', async () => {
    const { updated = [], deleted = [] } = report.changed ?? {};
    expect([updated.length, deleted.length]).toEqual([3, 2]);
    const keys = [...updated, ...deleted].map(({ invoice, line }) => `('${invoice}', ${String(line)})`).join(', ');
    const actual = await lake(`SELECT invoice_no, line_no, quantity FROM orders WHERE (invoice_no, line_no) IN (${keys}) ORDER BY 1, 2`);
    const expected = rows
      .filter((row) => isChanged(updated, row))
      .map((row) => ({ invoice_no: row.InvoiceNo, line_no: row.lineNo, quantity: Number(row.Quantity) + 10 }));
    expect(actual.map((row) => ({ invoice_no: row.invoice_no, line_no: Number(row.line_no), quantity: Number(row.quantity) }))).toEqual(expected);
  });

  it('streams the changes by reading the 5 orders written since the stream stage, where the stream stage scanned the table', () => {
    const orders = printed.filter((line) => /^\s+orders\s+[\d,]+ change records/.test(line));
    expect(orders).toHaveLength(2);
    expect(orders[0]).toMatch(/; scanned 1,071 items$/);
    expect(orders[1]).toMatch(/^\s+orders\s+5 change records \(0 INSERT, 3 MODIFY, 2 REMOVE\) .*; read the 5 items written since the last pass$/);
  });

  it('builds fact_sales with one row per curated order line', async () => {
    const [actual] = await lake('SELECT (SELECT count(*) FROM fact_sales) AS facts, (SELECT count(*) FROM orders) AS lines');
    expect(Number(actual?.facts)).toBe(remaining().length);
    expect(Number(actual?.lines)).toBe(remaining().length);
  });

  it('fills campaign_progress from the generated campaigns: a row per task of each user campaign, or one when it has none', async () => {
    // Counted here from the user_Campaign items themselves, as they stand in DynamoDB.
    let expectedRows = 0;
    const userCampaigns = new Set<string>();
    const dynamodb = await startLocalDynamoDB({ path: join(stateDir, 'dynamodb') });
    try {
      for await (const page of paginateScan({ client: dynamodb.client }, { TableName: 'dynalake-dev-user-campaign' })) {
        for (const item of page.Items ?? []) {
          expectedRows += Math.max(1, item.progressDetails?.L?.length ?? 0);
          userCampaigns.add(`${item.userID?.S ?? ''}/${item.campaignID?.S ?? ''}`);
        }
      }
    } finally {
      await dynamodb.close();
    }
    const [actual] = await lake("SELECT count(*) AS rows, count(DISTINCT campaign_id) AS campaigns, count(DISTINCT user_id || '/' || campaign_id) AS user_campaigns FROM campaign_progress");
    expect([Number(actual?.rows), Number(actual?.campaigns), Number(actual?.user_campaigns)]).toEqual([expectedRows, 10, userCampaigns.size]);
    expect(expectedRows).toBeGreaterThan(userCampaigns.size);
  });

  it('loads the uploaded CSV into the uploads table once, one item per row id, and starts nothing for the second delivery', async () => {
    // 195 rows of the sample end their Description in spaces: an id that trimmed it would differ.
    const expected = [...new Set(rows.map(uploadId))].sort();
    expect(await uploadedIds(stateDir)).toEqual(expected);
    expect(expected).toHaveLength(1046);
    expect(printed.join('\n')).toContain('second delivery of the same event: no new run');
  });

  it('follows a refresh run up at once when change objects landed during it, so the scheduled start after the stream finds nothing to merge', () => {
    const runLines = printed.filter((line) => /^\s+workflow run wr_\d+: /.test(line));
    const followUpLines = runLines.filter((line) => /, the follow-up of wr_\d+ \(\d+ change objects? had landed during it\)$/.test(line));
    // The stream stage wrote four objects while the first run went: its end found some unmerged.
    expect(report.metrics.stream.alreadyRunning).toBeGreaterThan(0);
    expect(followUpLines.length).toBeGreaterThan(0);
    expect(report.metrics.refreshRuns).toMatchObject({ succeeded: runLines.length, failed: 0, followUps: followUpLines.length });
    expect(report.metrics.refreshRuns.changeObjectsWaiting).toBeGreaterThanOrEqual(followUpLines.length);
    expect(printed).toContain(
      `  refresh-follow-up: ${String(runLines.length)} refresh runs ended (${String(runLines.length)} succeeded, 0 failed); ${String(report.metrics.refreshRuns.changeObjectsWaiting)} change object${report.metrics.refreshRuns.changeObjectsWaiting === 1 ? '' : 's'} had landed unmerged during them → ${String(followUpLines.length)} follow-up run${followUpLines.length === 1 ? '' : 's'} started`,
    );
    // The refresh stage's own start, as the schedule's, is the stage's last run: both merges had nothing left, and the star nothing to rebuild.
    const refreshStage = printed.slice(printed.findIndex((line) => line.includes('▶ refresh')));
    const stageRuns = refreshStage.slice(0, refreshStage.findIndex((line) => line.includes('✓ refresh'))).map((line, index) => [line, index] as const).filter(([line]) => runLines.includes(line));
    const [scheduledLine, scheduled] = stageRuns.at(-1) ?? ['', 0];
    expect(followUpLines).not.toContain(scheduledLine);
    const lastRun = refreshStage.slice(scheduled);
    expect(lastRun.find((line) => line.includes('-orders-to-lake '))).toContain('no new change objects');
    expect(lastRun.find((line) => line.includes('-campaign-progress '))).toContain('no new change objects');
    expect(lastRun.find((line) => line.includes('-sales-star-schema '))).toMatch(/curated orders unchanged since the last build \(\d+ files?\): nothing to do/);
  });

  it("prints the metrics the real bridges and jobs published, which agree with the stages' own counts", () => {
    const number = (text: string | undefined) => Number((text ?? '').replace(/,/g, ''));
    // What each stream stage printed of its tables, summed over the run.
    const stages = printed.map((line) => /^\s+\w+\s+([\d,]+) change records \(([\d,]+) INSERT, ([\d,]+) MODIFY, ([\d,]+) REMOVE\) → (\d+) objects? in cdc\//.exec(line)).filter((match) => match !== null);
    expect(stages.length).toBeGreaterThanOrEqual(4);
    const total = (group: number) => stages.reduce((sum, match) => sum + number(match[group]), 0);
    const summary = printed.find((line) => line.startsWith('  stream-to-lake: '));
    expect(summary).toBe(
      `  stream-to-lake: ${total(1).toLocaleString('en-US')} change records in (${total(2).toLocaleString('en-US')} INSERT, ${total(3).toLocaleString('en-US')} MODIFY, ${total(4).toLocaleString('en-US')} REMOVE), 0 malformed → ${String(total(5))} change objects; ` +
        `workflow started ${String(report.metrics.stream.workflowStarts)}×, already running ${String(report.metrics.stream.alreadyRunning)}×`,
    );
    expect(report.metrics.stream).toMatchObject({ changeRecordsIn: total(1), inserts: total(2), modifies: total(3), removes: total(4), changeObjects: total(5) });
    // Every object asked for a run, once: started or found one going.
    expect(report.metrics.stream.workflowStarts + report.metrics.stream.alreadyRunning).toBe(total(5));
    // The orders merge took every seeded row, then the updated and deleted keys.
    const orders = report.metrics.jobs.find((job) => job.job === 'orders_to_lake');
    expect(orders?.rowsMerged).toBe(rows.length + (report.changed?.updated.length ?? 0) + (report.changed?.deleted.length ?? 0));
    expect(orders?.rowsWritten).toBeGreaterThanOrEqual(rows.length);
    expect(report.metrics.jobs.map((job) => job.job).sort()).toEqual(['campaign_progress', 'csv_to_dynamodb', 'orders_to_lake', 'sales_star_schema']);
    const ordersLine = printed.find((line) => line.startsWith('  orders_to_lake: '));
    expect(ordersLine).toBe(`  orders_to_lake: ${String(orders?.runs)} runs in ${orders?.seconds.toFixed(1) ?? ''} s; merged ${String(orders?.changeObjectsMerged)} change objects of ${(orders?.rowsMerged ?? 0).toLocaleString('en-US')} keys, ${(orders?.rowsWritten ?? 0).toLocaleString('en-US')} rows written`);
    // The merges that publish no keys, and the rebuild and load that merge no change object, say neither.
    expect(printed.find((line) => line.startsWith('  campaign_progress: '))).toMatch(/; merged \d+ change objects?, [\d,]+ rows written$/);
    expect(printed.find((line) => line.startsWith('  sales_star_schema: '))).toMatch(/ s; [\d,]+ rows written$/);
    expect(printed.find((line) => line.startsWith('  csv_to_dynamodb: '))).toBe(`  csv_to_dynamodb: 1 run in ${report.metrics.jobs.find((job) => job.job === 'csv_to_dynamodb')?.seconds.toFixed(1) ?? ''} s; 1,046 rows written`);
    // The upload delivered twice: one run, the second answered from its record.
    expect(report.metrics.uploads).toEqual({ seen: 2, runsStarted: 1, duplicates: 1, keysSkipped: 0 });
    // A change reaches the lake within the run: seconds, not the hour of a schedule.
    const worst = report.metrics.worstFreshness;
    expect(worst?.seconds).toBeGreaterThan(0);
    expect(worst?.seconds).toBeLessThan(120);
    expect(printed).toContain(`  lake freshness: at worst ${worst?.seconds.toFixed(1) ?? ''} s from a change in DynamoDB to the lake (${worst?.job ?? ''})`);
  });
});

describe('npm start when a stage fails', () => {
  it('names the stage, the file and field at fault, and what to do next', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-start-bad-'));
    try {
      // The synthetic file for --rows 5 is already there, but without the columns the loader needs.
      writeFileSync(join(stateDir, 'online-retail-synthetic-5.csv'), 'InvoiceNo,StockCode\n536365,85123A\n');
      const failure = runLocalPipeline({ stateDir, rows: 5, print: () => undefined });
      await expect(failure).rejects.toMatchObject({ code: 'LOAD_FAILED' });
      await expect(failure).rejects.toThrow(/^stage "seed: [^"]+" failed: .*online-retail-synthetic-5\.csv.*Description[\s\S]*\n {2}next: check the file named above/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('npm start -- --file PATH', () => {
  it('runs the whole pipeline on a CSV of the user’s own, and says what is wrong with the options', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dynalake-start-file-'));
    try {
      // The sample's header and its first 40 rows, in a file of its own, and two rows that only the
      // id's trimming rule tells apart: the first row with a space after its Description (another
      // product text: an item of its own), and the second with spaces around Quantity and
      // CustomerID (the same row: no item of its own).
      const own = join(stateDir, 'my orders.csv');
      const [header = '', ...sampleLines] = readFileSync(SAMPLE_FILE, 'latin1').split('\r\n');
      const [first, second] = parse<CsvRow>(`${header}\r\n${sampleLines.slice(0, 2).join('\r\n')}`, { columns: true }) as [CsvRow, CsvRow];
      const spacedDescription = { ...first, Description: `${first.Description} ` };
      const spacedNumbers = { ...second, Quantity: ` ${second.Quantity}`, CustomerID: `${second.CustomerID} ` };
      writeFileSync(own, `${[header, ...sampleLines.slice(0, 40), csvLine(spacedDescription), csvLine(spacedNumbers)].join('\r\n')}\r\n`, 'latin1');
      const ownRows = parse<CsvRow>(readFileSync(own, 'latin1'), { columns: true, skip_empty_lines: true });
      expect(ownRows).toHaveLength(42);
      await expect(runLocalPipeline({ stateDir, file: own, rows: 10, print: () => undefined })).rejects.toThrow('give --rows or --file, not both');
      await expect(runLocalPipeline({ stateDir, file: join(stateDir, 'none.csv'), print: () => undefined })).rejects.toThrow(/none\.csv: no such file/);

      const report = await runLocalPipeline({ stateDir, file: own, changes: false, print: () => undefined });
      expect(report.seeded).toMatchObject({ file: own, read: 42, written: 42, rejected: 0 });
      const s3 = await startLocalS3({ path: join(stateDir, 's3') });
      try {
        const [result] = await queryLake({ s3: s3.client, bucket: report.buckets.lake, lakeDir: join(stateDir, 'scratch', 'lake') }, ['SELECT count(*) AS lines FROM orders']);
        expect(result?.rows).toEqual([{ lines: 42 }]);
      } finally {
        await s3.close();
      }
      // The first 40 rows' items, plus the spaced Description; the spaced numbers are the second row's.
      const sampleIds = new Set(ownRows.slice(0, 40).map(uploadId));
      expect([uploadId(spacedDescription), uploadId(spacedNumbers)].map((id) => sampleIds.has(id))).toEqual([false, true]);
      expect(await uploadedIds(stateDir)).toEqual([...sampleIds, uploadId(spacedDescription)].sort());
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
});
