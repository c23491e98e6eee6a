/**
 * A deterministic synthetic stand-in for the Kaggle "E-Commerce Data" file (the UCI "Online Retail"
 * data set, `data.csv`): same header, encoding (ISO-8859-1), CRLF line ends, no newline after the
 * last row, and the same quirks in about the same proportions as the real 541,909 rows, so the
 * loaders and the lake can be exercised at full scale without shipping the 45 MB original.
 *
 * Pure and streaming: rows are made invoice by invoice from a seeded PRNG, so the same seed and row
 * count give the same bytes, and memory stays flat whatever the row count (the only state is the
 * fixed product and customer catalogues and the invoice being made).
 */
import { open } from 'node:fs/promises';
import { quoteCsvField } from './csv';

// Math's functions are bound once here: inside jest's sandbox every lookup of a global such as
// `Math` is slow enough to make full-size generation several times slower.
const { abs, ceil, cos, exp, floor, imul, log, max, min, PI, round, sqrt } = Math;

/** One CSV row; every field is the exact text that is written (before CSV quoting). */
export interface RetailRow {
  readonly invoiceNo: string;
  readonly stockCode: string;
  readonly description: string;
  readonly quantity: string;
  readonly invoiceDate: string;
  readonly unitPrice: string;
  readonly customerId: string;
  readonly country: string;
}

export interface RetailSampleOptions {
  /** Data rows to make (the header is not counted). */
  readonly rows: number;
  /** PRNG seed; any safe integer. */
  readonly seed: number;
}

export interface WriteRetailSampleOptions extends RetailSampleOptions {
  /** File to write (its folder must exist). */
  readonly out: string;
}

export interface RetailSampleSummary {
  readonly rows: number;
  readonly bytes: number;
}

export const RETAIL_HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
/** Rows in the real file; the default size, and the size every proportion below is taken from. */
export const REAL_RETAIL_ROWS = 541_909;
/** Below this size the one-off rows of the real file (±80995, the `A` invoices, 38970…) are left out. */
export const ONE_OFFS_MIN_ROWS = 20_000;

export { quoteCsvField };

/** A row's fields in the header's order. */
export function retailRowFields(row: RetailRow): string[] {
  return [row.invoiceNo, row.stockCode, row.description, row.quantity, row.invoiceDate, row.unitPrice, row.customerId, row.country];
}

/** One row as a CSV line, without its line end. */
export function formatRetailCsvLine(row: RetailRow): string {
  return retailRowFields(row).map(quoteCsvField).join(',');
}

/** Writes the sample as ISO-8859-1 with CRLF line ends and no newline after the last row. */
export async function writeRetailSample(options: WriteRetailSampleOptions): Promise<RetailSampleSummary> {
  const file = await open(options.out, 'w');
  let rows = 0;
  let bytes = 0;
  // Lines are gathered into ~1 MB chunks: one write per line would be slow, the whole file too big.
  let chunk = RETAIL_HEADER;
  const flush = async () => {
    const buffer = Buffer.from(chunk, 'latin1');
    chunk = '';
    await file.write(buffer);
    bytes += buffer.length;
  };
  try {
    for (const row of generateRetailRows(options)) {
      // The line end goes before each row, never after the last one.
      chunk += `\r\n${formatRetailCsvLine(row)}`;
      rows += 1;
      if (chunk.length >= 1 << 20) await flush();
    }
    await flush();
  } finally {
    await file.close();
  }
  return { rows, bytes };
}

/** The rows of a synthetic file, in file order. */
export function* generateRetailRows(options: RetailSampleOptions): Generator<RetailRow> {
  if (!Number.isSafeInteger(options.rows) || options.rows < 1) throw new Error(`rows must be an integer ≥ 1, got ${options.rows}`);
  if (!Number.isSafeInteger(options.seed)) throw new Error(`seed must be a safe integer, got ${options.seed}`);
  const shop = new Shop(options.rows, options.seed);
  while (!shop.done) yield* shop.nextInvoice();
}

// ---------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: tiny, fast and good enough for synthetic data; the state is one 32-bit integer. */
class Rng {
  private state: number;

  constructor(seed: number) {
    // Fold a safe integer into 32 bits, then scramble so that seeds 1, 2, 3… start far apart.
    const folded = (seed >>> 0) ^ (floor(seed / 2 ** 32) >>> 0);
    let h = imul(folded ^ 0x9e3779b9, 0x85ebca6b);
    h = imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.state = (h ^ (h >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [low, high]. */
  int(low: number, high: number): number {
    return low + floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[floor(this.next() * items.length)] as T;
  }

  /** Standard normal deviate (Box–Muller). */
  normal(): number {
    return sqrt(-2 * log(1 - this.next())) * cos(2 * PI * this.next());
  }

  /** A skewed size ≥ 1: many small, a few large, like invoice lengths in the real file. */
  size(mu: number, sigma: number, largest: number): number {
    return min(largest, max(1, ceil(exp(mu + sigma * this.normal()))));
  }

  /** Index into a list of `count` items, favouring the first ones (the earlier, the more popular). */
  skewed(count: number, power: number): number {
    return min(count - 1, floor(count * this.next() ** power));
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

class Weighted<T> {
  private readonly values: readonly T[];
  private readonly cumulative: readonly number[];

  constructor(entries: readonly (readonly [T, number])[]) {
    let total = 0;
    this.values = entries.map(([value]) => value);
    this.cumulative = entries.map(([, weight]) => (total += weight));
  }

  pick(rng: Rng): T {
    const x = rng.next() * (this.cumulative.at(-1) ?? 0);
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo] as T;
  }
}

// ---------------------------------------------------------------------------------------------
// Money and time

/** Prices are kept as integer cents and printed like the real file: `2.1`, `0.85`, `38970`. */
function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const magnitude = abs(cents);
  const whole = floor(magnitude / 100);
  const fraction = magnitude % 100;
  if (fraction === 0) return `${sign}${whole}`;
  const decimals = fraction % 10 === 0 ? `${fraction / 10}` : fraction < 10 ? `0${fraction}` : `${fraction}`;
  return `${sign}${whole}.${decimals}`;
}

/** A moment of the shop's year: minutes since 2010-12-01 00:00, and the text the file shows. */
interface Moment {
  readonly minutes: number;
  readonly text: string;
}

interface OpenDay {
  /** `M/D/YYYY ` */
  readonly label: string;
  /** Minutes from 2010-12-01 00:00 to this day's midnight. */
  readonly midnight: number;
  readonly opens: number;
  readonly closes: number;
  /** Share of the year's rows before this day, and on it. */
  readonly before: number;
  readonly weight: number;
}

const EPOCH = Date.UTC(2010, 11, 1);
const FIRST_OPENS = 8 * 60 + 26; // 12/1/2010 8:26, the first invoice of the real file
const LAST_CLOSES = 12 * 60 + 50; // 12/9/2011 12:50, the last one
/** Rows of the real file per month: the sample follows its seasons (a busy November, a slow February). */
const MONTH_ROWS: Readonly<Record<string, number>> = {
  '2010-12': 42_481,
  '2011-1': 35_147,
  '2011-2': 27_707,
  '2011-3': 36_748,
  '2011-4': 29_916,
  '2011-5': 37_030,
  '2011-6': 36_874,
  '2011-7': 39_518,
  '2011-8': 35_284,
  '2011-9': 50_226,
  '2011-10': 60_742,
  '2011-11': 84_711,
  '2011-12': 25_525,
};
/** Days the real shop sold nothing besides Saturdays: the Christmas break and UK bank holidays. */
const CLOSED = new Set([
  ...[24, 26, 27, 28, 29, 30, 31].map((day) => `2010-12-${day}`),
  '2011-1-2',
  '2011-1-3',
  '2011-4-22',
  '2011-4-25',
  '2011-5-2',
  '2011-5-30',
  '2011-8-29',
]);
/** Opening hours by weekday (Sunday first), in minutes; Saturday closed. */
const HOURS: readonly (readonly [number, number] | undefined)[] = [
  [10 * 60, 16 * 60],
  [8 * 60, 19 * 60],
  [8 * 60, 19 * 60],
  [8 * 60, 19 * 60],
  [8 * 60, 19 * 60],
  [8 * 60, 17 * 60],
  undefined,
];

function openDays(): readonly OpenDay[] {
  const days: { label: string; midnight: number; opens: number; closes: number; month: string }[] = [];
  const last = Date.UTC(2011, 11, 9);
  for (let time = EPOCH; time <= last; time += 86_400_000) {
    const date = new Date(time);
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const hours = HOURS[date.getUTCDay()];
    if (hours === undefined || CLOSED.has(`${y}-${m}-${d}`)) continue;
    const opens = time === EPOCH ? FIRST_OPENS : hours[0];
    const closes = time === last ? LAST_CLOSES : hours[1];
    days.push({ label: `${m}/${d}/${y} `, midnight: (time - EPOCH) / 60_000, opens, closes, month: `${y}-${m}` });
  }
  // A day's weight is its month's rows shared out by opening minutes, so short days sell less.
  const monthMinutes = new Map<string, number>();
  for (const day of days) monthMinutes.set(day.month, (monthMinutes.get(day.month) ?? 0) + day.closes - day.opens);
  let before = 0;
  return days.map(({ month, ...day }) => {
    const weight =
      ((MONTH_ROWS[month] ?? 0) * (day.closes - day.opens)) / (monthMinutes.get(month) ?? 1) / REAL_RETAIL_ROWS;
    const openDay = { ...day, before, weight };
    before += weight;
    return openDay;
  });
}

function momentText(label: string, minuteOfDay: number): string {
  const minute = minuteOfDay % 60;
  return `${label}${floor(minuteOfDay / 60)}:${minute < 10 ? '0' : ''}${minute}`;
}

function moment(month: number, day: number, year: number, hour: number, minute: number): Moment {
  const minutes = (Date.UTC(year, month - 1, day) - EPOCH) / 60_000 + hour * 60 + minute;
  return { minutes, text: momentText(`${month}/${day}/${year} `, hour * 60 + minute) };
}

const FIRST_MOMENT = moment(12, 1, 2010, 8, 26);
const LAST_MOMENT = moment(12, 9, 2011, 12, 50);

// ---------------------------------------------------------------------------------------------
// Catalogue

interface Product {
  readonly code: string;
  readonly description: string;
  readonly cents: number;
}

const STORAGE_JAR: Product = { code: '23166', description: 'MEDIUM CERAMIC TOP STORAGE JAR', cents: 125 };
/** Products of the real file's first invoices, kept first so every sample starts like the real one;
 * with a few made-up ones early on so that even tiny samples hold ISO-8859-1 text and quoting. */
const FIRST_PRODUCTS: readonly Product[] = [
  { code: '85123A', description: 'WHITE HANGING HEART T-LIGHT HOLDER', cents: 255 },
  { code: '71053', description: 'WHITE METAL LANTERN', cents: 339 },
  { code: '84406B', description: 'CREAM CUPID HEARTS COAT HANGER', cents: 275 },
  { code: '84029G', description: 'KNITTED UNION FLAG HOT WATER BOTTLE', cents: 339 },
  { code: '84029E', description: 'RED WOOLLY HOTTIE WHITE HEART.', cents: 339 },
  { code: '22752', description: 'SET 7 BABUSHKA NESTING BOXES', cents: 765 },
  { code: '21730', description: 'GLASS STAR FROSTED T-LIGHT HOLDER', cents: 425 },
  { code: '22921', description: 'CAFÉ DE PARIS METAL SIGN', cents: 295 },
  { code: '20983', description: '12 PENCILS TALL TUBE "RED"', cents: 85 },
  { code: '22633', description: 'HAND WARMER UNION JACK', cents: 185 },
  { code: '22632', description: 'HAND WARMER RED POLKA DOT', cents: 185 },
  { code: '22900', description: ' SET 2 TEA TOWELS I LOVE LONDON ', cents: 295 },
  { code: '82567', description: 'AIRLINE LOUNGE,METAL SIGN', cents: 210 },
  { code: '84879', description: 'ASSORTED COLOUR BIRD ORNAMENT', cents: 169 },
  { code: '22745', description: "POPPY'S PLAYHOUSE BEDROOM ", cents: 210 },
  { code: '21506', description: 'FANCY FONT BIRTHDAY CARD, ', cents: 42 },
  { code: '22041', description: 'RECORD FRAME 7" SINGLE SIZE ', cents: 210 },
  { code: '23219', description: 'PAPER PIÑATA PARTY DONKEY', cents: 495 },
  { code: '22760', description: 'TRAY, BREAKFAST IN BED', cents: 1275 },
  STORAGE_JAR,
  { code: '22961', description: 'JAM MAKING SET PRINTED', cents: 145 },
  { code: '23344', description: 'SAVINGS JAR £1 COINS ', cents: 165 },
];
/** Products that only the one-off rows use. */
const PAPER_CRAFT: Product = { code: '23843', description: 'PAPER CRAFT , LITTLE BIRDIE', cents: 208 };
const PICNIC_BASKET: Product = { code: '22502', description: 'PICNIC BASKET WICKER 60 PIECES', cents: 64_950 };
const RESERVED_CODES = new Set([...FIRST_PRODUCTS, PAPER_CRAFT, PICNIC_BASKET].map((product) => product.code.slice(0, 5)));

/** The real file's non-product stock codes (postage, fees, manual corrections…). */
const POST: Product = { code: 'POST', description: 'POSTAGE', cents: 1800 };
const DOTCOM_POSTAGE: Product = { code: 'DOT', description: 'DOTCOM POSTAGE', cents: 0 };
const CARRIAGE: Product = { code: 'C2', description: 'CARRIAGE', cents: 5000 };
const DISCOUNT: Product = { code: 'D', description: 'Discount', cents: 0 };
const MANUAL: Product = { code: 'M', description: 'Manual', cents: 0 };
const MANUAL_LOWER: Product = { code: 'm', description: 'Manual', cents: 250 };
const BANK_CHARGES: Product = { code: 'BANK CHARGES', description: 'Bank Charges', cents: 1500 };
const SAMPLES: Product = { code: 'S', description: 'SAMPLES', cents: 0 };
const AMAZON_FEE: Product = { code: 'AMAZONFEE', description: 'AMAZON FEE', cents: 0 };
const PADS: Product = { code: 'PADS', description: 'PADS TO MATCH ALL CUSHIONS', cents: 0 };
const BAD_DEBT: Product = { code: 'B', description: 'Adjust bad debt', cents: 0 };
const CRUK: Product = { code: 'CRUK', description: 'CRUK Commission', cents: 0 };
/** The web shop's vouchers and bought-in lines, sold to customers without an account. */
const DOTCOM_EXTRAS = new Weighted<Product>([
  [{ code: 'gift_0001_10', description: 'Dotcomgiftshop Gift Voucher £10.00', cents: 833 }, 4],
  [{ code: 'gift_0001_20', description: 'Dotcomgiftshop Gift Voucher £20.00', cents: 1667 }, 2],
  [{ code: 'gift_0001_30', description: 'Dotcomgiftshop Gift Voucher £30.00', cents: 2500 }, 1],
  [{ code: 'gift_0001_40', description: 'Dotcomgiftshop Gift Voucher £40.00', cents: 3404 }, 1],
  [{ code: 'gift_0001_50', description: 'Dotcomgiftshop Gift Voucher £50.00', cents: 4167 }, 1],
  [{ code: 'DCGS0003', description: 'BOXED GLASS ASHTRAY', cents: 246 }, 4],
  [{ code: 'DCGS0069', description: 'OOH LA LA DOGS COLLAR', cents: 1579 }, 1],
  [{ code: 'DCGS0070', description: 'CAMOUFLAGE DOG COLLAR', cents: 1245 }, 1],
  [{ code: 'DCGS0076', description: 'SUNJAR LED NIGHT NIGHT LIGHT', cents: 1613 }, 1],
]);
/** Distinct non-product codes at full size, so that products + these ≈ the real 4,070 stock codes. */
const NON_PRODUCT_CODES = 12 + 9 + 2;
const REAL_STOCK_CODES = 4_070;

const COLOURS = ['RED', 'PINK', 'BLUE', 'GREEN', 'WHITE', 'IVORY', 'CREAM', 'BLACK', 'SILVER', 'GOLD', 'YELLOW',
  'PURPLE', 'ORANGE', 'LILAC', 'TURQUOISE', 'CHOCOLATE', 'GREY', 'NATURAL', 'PASTEL', 'ASSORTED COLOUR'];
const THEMES = ['RETROSPOT', 'POLKADOT', 'REGENCY', 'VINTAGE', 'PAISLEY', 'SPACEBOY', 'DOLLY GIRL', 'WOODLAND',
  'CHRISTMAS', 'SKULL', 'STRAWBERRY', 'LOVEBIRD', 'ANTIQUE', 'BAROQUE', 'UNION JACK', 'HEART', 'ENGLISH ROSE',
  'FLORAL', 'JUNGLE', 'CIRCUS PARADE', 'PARIS FASHION', 'BIRD', 'STAR', 'BUTTERFLY', 'OWL', 'GINGHAM', 'DAISY',
  'SWALLOW', 'LOVE', 'HOME SWEET HOME', 'FAIRY', 'PANTRY', 'TOADSTOOL', 'SPOTTY', 'STRIPE', 'TEATIME', 'PICNIC',
  'SCANDINAVIAN', 'RABBIT', 'REINDEER', 'BUNNY', 'APPLES', 'CHERRY', 'GARDEN', 'SWEETHEART', 'DINER', 'ORIENTAL'];
const ITEMS = ['CAKE STAND', 'LUNCH BAG', 'LUNCH BOX', 'TEA TOWEL', 'T-LIGHT HOLDER', 'COAT HANGER', 'DOORMAT',
  'CAKE CASES', 'PARTY BUNTING', 'ALARM CLOCK', 'LANTERN', 'MUG', 'JUG', 'BOWL', 'HOT WATER BOTTLE', 'PHOTO FRAME',
  'STORAGE JAR', 'SHOPPING BAG', 'NOTEBOOK', 'CANDLE', 'WALL CLOCK', 'CUSHION COVER', 'METAL SIGN', 'APRON',
  'PAPER NAPKINS', 'PAPER PLATES', 'PAPER CUPS', 'GIFT TAPE', 'WRAP', 'STICKER SHEET', 'PURSE', 'HAIR CLIP',
  'NECKLACE', 'EARRINGS', 'BRACELET', 'KEY RING', 'MIRROR', 'ORNAMENT', 'DECORATION', 'GARLAND', 'PEG BAG',
  'WASHBAG', 'TRINKET BOX', 'DRAWER KNOB', 'DOORSTOP', 'WATERING CAN', 'PLANT POT', 'JAM JAR', 'TEACUP AND SAUCER',
  'EGG CUP', 'CHOPPING BOARD', 'BAKING SET', 'CHARLOTTE BAG', 'JUMBO BAG', 'PENCIL CASE', 'RULER', 'ERASER',
  'GREETING CARD', 'WRAPPING PAPER', 'GIFT BAG', 'HANGING HEART', 'SNOW GLOBE', 'PIGGY BANK', 'CAKE TIN', 'TRAY',
  'LAMP', 'LIGHTS', 'WREATH', 'BASKET', 'HOOK', 'BOTTLE', 'CUSHION', 'TISSUES', 'PLASTERS IN TIN', 'COOKIE CUTTER',
  'PARASOL', 'BIRDHOUSE', 'CHALKBOARD', 'RIBBONS', 'SPINNING TOP', 'JIGSAW', 'COASTERS', 'PLACEMATS', 'TOOTHBRUSH'];
const PREFIXES = ['SMALL', 'LARGE', 'MINI', 'JUMBO', 'SET OF 3', 'SET OF 4', 'SET OF 6', 'SET/6', 'SET/10',
  'PACK OF 12', 'PACK OF 60', 'PACK OF 72', 'SET 2', 'ROUND', 'SQUARE', 'HANGING', 'GLASS', 'WOODEN', 'CERAMIC',
  'ENAMEL', 'FELTCRAFT', 'KNITTED', 'METAL', 'ZINC', 'WICKER', 'PAPER', '3 TIER', '60', '72', '12', '6', '10'];
/** The real file's commonest prices, in cents, weighted by how often they occur. */
const PRICES = new Weighted<number>([
  [125, 12], [165, 11], [295, 10], [210, 8], [85, 7], [375, 6], [255, 6], [495, 5], [195, 5], [425, 4], [145, 4],
  [595, 3], [42, 3], [55, 3], [339, 2], [106, 2], [185, 2], [65, 2], [169, 1], [995, 1], [850, 1], [795, 1], [29, 1],
  [675, 1], [465, 1], [395, 1], [695, 1], [72, 1], [765, 1], [635, 1], [1275, 0.5], [1495, 0.5], [1695, 0.3],
  [2495, 0.2], [3995, 0.1], [19, 0.5], [39, 0.5], [83, 0.5], [79, 0.5],
]);

/** A made-up product description in the real file's style: upper case, some trailing spaces,
 * a few with commas or inch marks that need CSV quoting. */
function describe(rng: Rng, colour: string): string {
  const theme = rng.pick(THEMES);
  const item = rng.pick(ITEMS);
  const prefix = rng.pick(PREFIXES);
  const form = rng.next();
  let text: string;
  if (form < 0.02) text = `${item}, ${colour} ${theme}`;
  else if (form < 0.025) text = `${prefix} ${item} 7" ${theme}`;
  else if (form < 0.03) text = `${item} ${theme} "${colour}"`;
  else if (form < 0.45) text = `${prefix} ${colour} ${theme} ${item}`;
  else if (form < 0.75) text = `${colour} ${theme} ${item}`;
  else text = `${item} ${colour} ${theme}`;
  return rng.chance(0.2) ? `${text} ` : text;
}

/** The product catalogue in introduction order; variants (85123A, 85123B…) sit side by side. */
function catalogue(rng: Rng, size: number): readonly Product[] {
  const products = [...FIRST_PRODUCTS];
  const descriptions = new Set(products.map((product) => product.description.trim()));
  const bases = new Set(RESERVED_CODES);
  while (products.length < size) {
    const range = rng.next();
    const base = String(range < 0.6 ? rng.int(20_600, 23_999) : range < 0.8 ? rng.int(84_000, 85_299) : rng.int(10_002, 90_999));
    if (bases.has(base)) continue;
    bases.add(base);
    const variants = rng.chance(0.1) ? rng.int(2, 5) : 1;
    const colours = rng.shuffle([...COLOURS]).slice(0, variants);
    const cents = PRICES.pick(rng);
    const template = describe(rng, '\u0000');
    for (const [index, colour] of colours.entries()) {
      const description = template.replace('\u0000', colour);
      if (descriptions.has(description.trim()) || products.length >= size) continue;
      descriptions.add(description.trim());
      const code = variants === 1 ? base : `${base}${String.fromCharCode(65 + index)}`;
      products.push({ code, description, cents });
    }
  }
  return products;
}

interface Customer {
  readonly id: string;
  readonly country: string;
}

/** Customers per country in the real file (38 countries; Hong Kong only ever without a customer),
 * less customer 12346 who only appears in the one-off rows: 4,371 + 1 = 4,372. */
const CUSTOMERS_PER_COUNTRY: readonly (readonly [string, number])[] = [
  ['United Kingdom', 3941], ['Germany', 95], ['France', 87], ['Spain', 31], ['Belgium', 25], ['Switzerland', 21],
  ['Portugal', 19], ['Italy', 15], ['Finland', 12], ['Austria', 11], ['Norway', 10], ['Netherlands', 9],
  ['Australia', 9], ['Channel Islands', 9], ['Denmark', 9], ['Cyprus', 8], ['Sweden', 8], ['Japan', 8],
  ['Poland', 6], ['USA', 4], ['Canada', 4], ['Unspecified', 4], ['Israel', 4], ['Greece', 4], ['EIRE', 3],
  ['Malta', 2], ['United Arab Emirates', 2], ['Bahrain', 2], ['Lithuania', 1], ['Czech Republic', 1],
  ['Lebanon', 1], ['Brazil', 1], ['RSA', 1], ['Saudi Arabia', 1], ['Singapore', 1], ['Iceland', 1],
  ['European Community', 1],
];
/** Countries of the web shop's orders from visitors without an account. */
const ANONYMOUS_COUNTRIES = new Weighted<string>([
  ['United Kingdom', 980], ['EIRE', 5], ['Hong Kong', 5], ['Unspecified', 3], ['Switzerland', 2], ['France', 2],
  ['Israel', 1], ['Portugal', 1],
]);
const UK = 'United Kingdom';
/** The customers of the one-off rows and of CRUK's commission (real ids). */
const CRUK_CUSTOMER: Customer = { id: '14096', country: UK };
const PICNIC_CUSTOMER: Customer = { id: '15098', country: UK };
const PAPER_CRAFT_CUSTOMER: Customer = { id: '16446', country: UK };
/** Real customers placed first: the file's first buyers and its big accounts become the regulars. */
const FIRST_CUSTOMERS: readonly Customer[] = [
  { id: '17850', country: UK }, { id: '13047', country: UK }, { id: '12583', country: 'France' },
  { id: '14911', country: 'EIRE' }, { id: '14646', country: 'Netherlands' }, { id: '12415', country: 'Australia' },
  { id: '18102', country: UK }, { id: '17841', country: UK }, CRUK_CUSTOMER, PICNIC_CUSTOMER, PAPER_CRAFT_CUSTOMER,
  { id: '18287', country: UK },
];
/** The customer of the 74215 order and its cancellation, and of nothing else (as in the real file). */
const STORAGE_JAR_CUSTOMER: Customer = { id: '12346', country: UK };

/** The customers with ids 12347–18287, in introduction order (12346 is kept out: it only appears
 * in the one-off rows). */
function customers(rng: Rng): readonly Customer[] {
  const countries: string[] = [];
  for (const [country, count] of CUSTOMERS_PER_COUNTRY) {
    const taken = FIRST_CUSTOMERS.filter((customer) => customer.country === country).length;
    for (let i = taken; i < count; i += 1) countries.push(country);
  }
  const ids = new Set([STORAGE_JAR_CUSTOMER, ...FIRST_CUSTOMERS].map((customer) => customer.id));
  const rest: Customer[] = [];
  for (const country of rng.shuffle(countries)) {
    let id: string;
    do id = `${rng.int(12_347, 18_286)}`;
    while (ids.has(id));
    ids.add(id);
    rest.push({ id, country });
  }
  return [...FIRST_CUSTOMERS, ...rest];
}

// ---------------------------------------------------------------------------------------------
// Invoices

type Kind = 'customer' | 'anonymous' | 'cancellation' | 'adjustment';

interface KindPlan {
  /** Share of all rows in invoices of this kind in the real file. */
  readonly share: number;
  /** Mean rows per invoice of this kind. */
  readonly rowsPerInvoice: number;
}

/**
 * The real file's rows by kind of invoice:
 * - adjustment: 2,475 one-row stock corrections without customer or price (the 1,454 rows without
 *   description, 1,336 rows with Quantity < 0 but no `C`, most of the 2,515 rows at price 0);
 * - cancellation: 9,288 rows in 3,836 `C` invoices;
 * - anonymous: the web shop's orders without CustomerID, the rest of the 135,080 such rows, in big invoices;
 * - customer: everything else.
 */
const PLANS: Readonly<Record<Kind, KindPlan>> = {
  adjustment: { share: 2_475 / REAL_RETAIL_ROWS, rowsPerInvoice: 1 },
  cancellation: { share: 9_288 / REAL_RETAIL_ROWS, rowsPerInvoice: 9_288 / 3_836 },
  anonymous: { share: 132_575 / REAL_RETAIL_ROWS, rowsPerInvoice: 110 },
  customer: { share: 1 - (2_475 + 9_288 + 132_575) / REAL_RETAIL_ROWS, rowsPerInvoice: 21.6 },
};
const KINDS = Object.keys(PLANS) as readonly Kind[];
/** Invoices with a customer per row: paces how fast new customers show up. */
const CUSTOMER_INVOICES_PER_ROW = 22_190 / REAL_RETAIL_ROWS;
/** Product lines per row: paces how fast new products show up. */
const PRODUCT_LINES_PER_ROW = 0.97;
/** 5,268 exact duplicate rows among the ~530,000 sold product lines. */
const DUPLICATE_CHANCE = 5_268 / 530_000;

/** Adjustment rows: [quantity sign, description or '' for none, weight = real rows]. */
const ADJUSTMENTS = new Weighted<readonly [1 | -1, readonly string[]]>([
  [[-1, ['']], 862],
  [[1, ['']], 592],
  [[-1, ['damaged', 'Damaged', '?', 'check', 'missing', 'lost', 'wet damaged', 'smashed', 'thrown away',
    'Unsaleable, destroyed.', 'crushed', 'mouldy, thrown away.', 'rusty thrown away', 'Water damaged',
    'wrongly marked', 'printing smudges/thrown away', 'sold as set on dotcom', 'CHECK']], 474],
  [[1, ['found', 'Found', 'FOUND', 'adjustment', 'amazon', 'counted', 'returned', 'had been put aside',
    'Dotcom sold in 6\'s', 'mailout ']], 547],
]);
const SALE_QUANTITIES = new Weighted<number>([
  [1, 17], [2, 14], [12, 20], [6, 10], [4, 8], [3, 6], [24, 7], [10, 3], [8, 2], [5, 1], [25, 1.5], [36, 1],
  [48, 2], [16, 0.8], [20, 1], [72, 0.5], [96, 0.6], [100, 0.4], [144, 0.5], [200, 0.15], [288, 0.1], [480, 0.05],
  [576, 0.05], [1200, 0.01], [2400, 0.005], [4800, 0.002],
]);
const ANONYMOUS_QUANTITIES = new Weighted<number>([[1, 60], [2, 20], [3, 8], [4, 4], [5, 2], [6, 3], [10, 1], [12, 2]]);
const CANCELLED_QUANTITIES = new Weighted<number>([
  [1, 35], [2, 15], [3, 6], [4, 5], [6, 8], [12, 15], [24, 6], [10, 2], [48, 2], [96, 0.5], [144, 0.3], [1000, 0.05],
  [3114, 0.02],
]);
const ADJUSTED_QUANTITIES = new Weighted<number>([
  [1, 20], [2, 8], [3, 5], [4, 3], [5, 3], [6, 3], [10, 4], [12, 4], [20, 3], [24, 3], [30, 2], [48, 2], [56, 1],
  [100, 2], [160, 1], [200, 1], [400, 0.5], [1000, 0.3], [3000, 0.1],
]);
/** One-row cancellations of fees and corrections, by share of cancellation invoices. */
const CANCELLED_CHARGES: readonly (readonly [Product, number])[] = [
  [AMAZON_FEE, 0.008],
  [DISCOUNT, 0.02],
  [MANUAL, 0.06],
  [SAMPLES, 0.015],
  [CRUK, 0.004],
  [BANK_CHARGES, 0.003],
];

/** A one-off invoice of the real file, replayed at its own time and number. */
interface OneOff {
  readonly at: Moment;
  readonly number: number;
  readonly prefix: '' | 'C' | 'A';
  readonly product: Product;
  readonly quantity: number;
  readonly price: string;
  /** undefined: a regular customer of the moment; null: none. */
  readonly customer: Customer | null | undefined;
}

const ONE_OFFS: readonly OneOff[] = [
  { at: moment(1, 18, 2011, 10, 1), number: 541_431, prefix: '', product: STORAGE_JAR, quantity: 74_215, price: '1.04', customer: STORAGE_JAR_CUSTOMER },
  { at: moment(1, 18, 2011, 10, 17), number: 541_433, prefix: 'C', product: STORAGE_JAR, quantity: -74_215, price: '1.04', customer: STORAGE_JAR_CUSTOMER },
  { at: moment(4, 15, 2011, 10, 12), number: 0, prefix: '', product: MANUAL_LOWER, quantity: 1, price: '2.5', customer: undefined },
  { at: moment(6, 10, 2011, 15, 28), number: 556_444, prefix: '', product: PICNIC_BASKET, quantity: 60, price: '649.5', customer: PICNIC_CUSTOMER },
  { at: moment(6, 10, 2011, 15, 31), number: 556_445, prefix: 'C', product: MANUAL, quantity: -1, price: '38970', customer: PICNIC_CUSTOMER },
  { at: moment(8, 12, 2011, 14, 50), number: 563_185, prefix: 'A', product: BAD_DEBT, quantity: 1, price: '11062.06', customer: null },
  { at: moment(8, 12, 2011, 14, 51), number: 563_186, prefix: 'A', product: BAD_DEBT, quantity: 1, price: '-11062.06', customer: null },
  { at: moment(8, 12, 2011, 14, 52), number: 563_187, prefix: 'A', product: BAD_DEBT, quantity: 1, price: '-11062.06', customer: null },
  { at: moment(9, 25, 2011, 12, 27), number: 0, prefix: '', product: PADS, quantity: 1, price: '0.001', customer: undefined },
  { at: moment(12, 9, 2011, 9, 15), number: 581_483, prefix: '', product: PAPER_CRAFT, quantity: 80_995, price: '2.08', customer: PAPER_CRAFT_CUSTOMER },
  { at: moment(12, 9, 2011, 9, 27), number: 581_484, prefix: 'C', product: PAPER_CRAFT, quantity: -80_995, price: '2.08', customer: PAPER_CRAFT_CUSTOMER },
];

const FIRST_INVOICE = 536_365;
const LAST_INVOICE = 581_587;

/** Makes the file invoice by invoice. Its state is the catalogues, what has been introduced of them so
 * far, and running row counts per kind of invoice. */
class Shop {
  private readonly rng: Rng;
  private readonly days = openDays();
  private readonly products: readonly Product[];
  private readonly customers: readonly Customer[];
  /** How many products and customers the file will have: all of them at full size, fewer in smaller
   * samples, as in any stretch of the real file. */
  private readonly productTarget: number;
  private readonly customerTarget: number;
  private productsSeen = 0;
  private customersSeen = 0;
  private readonly rowsByKind: Record<Kind, number> = { adjustment: 0, cancellation: 0, anonymous: 0, customer: 0 };
  private emitted = 0;
  private lastNumber = FIRST_INVOICE - 1;
  private oneOffIndex: number;

  constructor(
    private readonly rows: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    const scale = min(1, rows / REAL_RETAIL_ROWS);
    this.products = catalogue(this.rng, REAL_STOCK_CODES - NON_PRODUCT_CODES);
    this.customers = customers(this.rng);
    this.productTarget = max(1, round(this.products.length * scale ** 0.5));
    this.customerTarget = max(1, round(this.customers.length * scale ** 0.7));
    this.oneOffIndex = rows >= ONE_OFFS_MIN_ROWS ? 0 : ONE_OFFS.length;
  }

  get done(): boolean {
    return this.emitted >= this.rows;
  }

  /** The next invoice's rows (one-offs first when their time has come). */
  nextInvoice(): readonly RetailRow[] {
    const at = this.momentAt(this.emitted / this.rows);
    const oneOff = ONE_OFFS[this.oneOffIndex];
    if (oneOff !== undefined && oneOff.at.minutes <= at.minutes) {
      this.oneOffIndex += 1;
      // Leave room for at least one regular row, so the file still ends at 12/9/2011 12:50.
      if (this.rows - this.emitted > 1) return this.emit([this.oneOffRow(oneOff)]);
    }
    const kind = this.chooseKind();
    const number = this.invoiceNumber(this.targetNumber());
    let rows: RetailRow[];
    switch (kind) {
      case 'customer':
        rows = this.sale(number, at, this.customer());
        break;
      case 'anonymous':
        rows = this.sale(number, at, undefined);
        break;
      case 'cancellation':
        rows = this.cancellation(number, at);
        break;
      case 'adjustment':
        rows = [this.adjustment(number, at)];
        break;
    }
    rows = rows.slice(0, this.rows - this.emitted);
    this.rowsByKind[kind] += rows.length;
    // The last invoice gets the real file's last moment and number (unless it is also the first), so
    // that a sample of any size spans the real file's year.
    if (this.emitted + rows.length === this.rows && this.emitted > 0) {
      const last = this.invoiceNumber(LAST_INVOICE);
      rows = rows.map((row) => ({ ...row, invoiceNo: row.invoiceNo.replace(/\d+$/, last), invoiceDate: LAST_MOMENT.text }));
    }
    return this.emit(rows);
  }

  private emit(rows: readonly RetailRow[]): readonly RetailRow[] {
    this.emitted += rows.length;
    return rows;
  }

  /**
   * Picks the kind of the next invoice at random, weighted so that each kind's share of rows tracks
   * the real file's: a kind that has fallen behind by a few invoices' worth of rows is made likelier.
   */
  private chooseKind(): Kind {
    const weights = KINDS.map((kind) => {
      const plan = PLANS[kind];
      const behind = (plan.share * this.emitted - this.rowsByKind[kind]) / (8 * plan.rowsPerInvoice);
      return [kind, (plan.share / plan.rowsPerInvoice) * exp(max(-3, min(3, behind)))] as const;
    });
    let kind = new Weighted<Kind>(weights).pick(this.rng);
    // Nothing can be cancelled before anything was sold.
    if (kind === 'cancellation' && (this.customersSeen === 0 || this.productsSeen === 0)) kind = 'customer';
    return kind;
  }

  /** Invoice numbers rise with the file, from 536365 to about 581587 at any size. */
  private targetNumber(): number {
    return FIRST_INVOICE + round((this.emitted / this.rows) * (LAST_INVOICE - FIRST_INVOICE));
  }

  private invoiceNumber(target: number): string {
    this.lastNumber = max(this.lastNumber + 1, target);
    return `${this.lastNumber}`;
  }

  /** The moment at a fraction of the file: busier months and midday hours get more invoices. */
  private momentAt(fraction: number): Moment {
    if (fraction === 0) return FIRST_MOMENT;
    let lo = 0;
    let hi = this.days.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.days[mid] as OpenDay).before <= fraction) lo = mid;
      else hi = mid - 1;
    }
    const day = this.days[lo] as OpenDay;
    const u = min(1, (fraction - day.before) / day.weight);
    // Inverse of a triangular distribution peaking at 40% of the opening hours.
    const peak = 0.4;
    const within = u < peak ? sqrt(u * peak) : 1 - sqrt((1 - u) * (1 - peak));
    const minuteOfDay = min(day.closes - 1, day.opens + floor(within * (day.closes - day.opens)));
    return { minutes: day.midnight + minuteOfDay, text: momentText(day.label, minuteOfDay) };
  }

  private oneOffRow(oneOff: OneOff): RetailRow {
    const number = this.invoiceNumber(oneOff.number);
    const customer = oneOff.customer === undefined ? this.customer() : oneOff.customer;
    return {
      invoiceNo: `${oneOff.prefix}${number}`,
      stockCode: oneOff.product.code,
      description: oneOff.product.description,
      quantity: `${oneOff.quantity}`,
      invoiceDate: oneOff.at.text,
      unitPrice: oneOff.price,
      customerId: customer?.id ?? '',
      country: customer?.country ?? UK,
    };
  }

  /** A customer for a new invoice: a newcomer, more often early on, or a regular. */
  private customer(): Customer {
    const remaining = this.customerTarget - this.customersSeen;
    const invoicesLeft = max(1, CUSTOMER_INVOICES_PER_ROW * (this.rows - this.emitted));
    if (this.customersSeen === 0 || (remaining > 0 && this.rng.chance((2 * remaining) / invoicesLeft))) {
      this.customersSeen += 1;
      return this.customers[this.customersSeen - 1] as Customer;
    }
    return this.customers[this.rng.skewed(this.customersSeen, 2)] as Customer;
  }

  /** A product not yet on this invoice: a new one now and then, mostly the popular ones. */
  private product(onInvoice: Set<Product>): Product | undefined {
    const remaining = this.productTarget - this.productsSeen;
    const linesLeft = max(1, PRODUCT_LINES_PER_ROW * (this.rows - this.emitted));
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const product = this.rng.chance((1.5 * remaining) / linesLeft)
        ? this.newProduct()
        : this.products[this.rng.skewed(this.productsSeen, 1.5)];
      if (product !== undefined && !onInvoice.has(product)) {
        onInvoice.add(product);
        return product;
      }
    }
    // A big invoice early on can need more products than have been introduced.
    const product = this.newProduct();
    if (product !== undefined) onInvoice.add(product);
    return product;
  }

  private newProduct(): Product | undefined {
    if (this.productsSeen >= this.productTarget) return undefined;
    this.productsSeen += 1;
    return this.products[this.productsSeen - 1];
  }

  /** A sale, to a customer or (undefined) to an anonymous web-shop visitor. */
  private sale(number: string, at: Moment, customer: Customer | undefined): RetailRow[] {
    const country = customer?.country ?? ANONYMOUS_COUNTRIES.pick(this.rng);
    const row = (product: Product, quantity: number, cents: number): RetailRow => ({
      invoiceNo: number,
      stockCode: product.code,
      description: product.description,
      quantity: `${quantity}`,
      invoiceDate: at.text,
      unitPrice: formatCents(cents),
      customerId: customer?.id ?? '',
      country,
    });
    const rows: RetailRow[] = [];
    // Foreign customers pay postage, usually as the first line.
    if (customer !== undefined && country !== UK && this.rng.chance(0.6)) {
      rows.push(row(POST, this.rng.int(1, 3), this.rng.pick([1500, 1800, 1800, 2800, 4000])));
    }
    const lines = customer === undefined ? this.rng.size(4, 1.1, 1_100) : this.rng.size(2.54, 1, 540);
    const onInvoice = new Set<Product>();
    for (let i = 0; i < lines; i += 1) {
      const product = this.product(onInvoice);
      if (product === undefined) break;
      const quantity = (customer === undefined ? ANONYMOUS_QUANTITIES : SALE_QUANTITIES).pick(this.rng);
      // A few free items (price 0) on customers' invoices.
      const line = row(product, quantity, customer !== undefined && this.rng.chance(1e-4) ? 0 : product.cents);
      rows.push(line);
      // The real file repeats some rows right after themselves.
      if (this.rng.chance(DUPLICATE_CHANCE)) rows.push(line);
    }
    if (this.rng.chance(0.012)) rows.push(row(MANUAL, 1, this.rng.size(6, 1.2, 400_000)));
    if (customer !== undefined && country !== UK && this.rng.chance(0.012)) rows.push(row(BANK_CHARGES, 1, 1500));
    if ((country === 'EIRE' || country === 'Channel Islands') && this.rng.chance(0.4)) rows.push(row(CARRIAGE, 1, 5000));
    if (customer === undefined) {
      if (this.rng.chance(0.04)) {
        const extra = DOTCOM_EXTRAS.pick(this.rng);
        rows.push(row(extra, this.rng.int(1, 3), extra.cents));
      }
      // The web shop's postage, as the last line.
      if (this.rng.chance(0.6)) rows.push(row(DOTCOM_POSTAGE, 1, this.rng.size(9, 1, 160_000)));
    }
    return rows;
  }

  /** A `C` invoice: a regular customer sends back a few products, or a fee or correction is reversed. */
  private cancellation(number: string, at: Moment): RetailRow[] {
    const draw = this.rng.next();
    let cumulative = 0;
    for (const [charge, share] of CANCELLED_CHARGES) {
      cumulative += share;
      if (draw >= cumulative) continue;
      // The Amazon fees were booked without a customer; CRUK's commission always to the same one.
      const customer = charge === AMAZON_FEE ? undefined : charge === CRUK ? CRUK_CUSTOMER : this.customer();
      const cents = charge === AMAZON_FEE ? this.rng.int(100_000, 1_700_000) : this.rng.size(6, 1.2, 400_000);
      return [
        {
          invoiceNo: `C${number}`,
          stockCode: charge.code,
          description: charge.description,
          quantity: '-1',
          invoiceDate: at.text,
          unitPrice: formatCents(cents),
          customerId: customer?.id ?? '',
          country: customer?.country ?? UK,
        },
      ];
    }
    const customer = this.customer();
    const lines = this.rng.chance(0.6) ? 1 : 1 + this.rng.size(0.93, 0.8, 50);
    const onInvoice = new Set<Product>();
    const rows: RetailRow[] = [];
    for (let i = 0; i < lines; i += 1) {
      const product = this.products[this.rng.skewed(this.productsSeen, 1.5)] as Product;
      if (onInvoice.has(product)) continue;
      onInvoice.add(product);
      rows.push({
        invoiceNo: `C${number}`,
        stockCode: product.code,
        description: product.description,
        quantity: `${-CANCELLED_QUANTITIES.pick(this.rng)}`,
        invoiceDate: at.text,
        unitPrice: formatCents(product.cents),
        customerId: customer.id,
        country: customer.country,
      });
    }
    return rows;
  }

  /** A stock correction: one row, no customer, price 0, and a note or no description at all. */
  private adjustment(number: string, at: Moment): RetailRow {
    const [sign, notes] = ADJUSTMENTS.pick(this.rng);
    const product = this.productsSeen > 0 ? (this.products[this.rng.skewed(this.productsSeen, 1.5)] as Product) : FIRST_PRODUCTS[0] as Product;
    return {
      invoiceNo: number,
      stockCode: product.code,
      description: this.rng.pick(notes),
      quantity: `${sign * ADJUSTED_QUANTITIES.pick(this.rng)}`,
      invoiceDate: at.text,
      unitPrice: '0',
      customerId: '',
      country: UK,
    };
  }
}
